//! Reading a host's files under a root directory (`/` on a running host, a mounted image or a
//! fixture tree in tests), bounded in size, with errors that name the file.

use std::path::{Path, PathBuf};

/// Largest file read whole (a package database of a big server is a few MiB).
pub const MAX_FILE: u64 = 64 << 20;

/// Why a file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file does not exist.
    #[error("{0}: not present")]
    Missing(String),
    /// The file exists but cannot be read (permissions: may need root).
    #[error("{0}: not readable ({1})")]
    Unreadable(String, String),
    /// The file is larger than the bound.
    #[error("{0}: {1} bytes, more than the {MAX_FILE}-byte bound")]
    TooLarge(String, u64),
}

/// A filesystem root to read a host from.
#[derive(Debug, Clone)]
pub struct HostRoot {
    root: PathBuf,
}

impl HostRoot {
    /// A root directory.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        HostRoot { root: root.into() }
    }

    /// The root directory, for logs.
    pub fn display(&self) -> String {
        self.root.display().to_string()
    }

    /// True when this is the running system's own root.
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    /// The real path of `rel` (an absolute path on the host, like `/etc/os-release`).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// The whole file as text (invalid UTF-8 replaced), within [`MAX_FILE`].
    pub fn read(&self, rel: &str) -> Result<String, ReadError> {
        self.read_bytes(rel)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The whole file, within [`MAX_FILE`].
    pub fn read_bytes(&self, rel: &str) -> Result<Vec<u8>, ReadError> {
        let p = self.path(rel);
        let meta = std::fs::metadata(&p).map_err(|e| self.error(rel, e))?;
        if meta.len() > MAX_FILE {
            return Err(ReadError::TooLarge(rel.to_owned(), meta.len()));
        }
        let mut buf = Vec::new();
        use std::io::Read;
        std::fs::File::open(&p)
            .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut buf))
            .map_err(|e| self.error(rel, e))?;
        if buf.len() as u64 > MAX_FILE {
            return Err(ReadError::TooLarge(rel.to_owned(), buf.len() as u64));
        }
        Ok(buf)
    }

    /// The names in a directory, sorted; empty when it does not exist or cannot be listed.
    pub fn list(&self, rel: &str) -> Vec<String> {
        self.list_checked(rel).unwrap_or_default()
    }

    /// The names in a directory, sorted (empty when it does not exist), or why it cannot be
    /// listed (an unprivileged agent cannot list root-only directories).
    fn list_checked(&self, rel: &str) -> Result<Vec<String>, ReadError> {
        let dir = match std::fs::read_dir(self.path(rel)) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.error(rel, e)),
        };
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Host paths of the files in `dir` whose names end with one of `suffixes`, sorted.
    pub fn files(&self, dir: &str, suffixes: &[&str]) -> Vec<String> {
        self.files_checked(dir, suffixes).unwrap_or_default()
    }

    /// Like [`HostRoot::files`], or why `dir` cannot be listed.
    pub fn files_checked(&self, dir: &str, suffixes: &[&str]) -> Result<Vec<String>, ReadError> {
        Ok(self
            .list_checked(dir)?
            .into_iter()
            .filter(|n| suffixes.iter().any(|s| n.ends_with(s)))
            .map(|n| format!("{dir}/{n}"))
            .collect())
    }

    fn error(&self, rel: &str, e: std::io::Error) -> ReadError {
        match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::Missing(rel.to_owned()),
            _ => ReadError::Unreadable(rel.to_owned(), e.to_string()),
        }
    }
}

/// Opens an SQLite database read-only and immutable (a mounted image is never written, no lock is
/// taken), with an error naming the file.
pub fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, String> {
    let uri = format!("file:{}?immutable=1", path.display());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    rusqlite::Connection::open_with_flags(uri, flags).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_under_the_root_and_names_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/hostname"), "plc-eng-1\n").unwrap();
        let root = HostRoot::new(dir.path());
        assert_eq!(root.read("/etc/hostname").unwrap(), "plc-eng-1\n");
        assert_eq!(
            root.read("/etc/nothing"),
            Err(ReadError::Missing("/etc/nothing".into()))
        );
        assert_eq!(root.list("/etc"), ["hostname"]);
        assert_eq!(root.files("/etc", &["name", ".conf"]), ["/etc/hostname"]);
        assert!(root.files("/etc", &[".conf"]).is_empty());
        assert!(root.list("/nope").is_empty());
        assert!(!root.is_live() && HostRoot::new("/").is_live());
    }
}
