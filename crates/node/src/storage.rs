//! The node's committed state on disk: a [`RedbStore`] holds the state entries of
//! `tao-state` plus the finalized height and block digest, and [`RedbStore::commit`] writes a
//! finalized block's change set and the new height in one redb write transaction.
//!
//! The [`Store`] trait reads without an error path. A failed read (an I/O error of the
//! database) is logged, answered as "absent", and latches [`RedbStore::failed`]; the node
//! checks that flag after every execution and refuses to vote on anything computed from a
//! failed read. Readers outside execution (the RPC) use a [`Snapshot`] instead: one read
//! transaction, a failure flag of its own, and no lock shared with execution.
//!
//! redb verifies its page checksums only when recovering or in an integrity check, never on
//! an ordinary read (ADR 015), so every value this store writes carries a checksum of its
//! own ([`CHECK_BYTES`] of BLAKE3 over its table, key and value) that every read verifies: a
//! value damaged on disk while the node runs is a failed read, never a wrong answer. Once a
//! read has failed, [`RedbStore`] commits nothing more ([`StorageError::ReadFailed`]), so
//! finalization halts with an error that says to restart; the start checks the whole file.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tao_state::store::{ChangeSet, MemoryStore, Store};

/// Raw `(key, value)` state entries in key order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// State entries: `tao-state` keys to values.
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
/// Node metadata: the finalized height and digest.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Finalized-block records for the RPC (height → record bytes), written with the state.
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Block digest → height of the finalized blocks in [`BLOCKS`].
const BLOCK_HEIGHTS: TableDefinition<&[u8], u64> = TableDefinition::new("block_heights");
/// Key of the finalized height (8 bytes, big-endian) in [`META`].
const HEIGHT_KEY: &str = "finalized_height";
/// Key of the finalized block digest (32 bytes) in [`META`].
const DIGEST_KEY: &str = "finalized_digest";
/// Key of the store's format in [`META`]: [`FORMAT`] since values carry checksums.
const FORMAT_KEY: &str = "format";
/// The format this node writes: every value followed by its checksum.
const FORMAT: &[u8] = b"checked-1";
/// Bytes of the checksum stored after every value of the `state`, `meta` and `blocks` tables.
pub const CHECK_BYTES: usize = 8;

/// Why the node's storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database file could not be created or opened.
    #[error("storage: open: {0}")]
    Open(#[from] redb::DatabaseError),
    /// A transaction could not be started.
    #[error("storage: transaction: {0}")]
    Transaction(#[from] redb::TransactionError),
    /// A table could not be opened.
    #[error("storage: table: {0}")]
    Table(#[from] redb::TableError),
    /// A read or write inside a transaction failed.
    #[error("storage: {0}")]
    Io(#[from] redb::StorageError),
    /// The transaction could not be committed.
    #[error("storage: commit: {0}")]
    Commit(#[from] redb::CommitError),
    /// The stored metadata is not what this node writes.
    #[error("storage: corrupt metadata: {0}")]
    Corrupt(&'static str),
    /// The database file is damaged (a truncated file, a page whose checksum does not match):
    /// the node refuses to start rather than serve state it cannot trust.
    #[error(
        "storage: {path} is damaged ({reason}); restore the data directory from a backup, or \
         remove it and let the node resync from the network"
    )]
    Damaged {
        /// The database file.
        path: String,
        /// What redb found.
        reason: String,
    },
    /// A stored value does not match the checksum written with it, or redb failed an
    /// internal check reading it: the file was damaged while the node ran.
    #[error(
        "storage: {what} is damaged on disk; stop the node and restart it: its start checks \
         every page and value of the file and refuses a damaged one (ADR 015)"
    )]
    DamagedWhileRunning {
        /// What was being read.
        what: String,
    },
    /// A read failed earlier (it was logged), so state computed since may be wrong: this
    /// store commits nothing more, and finalization stops here.
    #[error(
        "storage: a read of the state failed earlier (see the log), so block {height} is not \
         committed; restart the node: its start checks every page and value of the file and \
         refuses a damaged one (ADR 015)"
    )]
    ReadFailed {
        /// The height not committed.
        height: u64,
    },
    /// The file was written by an older node, whose values carry no checksums.
    #[error(
        "storage: {path} was written by an older node (values without checksums); remove the \
         data directory and let the node resync from the network"
    )]
    OldFormat {
        /// The database file.
        path: String,
    },
    /// A change set was offered for a height that does not follow the stored one.
    #[error("storage: height {got} does not follow the finalized height {finalized}")]
    OutOfOrder {
        /// The stored finalized height.
        finalized: u64,
        /// The height offered.
        got: u64,
    },
}

