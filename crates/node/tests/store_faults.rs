//! Crash and disk faults of the node's store (`state.redb`, ADR 015): a process killed with
//! SIGKILL at every write and sync of redb around a commit, a power cut at every one (unsynced
//! writes lost, torn or partly flushed), a truncated file, flipped bits at rest and under a
//! running store, a full disk. After each, reopening the file yields exactly a state that was
//! finalized (the last one the process saw committed, or later) or a typed refusal — never a
//! panic, never state that no commit wrote; a running store never serves a damaged value.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::StorageBackend;
use redb::backends::FileBackend;
use tao_node::storage::{CommitStore as _, RedbStore, StorageError};
use tao_state::store::{ChangeSet, MemoryStore, Store as _};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Heights each scenario commits (0 is the genesis write).
const HEIGHTS: u64 = 6;
/// Entries each block writes; with [`VALUE_BYTES`] a block spans several redb pages.
const ENTRIES_PER_BLOCK: u64 = 64;
const VALUE_BYTES: usize = 200;

/// The change set of block `height`: new entries, overwrites of the previous block's and a
/// removal, so that a stale page is visibly different from the current one.
fn changes(height: u64) -> ChangeSet {
    let mut writes = Vec::new();
    for i in 0..ENTRIES_PER_BLOCK {
        let key = format!("key/{height:04}/{i:04}").into_bytes();
        let value = vec![u8::try_from((height * 31 + i) % 251).unwrap_or(0); VALUE_BYTES];
        writes.push((key, Some(value)));
        if let Some(previous) = height.checked_sub(1) {
            let old = format!("key/{previous:04}/{i:04}").into_bytes();
            let value = if i == 0 {
                None
            } else {
                Some(height.to_be_bytes().to_vec())
            };
            writes.push((old, value));
        }
    }
    writes.sort();
    ChangeSet { writes }
}

fn digest(height: u64) -> [u8; 32] {
    [u8::try_from(height).unwrap_or(u8::MAX); 32]
}

/// The state after each of the first `heights` heights (index = height).
fn expected_states(heights: u64) -> Vec<MemoryStore> {
    let mut state = MemoryStore::default();
    (0..heights)
        .map(|height| {
            state.apply(&changes(height));
            state.clone()
        })
        .collect()
}

fn commit_all(store: &RedbStore) -> Result<(), StorageError> {
    for height in 0..HEIGHTS {
        store.commit_with_record(height, digest(height), &changes(height), b"record")?;
    }
    Ok(())
}

/// What reopening a damaged or crashed file gave.
#[derive(Debug, PartialEq, Eq)]
enum Reopened {
    /// A finalized height whose digest and state are exactly what that commit wrote.
    Finalized(u64),
    /// An empty store (the file held no commit yet).
    Empty,
    /// A typed refusal to open.
    Refused,
}

/// Reopens `path` and checks that what it holds is a state some commit wrote.
fn reopen(path: &Path, expected: &[MemoryStore]) -> Result<Reopened, String> {
    let opened = Ok::<_, String>(RedbStore::open(path))?;
    let store = match opened {
        Ok(store) => store,
        Err(error @ StorageError::Damaged { .. }) => {
            let message = error.to_string();
            if !message.contains("resync") {
                return Err(format!("the refusal does not say what to do: {message}"));
            }
            return Ok(Reopened::Refused);
        }
        // A flipped format version reads as a file of another redb version.
        Err(error @ StorageError::Open(redb::DatabaseError::UpgradeRequired(_))) => {
            println!("refused: {error}");
            return Ok(Reopened::Refused);
        }
        Err(error) => return Err(format!("untyped refusal: {error}")),
    };
    let Some((height, stored_digest)) = store.finalized() else {
        return match store.to_memory() {
            Ok(state) if state.is_empty() => Ok(Reopened::Empty),
            other => Err(format!("no finalized height, but state {other:?}")),
        };
    };
    if stored_digest != digest(height) {
        return Err(format!("height {height} with a digest no commit wrote"));
    }
    let state = store.to_memory().map_err(|e| e.to_string())?;
    let wanted = usize::try_from(height)
        .ok()
        .and_then(|h| expected.get(h))
        .ok_or(format!("height {height} was never committed"))?;
    if &state != wanted {
        return Err(format!(
            "height {height} opened with a state no commit wrote"
        ));
    }
    if store.failed() {
        return Err(format!("height {height}: a read failed after a clean open"));
    }
    Ok(Reopened::Finalized(height))
}

