//! `DirStore`: one JSON file per session in a data directory, written atomically, locked per turn.

mod blob_files;

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::expiry::Expiry;
use super::seal::{Codec, EncryptionKey};
use super::{SessionStore, StoreLock};
use crate::document::{validate_id, SessionData, SessionSummary};
use crate::{Error, Result};

use crate::limits::MAX_DOCUMENT_BYTES;

/// Sessions as `<root>/sessions/<id>.json` (mode 0600, directories 0700); turn locks as
/// `<root>/locks/<id>.lock`.
///
/// Every save writes a temp file beside the target, fsyncs it, renames it over the old file and
/// fsyncs the directory: a crash leaves the old document or the new one, never a torn one.
///
/// With [`DirStore::encryption`], each file holds the sealed document instead of its JSON, and
/// the listing cache is sealed too.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    codec: Codec,
    expiry: Expiry,
}

impl DirStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirStore {
            root: root.into(),
            codec: Codec::default(),
            expiry: Expiry::default(),
        }
    }

    /// Seal every document under `key`, and read only documents it sealed.
    pub fn encryption(mut self, key: EncryptionKey) -> Self {
        self.codec = Codec::new(Some(Arc::new(key)), false);
        self
    }

    /// With [`Self::encryption`]: keep the listing cache (titles, providers, models) in clear.
    pub fn clear_index(mut self) -> Self {
        self.codec = Codec::new(self.codec.key(), true);
        self
    }

    /// Keep sessions without a TTL of their own for `ttl` after their last update.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.expiry.default = Some(ttl);
        self
    }

    pub(crate) fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `id`.
    pub fn path(&self, id: &str) -> PathBuf {
        self.root.join("sessions").join(format!("{id}.json"))
    }

    fn sessions_dir(&self) -> PathBuf {
        self.root.join("sessions")
    }

    /// Create `dir` (0700) if missing; one of ours found readable by others (an old version,
    /// a copy, a umask) is made private again.
    fn ensure_dir(&self, dir: &Path) -> Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let meta = fs::symlink_metadata(dir)
            .map_err(|e| Error::io(format!("cannot stat {}", dir.display()), e))?;
        if meta.is_dir() && meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(format!("cannot make {} private", dir.display()), e))?;
        }
        Ok(())
    }

    /// The one temp name `id`'s writer uses. Writers hold the session's lock, so one name per
    /// session is enough, and removing a stale one costs one unlink instead of a directory scan.
    fn temp_path(&self, id: &str) -> PathBuf {
        self.sessions_dir().join(format!(".{id}.json.tmp"))
    }

    fn read_file(&self, id: &str) -> Result<Option<Vec<u8>>> {
        validate_id(id)?;
        let path = self.path(id);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot open {}", path.display()), e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot stat {}", path.display()), e))?
            .len();
        if len > MAX_DOCUMENT_BYTES {
            return Err(Error::InvalidSession {
                location: path.display().to_string(),
                reason: format!(
                    "file is {len} bytes, over the {} MiB limit",
                    MAX_DOCUMENT_BYTES >> 20
                ),
            });
        }
        let mut bytes = Vec::with_capacity(len as usize + 1);
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        Ok(Some(bytes))
    }
}

/// Replace `path` atomically with what `write` writes: the data is written and fsynced under
/// the name `tmp` (see [`write_named`]), then renamed over `path`. A kill in the instant before
/// the rename can leave `tmp` (a whole document, never a torn one), which the next save or
/// removal of the session deletes.
fn write_atomic(
    dir: &Path,
    path: &Path,
    tmp: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // A stale name from a killed writer would make the new one fail with EEXIST.
    match fs::remove_file(tmp) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    write_named(dir, tmp, write)
        .and_then(|()| fs::rename(tmp, path))
        .inspect_err(|_| {
            let _ = fs::remove_file(tmp);
        })
}

/// Write the data, synced, under the name `tmp`. On Linux the file is written unnamed
/// (`O_TMPFILE`) and named only once complete, so a crash mid-write leaves no file at all;
/// elsewhere, and on filesystems without `O_TMPFILE`, it is written at `tmp` directly.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn write_named(
    dir: &Path,
    tmp: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if let Some(mut file) = unnamed::open(dir)? {
        write_synced(&mut file, write)?;
        return unnamed::link(&file, tmp);
    }
    let mut named = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    write_synced(&mut named, write)
}