/// The checksum of `value` stored under `key` in `table`.
fn checksum(table: &str, key: &[u8], value: &[u8]) -> [u8; CHECK_BYTES] {
    let mut hasher = blake3::Hasher::new_derive_key("tao-node state.redb value checksum v1");
    for part in [table.as_bytes(), key] {
        hasher.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_le_bytes());
        hasher.update(part);
    }
    hasher.update(value);
    let mut out = [0u8; CHECK_BYTES];
    hasher.finalize_xof().fill(&mut out);
    out
}

/// `value` as stored under `key` in `table`: followed by its checksum.
fn seal(table: &str, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(value.len().saturating_add(CHECK_BYTES));
    stored.extend_from_slice(value);
    stored.extend_from_slice(&checksum(table, key, value));
    stored
}

/// The value stored under `key` in `table`, once its checksum matches.
fn unseal<'a>(table: &str, key: &[u8], stored: &'a [u8]) -> Result<&'a [u8], StorageError> {
    let damaged = || StorageError::DamagedWhileRunning {
        what: format!("an entry of table {table:?}"),
    };
    let split = stored.len().checked_sub(CHECK_BYTES).ok_or_else(damaged)?;
    let (value, check) = stored.split_at(split);
    if check == checksum(table, key, value) {
        Ok(value)
    } else {
        Err(damaged())
    }
}

/// Runs a redb operation, turning a panic inside redb (its assertions on damaged pages)
/// into an error.
fn guarded<T>(
    what: &str,
    operation: impl FnOnce() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(operation)).unwrap_or_else(|_| {
        Err(StorageError::DamagedWhileRunning {
            what: format!("the page redb was reading for {what}"),
        })
    })
}

/// What [`CommitStore::commit`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committed {
    /// The change set was written and the finalized height advanced.
    Applied,
    /// The height was already committed; nothing was written (redelivery after a restart).
    AlreadyCommitted,
}

/// A [`Store`] that finalized blocks are committed to, atomically with their height.
pub trait CommitStore: Store + Send + Sync + 'static {
    /// The finalized height and block digest, `None` before genesis was committed.
    fn finalized(&self) -> Option<(u64, [u8; 32])>;
    /// Writes `changes` as the state of block `digest` at `height`, in one atomic step with
    /// the new finalized height. A height at or below the stored one changes nothing
    /// (idempotent redelivery); a gap is an error.
    fn commit(
        &self,
        height: u64,
        digest: [u8; 32],
        changes: &ChangeSet,
    ) -> Result<Committed, StorageError>;
    /// Whether a read has failed since the store was opened (state computed since then
    /// cannot be trusted).
    fn failed(&self) -> bool;
    /// Like [`CommitStore::commit`], also keeping `record` (an opaque description of the
    /// finalized block for the RPC) under `height` and `digest` in the same atomic step.
    /// Stores without a block archive ignore the record.
    fn commit_with_record(
        &self,
        height: u64,
        digest: [u8; 32],
        changes: &ChangeSet,
        record: &[u8],
    ) -> Result<Committed, StorageError> {
        let _ = record;
        self.commit(height, digest, changes)
    }
}

