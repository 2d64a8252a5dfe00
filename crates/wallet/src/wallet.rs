//! Wallet directories: `<root>/<wallet>/coldkey`, `coldkeypub.txt`, `hotkeys/<name>` and
//! `hotkeys/<name>pub.txt`, every file mode 0600 (`reference/sdk.md` §4.1).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tao_keys::{Keypair, PublicKey};

use crate::crypt::{self, Format};
use crate::error::WalletError;
use crate::keyfile::{self, Key};

/// The environment variable that moves the wallets' root, as in the bittensor tools.
pub const WALLET_PATH_ENV: &str = "BT_WALLET_PATH";

/// `$BT_WALLET_PATH`, else `~/.bittensor/wallets`.
pub fn default_root() -> PathBuf {
    if let Some(path) = std::env::var_os(WALLET_PATH_ENV).filter(|p| !p.is_empty()) {
        return expand_home(Path::new(&path));
    }
    expand_home(Path::new("~/.bittensor/wallets"))
}

/// Replaces a leading `~` with `$HOME`.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// One named wallet: a coldkey and its hotkeys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wallet {
    root: PathBuf,
    name: String,
}

/// A wallet as listed: what its public files say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletSummary {
    /// Wallet name.
    pub name: String,
    /// Its coldkey's public key, if `coldkeypub.txt` is readable.
    pub coldkey: Option<PublicKey>,
    /// Its hotkeys by name, with their public keys where readable.
    pub hotkeys: Vec<(String, Option<PublicKey>)>,
}

impl Wallet {
    /// The wallet `name` under `root`. Names are single path components.
    pub fn new(root: impl Into<PathBuf>, name: &str) -> Result<Wallet, WalletError> {
        check_name(name)?;
        Ok(Wallet {
            root: root.into(),
            name: name.to_owned(),
        })
    }

