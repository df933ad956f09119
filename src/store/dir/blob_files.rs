//! The directory store's attachment blobs: `<root>/blobs/<sha256>` (files 0600, the directory
//! 0700), written atomically once, sealed like the sessions when the store encrypts.

use std::fs;
use std::io::{ErrorKind, Read};
use std::path::PathBuf;

use super::super::blobs::check_name;
use super::DirStore;
use crate::limits::MAX_ATTACHMENT_BYTES;
use crate::{Error, Result};

fn dir(store: &DirStore) -> PathBuf {
    store.root.join("blobs")
}

impl DirStore {
    pub(super) fn blob_save(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        check_name(sha256)?;
        let dir = dir(self);
        let path = dir.join(sha256);
        // Named by its content: a blob already there holds these very bytes.
        if path.exists() {
            return Ok(());
        }
        self.ensure_dir(&dir)?;
        let sealed;
        let bytes = match self.codec.encrypts() {
            true => {
                sealed = super::super::blobs::seal(&self.codec, sha256, bytes);
                &sealed[..]
            }
            false => bytes,
        };
        let tmp = dir.join(format!(".{sha256}.tmp"));
        super::write_atomic(&dir, &path, &tmp, |out| out.write_all(bytes))
            .and_then(|()| fs::File::open(&dir).and_then(|d| d.sync_all()))
            .map_err(|e| Error::io(format!("cannot save {}", path.display()), e))
    }

    pub(super) fn blob_load(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        check_name(sha256)?;
        let path = dir(self).join(sha256);
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot open {}", path.display()), e)),
        };
        let mut bytes = Vec::new();
        // Sealing adds a few dozen bytes; the bound leaves room for them.
        file.take(MAX_ATTACHMENT_BYTES + 4096)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        super::super::blobs::open(&self.codec, sha256, bytes).map(Some)
    }

    pub(super) fn blob_delete(&self, sha256: &str) -> Result<bool> {
        check_name(sha256)?;
        let path = dir(self).join(sha256);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("cannot remove {}", path.display()), e)),
        }
    }

    pub(super) fn blob_list(&self) -> Result<Vec<String>> {
        let dir = dir(self);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("cannot list {}", dir.display()), e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
            if let Some(name) = entry.file_name().to_str() {
                if crate::attachment::is_sha256(name) {
                    out.push(name.to_string());
                }
            }
        }
        Ok(out)
    }
}