/// A fresh file with every height committed; its bytes.
fn pristine(dir: &Path) -> Result<(PathBuf, Vec<u8>), Box<dyn std::error::Error>> {
    let path = dir.join("state.redb");
    commit_all(&RedbStore::open(&path)?)?;
    let bytes = std::fs::read(&path)?;
    Ok((path, bytes))
}

#[test]
fn a_truncated_file_is_refused_never_misread() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, bytes) = pristine(dir.path())?;
    let expected = expected_states(HEIGHTS);
    let len = bytes.len();
    let mut lengths = vec![
        0,
        1,
        100,
        511,
        512,
        4_095,
        4_096,
        4_097,
        len / 3,
        len / 2,
        len - 1,
    ];
    lengths.extend((1..16).map(|k| len - k * 4_096));
    let mut refused = 0;
    for cut in lengths {
        // A fresh file each time: a redb that panicked on the last one may keep its lock.
        let path = dir.path().join(format!("cut-{cut}.redb"));
        std::fs::write(&path, bytes.get(..cut).ok_or("cut beyond the file")?)?;
        let outcome = reopen(&path, &expected).map_err(|e| format!("cut at {cut}: {e}"))?;
        std::fs::remove_file(&path)?;
        match outcome {
            Reopened::Refused => refused += 1,
            // An empty file is a store that never committed (a crash during creation).
            Reopened::Empty => assert_eq!(cut, 0, "cut at {cut} opened as an empty store"),
            Reopened::Finalized(height) => {
                panic!("cut at {cut} of {len} opened at height {height}")
            }
        }
    }
    assert!(refused > 10);
    Ok(())
}

#[test]
fn flipped_bits_are_refused_or_fall_in_unused_space() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, bytes) = pristine(dir.path())?;
    let expected = expected_states(HEIGHTS);
    let last = HEIGHTS - 1;
    // Every byte of the header region, then a stride over the rest that hits every page.
    let mut offsets: Vec<usize> = (0..512).step_by(5).collect();
    offsets.extend((512..bytes.len()).step_by(1_021));
    println!("file: {} bytes", bytes.len());
    let (mut refused, mut intact) = (0, 0);
    for (n, offset) in offsets.into_iter().enumerate() {
        let mut damaged = bytes.clone();
        let byte = damaged.get_mut(offset).ok_or("offset beyond the file")?;
        *byte ^= 1 << (n % 8);
        // A fresh file each time: a redb that panicked on the last one may keep its lock.
        let path = dir.path().join(format!("flip-{offset}.redb"));
        std::fs::write(&path, &damaged)?;
        let outcome = reopen(&path, &expected).map_err(|e| format!("bit flip at {offset}: {e}"))?;
        std::fs::remove_file(&path)?;
        match outcome {
            Reopened::Refused => refused += 1,
            Reopened::Finalized(height) if height == last => intact += 1,
            other => panic!("bit flip at {offset} opened as {other:?}"),
        }
    }
    println!("bit flips: {refused} refused, {intact} in unused bytes (state intact)");
    assert!(refused > 0 && intact > 0);
    // Flips inside stored values (the live copy of each, and any stale copies in freed pages).
    let mut live_values_refused = 0;
    for i in 0..4 {
        let value = changes(last)
            .writes
            .into_iter()
            .find(|(key, _)| key == format!("key/{last:04}/{i:04}").as_bytes())
            .and_then(|(_, value)| value)
            .ok_or("no such entry")?;
        let copies = bytes
            .windows(value.len())
            .enumerate()
            .filter(|(_, window)| *window == value.as_slice())
            .map(|(offset, _)| offset + VALUE_BYTES / 2);
        for offset in copies {
            let mut damaged = bytes.clone();
            let byte = damaged.get_mut(offset).ok_or("offset beyond the file")?;
            *byte ^= 0x10;
            let path = dir.path().join(format!("value-flip-{offset}.redb"));
            std::fs::write(&path, &damaged)?;
            let outcome =
                reopen(&path, &expected).map_err(|e| format!("value flip at {offset}: {e}"))?;
            std::fs::remove_file(&path)?;
            match outcome {
                Reopened::Refused => live_values_refused += 1,
                Reopened::Finalized(height) if height == last => {}
                other => panic!("value flip at {offset} opened as {other:?}"),
            }
        }
    }
    assert!(
        live_values_refused >= 4,
        "{live_values_refused} value flips refused"
    );
    Ok(())
}

