//! The local spool: where recordings wait until the object store holds them (host side:
//! `std::fs`).
//!
//! ```text
//! SPOOL/pending/YYYY/MM/DD/START_CALLID/call.opus        segment 0, written by the file sink
//!                                      /call.seg1.opus   further segments of a rotated call
//!                                      /call.pcap        the evidence sidecar
//!                                      /call.manifest.json
//!                                      /.sealed          the call has ended: nothing more comes
//! SPOOL/archived/YYYY/MM/DD/START_CALLID/…               kept copies of archived calls (LocalCopy::Keep)
//! ```
//!
//! The spool is its own journal: every file under `pending/` is either being recorded (by
//! a sink of this process) or not yet confirmed by the store. `Archiver::start`
//! rebuilds the queue by walking `pending/` (before any sink exists); a folder without `.sealed` was cut by a
//! crash and is sealed as recovered (its files are uploaded as the crash left them). A call
//! leaves `pending/` only after every file of it is uploaded and verified, by deletion or by
//! a move to `archived/` (an atomic rename). The object key of a file is its path relative
//! to `pending/` (see [`super::key`]).

use super::LocalCopy;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Sub-folder of calls waiting for the store.
pub const PENDING: &str = "pending";
/// Sub-folder of kept copies of archived calls.
pub const ARCHIVED: &str = "archived";
/// Marker file of a call that has ended (its content says how: `ended` or `recovered`).
pub const SEALED: &str = ".sealed";

/// A spool directory (see the module docs).
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
}

/// A call folder found under `pending/`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpooledCall {
    /// The folder, `YYYY/MM/DD/START_CALLID`.
    pub folder: String,
    /// Whether `.sealed` is present (the call ended before the scan).
    pub sealed: bool,
}

impl Spool {
    /// Opens (creating `pending/` and `archived/` if needed) the spool at `root`.
    ///
    /// Errors: the `std::io::Error` of creating the folders.
    pub fn open(root: &Path) -> io::Result<Spool> {
        fs::create_dir_all(root.join(PENDING))?;
        fs::create_dir_all(root.join(ARCHIVED))?;
        Ok(Spool { root: root.to_path_buf() })
    }

    /// The spool's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The pending folder of a call.
    pub fn pending(&self, folder: &str) -> PathBuf {
        self.root.join(PENDING).join(folder)
    }

    /// The kept copy's folder of an archived call.
    pub fn archived(&self, folder: &str) -> PathBuf {
        self.root.join(ARCHIVED).join(folder)
    }

