//! Recorded exchanges: a [`Provider`] wrapper that saves every exchange with the provider it
//! wraps as one readable JSON file (a cassette), or answers from those files without opening a
//! connection, so a pipeline's tests run with no network and no key.
//!
//! A file is named by the SHA-256 of the request's canonical form: the provider kind, the
//! endpoint path (without the base URL, so a server on another port answers the same) and the
//! request body as sent, with object keys sorted. Keys, auth headers and the user agent are
//! never part of it, nor written: the body carries none of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{Event, EventStream, Provider, Request};
use crate::error::ProviderError;
use crate::{Error, Result};

/// What a [`Recorder`] does with each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CassetteMode {
    /// Send every request and save its exchange (replacing an older recording of it).
    Record,
    /// Answer every request from its recording; one with none fails with
    /// [`Error::NotRecorded`], and nothing is sent.
    Replay,
    /// Answer from the recording when there is one; send and record the others.
    ReplayOrRecord,
}

/// A directory of recorded exchanges and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cassette {
    /// The directory holding one `HASH.json` file per exchange.
    pub dir: PathBuf,
    /// Record, replay, or both.
    pub mode: CassetteMode,
}

impl Cassette {
    /// Record every exchange into `dir`.
    pub fn record(dir: impl Into<PathBuf>) -> Self {
        Cassette {
            dir: dir.into(),
            mode: CassetteMode::Record,
        }
    }

    /// Answer every request from `dir`, never sending one.
    pub fn replay(dir: impl Into<PathBuf>) -> Self {
        Cassette {
            dir: dir.into(),
            mode: CassetteMode::Replay,
        }
    }

    /// Answer from `dir` what it holds; send and record the rest.
    pub fn replay_or_record(dir: impl Into<PathBuf>) -> Self {
        Cassette {
            dir: dir.into(),
            mode: CassetteMode::ReplayOrRecord,
        }
    }
}

/// Most bytes of one cassette file read back (a recorded reply is bounded like a live one).
const FILE_LIMIT: u64 = crate::limits::DEFAULT_MAX_REPLY_BYTES as u64 * 2;

/// A provider that records its exchanges into, or replays them from, a [`Cassette`]; see
/// also [`crate::AgentBuilder::cassette`], which wraps the agent's providers in one.
///
/// ```
/// use agent::provider::{Cassette, Scripted};
/// # fn main() -> agent::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let recording = agent::Agent::builder()
///     .provider_impl(Scripted::new().reply("Paris."))
///     .cassette(Cassette::record(dir.path()))
///     .build()?;
/// let mut session = agent::block_on(recording.session())?;
/// session.run_blocking("Capital of France?")?;
///
/// // Later, with no provider to ask: the cassette answers.
/// let replaying = agent::Agent::builder()
///     .provider_impl(Scripted::new().fail("never asked"))
///     .cassette(Cassette::replay(dir.path()))
///     .build()?;
/// let mut session = agent::block_on(replaying.session())?;
/// assert_eq!(session.run_blocking("Capital of France?")?.text, "Paris.");
/// assert!(matches!(
///     session.run_blocking("And of Spain?"),
///     Err(agent::Error::NotRecorded { .. })
/// ));
/// # Ok(())
/// # }
/// ```
pub struct Recorder {
    inner: Arc<dyn Provider>,
    cassette: Cassette,
}

impl Recorder {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn Provider>, cassette: Cassette) -> Self {
        Recorder { inner, cassette }
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.cassette.dir.join(format!("{hash}.json"))
    }
}

/// The canonical form of a request: kind, endpoint path and body, every object's keys sorted.
pub fn canonical(provider: &dyn Provider, request: &Request) -> Value {
    sorted(&json!({
        "kind": provider.kind(),
        "path": provider.endpoint_path(request),
        "body": provider.request_body(request),
    }))
}

