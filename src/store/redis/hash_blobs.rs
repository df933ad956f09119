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

pub(super) fn save(store: &RedisStore, sha256: &str, bytes: &[u8]) -> Result<()> {
    check_name(sha256)?;
    let data = store.codec.seal_own(&sealed_name(sha256), bytes.to_vec());
    let key = key(store);
    store.run(&format!("cannot save blob {sha256}"), |c| {
        redis::cmd("HSETNX")
            .arg(&key)
            .arg(sha256)
            .arg(&data)
            .query::<i64>(c)
            .map(|_| ())
    })
}

pub(super) fn load(store: &RedisStore, sha256: &str) -> Result<Option<Vec<u8>>> {
    check_name(sha256)?;
    let key = key(store);
    let bytes: Option<Vec<u8>> = store.run(&format!("cannot read blob {sha256}"), |c| {
        redis::cmd("HGET").arg(&key).arg(sha256).query(c)
    })?;
    let Some(bytes) = bytes else { return Ok(None) };
    let plain = store
        .codec
        .open_own(&sealed_name(sha256), bytes)
        .ok_or_else(|| Error::CannotDecrypt {
            id: sealed_name(sha256),
            reason: "it does not open with this store's key".into(),
        })?;
    check_loaded(sha256, &plain)?;
    Ok(Some(plain))
}

pub(super) fn delete(store: &RedisStore, sha256: &str) -> Result<bool> {
    let key = key(store);
    let n: i64 = store.run(&format!("cannot delete blob {sha256}"), |c| {
        redis::cmd("HDEL").arg(&key).arg(sha256).query(c)
    })?;
    Ok(n > 0)
}

pub(super) fn list(store: &RedisStore) -> Result<Vec<String>> {
    let key = key(store);
    store.run("cannot list blobs", |c| {
        redis::cmd("HKEYS").arg(&key).query(c)
    })
}