#[cfg(target_os = "linux")]
mod unnamed {
    use std::fs::{File, OpenOptions};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    /// An unnamed file in `dir`, or `None` where its filesystem has no `O_TMPFILE`.
    pub(super) fn open(dir: &Path) -> std::io::Result<Option<File>> {
        let opened = OpenOptions::new()
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_TMPFILE)
            .open(dir);
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Give the unnamed `file` the name `name`: linkat through /proc with AT_SYMLINK_FOLLOW
    /// names an `O_TMPFILE` inode without privileges.
    pub(super) fn link(file: &File, name: &Path) -> std::io::Result<()> {
        let proc_path = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
        let name =
            std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()))?;
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                proc_path.as_ptr(),
                libc::AT_FDCWD,
                name.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        match rc {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

/// Write through a buffer (a document is serialized straight into the file, never held whole
/// as bytes), then fsync.
fn write_synced(
    file: &mut File,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, &mut *file);
    write(&mut buffered)?;
    buffered.flush()?;
    drop(buffered);
    file.sync_all()
}

/// Pretty JSON and a final newline, as every session file is written.
fn write_json(out: &mut dyn Write, doc: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    out.write_all(b"\n")
}

impl DirStore {
    /// Save `id` atomically with `write` producing its bytes.
    fn save_with(
        &self,
        id: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        validate_id(id)?;
        let dir = self.sessions_dir();
        self.ensure_dir(&dir)?;
        let path = self.path(id);
        let fail = |e: std::io::Error| match super::is_over_limit(&e) {
            true => super::too_large(id),
            false => Error::io(format!("cannot save {}", path.display()), e),
        };
        // Bounded while written: a document too large to load again never replaces the old one.
        let bounded = |out: &mut dyn Write| {
            let mut limited = super::Limited::new(out, MAX_DOCUMENT_BYTES);
            write(&mut limited)
        };
        write_atomic(&dir, &path, &self.temp_path(id), bounded).map_err(fail)?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))
    }
}

/// Whether `path` still names the open `file` (same device and inode).
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

impl DirStore {
    /// Save `doc` as pretty JSON streamed into the file, or sealed whole when encrypting.
    fn save_doc(&self, id: &str, doc: &impl serde::Serialize) -> Result<()> {
        if !self.codec.encrypts() {
            return self.save_with(id, |out| write_json(out, doc));
        }
        let sealed = self
            .codec
            .encode(id, |buf| serde_json::to_writer(&mut *buf, doc))?;
        self.save_with(id, |out| out.write_all(&sealed))
    }

    /// The plain bytes of `id`'s document (opened when sealed), or `None` when there is none.
    fn read_plain(&self, id: &str) -> Result<Option<Vec<u8>>> {
        match self.read_file(id)? {
            Some(bytes) => self.codec.decode(id, bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The document of `id`, expired or not.
    fn load_any(&self, id: &str) -> Result<Option<Value>> {
        let Some(bytes) = self.read_plain(id)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::InvalidSession {
                location: self.path(id).display().to_string(),
                reason: format!("not valid JSON: {e}"),
            })
    }

    /// Every summary, expired ones included, and the files that are not valid documents.
    fn survey_all(&self) -> Result<(Vec<SessionSummary>, Vec<Error>)> {
        let parse = |id: &str| -> Result<Option<SessionSummary>> {
            let Some(bytes) = self.read_plain(id)? else {
                return Ok(None); // removed since the listing
            };
            let location = self.path(id).display().to_string();
            let summary =
                SessionSummary::from_document(&bytes).map_err(|e| Error::InvalidSession {
                    location: location.clone(),
                    reason: e.to_string(),
                })?;
            if summary.id != id {
                return Err(Error::InvalidSession {
                    location,
                    reason: format!(
                        "the document's id is '{}', not '{id}' (a copied file? fix its \"id\" or its name)",
                        summary.id
                    ),
                });
            }
            Ok(Some(summary))
        };
        super::dir_cache::summaries(
            &self.sessions_dir(),
            &self.root.join("ls-cache.json"),
            &self.codec,
            parse,
        )
    }
}

impl SessionStore for DirStore {
    fn save(&self, id: &str, data: &Value) -> Result<()> {
        self.save_doc(id, data)
    }

    fn save_document(&self, data: &SessionData) -> Result<()> {
        self.save_doc(&data.id, data)
    }

    fn load(&self, id: &str) -> Result<Option<Value>> {
        Ok(self
            .load_any(id)?
            .filter(|doc| !self.expiry.doc_is_gone(doc)))
    }

    /// Parsed straight from the file's bytes, with no `Value` tree in between.
    fn load_document(&self, id: &str) -> Result<Option<SessionData>> {
        let Some(bytes) = self.read_plain(id)? else {
            return Ok(None);
        };
        let data = SessionData::from_slice(&bytes, &self.path(id).display().to_string())?;
        Ok(Some(data).filter(|d| !self.expiry.data_is_gone(d)))
    }

    fn delete(&self, id: &str) -> Result<bool> {
        validate_id(id)?;
        let path = self.path(id);
        match fs::remove_file(&path) {
            Ok(()) => {
                // A name a killed save left between naming and renaming goes with the session.
                let _ = fs::remove_file(self.temp_path(id));
                let _ = fs::remove_file(self.root.join("locks").join(format!("{id}.lock")));
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("cannot remove {}", path.display()), e)),
        }
    }

    fn list_sessions(&self) -> Result<Vec<String>> {
        let dir = self.sessions_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("cannot list {}", dir.display()), e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if validate_id(id).is_ok() {
                ids.push(id.to_string());
            }
        }
        // Expired sessions the listing cache knows of are left out; no document is read.
        let gone = super::dir_cache::expired(
            &dir,
            &self.root.join("ls-cache.json"),
            &self.codec,
            &self.expiry,
        );
        if !gone.is_empty() {
            ids.retain(|id| !gone.contains(id));
        }
        Ok(ids)
    }