/// Opens `path` as a running node holds it, every read going to the file (as for a page
/// evicted from redb's cache, or never read since the start): no open check, no page cache.
/// (A debug build of redb reads every page at open, so a cache would hold them all here.)
fn open_cold(path: &Path) -> Result<RedbStore, Box<dyn std::error::Error>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    Ok(RedbStore::with_backend_and_cache(
        FileBackend::new(file)?,
        0,
    )?)
}

/// Flips a bit of the byte at `offset` of the file at `path`, behind the back of whoever
/// has it open (a bad disk, a stray write).
fn flip_on_disk(path: &Path, offset: usize) -> TestResult {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(offset as u64))?;
    file.read_exact(&mut byte)?;
    byte[0] ^= 0x10;
    file.seek(SeekFrom::Start(offset as u64))?;
    file.write_all(&byte)?;
    file.sync_all()?;
    Ok(())
}

/// Damage that appears while the store is open: redb checks no page checksum on an ordinary
/// read (ADR 015), so a flipped value was served as state, and a commit that rewrote its page
/// (for a neighbouring key) gave the damage a fresh page checksum that the next start's
/// integrity check accepted. Now each value carries its own checksum: a damaged read fails,
/// the store commits nothing more (the error says to restart), and the start refuses a file
/// whose values do not match.
#[test]
fn damage_while_the_store_runs_is_never_served_or_built_on() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, bytes) = pristine(dir.path())?;
    let expected = expected_states(HEIGHTS);
    let last = HEIGHTS - 1;
    let at_last = expected.last().ok_or("no states")?;
    let (mut reads_refused, mut laundering_refused) = (0, 0);
    for i in 0..4 {
        let key = format!("key/{last:04}/{i:04}").into_bytes();
        let value = at_last.get(&key).ok_or("no such entry")?;
        let copies: Vec<usize> = bytes
            .windows(value.len())
            .enumerate()
            .filter(|(_, window)| *window == value.as_slice())
            .map(|(offset, _)| offset + VALUE_BYTES / 2)
            .collect();
        println!("key {i}: copies at {copies:?}");
        for offset in copies {
            // A read after the damage: the committed value, or a failed read.
            let path = dir.path().join(format!("read-{offset}.redb"));
            std::fs::write(&path, &bytes)?;
            let store = open_cold(&path)?;
            flip_on_disk(&path, offset)?;
            let snapshot = store.snapshot()?;
            match snapshot.get(&key) {
                Some(read) => assert_eq!(read, value, "offset {offset}: a snapshot served it"),
                None => assert!(snapshot.failed(), "offset {offset}: read as absent"),
            }
            match store.get(&key) {
                Some(read) => assert_eq!(read, value, "offset {offset}: the store served it"),
                None => {
                    assert!(store.failed(), "offset {offset}: read as absent");
                    reads_refused += 1;
                    // Nothing is built on it: the next block is not committed, and the error
                    // says what to do.
                    let refused = store
                        .commit(HEIGHTS, digest(HEIGHTS), &changes(HEIGHTS))
                        .err()
                        .ok_or("a block was committed after a failed read")?;
                    let message = refused.to_string();
                    assert!(message.contains("restart the node"), "{message}");
                    assert_eq!(store.finalized(), Some((last, digest(last))));
                }
            }
            drop((snapshot, store));
            let reopened = reopen(&path, &expected).map_err(|e| format!("read {offset}: {e}"))?;
            assert!(
                reopened == Reopened::Refused || reopened == Reopened::Finalized(last),
                "offset {offset}: reopened as {reopened:?}"
            );
            std::fs::remove_file(&path)?;

            // A commit that copies the damaged page into a new one (a neighbouring key is
            // written; the damaged value itself is not read).
            let path = dir.path().join(format!("launder-{offset}.redb"));
            std::fs::write(&path, &bytes)?;
            let store = open_cold(&path)?;
            flip_on_disk(&path, offset)?;
            let mut neighbour = key.clone();
            neighbour.push(b'+');
            let writes = vec![(neighbour, Some(b"next".to_vec()))];
            store.commit(HEIGHTS, digest(HEIGHTS), &ChangeSet { writes })?;
            drop(store);
            match RedbStore::open(&path) {
                Err(StorageError::Damaged { reason, .. }) => {
                    println!("launder {offset}: refused at start: {reason}");
                    laundering_refused += 1;
                }
                Ok(store) => {
                    // The flip was in a stale copy: the live value is intact.
                    assert_eq!(store.get(&key), Some(value.clone()), "launder {offset}");
                    assert!(!store.failed());
                }
                Err(other) => return Err(format!("launder {offset}: {other}").into()),
            }
            std::fs::remove_file(&path)?;
        }
    }
    println!(
        "damaged reads refused: {reads_refused}; laundered pages refused: {laundering_refused}"
    );
    assert!(reads_refused >= 4 && laundering_refused >= 4);
    Ok(())
}

