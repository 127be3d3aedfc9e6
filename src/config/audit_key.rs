//! The audit chain's key: what a key is, and reading (or on first start creating) its file.
//! Lives with the configuration because `check-config` must judge a key file the same way the
//! daemon will use it; the chain itself is in `appeals::events`.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest key accepted: 256 bits, the HMAC-SHA256 block strength.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the audit key is {0} bytes long, at least 32 are needed (fix: use 64 hex digits from `openssl rand -hex 32`)")]
    Short(usize),
    #[error("audit key file {path}: {problem} (fix: {fix})")]
    File {
        path: PathBuf,
        problem: String,
        fix: String,
    },
}

/// The chain's secret. Debug never shows it.
#[derive(Clone)]
pub struct AuditKey {
    bytes: Vec<u8>,
    id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id)
    }
}

impl AuditKey {
    /// Any text or bytes of at least [`MIN_KEY_BYTES`]; surrounding whitespace (a key file's
    /// newline) is not part of the key.
    pub fn new(material: &[u8]) -> Result<AuditKey, KeyError> {
        let bytes = material.trim_ascii().to_vec();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::Short(bytes.len()));
        }
        let id = hex::encode(&mac(&bytes, &[b"appeal-gateway audit key id"])[..4]);
        Ok(AuditKey { bytes, id })
    }

    /// A public name for the key (8 hex digits of a MAC, reveals nothing of the key): every
    /// keyed hash carries it, so a wrong key is named as such.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256 under this key over `fields`, fed in order.
    pub fn mac(&self, fields: &[&[u8]]) -> Vec<u8> {
        mac(&self.bytes, fields)
    }
}

fn mac(key: &[u8], fields: &[&[u8]]) -> Vec<u8> {
    // HMAC takes a key of any length; new_from_slice cannot fail for Hmac<Sha256>.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for f in fields {
        m.update(f);
    }
    m.finalize().into_bytes().to_vec()
}

/// Reads a key file; `create` makes a fresh random one when it is missing (the default
/// location), atomically so two daemons starting together end up with the same key.
pub fn load_key_file(path: &Path, create: bool) -> Result<AuditKey, KeyError> {
    let file_err = |problem: String, fix: &str| KeyError::File {
        path: path.to_path_buf(),
        problem,
        fix: fix.to_string(),
    };
    match std::fs::read(path) {
        Ok(bytes) => AuditKey::new(&bytes).map_err(|e| match e {
            KeyError::Short(n) => file_err(
                format!("holds a key of {n} bytes; at least 32 are needed"),
                "write 64 hex digits into it: `openssl rand -hex 32 > FILE`",
            ),
            other => other,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let material = hex::encode(rand::random::<[u8; 32]>());
            create_exclusive(path, &material).map_err(|e| {
                file_err(
                    format!("cannot create it: {e}"),
                    "make its folder writable for the daemon, or set [audit] key_file to a key file you created",
                )
            })?;
            tracing::warn!(path = %path.display(), "created a new audit key; keep a copy of it outside this machine's database");
            load_key_file(path, false)
        }
        Err(e) => Err(file_err(
            format!("cannot read it: {e}"),
            "create it (`openssl rand -hex 32 > FILE; chmod 600 FILE`) and let the appeal-gateway user read it",
        )),
    }
}

/// Writes `text` to a private temporary file and links it into place, which fails if the
/// file appeared meanwhile (another daemon won the race: its key is then the one read).
fn create_exclusive(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    match std::fs::hard_link(tmp.path(), path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