/// A consistent, read-only view of the committed state: one redb read transaction, so every
/// key a query reads is of the same finalized height, however many blocks commit meanwhile.
/// A failed read is answered as absent and recorded here ([`Snapshot::failed`]), not in the
/// node's store: a reader's I/O error must not stop the node voting.
pub struct Snapshot {
    table: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    failed: AtomicBool,
}

impl Snapshot {
    /// Whether a read of this snapshot failed (its answers may then be incomplete).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    fn note_failure(&self, error: &dyn std::fmt::Display) {
        tracing::warn!(%error, "snapshot read failed");
        self.failed.store(true, Ordering::SeqCst);
    }
}

impl Store for Snapshot {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        guarded("a state read", || get_state(&self.table, key)).unwrap_or_else(|error| {
            self.note_failure(&error);
            None
        })
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        guarded("a state scan", || scan_state(&self.table, prefix)).unwrap_or_else(|error| {
            self.note_failure(&error);
            Vec::new()
        })
    }
}

/// The state value under `key` in `table`, checked.
fn get_state(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    match table.get(key)? {
        Some(stored) => Ok(Some(unseal("state", key, stored.value())?.to_vec())),
        None => Ok(None),
    }
}

/// The state entries under `prefix` in `table`, in key order, checked.
fn scan_state(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
) -> Result<Entries, StorageError> {
    let mut out = Vec::new();
    for entry in table.range(prefix..)? {
        let (key, stored) = entry?;
        let key = key.value();
        if !key.starts_with(prefix) {
            break;
        }
        out.push((key.to_vec(), unseal("state", key, stored.value())?.to_vec()));
    }
    Ok(out)
}

/// The committed state in a redb database.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    failed: Arc<AtomicBool>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("finalized", &self.finalized())
            .finish()
    }
}