    /// The wallet's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its directory.
    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.name)
    }

    /// Path of the (usually encrypted) coldkey file.
    pub fn coldkey_path(&self) -> PathBuf {
        self.dir().join("coldkey")
    }

    /// Path of the public coldkey file.
    pub fn coldkeypub_path(&self) -> PathBuf {
        self.dir().join("coldkeypub.txt")
    }

    /// Path of a hotkey file.
    pub fn hotkey_path(&self, hotkey: &str) -> Result<PathBuf, WalletError> {
        check_name(hotkey)?;
        Ok(self.dir().join("hotkeys").join(hotkey))
    }

    fn hotkeypub_path(&self, hotkey: &str) -> Result<PathBuf, WalletError> {
        check_name(hotkey)?;
        Ok(self.dir().join("hotkeys").join(format!("{hotkey}pub.txt")))
    }

    /// Writes a coldkey (encrypted with `password`, plain without) and `coldkeypub.txt`.
    pub fn write_coldkey(
        &self,
        pair: &Keypair,
        phrase: Option<&str>,
        password: Option<&str>,
        overwrite: bool,
    ) -> Result<(), WalletError> {
        let secret = keyfile::secret_json(pair, phrase);
        // A plain coldkey's bytes are the secret: moved, never copied into an unzeroized Vec.
        let bytes = match password {
            Some(password) => zeroize::Zeroizing::new(crypt::encrypt(&secret, password)?),
            None => secret,
        };
        write_private(&self.coldkey_path(), &bytes, overwrite)?;
        write_private(
            &self.coldkeypub_path(),
            &keyfile::public_json(&pair.public()),
            true,
        )
    }

    /// Writes a hotkey (plain, as bittensor-wallet does by default) and its public file.
    pub fn write_hotkey(
        &self,
        hotkey: &str,
        pair: &Keypair,
        phrase: Option<&str>,
        overwrite: bool,
    ) -> Result<(), WalletError> {
        write_private(
            &self.hotkey_path(hotkey)?,
            &keyfile::secret_json(pair, phrase),
            overwrite,
        )?;
        write_private(
            &self.hotkeypub_path(hotkey)?,
            &keyfile::public_json(&pair.public()),
            true,
        )
    }

    /// The coldkey's public key (no password needed).
    pub fn coldkeypub(&self) -> Result<PublicKey, WalletError> {
        Ok(read_key(&self.coldkeypub_path(), None)?.public())
    }

    /// The coldkey pair; `password` is asked for only when the file is encrypted.
    pub fn coldkey(
        &self,
        password: impl FnOnce() -> Result<String, WalletError>,
    ) -> Result<Keypair, WalletError> {
        pair_of(read_key_with(&self.coldkey_path(), password)?)
    }

    /// A hotkey pair (hotkeys are normally not encrypted; an encrypted one needs `password`).
    pub fn hotkey(
        &self,
        hotkey: &str,
        password: impl FnOnce() -> Result<String, WalletError>,
    ) -> Result<Keypair, WalletError> {
        pair_of(read_key_with(&self.hotkey_path(hotkey)?, password)?)
    }

    /// A hotkey's public key: from its public file, else from the hotkey file itself.
    pub fn hotkeypub(&self, hotkey: &str) -> Result<PublicKey, WalletError> {
        match read_key(&self.hotkeypub_path(hotkey)?, None) {
            Ok(key) => Ok(key.public()),
            Err(WalletError::NotFound(_)) => {
                Ok(read_key(&self.hotkey_path(hotkey)?, None)?.public())
            }
            Err(other) => Err(other),
        }
    }

    /// Names of the wallet's hotkeys, sorted.
    pub fn hotkeys(&self) -> Result<Vec<String>, WalletError> {
        let dir = self.dir().join("hotkeys");
        let mut names = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(WalletError::io(dir)(e)),
        };
        for entry in entries {
            let name = entry
                .map_err(WalletError::io(&dir))?
                .file_name()
                .to_string_lossy()
                .into_owned();
            let is_pub = name.ends_with("pub.txt");
            if !is_pub && !name.starts_with('.') {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

/// Every wallet under `root`, sorted by name (unreadable public files show as `None`).
pub fn list(root: &Path) -> Result<Vec<WalletSummary>, WalletError> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(WalletError::io(root)(e)),
    };
    let mut wallets = Vec::new();
    for entry in entries {
        let entry = entry.map_err(WalletError::io(root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(wallet) = Wallet::new(root, &name) else {
            continue;
        };
        if !entry.path().is_dir() {
            continue;
        }
        let hotkeys = wallet.hotkeys()?.into_iter().map(|h| {
            let public = wallet.hotkeypub(&h).ok();
            (h, public)
        });
        wallets.push(WalletSummary {
            coldkey: wallet.coldkeypub().ok(),
            hotkeys: hotkeys.collect(),
            name,
        });
    }
    wallets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(wallets)
}

fn check_name(name: &str) -> Result<(), WalletError> {
    let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']);
    if bad {
        Err(WalletError::BadKeyfile(format!(
            "invalid wallet or hotkey name {name:?}"
        )))
    } else {
        Ok(())
    }
}

fn pair_of(key: Key) -> Result<Keypair, WalletError> {
    match key {
        Key::Pair(pair) => Ok(*pair),
        Key::Public(_) => Err(WalletError::BadKeyfile(
            "the file holds only a public key".into(),
        )),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, WalletError> {
    fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            WalletError::NotFound(path.to_path_buf())
        } else {
            WalletError::io(path)(e)
        }
    })
}

/// Reads a keyfile that must be plain (`password` `None`) or decrypts it.
fn read_key(path: &Path, password: Option<&str>) -> Result<Key, WalletError> {
    let data = read_file(path)?;
    match (crypt::format_of(&data), password) {
        (Format::Plain, _) => keyfile::parse(&data),
        (Format::Nacl, None) => Err(WalletError::PasswordRequired),
        (_, Some(password)) => keyfile::parse(&crypt::decrypt(&data, password)?),
        (Format::AnsibleVault, None) => Err(WalletError::UnsupportedLegacyFormat("Ansible Vault")),
        (Format::Fernet, None) => Err(WalletError::UnsupportedLegacyFormat("Fernet")),
    }
}

fn read_key_with(
    path: &Path,
    password: impl FnOnce() -> Result<String, WalletError>,
) -> Result<Key, WalletError> {
    let data = read_file(path)?;
    if crypt::format_of(&data) == Format::Plain {
        return keyfile::parse(&data);
    }
    let password = zeroize::Zeroizing::new(password()?);
    keyfile::parse(&crypt::decrypt(&data, &password)?)
}

/// Writes `bytes` to `path` with mode 0600 through a temporary file, so a crash never leaves
/// half a keyfile; refuses to replace an existing file unless `overwrite`.
///
/// The temporary file is created fresh (`O_CREAT | O_EXCL`: a file or symlink planted at its
/// name is removed first, never followed), the new name is linked without replacing anything
/// when `overwrite` is off (no window between a check and the write), and the directory is
/// synced so the new entry survives a crash.
pub fn write_private(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), WalletError> {
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        return Err(WalletError::AlreadyExists(path.to_path_buf()));
    }
    let dir = path
        .parent()
        .ok_or_else(|| WalletError::BadKeyfile(format!("{} has no directory", path.display())))?;
    create_private_dir(dir)?;
    let temporary = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    match fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(WalletError::io(&temporary)(error));
        }
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&temporary)
        .map_err(WalletError::io(&temporary))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(WalletError::io(&temporary))?;
    drop(file);
    let placed = if overwrite {
        fs::rename(&temporary, path)
    } else {
        // A hard link fails if the name exists, where a rename would replace it.
        let linked = fs::hard_link(&temporary, path);
        let _ = fs::remove_file(&temporary);
        linked
    };
    placed.map_err(|error| match error.kind() {
        std::io::ErrorKind::AlreadyExists => WalletError::AlreadyExists(path.to_path_buf()),
        _ => WalletError::io(path)(error),
    })?;
    sync_dir(dir)
}

/// Makes a directory's new entries durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<(), WalletError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(WalletError::io(dir))?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), WalletError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(WalletError::io(dir))
}