/// The SHA-256 of a canonical request, in hex: its cassette file's name.
pub fn hash(canonical: &Value) -> String {
    let digest = Sha256::digest(serde_json::to_vec(canonical).expect("JSON values serialize"));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

impl Provider for Recorder {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn kind(&self) -> &str {
        self.inner.kind()
    }

    fn endpoint_path(&self, request: &Request) -> String {
        self.inner.endpoint_path(request)
    }

    fn request_body(&self, request: &Request) -> Value {
        self.inner.request_body(request)
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        match self.cassette.mode {
            CassetteMode::Replay => Box::pin(async {
                Err(Error::usage(
                    "model lists are not recorded: `models` cannot run while replaying",
                ))
            }),
            _ => self.inner.list_models(),
        }
    }

    fn stream<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<EventStream>> {
        Box::pin(async move {
            let canonical = canonical(self.inner.as_ref(), request);
            let hash = hash(&canonical);
            let path = self.path(&hash);
            if self.cassette.mode != CassetteMode::Record {
                match read(&path).await? {
                    Some(recorded) => return replayed(self.name(), &path, recorded),
                    None if self.cassette.mode == CassetteMode::Replay => {
                        let (closest, differs_at) = closest(&self.cassette.dir, &canonical).await;
                        return Err(Error::NotRecorded {
                            hash,
                            closest,
                            differs_at,
                        });
                    }
                    None => {}
                }
            }
            let stream = match self.inner.stream(request).await {
                Ok(stream) => stream,
                Err(Error::Provider(e)) => {
                    save(&path, &hash, &canonical, &[], Some(&e)).await?;
                    return Err(Error::Provider(e));
                }
                Err(e) => return Err(e),
            };
            Ok(recording(stream, path, hash, canonical))
        })
    }
}

/// Pass `stream` on and save the exchange when it ends (with its error, if it broke). A stream
/// dropped before its end saves nothing: it was not a whole exchange.
fn recording(stream: EventStream, path: PathBuf, hash: String, canonical: Value) -> EventStream {
    struct State {
        stream: EventStream,
        events: Vec<Event>,
        path: PathBuf,
        hash: String,
        canonical: Value,
        ended: bool,
    }
    let state = State {
        stream,
        events: Vec::new(),
        path,
        hash,
        canonical,
        ended: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        if st.ended {
            return None;
        }
        match st.stream.next().await {
            Some(Ok(event)) => {
                st.events.push(event.clone());
                Some((Ok(event), st))
            }
            Some(Err(e)) => {
                st.ended = true;
                let failure = match &e {
                    Error::Provider(p) => Some(p.clone()),
                    _ => None,
                };
                let saved = match &failure {
                    Some(p) => save(&st.path, &st.hash, &st.canonical, &st.events, Some(p)).await,
                    None => Ok(()),
                };
                Some((saved.and(Err(e)), st))
            }
            None => {
                st.ended = true;
                match save(&st.path, &st.hash, &st.canonical, &st.events, None).await {
                    Ok(()) => None,
                    Err(e) => Some((Err(e), st)),
                }
            }
        }
    }))
}

fn error_json(e: &ProviderError) -> Value {
    json!({
        "provider": e.provider,
        "status": e.status,
        "kind": e.kind,
        "message": e.message,
        "retryable": e.retryable,
    })
}

/// Write one exchange, whole or not at all (a temp file renamed over the old one).
async fn save(
    path: &Path,
    hash: &str,
    canonical: &Value,
    events: &[Event],
    error: Option<&ProviderError>,
) -> Result<()> {
    let doc = json!({
        "version": 1,
        "hash": hash,
        "request": canonical,
        "response": {
            "events": events,
            "error": error.map(error_json),
        },
    });
    let mut bytes = serde_json::to_vec_pretty(&doc).expect("JSON values serialize");
    bytes.push(b'\n');
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{hash}.{:08x}.tmp", fastrand::u32(..)));
    let context = format!("cannot record the exchange in {}", path.display());
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Error::io(context.clone(), e))?;
    tokio::fs::write(&tmp, &bytes)
        .await
        .map_err(|e| Error::io(context.clone(), e))?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| Error::io(context, e))
}

