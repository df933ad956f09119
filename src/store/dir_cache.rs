//! `DirStore` listings: a summary cache keyed by each file's identity, so `ls` over 10,000
//! sessions stats files instead of parsing them.
//!
//! `DATA_DIR/ls-cache.json` maps an id to (inode, size, mtime) and the summary parsed from that
//! exact file. Every save renames a new inode into place, so a changed session never matches
//! its cached entry and is parsed again. The cache is only ever a shortcut: it is written
//! without fsync, a missing or unreadable cache means parsing everything, and nothing but `ls`
//! reads it. When the store encrypts, the cache is sealed like the documents (its titles would
//! say what they hold), and a cache that does not open is rebuilt.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::expiry::Expiry;
use super::seal::Codec;
use crate::document::{validate_id, SessionSummary};
use crate::{Error, Result};

/// 2: summaries carry `expires_at`.
const CACHE_VERSION: u32 = 2;
/// What the sealed cache is bound to: no session id holds a NUL.
const SEALED_NAME: &str = "\0ls-cache";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileId {
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    file: FileId,
    summary: SessionSummary,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    version: u32,
    entries: HashMap<String, Entry>,
}

/// Summaries of every `<id>.json` in `sessions`, parsing only files the cache does not know,
/// and the files that are not valid documents (each an `InvalidSession` naming its path).
pub(super) fn summaries(
    sessions: &Path,
    cache_path: &Path,
    codec: &Codec,
    parse: impl Fn(&str) -> Result<Option<SessionSummary>> + Sync,
) -> Result<(Vec<SessionSummary>, Vec<Error>)> {
    let files = files(sessions)?;
    if files.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut cache = read_cache(cache_path, codec);
    let (hits, misses): (Vec<_>, Vec<_>) = files
        .iter()
        .map(|(id, file)| (id.as_str(), *file))
        .partition(|(id, file)| cache.entries.get(*id).is_some_and(|e| e.file == *file));
    let stale = cache.entries.len() + misses.len() != files.len();
    // Hits move out of a cache that will not be written again, and are copied only when it
    // will be: with 10,000 sessions that copy was a tenth of a warm listing.
    let changed = !misses.is_empty() || stale;
    let mut out = Vec::with_capacity(files.len());
    for (id, _) in &hits {
        match changed {
            true => out.push(cache.entries[*id].summary.clone()),
            false => out.extend(cache.entries.remove(*id).map(|e| e.summary)),
        }
    }
    let parsed = parse_parallel(&misses, &parse)?;
    let mut invalid = Vec::new();
    for ((id, file), summary) in misses.iter().zip(parsed) {
        // A file that is not a document is reported, never cached: once fixed it lists again.
        let summary = match summary {
            Ok(s) => s,
            Err(e @ (Error::InvalidSession { .. } | Error::CannotDecrypt { .. })) => {
                invalid.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(summary) = summary {
            cache.entries.insert(
                id.to_string(),
                Entry {
                    file: *file,
                    summary: summary.clone(),
                },
            );
            out.push(summary);
        }
    }
    if changed {
        let live: std::collections::HashSet<&str> =
            files.iter().map(|(id, _)| id.as_str()).collect();
        cache.entries.retain(|id, _| live.contains(id.as_str()));
        cache.version = CACHE_VERSION;
        write_cache(cache_path, &cache, codec);
    }
    Ok((out, invalid))
}

/// Each `<id>.json` in `sessions` with the identity of its file, from one directory read and
/// a stat each.
fn files(sessions: &Path) -> Result<Vec<(String, FileId)>> {
    let entries = match fs::read_dir(sessions) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot list {}", sessions.display()), e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::io(format!("cannot list {}", sessions.display()), e))?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        if validate_id(id).is_err() {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue; // removed since the listing
        };
        let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
        files.push((
            id.to_string(),
            FileId {
                ino: meta.ino(),
                size: meta.len(),
                mtime_ns,
            },
        ));
    }
    Ok(files)
}

/// What completion reads of the cache: the title and expiry of each entry, borrowed from the
/// bytes rather than copied into summaries (most of a warm listing's time is those copies).
#[derive(Deserialize)]
struct Glance<'a> {
    version: u32,
    #[serde(borrow)]
    entries: HashMap<Cow<'a, str>, GlanceEntry<'a>>,
}

#[derive(Deserialize)]
struct GlanceEntry<'a> {
    file: FileId,
    #[serde(borrow)]
    summary: GlanceSummary<'a>,
}

#[derive(Deserialize)]
struct GlanceSummary<'a> {
    #[serde(borrow)]
    updated_at: Cow<'a, str>,
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    expires_at: Option<Cow<'a, str>>,
}