impl RedbStore {
    /// Opens (or creates) the database file at `path` and verifies every page's checksum.
    ///
    /// redb recovers from a crash on its own (a commit is all or nothing), but it checks page
    /// checksums only when recovering; a file damaged at rest (a flipped bit, a truncation)
    /// would otherwise be read as it is. So every open runs redb's integrity check, a read of
    /// the whole file (ADR 015), then checks every stored value against its own checksum
    /// (damage that a write transaction copied into a new page under a fresh page checksum),
    /// and a damaged file is refused with [`StorageError::Damaged`].
    pub fn open(path: &Path) -> Result<RedbStore, StorageError> {
        let damaged = |reason: String| StorageError::Damaged {
            path: path.display().to_string(),
            reason,
        };
        let refuse = |error: redb::DatabaseError| match error {
            error if is_damage(&error) => damaged(error.to_string()),
            error => error.into(),
        };
        // redb asserts on some damaged headers and lengths instead of returning an error; a
        // panic while opening is a damaged file like any other.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut db = Database::create(path).map_err(refuse)?;
            let before = stored_finalized(&db);
            // `false` when redb rebuilt something: its allocator state (harmless, seen on
            // cleanly closed files) or a tree, by rolling back to an older commit.
            let intact = db.check_integrity().map_err(refuse)?;
            let store = Self::init(db).map_err(|error| match error {
                StorageError::OldFormat { .. } => StorageError::OldFormat {
                    path: path.display().to_string(),
                },
                error => error,
            })?;
            match store.check_values() {
                Ok(()) => {}
                Err(StorageError::DamagedWhileRunning { what }) => {
                    return Err(damaged(format!("{what} does not match its checksum")));
                }
                Err(error) => return Err(error),
            }
            if !intact {
                let after = store.read_finalized()?;
                let before = before.ok().flatten();
                if after != before {
                    return Err(damaged(format!(
                        "a page checksum did not match and redb rolled the file back from \
                         height {} to {}, behind what consensus already acknowledged",
                        height_text(before),
                        height_text(after)
                    )));
                }
                tracing::debug!(path = %path.display(), "redb rebuilt its allocator state");
            }
            Ok(store)
        }))
        .unwrap_or_else(|_| Err(damaged("redb failed an internal check reading it".into())))
    }

    /// A database held in memory (tests and simulations).
    pub fn in_memory() -> Result<RedbStore, StorageError> {
        Self::with_backend(redb::backends::InMemoryBackend::new())
    }

    /// A database on `backend`, without the integrity check of [`RedbStore::open`]: tests put
    /// a file behind a backend that fails or stops at a chosen write (crash and full-disk
    /// faults) and reopen the file with [`RedbStore::open`].
    pub fn with_backend(backend: impl redb::StorageBackend) -> Result<RedbStore, StorageError> {
        Self::init(Database::builder().create_with_backend(backend)?)
    }

    /// Like [`RedbStore::with_backend`], with redb's page cache limited to `cache_bytes`
    /// (0: every read goes to the backend, as for a page evicted from the cache or never
    /// read since the start; tests of damage under a running store).
    pub fn with_backend_and_cache(
        backend: impl redb::StorageBackend,
        cache_bytes: usize,
    ) -> Result<RedbStore, StorageError> {
        Self::init(
            Database::builder()
                .set_cache_size(cache_bytes)
                .create_with_backend(backend)?,
        )
    }

    fn init(db: Database) -> Result<RedbStore, StorageError> {
        let txn = db.begin_write()?;
        txn.open_table(STATE)?;
        {
            let mut meta = txn.open_table(META)?;
            if meta.get(FORMAT_KEY)?.is_none() {
                if meta.get(HEIGHT_KEY)?.is_some() {
                    return Err(StorageError::OldFormat {
                        path: "the database file".into(),
                    });
                }
                meta.insert(
                    FORMAT_KEY,
                    seal("meta", FORMAT_KEY.as_bytes(), FORMAT).as_slice(),
                )?;
            }
        }
        txn.open_table(BLOCKS)?;
        txn.open_table(BLOCK_HEIGHTS)?;
        txn.commit()?;
        let store = RedbStore {
            db: Arc::new(db),
            failed: Arc::new(AtomicBool::new(false)),
        };
        store.read_finalized()?;
        Ok(store)
    }

    fn read_finalized(&self) -> Result<Option<(u64, [u8; 32])>, StorageError> {
        guarded("the finalized height", || stored_finalized(&self.db))
    }

    /// Checks every stored value against its checksum (at open).
    fn check_values(&self) -> Result<(), StorageError> {
        let txn = self.db.begin_read()?;
        scan_state(&txn.open_table(STATE)?, &[])?;
        for entry in txn.open_table(META)?.iter()? {
            let (key, stored) = entry?;
            unseal("meta", key.value().as_bytes(), stored.value())?;
        }
        for entry in txn.open_table(BLOCKS)?.iter()? {
            let (height, stored) = entry?;
            unseal("blocks", &height.value().to_be_bytes(), stored.value())?;
        }
        Ok(())
    }

    fn note_failure(&self, error: &dyn std::fmt::Display) {
        tracing::error!(%error, "state read failed");
        self.failed.store(true, Ordering::SeqCst);
    }

    fn try_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        guarded("a state read", || {
            let txn = self.db.begin_read()?;
            get_state(&txn.open_table(STATE)?, key)
        })
    }

    fn try_scan(&self, prefix: &[u8]) -> Result<Entries, StorageError> {
        guarded("a state scan", || {
            let txn = self.db.begin_read()?;
            scan_state(&txn.open_table(STATE)?, prefix)
        })
    }

    /// A consistent read-only view of the committed state as it is now (see [`Snapshot`]).
    pub fn snapshot(&self) -> Result<Snapshot, StorageError> {
        let txn = self.db.begin_read()?;
        Ok(Snapshot {
            table: txn.open_table(STATE)?,
            failed: AtomicBool::new(false),
        })
    }

    /// The record kept with the finalized block at `height`.
    pub fn block_record(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        guarded("a block record", || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(BLOCKS)?;
            match table.get(height)? {
                Some(stored) => Ok(Some(
                    unseal("blocks", &height.to_be_bytes(), stored.value())?.to_vec(),
                )),
                None => Ok(None),
            }
        })
    }

    /// The height of the finalized block with this digest.
    pub fn block_height(&self, digest: &[u8]) -> Result<Option<u64>, StorageError> {
        guarded("a block height", || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(BLOCK_HEIGHTS)?;
            Ok(table.get(digest)?.map(|value| value.value()))
        })
    }

    fn write(
        &self,
        height: u64,
        digest: [u8; 32],
        changes: &ChangeSet,
        record: Option<&[u8]>,
    ) -> Result<Committed, StorageError> {
        if self.failed() {
            return Err(StorageError::ReadFailed { height });
        }
        let written = guarded("a commit", || {
            self.try_write(height, digest, changes, record)
        });
        if let Err(error @ StorageError::DamagedWhileRunning { .. }) = &written {
            // Damage met inside the commit: nothing computed from this store is trusted now.
            self.note_failure(error);
        }
        written
    }

    fn try_write(
        &self,
        height: u64,
        digest: [u8; 32],
        changes: &ChangeSet,
        record: Option<&[u8]>,
    ) -> Result<Committed, StorageError> {
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let stored = match (meta.get(HEIGHT_KEY)?, meta.get(DIGEST_KEY)?.is_some()) {
                (None, false) => None,
                (Some(bytes), true) => {
                    let bytes: [u8; 8] = unseal("meta", HEIGHT_KEY.as_bytes(), bytes.value())?
                        .try_into()
                        .map_err(|_| StorageError::Corrupt("height is not 8 bytes"))?;
                    Some(u64::from_be_bytes(bytes))
                }
                _ => return Err(StorageError::Corrupt("height without digest")),
            };
            match stored {
                Some(finalized) if height <= finalized => {
                    return Ok(Committed::AlreadyCommitted);
                }
                Some(finalized) if Some(height) != finalized.checked_add(1) => {
                    return Err(StorageError::OutOfOrder {
                        finalized,
                        got: height,
                    });
                }
                _ => {}
            }
            meta.insert(
                HEIGHT_KEY,
                seal("meta", HEIGHT_KEY.as_bytes(), &height.to_be_bytes()).as_slice(),
            )?;
            meta.insert(
                DIGEST_KEY,
                seal("meta", DIGEST_KEY.as_bytes(), &digest).as_slice(),
            )?;
            let mut state = txn.open_table(STATE)?;
            for (key, value) in &changes.writes {
                match value {
                    Some(value) => {
                        state.insert(key.as_slice(), seal("state", key, value).as_slice())?;
                    }
                    None => {
                        state.remove(key.as_slice())?;
                    }
                }
            }
            if let Some(record) = record {
                txn.open_table(BLOCKS)?.insert(
                    height,
                    seal("blocks", &height.to_be_bytes(), record).as_slice(),
                )?;
                txn.open_table(BLOCK_HEIGHTS)?
                    .insert(digest.as_slice(), height)?;
            }
        }
        txn.commit()?;
        Ok(Committed::Applied)
    }

    /// Every state entry, in key order (tests and snapshots).
    pub fn to_memory(&self) -> Result<MemoryStore, StorageError> {
        let mut memory = MemoryStore::default();
        let writes = self
            .try_scan(&[])?
            .into_iter()
            .map(|(key, value)| (key, Some(value)))
            .collect();
        memory.apply(&ChangeSet { writes });
        Ok(memory)
    }
}