/// The recorded exchange at `path`, if there is one.
async fn read(path: &Path) -> Result<Option<Value>> {
    let context = || format!("cannot read the recorded exchange {}", path.display());
    let meta = match tokio::fs::metadata(path).await {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(context(), e)),
    };
    if meta.len() > FILE_LIMIT {
        return Err(Error::usage(format!(
            "{}: the recorded exchange is over {} MiB",
            context(),
            FILE_LIMIT >> 20
        )));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| Error::io(context(), e))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::usage(format!("{}: not JSON ({e})", context())))
}

/// A recorded exchange as the stream it was: every event in order, then its error, if any.
fn replayed(provider: &str, path: &Path, recorded: Value) -> Result<EventStream> {
    let bad = |what: String| {
        Error::usage(format!(
            "the recorded exchange {} is not one: {what}",
            path.display()
        ))
    };
    let response = &recorded["response"];
    let events: Vec<Event> = serde_json::from_value(response["events"].clone())
        .map_err(|e| bad(format!("its events do not read ({e})")))?;
    let error = match &response["error"] {
        Value::Null => None,
        e => Some(Error::Provider(ProviderError {
            status: e["status"].as_u64().and_then(|s| u16::try_from(s).ok()),
            kind: e["kind"].as_str().map(str::to_string),
            retryable: e["retryable"].as_bool().unwrap_or(false),
            ..ProviderError::network(
                provider,
                e["message"].as_str().unwrap_or("(no message)"),
                false,
            )
        })),
    };
    let error = match error {
        // A failure before any event is the request's failure, as it was.
        Some(e) if events.is_empty() => return Err(e),
        other => other,
    };
    let items = events.into_iter().map(Ok).chain(error.map(Err));
    Ok(Box::pin(futures_util::stream::iter(items)))
}

/// The recorded request most like `canonical` (the longest shared prefix of their JSON text),
/// and the first place they differ.
async fn closest(dir: &Path, canonical: &Value) -> (Option<String>, Option<String>) {
    let ours = canonical.to_string();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return (None, None);
    };
    let mut best: Option<(usize, String, Value)> = None;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(Some(doc)) = read(&path).await else {
            continue;
        };
        let (Some(hash), request) = (doc["hash"].as_str(), &doc["request"]) else {
            continue;
        };
        let theirs = request.to_string();
        let shared = ours
            .bytes()
            .zip(theirs.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if best
            .as_ref()
            .is_none_or(|(n, h, _)| shared > *n || (shared == *n && hash < h.as_str()))
        {
            best = Some((shared, hash.to_string(), request.clone()));
        }
    }
    match best {
        Some((_, hash, request)) => {
            let at = first_difference(canonical, &request, String::new());
            (Some(hash), at)
        }
        None => (None, None),
    }
}

/// The JSON pointer of the first place `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, here) {
                            return Some(d);
                        }
                    }
                    None => return Some(here),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}/{k}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(v, w, format!("{at}/{i}")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{at}/{}", x.len().min(y.len())))
        }
        _ => (a != b).then(|| if at.is_empty() { "/".to_string() } else { at }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_requests_sort_their_keys_and_differences_are_pointed_at() {
        let v = sorted(&json!({"b": 1, "a": {"d": [ {"z": 1, "y": 2} ], "c": 3}}));
        assert_eq!(v.to_string(), r#"{"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}"#);
        let a = json!({"body": {"messages": [{"content": "hi"}, {"content": "x"}]}});
        let b = json!({"body": {"messages": [{"content": "hi"}, {"content": "y"}]}});
        assert_eq!(
            first_difference(&a, &b, String::new()).as_deref(),
            Some("/body/messages/1/content")
        );
        assert_eq!(first_difference(&a, &a, String::new()), None);
        assert_eq!(hash(&v).len(), 64);
    }
}
