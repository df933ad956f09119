//! `MemoryStore`: sessions in a map, for programs that persist elsewhere or not at all.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{SessionStore, StoreLock};
use crate::document::SessionData;
use crate::Result;

/// An in-process store (the default of an [`crate::Agent`]). Cloning shares the same map.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    docs: Arc<Mutex<HashMap<String, Value>>>,
    locked: Arc<Mutex<HashSet<String>>>,
    blobs: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take the lock `name` names: a session's (a valid id) or the blob lock (a name no id can
    /// have).
    fn take_lock(&self, name: &str) -> Result<Option<StoreLock>> {
        if !self.locked.lock().unwrap().insert(name.to_string()) {
            return Ok(None);
        }
        Ok(Some(StoreLock::new(Held {
            id: name.to_string(),
            locked: self.locked.clone(),
        })))
    }
}

struct Held {
    id: String,
    locked: Arc<Mutex<HashSet<String>>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.locked.lock().unwrap().remove(&self.id);
    }
}

impl SessionStore for MemoryStore {
    fn save(&self, id: &str, data: &Value) -> Result<()> {
        self.docs
            .lock()
            .unwrap()
            .insert(id.to_string(), data.clone());
        Ok(())
    }

    fn save_document(&self, data: &SessionData) -> Result<()> {
        super::check_size(data)?;
        // One conversion, no clone of it.
        let doc = data.to_value();
        self.docs.lock().unwrap().insert(data.id.clone(), doc);
        Ok(())
    }

    fn load(&self, id: &str) -> Result<Option<Value>> {
        Ok(self.docs.lock().unwrap().get(id).cloned())
    }

    fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.docs.lock().unwrap().remove(id).is_some())
    }

    fn list_sessions(&self) -> Result<Vec<String>> {
        Ok(self.docs.lock().unwrap().keys().cloned().collect())
    }

    fn try_lock(&self, id: &str) -> Result<Option<StoreLock>> {
        crate::document::validate_id(id)?;
        self.take_lock(id)
    }

    fn try_lock_blobs(&self) -> Result<Option<StoreLock>> {
        self.take_lock(super::BLOB_LOCK)
    }

    fn describe(&self) -> String {
        "memory store".to_string()
    }

    fn save_blob(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        super::blobs::check_name(sha256)?;
        self.blobs
            .lock()
            .unwrap()
            .entry(sha256.to_string())
            .or_insert_with(|| bytes.to_vec());
        Ok(())
    }

    fn load_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.blobs.lock().unwrap().get(sha256).cloned())
    }

    fn delete_blob(&self, sha256: &str) -> Result<bool> {
        Ok(self.blobs.lock().unwrap().remove(sha256).is_some())
    }

    fn list_blobs(&self) -> Result<Vec<String>> {
        Ok(self.blobs.lock().unwrap().keys().cloned().collect())
    }
}