    /// Every call folder under `pending/` (exactly four levels deep), sorted.
    ///
    /// Errors: the `std::io::Error` of reading a folder.
    pub fn scan(&self) -> io::Result<Vec<SpooledCall>> {
        let base = self.root.join(PENDING);
        let mut level: Vec<String> = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for rel in &level {
                let dir = if rel.is_empty() { base.clone() } else { base.join(rel) };
                for e in fs::read_dir(&dir)? {
                    let e = e?;
                    let name = e.file_name().to_string_lossy().into_owned();
                    if e.file_type()?.is_dir() && !name.starts_with('.') {
                        next.push(if rel.is_empty() { name } else { format!("{rel}/{name}") });
                    }
                }
            }
            level = next;
        }
        level.sort();
        Ok(level.into_iter().map(|folder| SpooledCall { sealed: self.is_sealed(&folder), folder }).collect())
    }

    /// The files of a pending call (regular files not starting with `.`), sorted by name.
    ///
    /// Errors: the `std::io::Error` of reading the folder.
    pub fn files(&self, folder: &str) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.pending(folder))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type()?.is_file() && !name.starts_with('.') {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether the pending call has ended (`.sealed` present).
    pub fn is_sealed(&self, folder: &str) -> bool {
        self.pending(folder).join(SEALED).is_file()
    }

    /// Ends a pending call: writes the manifest file `(name, bytes)` if given, then the
    /// `.sealed` marker holding `how`, each durably (written to a temporary name, synced,
    /// renamed, folder synced).
    ///
    /// Errors: the `std::io::Error` of a write.
    pub fn seal(&self, folder: &str, manifest: Option<(&str, &[u8])>, how: &str) -> io::Result<()> {
        let dir = self.pending(folder);
        fs::create_dir_all(&dir)?;
        if let Some((name, bytes)) = manifest {
            write_durable(&dir, name, bytes)?;
        }
        write_durable(&dir, SEALED, format!("{how}\n").as_bytes())
    }

    /// Removes an archived call from `pending/`: deleted, or moved to `archived/` (files
    /// already there of an earlier archive of the same call are replaced). Empty date
    /// folders left behind are removed.
    ///
    /// Errors: the `std::io::Error` of the removal or move.
    pub fn dispose(&self, folder: &str, local: LocalCopy) -> io::Result<()> {
        let src = self.pending(folder);
        match local {
            LocalCopy::Delete => fs::remove_dir_all(&src)?,
            LocalCopy::Keep => {
                let dst = self.archived(folder);
                if let Some(parent) = dst.parent() {
                    fs::create_dir_all(parent)?;
                }
                if fs::rename(&src, &dst).is_err() {
                    // The destination exists (the call was archived before): replace file by file.
                    fs::create_dir_all(&dst)?;
                    for e in fs::read_dir(&src)? {
                        let e = e?;
                        fs::rename(e.path(), dst.join(e.file_name()))?;
                    }
                    fs::remove_dir(&src)?;
                }
                sync_dir(dst.parent().unwrap_or(&self.root));
            }
        }
        // Remove empty YYYY/MM/DD folders (best effort: a new call may be using them).
        let mut p = src.parent().map(Path::to_path_buf);
        let stop = self.root.join(PENDING);
        while let Some(dir) = p {
            if dir == stop || fs::remove_dir(&dir).is_err() {
                break;
            }
            p = dir.parent().map(Path::to_path_buf);
        }
        Ok(())
    }
}

/// Writes `bytes` to `dir/name` durably: a temporary `.name.tmp`, `fsync`, rename, folder `fsync`.
fn write_durable(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir);
    Ok(())
}

/// `fsync` of a folder so a rename in it is durable (best effort: not every platform can).
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("jyqq-spool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn scan_seal_and_dispose() {
        let root = tmp("a");
        let s = Spool::open(&root).unwrap();
        let f1 = "2026/03/01/20260301T080000Z_C-1";
        let f2 = "2026/03/02/20260302T080000Z_C-2";
        for f in [f1, f2] {
            fs::create_dir_all(s.pending(f)).unwrap();
            fs::write(s.pending(f).join("call.opus"), b"OggS").unwrap();
        }
        fs::write(s.pending(f1).join(".call.manifest.json.tmp"), b"half").unwrap();
        s.seal(f1, Some(("call.manifest.json", b"{}")), "ended").unwrap();
        let calls = s.scan().unwrap();
        assert_eq!(
            calls,
            vec![SpooledCall { folder: f1.into(), sealed: true }, SpooledCall { folder: f2.into(), sealed: false }]
        );
        assert_eq!(s.files(f1).unwrap(), vec!["call.manifest.json".to_owned(), "call.opus".to_owned()]);
        assert_eq!(fs::read_to_string(s.pending(f1).join(SEALED)).unwrap(), "ended\n");

        s.dispose(f1, LocalCopy::Keep).unwrap();
        assert_eq!(fs::read(s.archived(f1).join("call.opus")).unwrap(), b"OggS");
        assert!(!root.join(PENDING).join("2026/03/01").exists(), "empty date folders removed");
        // The same call archived again replaces the kept copy.
        fs::create_dir_all(s.pending(f1)).unwrap();
        fs::write(s.pending(f1).join("call.opus"), b"OggS2").unwrap();
        s.dispose(f1, LocalCopy::Keep).unwrap();
        assert_eq!(fs::read(s.archived(f1).join("call.opus")).unwrap(), b"OggS2");
        s.dispose(f2, LocalCopy::Delete).unwrap();
        assert!(s.scan().unwrap().is_empty());
        assert!(root.join(PENDING).is_dir());
        fs::remove_dir_all(&root).unwrap();
    }
}