/// The finalized height and digest stored in `db` (`None` before the first commit).
fn stored_finalized(db: &Database) -> Result<Option<(u64, [u8; 32])>, StorageError> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let height = meta.get(HEIGHT_KEY)?;
    let digest = meta.get(DIGEST_KEY)?;
    match (height, digest) {
        (None, None) => Ok(None),
        (Some(height), Some(digest)) => {
            let height: [u8; 8] = unseal("meta", HEIGHT_KEY.as_bytes(), height.value())?
                .try_into()
                .map_err(|_| StorageError::Corrupt("height is not 8 bytes"))?;
            let digest: [u8; 32] = unseal("meta", DIGEST_KEY.as_bytes(), digest.value())?
                .try_into()
                .map_err(|_| StorageError::Corrupt("digest is not 32 bytes"))?;
            Ok(Some((u64::from_be_bytes(height), digest)))
        }
        _ => Err(StorageError::Corrupt("height without digest")),
    }
}

/// A finalized height for a message.
fn height_text(finalized: Option<(u64, [u8; 32])>) -> String {
    finalized.map_or_else(|| "none".into(), |(height, _)| height.to_string())
}

/// Whether redb failed to open a file because of its contents (rather than, say, a lock or a
/// permission).
fn is_damage(error: &redb::DatabaseError) -> bool {
    match error {
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(_)) => true,
        redb::DatabaseError::Storage(redb::StorageError::Io(io)) => matches!(
            io.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
        ),
        _ => false,
    }
}