    /// Summaries from the listing cache; files it does not know are parsed into a summary that
    /// counts messages without keeping them. The first invalid file fails the listing: use
    /// [`SessionStore::survey`] to list the rest.
    fn summaries(&self) -> Result<Vec<SessionSummary>> {
        let (sessions, mut invalid) = self.survey()?;
        match invalid.is_empty() {
            true => Ok(sessions),
            false => Err(invalid.swap_remove(0)),
        }
    }

    /// A warm listing cache answers without parsing any document or rewriting itself;
    /// otherwise this lists as [`SessionStore::survey`] does.
    fn recent_ids(&self) -> Result<super::RecentIds> {
        let cache = self.root.join("ls-cache.json");
        let sessions = self.sessions_dir();
        if let Some(ids) = super::dir_cache::recent(&sessions, &cache, &self.codec, &self.expiry)? {
            return Ok(ids);
        }
        Ok(super::by_recency(self.survey()?.0))
    }

    fn survey(&self) -> Result<(Vec<SessionSummary>, Vec<Error>)> {
        let (all, invalid) = self.survey_all()?;
        Ok((self.expiry.split(all).0, invalid))
    }

    fn expired(&self) -> Result<Vec<String>> {
        let (all, _) = self.survey_all()?;
        Ok(self.expiry.split(all).1)
    }

    fn migrate(&self, id: &str) -> Result<bool> {
        let Some(bytes) = self.read_file(id)? else {
            return Ok(false);
        };
        if !self.codec.encrypts() || super::seal::is_sealed(&bytes) {
            return Ok(false);
        }
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidSession {
            location: self.path(id).display().to_string(),
            reason: format!("not valid JSON: {e}"),
        })?;
        self.save_doc(id, &doc).map(|()| true)
    }

    fn try_lock(&self, id: &str) -> Result<Option<StoreLock>> {
        validate_id(id)?;
        let lock = self.take_lock(id)?;
        if lock.is_some() {
            // Only a killed writer leaves this name behind; no live one can hold the lock.
            let _ = fs::remove_file(self.temp_path(id));
        }
        Ok(lock)
    }

    fn try_lock_blobs(&self) -> Result<Option<StoreLock>> {
        self.take_lock(super::BLOB_LOCK)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn save_blob(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        self.blob_save(sha256, bytes)
    }

    fn load_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.blob_load(sha256)
    }

    fn delete_blob(&self, sha256: &str) -> Result<bool> {
        self.blob_delete(sha256)
    }

    fn list_blobs(&self) -> Result<Vec<String>> {
        self.blob_list()
    }
}

impl DirStore {
    /// Take the lock file `locks/<name>.lock`: a session's (a valid id) or the blob lock (a
    /// name no id can have).
    fn take_lock(&self, name: &str) -> Result<Option<StoreLock>> {
        let dir = self.root.join("locks");
        self.ensure_dir(&dir)?;
        let path = dir.join(format!("{name}.lock"));
        // Never follow a symlink planted where the lock file goes.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open lock {}", path.display()), e))?;
        match file.try_lock() {
            // Locked, but the name may since point at another file (removed with its session
            // and made anew): a lock on a file no longer named would exclude nobody.
            Ok(()) if !still_named(&file, &path) => Ok(None),
            Ok(()) => Ok(Some(StoreLock::new(file))),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => {
                Err(Error::io(format!("cannot lock {}", path.display()), e))
            }
        }
    }
}