/// A file backend that stops the process at its `stop_at`-th write, set_len or sync: it says
/// so on stdout and waits for the parent's SIGKILL.
#[derive(Debug)]
struct StopAt {
    file: FileBackend,
    operations: AtomicU64,
    stop_at: u64,
}

impl StopAt {
    fn step(&self, what: &str) {
        let n = self.operations.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.stop_at {
            println!("STOPPED {n} before {what}");
            let _ = std::io::stdout().flush();
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
    }
}

impl StorageBackend for StopAt {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.step("set_len");
        self.file.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.step("sync");
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.step("write");
        self.file.write(offset, data)
    }
}

const CHILD_ENV: &str = "TAO_STORE_FAULT_CHILD";

/// The child process of [`a_store_killed_at_any_write_reopens_at_a_committed_height`]: commits
/// every height on a [`StopAt`] backend, printing each height once its commit returned.
#[test]
fn store_fault_child() -> TestResult {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return Ok(()); // Only meaningful in a child process.
    };
    let (stop_at, path) = spec.split_once(':').ok_or("spec is stop_at:path")?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let backend = StopAt {
        file: FileBackend::new(file)?,
        operations: AtomicU64::new(0),
        stop_at: stop_at.parse()?,
    };
    let store = RedbStore::with_backend(backend)?;
    for height in 0..HEIGHTS {
        store.commit_with_record(height, digest(height), &changes(height), b"record")?;
        println!("COMMITTED {height}");
        std::io::stdout().flush()?;
    }
    println!("DONE");
    Ok(())
}

/// Runs the child until it stops at operation `stop_at` (then kills it with SIGKILL) or
/// finishes; returns the last height it saw committed and whether it was killed.
fn run_child(path: &Path, stop_at: u64) -> Result<(Option<u64>, bool), Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "store_fault_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{stop_at}:{}", path.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (mut committed, mut killed) = (None, false);
    for line in BufReader::new(stdout).lines() {
        // The test harness may print its own words before ours on a line.
        let line = line?;
        if let Some((_, height)) = line.split_once("COMMITTED ") {
            committed = Some(height.parse()?);
        } else if line.contains("STOPPED") {
            child.kill()?; // SIGKILL: no destructor, no flush, no redb close.
            killed = true;
            break;
        }
    }
    let status = child.wait()?;
    if !killed && !status.success() {
        return Err(format!("the child failed: {status}").into());
    }
    Ok((committed, killed))
}

