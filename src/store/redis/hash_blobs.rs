//! The Redis store's attachment blobs: one hash under the store's prefix, `PREFIX:blobs`,
//! field = SHA-256, value = the bytes (sealed when the store encrypts). Written with `HSETNX`,
//! so a blob is stored once however many sessions refer to it.

use super::super::blobs::check_name;
use super::RedisStore;
use crate::Result;

fn key(store: &RedisStore) -> String {
    format!("{}:blobs", store.inner.keys.prefix)
}

impl RedisStore {
    pub(super) fn blob_save(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        check_name(sha256)?;
        let data = super::super::blobs::seal(&self.codec, sha256, bytes);
        let key = key(self);
        self.run(&format!("cannot save blob {sha256}"), |c| {
            redis::cmd("HSETNX")
                .arg(&key)
                .arg(sha256)
                .arg(&data)
                .query::<i64>(c)
                .map(|_| ())
        })
    }

    pub(super) fn blob_load(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        check_name(sha256)?;
        let key = key(self);
        let bytes: Option<Vec<u8>> = self.run(&format!("cannot read blob {sha256}"), |c| {
            redis::cmd("HGET").arg(&key).arg(sha256).query(c)
        })?;
        let Some(bytes) = bytes else { return Ok(None) };
        super::super::blobs::open(&self.codec, sha256, bytes).map(Some)
    }

    pub(super) fn blob_delete(&self, sha256: &str) -> Result<bool> {
        let key = key(self);
        let n: i64 = self.run(&format!("cannot delete blob {sha256}"), |c| {
            redis::cmd("HDEL").arg(&key).arg(sha256).query(c)
        })?;
        Ok(n > 0)
    }

    pub(super) fn blob_list(&self) -> Result<Vec<String>> {
        let key = key(self);
        self.run("cannot list blobs", |c| {
            redis::cmd("HKEYS").arg(&key).query(c)
        })
    }
}