/// Ids of `sessions`, the most recently changed first, each with its title, when the cache
/// holds a summary of every file as it is now (else `None`: the caller lists the slow way,
/// which brings the cache up to date); expired ones are left out. No document is parsed and
/// nothing is written: this is what completion offers on a TAB.
pub(super) fn recent(
    sessions: &Path,
    cache_path: &Path,
    codec: &Codec,
    expiry: &Expiry,
) -> Result<Option<super::RecentIds>> {
    let files = files(sessions)?;
    let Some(bytes) = cache_bytes(cache_path, codec) else {
        return Ok(None);
    };
    let Some(glance) = serde_json::from_slice::<Glance>(&bytes)
        .ok()
        .filter(|g| g.version == CACHE_VERSION)
    else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(files.len());
    for (id, file) in files {
        let Some(entry) = glance.entries.get(id.as_str()).filter(|e| e.file == file) else {
            return Ok(None);
        };
        let s = &entry.summary;
        let expires = match &s.expires_at {
            Some(at) => Some(at.to_string()),
            None => expiry
                .default
                .and_then(|ttl| crate::time::expiry_after(&s.updated_at, ttl)),
        };
        if expires.as_deref().is_some_and(crate::time::is_past) {
            continue;
        }
        out.push((s.updated_at.as_ref(), id, s.title.as_deref()));
    }
    out.sort_unstable_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    Ok(Some(
        out.into_iter()
            .map(|(_, id, title)| (id, title.map(str::to_string)))
            .collect(),
    ))
}

/// Parse the files the cache missed on every core: the first `ls` of a large store pays this.
fn parse_parallel(
    misses: &[(&str, FileId)],
    parse: &(impl Fn(&str) -> Result<Option<SessionSummary>> + Sync),
) -> Result<Vec<Result<Option<SessionSummary>>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if misses.len() < 64 || threads == 1 {
        return Ok(misses.iter().map(|(id, _)| parse(id)).collect());
    }
    let chunk = misses.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = misses
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|(id, _)| parse(id)).collect::<Vec<_>>()))
            .collect();
        let mut all = Vec::with_capacity(misses.len());
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| Error::Other("listing thread panicked".into()))?,
            );
        }
        Ok(all)
    })
}

/// The ids the cache knows to be expired whose files are still the ones it describes: what
/// an id listing leaves out without reading a document. Empty without a cache.
pub(super) fn expired(
    sessions: &Path,
    cache_path: &Path,
    codec: &Codec,
    expiry: &Expiry,
) -> std::collections::HashSet<String> {
    if expiry.default.is_none() && !fs::exists(cache_path).unwrap_or(false) {
        return Default::default();
    }
    let cache = read_cache(cache_path, codec);
    cache
        .entries
        .into_iter()
        .filter(|(id, entry)| {
            let mut summary = entry.summary.clone();
            expiry.fill(&mut summary);
            Expiry::is_gone(&summary)
                && fs::metadata(sessions.join(format!("{id}.json"))).is_ok_and(|meta| {
                    entry.file.ino == meta.ino()
                        && entry.file.size == meta.len()
                        && entry.file.mtime_ns
                            == meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
                })
        })
        .map(|(id, _)| id)
        .collect()
}

fn read_cache(path: &Path, codec: &Codec) -> Cache {
    cache_bytes(path, codec)
        .and_then(|bytes| serde_json::from_slice::<Cache>(&bytes).ok())
        .filter(|c| c.version == CACHE_VERSION)
        .unwrap_or_default()
}

/// The cache's plain bytes, if it can be read and opened.
fn cache_bytes(path: &Path, codec: &Codec) -> Option<Vec<u8>> {
    // The cache is a shortcut: a file too large for one (planted, or corrupt) is not read.
    let sane = fs::metadata(path).is_ok_and(|m| m.len() <= crate::limits::MAX_DOCUMENT_BYTES);
    sane.then(|| fs::read(path))
        .and_then(|r| r.ok())
        .and_then(|bytes| match codec.hides_index() {
            true => codec.open_own(SEALED_NAME, bytes),
            false => Some(bytes).filter(|b| !super::seal::is_sealed(b)),
        })
}

/// Best effort: a cache that cannot be written only makes the next `ls` slower.
fn write_cache(path: &Path, cache: &Cache, codec: &Codec) {
    let Some(dir) = path.parent() else { return };
    let tmp: PathBuf = dir.join(format!(".ls-cache.{:08x}.tmp", fastrand::u32(..)));
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let json = serde_json::to_vec(cache).map_err(std::io::Error::other)?;
        let bytes = match codec.hides_index() {
            true => codec.seal_own(SEALED_NAME, json),
            false => json,
        };
        f.write_all(&bytes)?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
}