#[test]
fn a_store_killed_at_any_write_reopens_at_a_committed_height() -> TestResult {
    let dir = tempfile::tempdir()?;
    let expected = expected_states(HEIGHTS);
    let last = HEIGHTS - 1;
    let mut kills = 0;
    for stop_at in 1.. {
        let path = dir.path().join(format!("state-{stop_at}.redb"));
        let (committed, killed) = run_child(&path, stop_at)?;
        if !killed {
            assert_eq!(committed, Some(last));
            break;
        }
        kills += 1;
        let reopened = reopen(&path, &expected).map_err(|e| format!("killed at {stop_at}: {e}"))?;
        match (reopened, committed) {
            // Whatever the child saw committed survived; at most the commit in flight more.
            (Reopened::Finalized(height), Some(seen)) => assert!(
                height == seen || height == seen + 1,
                "killed at {stop_at} after height {seen}, reopened at {height}"
            ),
            // Killed while redb created the file: no commit to keep; a start refuses (the
            // message says to remove the data directory) or finds an empty or genesis store.
            (Reopened::Finalized(0) | Reopened::Empty | Reopened::Refused, None) => {}
            other => panic!("killed at operation {stop_at}: {other:?}"),
        }
        std::fs::remove_file(&path)?;
    }
    println!("killed at each of {kills} writes, syncs and resizes; every reopen was a commit");
    assert!(kills > 2 * HEIGHTS);
    Ok(())
}

/// A file backend on a disk with `space_bytes` left: a write or resize past it fails with
/// ENOSPC, as a full disk does.
#[derive(Debug)]
struct FullDisk {
    file: FileBackend,
    space_bytes: Mutex<u64>,
}

impl StorageBackend for FullDisk {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let space = *self
            .space_bytes
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        if len > space {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.file.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let space = *self
            .space_bytes
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        let end = offset.saturating_add(data.len() as u64);
        if end > space {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        self.file.write(offset, data)
    }
}

#[test]
fn a_full_disk_stops_commits_and_a_restart_recovers() -> TestResult {
    // Enough heights for redb to outgrow the file it had.
    const FULL_DISK_HEIGHTS: u64 = 200;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state.redb");
    let expected = expected_states(FULL_DISK_HEIGHTS);
    // The disk holds what the first heights took, and no more.
    let space_bytes = {
        let store = RedbStore::open(&path)?;
        for height in 0..2 {
            store.commit(height, digest(height), &changes(height))?;
        }
        drop(store);
        std::fs::metadata(&path)?.len()
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)?;
    let store = RedbStore::with_backend(FullDisk {
        file: FileBackend::new(file)?,
        space_bytes: Mutex::new(space_bytes),
    })?;
    let mut failed_at = None;
    for height in 2..FULL_DISK_HEIGHTS {
        if let Err(error) = store.commit(height, digest(height), &changes(height)) {
            let message = error.to_string();
            assert!(
                message.contains("No space left"),
                "unclear error: {message}"
            );
            failed_at = Some(height);
            break;
        }
    }
    let failed_at = failed_at.ok_or("the disk never filled")?;
    // After the failed write redb answers nothing (`PreviousIo`) and the store latches
    // `failed`, on which the node refuses to vote; it takes no further block either.
    assert_eq!(store.finalized(), None);
    assert!(store.failed());
    let again = store.commit(failed_at, digest(failed_at), &changes(failed_at));
    assert!(again.is_err(), "a commit after a failed write was taken");
    drop(store);
    // Restart (with space again): the last commit, and the chain goes on from there.
    assert_eq!(
        reopen(&path, &expected)?,
        Reopened::Finalized(failed_at - 1)
    );
    let store = RedbStore::open(&path)?;
    for height in failed_at..FULL_DISK_HEIGHTS {
        store.commit(height, digest(height), &changes(height))?;
    }
    drop(store);
    assert_eq!(
        reopen(&path, &expected)?,
        Reopened::Finalized(FULL_DISK_HEIGHTS - 1)
    );
    Ok(())
}

/// How a power cut leaves the writes the OS had accepted but not yet flushed (those after the
/// last `sync_data`).
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// All lost: the disk holds what the last sync made durable.
    Lost,
    /// Flushed in order up to the middle one, which is torn (its first half written).
    Torn,
    /// Some flushed and some not, in no order (the OS writes dirty pages back as it likes):
    /// a pseudo-random subset chosen by the seed.
    Subset(u64),
}