impl Store for RedbStore {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.try_get(key).unwrap_or_else(|error| {
            self.note_failure(&error);
            None
        })
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.try_scan(prefix).unwrap_or_else(|error| {
            self.note_failure(&error);
            Vec::new()
        })
    }
}

impl CommitStore for RedbStore {
    fn finalized(&self) -> Option<(u64, [u8; 32])> {
        self.read_finalized().unwrap_or_else(|error| {
            self.note_failure(&error);
            None
        })
    }

    fn commit(
        &self,
        height: u64,
        digest: [u8; 32],
        changes: &ChangeSet,
    ) -> Result<Committed, StorageError> {
        self.write(height, digest, changes, None)
    }

    fn commit_with_record(
        &self,
        height: u64,
        digest: [u8; 32],
        changes: &ChangeSet,
        record: &[u8],
    ) -> Result<Committed, StorageError> {
        self.write(height, digest, changes, Some(record))
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&[u8], Option<&[u8]>)]) -> ChangeSet {
        ChangeSet {
            writes: pairs
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect(),
        }
    }

    fn temp_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tao-node-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok();
        dir.join("state.redb")
    }

    #[test]
    fn a_snapshot_keeps_its_height_while_blocks_commit() -> Result<(), StorageError> {
        let store = RedbStore::in_memory()?;
        store.commit(0, [0; 32], &set(&[(b"a", Some(b"1")), (b"b", Some(b"1"))]))?;
        let before = store.snapshot()?;
        store.commit(1, [1; 32], &set(&[(b"a", Some(b"2")), (b"b", None)]))?;
        // The old snapshot still answers for height 0, every key of it.
        assert_eq!(before.get(b"a"), Some(b"1".to_vec()));
        assert_eq!(before.scan_prefix(b"").len(), 2);
        let after = store.snapshot()?;
        assert_eq!(after.get(b"a"), Some(b"2".to_vec()));
        assert_eq!(after.get(b"b"), None);
        assert!(!before.failed() && !after.failed() && !store.failed());
        Ok(())
    }

    #[test]
    fn apply_reopen_resume() -> Result<(), StorageError> {
        let path = temp_path("reopen");
        {
            let store = RedbStore::open(&path)?;
            assert_eq!(store.finalized(), None);
            assert_eq!(
                store.commit(0, [0; 32], &set(&[(b"a", Some(b"1"))]))?,
                Committed::Applied
            );
            let changes = set(&[(b"a", None), (b"b", Some(b"2"))]);
            assert_eq!(store.commit(1, [1; 32], &changes)?, Committed::Applied);
        }
        let store = RedbStore::open(&path)?;
        assert_eq!(store.finalized(), Some((1, [1; 32])));
        assert_eq!(store.get(b"a"), None);
        assert_eq!(store.get(b"b"), Some(b"2".to_vec()));
        assert_eq!(
            store
                .commit(3, [3; 32], &ChangeSet::default())
                .err()
                .map(|e| e.to_string()),
            Some("storage: height 3 does not follow the finalized height 1".into())
        );
        assert_eq!(
            store.commit(2, [2; 32], &set(&[(b"c", Some(b"3"))]))?,
            Committed::Applied
        );
        assert_eq!(store.finalized(), Some((2, [2; 32])));
        assert!(!store.failed());
        Ok(())
    }

    #[test]
    fn a_file_of_an_older_node_is_refused_with_what_to_do() -> Result<(), StorageError> {
        let path = temp_path("old-format");
        {
            // What a node wrote before values carried checksums.
            let db = Database::create(&path)?;
            let txn = db.begin_write()?;
            txn.open_table(META)?
                .insert(HEIGHT_KEY, 7u64.to_be_bytes().as_slice())?;
            txn.open_table(META)?
                .insert(DIGEST_KEY, [7u8; 32].as_slice())?;
            txn.commit()?;
        }
        let refused = RedbStore::open(&path).err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|message| message.contains("older node") && message.contains("resync")),
            "{refused:?}"
        );
        Ok(())
    }

    #[test]
    fn a_value_that_does_not_match_its_checksum_is_never_read() {
        let sealed = seal("state", b"k", b"value");
        assert_eq!(unseal("state", b"k", &sealed).ok(), Some(&b"value"[..]));
        // Another key, another table, a flipped bit, a short value: all refused.
        assert!(unseal("state", b"j", &sealed).is_err());
        assert!(unseal("meta", b"k", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[1] ^= 1;
        assert!(unseal("state", b"k", &flipped).is_err());
        assert!(unseal("state", b"k", &sealed[..CHECK_BYTES - 1]).is_err());
    }

    #[test]
    fn reapplying_a_committed_height_changes_nothing() -> Result<(), StorageError> {
        let store = RedbStore::in_memory()?;
        store.commit(0, [0; 32], &set(&[(b"k", Some(b"genesis"))]))?;
        store.commit(1, [1; 32], &set(&[(b"k", Some(b"one"))]))?;
        // A redelivered block 1 (even with other contents) and an old block 0 are ignored.
        assert_eq!(
            store.commit(1, [9; 32], &set(&[(b"k", Some(b"other"))]))?,
            Committed::AlreadyCommitted
        );
        assert_eq!(
            store.commit(0, [0; 32], &set(&[(b"k", Some(b"genesis"))]))?,
            Committed::AlreadyCommitted
        );
        assert_eq!(store.get(b"k"), Some(b"one".to_vec()));
        assert_eq!(store.finalized(), Some((1, [1; 32])));
        Ok(())
    }

    #[test]
    fn scan_prefix_is_in_key_order_and_bounded_by_the_prefix() -> Result<(), StorageError> {
        let store = RedbStore::in_memory()?;
        store.commit(
            0,
            [0; 32],
            &set(&[
                (b"b\x02", Some(b"2")),
                (b"a\xff", Some(b"x")),
                (b"b", Some(b"0")),
                (b"b\x01", Some(b"1")),
                (b"c", Some(b"y")),
            ]),
        )?;
        let keys: Vec<Vec<u8>> = store
            .scan_prefix(b"b")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            vec![b"b".to_vec(), b"b\x01".to_vec(), b"b\x02".to_vec()]
        );
        assert_eq!(store.scan_prefix(b"d"), Vec::new());
        assert_eq!(store.to_memory()?.len(), 5);
        Ok(())
    }
}
