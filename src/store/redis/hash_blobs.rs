//! The Redis store's attachment blobs: one hash under the store's prefix, `PREFIX:blobs`,
//! field = SHA-256, value = the bytes (sealed when the store encrypts). Written with `HSETNX`,
//! so a blob is stored once however many sessions refer to it.

use super::super::blobs::{check_loaded, check_name};
use super::RedisStore;
use crate::{Error, Result};

fn key(store: &RedisStore) -> String {
    format!("{}:blobs", store.inner.keys.prefix)
}

/// The name a blob is sealed under: no session id has a `:`.
fn sealed_name(sha256: &str) -> String {
    format!("blob:{sha256}")
}

impl RedisStore {
    pub(super) fn blob_save(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        check_name(sha256)?;
        let data = self.codec.seal_own(&sealed_name(sha256), bytes.to_vec());
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
        let plain = self
            .codec
            .open_own(&sealed_name(sha256), bytes)
            .ok_or_else(|| Error::CannotDecrypt {
                id: sealed_name(sha256),
                reason: "it does not open with this store's key".into(),
            })?;
        check_loaded(sha256, &plain)?;
        Ok(Some(plain))
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