/// One write the OS accepted after the last sync.
#[derive(Clone, Debug)]
enum Unsynced {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// The disk under a [`PowerLoss`] backend.
#[derive(Debug, Default)]
struct Disk {
    /// What survives a power cut: the file as of the last `sync_data`.
    durable: Vec<u8>,
    /// What the process reads: the durable file with the unsynced writes on top.
    volatile: Vec<u8>,
    /// The writes since the last sync, in order.
    unsynced: Vec<Unsynced>,
    /// Writes, resizes and syncs so far.
    operations: u64,
    /// Power is cut before this operation (0: never).
    cut_at: u64,
    /// Whether the power is off.
    off: bool,
}

fn apply(file: &mut Vec<u8>, write: &Unsynced) {
    match write {
        Unsynced::Write { offset, data } => {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            let end = start.saturating_add(data.len());
            if file.len() < end {
                file.resize(end, 0);
            }
            if let Some(slot) = file.get_mut(start..end) {
                slot.copy_from_slice(data);
            }
        }
        Unsynced::SetLen(len) => file.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
    }
}

impl Disk {
    /// Counts an operation; false once the power is off (the operation does not happen).
    fn step(&mut self) -> bool {
        self.operations += 1;
        if self.operations == self.cut_at {
            self.off = true;
        }
        !self.off
    }

    /// The file as the disk holds it after the power cut.
    fn after_cut(&self, cut: Cut) -> Vec<u8> {
        let mut file = self.durable.clone();
        match cut {
            Cut::Lost => {}
            Cut::Torn => {
                let middle = self.unsynced.len() / 2;
                for write in self.unsynced.iter().take(middle) {
                    apply(&mut file, write);
                }
                if let Some(Unsynced::Write { offset, data }) = self.unsynced.get(middle) {
                    let half = data.get(..data.len() / 2).unwrap_or_default().to_vec();
                    apply(
                        &mut file,
                        &Unsynced::Write {
                            offset: *offset,
                            data: half,
                        },
                    );
                }
            }
            Cut::Subset(seed) => {
                for (i, write) in self.unsynced.iter().enumerate() {
                    // splitmix64 of (seed, i): is this write on the platter?
                    let mut x = seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    if (x ^ (x >> 31)) & 1 == 1 {
                        apply(&mut file, write);
                    }
                }
            }
        }
        file
    }
}

/// A storage backend whose power is cut before its `cut_at`-th write, resize or sync: from
/// then on every operation fails (the process is as good as dead), and [`Disk::after_cut`]
/// says what the disk kept.
#[derive(Debug, Clone, Default)]
struct PowerLoss(std::sync::Arc<Mutex<Disk>>);

fn power_lost() -> std::io::Error {
    std::io::Error::other("power lost")
}

impl PowerLoss {
    fn disk(&self) -> Result<std::sync::MutexGuard<'_, Disk>, std::io::Error> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))
    }
}

impl StorageBackend for PowerLoss {
    fn len(&self) -> Result<u64, std::io::Error> {
        let disk = self.disk()?;
        if disk.off {
            return Err(power_lost());
        }
        Ok(disk.volatile.len() as u64)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let disk = self.disk()?;
        if disk.off {
            return Err(power_lost());
        }
        let start = usize::try_from(offset).map_err(|_| power_lost())?;
        let data = disk
            .volatile
            .get(start..start.saturating_add(out.len()))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        out.copy_from_slice(data);
        Ok(())
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let mut disk = self.disk()?;
        if !disk.step() {
            return Err(power_lost());
        }
        let write = Unsynced::SetLen(len);
        apply(&mut disk.volatile, &write);
        disk.unsynced.push(write);
        Ok(())
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        let mut disk = self.disk()?;
        if !disk.step() {
            return Err(power_lost());
        }
        disk.durable = disk.volatile.clone();
        disk.unsynced.clear();
        Ok(())
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let mut disk = self.disk()?;
        if !disk.step() {
            return Err(power_lost());
        }
        let write = Unsynced::Write {
            offset,
            data: data.to_vec(),
        };
        apply(&mut disk.volatile, &write);
        disk.unsynced.push(write);
        Ok(())
    }
}

/// Commits every height on a [`PowerLoss`] disk whose power is cut before operation `cut_at`
/// (0: never); the last height whose commit returned, and the disk.
fn commit_until_power_loss(cut_at: u64) -> (Option<u64>, PowerLoss) {
    let backend = PowerLoss::default();
    if let Ok(mut disk) = backend.disk() {
        disk.cut_at = cut_at;
    }
    let mut committed = None;
    if let Ok(store) = RedbStore::with_backend(backend.clone()) {
        for height in 0..HEIGHTS {
            match store.commit_with_record(height, digest(height), &changes(height), b"record") {
                Ok(_) => committed = Some(height),
                Err(_) => break,
            }
        }
        // Dropping a store whose disk is gone must not panic either (redb tries to close).
        let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(store)));
        assert!(
            closed.is_ok(),
            "cut at {cut_at}: dropping the store panicked"
        );
    }
    (committed, backend)
}

#[test]
fn a_power_cut_at_any_write_reopens_at_a_committed_height() -> TestResult {
    let dir = tempfile::tempdir()?;
    let expected = expected_states(HEIGHTS);
    let last = HEIGHTS - 1;
    // Operations in a run without a cut.
    let (all, backend) = commit_until_power_loss(0);
    assert_eq!(all, Some(last));
    let operations = backend.disk()?.operations;
    let cuts = [Cut::Lost, Cut::Torn, Cut::Subset(1), Cut::Subset(2)];
    let (mut in_flight_kept, mut refused, mut refused_after_a_commit, mut runs) = (0, 0, 0, 0);
    for cut_at in 1..=operations {
        let (committed, backend) = commit_until_power_loss(cut_at);
        let disk = backend.disk()?;
        for cut in cuts {
            runs += 1;
            let path = dir.path().join(format!("power-{cut_at}-{cut:?}.redb"));
            std::fs::write(&path, disk.after_cut(cut))?;
            let what = format!(
                "power cut before operation {cut_at} ({cut:?}), after height {committed:?}"
            );
            let outcome = reopen(&path, &expected).map_err(|e| format!("{what}: {e}"))?;
            match (outcome, committed) {
                // Every commit that returned survived; at most the one in flight more.
                (Reopened::Finalized(height), Some(seen)) => {
                    assert!(
                        height == seen || height == seen + 1,
                        "{what}: reopened at {height}"
                    );
                    in_flight_kept += usize::from(height > seen);
                }
                // Cut while redb created the file: no commit returned.
                (Reopened::Finalized(0) | Reopened::Empty, None) => {}
                (Reopened::Refused, committed) => {
                    println!("{what}: refused");
                    refused += 1;
                    refused_after_a_commit += usize::from(committed.is_some());
                }
                (other, _) => panic!("{what}: {other:?}"),
            }
            std::fs::remove_file(&path)?;
        }
    }
    println!(
        "{runs} power cuts at {operations} operations: {refused} refused ({refused_after_a_commit} \
         after a commit had returned), the rest reopened at the last commit that returned \
         ({in_flight_kept} at the one in flight) with its exact state"
    );
    assert!(operations > 2 * HEIGHTS);
    Ok(())
}
