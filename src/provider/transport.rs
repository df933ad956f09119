//! HTTP plumbing shared by providers: the redacted key, sending with retries, error bodies, and
//! turning a response body into provider-neutral events with an inactivity timeout.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;

use super::{Endpoint, Event, EventStream};
use crate::error::ProviderError;
use crate::{Error, Result};

/// An API key. Its `Debug` and `Display` print `(redacted)`, so it cannot leak through logs,
/// errors or a serialized session.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wrap a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for the one header that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Remove the key from text that may quote it (some servers echo it in error messages).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() >= 4 {
            text.replace(&self.0, "(redacted)")
        } else {
            text.to_string()
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// How a protocol reads its error bodies: `(type, message)` from the body text.
pub(crate) type ErrorParser = fn(&str) -> Option<(Option<String>, String)>;

/// A protocol's streaming decoder: bytes in, provider-neutral events out.
pub(crate) trait WireParser: Send + 'static {
    /// Decode one chunk of the body.
    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>>;
    /// The body ended. Fail if the protocol's end marker was not seen (a truncated reply).
    fn finish(&mut self) -> Result<Vec<Event>>;
    /// True once the end marker was seen: the rest of the body is not read.
    fn done(&self) -> bool;
}

/// A protocol that streams Server-Sent Events. It sees whole events; the decoding, the size
/// limit and the end-of-stream check are shared by every such protocol.
pub(crate) trait SseProtocol: Send + 'static {
    /// The decoder holding the bytes of a partial event.
    fn decoder(&mut self) -> &mut super::sse::SseDecoder;
    /// The provider's name, for errors.
    fn provider(&self) -> &str;
    /// One event's data.
    fn on_event(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()>;
    /// The body ended: emit the final events, or fail if the protocol's end marker is missing.
    fn on_end(&mut self, out: &mut Vec<Event>) -> Result<()>;
    /// True once the end marker was seen.
    fn finished(&self) -> bool;
}

impl<P: SseProtocol> WireParser for P {
    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>> {
        let events = self.decoder().push(chunk).map_err(|e| {
            stream_error(
                self.provider(),
                format!("stream event of {} bytes is over the limit", e.0),
            )
        })?;
        let mut out = Vec::new();
        for ev in events {
            if self.finished() {
                break;
            }
            self.on_event(&ev.data, &mut out)?;
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        for ev in self.decoder().finish() {
            if self.finished() {
                break;
            }
            self.on_event(&ev.data, &mut out)?;
        }
        self.on_end(&mut out)?;
        Ok(out)
    }

    fn done(&self) -> bool {
        self.finished()
    }
}

pub(crate) fn client(endpoint: &Endpoint) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(endpoint.timeout.min(Duration::from_secs(30)))
        .user_agent(concat!("agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Other(format!("cannot build the HTTP client: {e}")))
}

/// Send a request built by `build`, retrying on connection errors, 408, 429, 5xx and 529 with
/// exponential back-off and jitter (honouring `Retry-After`). Only a response with a success
/// status is returned: no reply byte has reached the user before a retry.
pub(crate) async fn send(
    provider: &str,
    endpoint: &Endpoint,
    parse_error: ErrorParser,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response> {
    let mut attempt = 0;
    loop {
        let err = match tokio::time::timeout(endpoint.timeout, build().send()).await {
            Err(_) => ProviderError {
                retryable: true,
                ..ProviderError::timeout(
                    provider,
                    format!("no response within {}s", endpoint.timeout.as_secs()),
                )
            },
            Ok(Err(e)) => ProviderError::network(provider, describe(&e, endpoint), true),
            Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
            Ok(Ok(resp)) => error_response(provider, endpoint, parse_error, resp).await,
        };
        if !err.retryable || attempt >= endpoint.retries {
            return Err(Error::provider(err));
        }
        let delay = err.retry_after.unwrap_or_else(|| backoff(attempt));
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// 0.5s, 1s, 2s, ... (capped at 30s), each scaled by a random factor in [0.5, 1.5).
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500) * 2u32.saturating_pow(attempt.min(6));
    base.min(Duration::from_secs(30))
        .mul_f64(0.5 + fastrand::f64())
}

fn describe(e: &reqwest::Error, endpoint: &Endpoint) -> String {
    let what = if e.is_connect() {
        "cannot connect to"
    } else if e.is_timeout() {
        "timed out talking to"
    } else {
        "request failed to"
    };
    // reqwest's own text can include the URL; the key never appears in a URL we build.
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    let msg = format!("{what} {}: {detail}", endpoint.base_url);
    match &endpoint.api_key {
        Some(k) => k.scrub(&msg),
        None => msg,
    }
}

async fn error_response(
    provider: &str,
    endpoint: &Endpoint,
    parse_error: ErrorParser,
    resp: reqwest::Response,
) -> ProviderError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let body = tokio::time::timeout(endpoint.timeout, resp.text())
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_default();
    let (kind, message) = parse_error(&body).unwrap_or_else(|| {
        let text: String = body.trim().chars().take(300).collect();
        let text = if text.is_empty() {
            "(empty body)".to_string()
        } else {
            text.replace('\n', " ")
        };
        (None, text)
    });
    let message = match &endpoint.api_key {
        Some(k) => k.scrub(&message),
        None => message,
    };
    ProviderError {
        provider: provider.to_string(),
        status: Some(status),
        kind,
        message,
        retryable: matches!(status, 408 | 409 | 429 | 500..=599),
        retry_after,
        timed_out: false,
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return Some(Duration::from_secs_f64(ms.max(0.0) / 1000.0).min(Duration::from_secs(120)));
    }
    get("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|s| Duration::from_secs_f64(s.max(0.0)).min(Duration::from_secs(120)))
}

/// Turn a streaming response into events. Each read waits at most `endpoint.timeout`: a server
/// that stops sending fails the turn instead of hanging it.
pub(crate) fn events(
    provider: &str,
    endpoint: &Endpoint,
    resp: reqwest::Response,
    parser: impl WireParser,
) -> EventStream {
    struct State<P> {
        body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
        parser: P,
        queue: VecDeque<Event>,
        ended: bool,
        provider: String,
        timeout: Duration,
    }
    let state = State {
        body: resp.bytes_stream().boxed(),
        parser,
        queue: VecDeque::new(),
        ended: false,
        provider: provider.to_string(),
        timeout: endpoint.timeout,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.queue.pop_front() {
                return Some((Ok(ev), st));
            }
            if st.ended {
                return None;
            }
            if st.parser.done() {
                st.ended = true;
                continue;
            }
            let fail = |st: State<_>, msg: String| {
                let mut st = st;
                st.ended = true;
                let err = Error::provider(ProviderError::network(&st.provider, msg, false));
                Some((Err(err), st))
            };
            match tokio::time::timeout(st.timeout, st.body.next()).await {
                Err(_) => {
                    let secs = st.timeout.as_secs();
                    st.ended = true;
                    let msg = format!("stream stalled: nothing received for {secs}s");
                    let err = Error::provider(ProviderError::timeout(&st.provider, msg));
                    return Some((Err(err), st));
                }
                Ok(Some(Err(e))) => {
                    return fail(st, format!("stream broken: {e}"));
                }
                Ok(Some(Ok(chunk))) => match st.parser.feed(&chunk) {
                    Ok(evs) => st.queue.extend(evs),
                    Err(e) => {
                        st.ended = true;
                        return Some((Err(e), st));
                    }
                },
                Ok(None) => {
                    st.ended = true;
                    match st.parser.finish() {
                        Ok(evs) => st.queue.extend(evs),
                        Err(e) => return Some((Err(e), st)),
                    }
                }
            }
        }
    });
    Box::pin(stream)
}

/// A stream error raised by a protocol decoder (bad JSON, an error event, a truncated reply).
pub(crate) fn stream_error(provider: &str, message: impl Into<String>) -> Error {
    Error::provider(ProviderError::network(provider, message, false))
}

/// The provider's HTTP client, built on first use (building one loads the TLS roots).
pub(crate) fn cached_client<'a>(
    cell: &'a std::sync::OnceLock<reqwest::Client>,
    endpoint: &Endpoint,
) -> Result<&'a reqwest::Client> {
    if let Some(c) = cell.get() {
        return Ok(c);
    }
    let c = client(endpoint)?;
    Ok(cell.get_or_init(|| c))
}

/// A whole (non-streamed) response body as JSON.
pub(crate) async fn json_body(
    provider: &str,
    resp: reqwest::Response,
) -> Result<serde_json::Value> {
    let text = resp
        .text()
        .await
        .map_err(|e| stream_error(provider, format!("reading the response: {e}")))?;
    serde_json::from_str(&text).map_err(|e| {
        let head: String = text.chars().take(80).collect();
        stream_error(provider, format!("response is not JSON ({e}): {head}"))
    })
}

/// Events already decoded (a `--no-stream` reply), as a stream.
pub(crate) fn replay(events: Vec<Event>) -> EventStream {
    Box::pin(futures_util::stream::iter(events.into_iter().map(Ok)))
}

/// `(kind) message`, or just the message, for errors reported inside a 200 response.
pub(crate) fn kind_message(kind: Option<String>, message: &str) -> String {
    match kind {
        Some(k) => format!("({k}) {message}"),
        None => message.to_string(),
    }
}

/// An id for a tool call the provider sent without one (Gemini, Ollama). Random, so calls
/// stay distinct in a history that later goes to a provider that pairs results by id.
pub(crate) fn generated_call_id() -> String {
    format!("call_{:016x}", fastrand::u64(..))
}

/// Fail before sending when the provider's own API (its default base URL) would be called
/// without a key: the message names the variable to set. Proxies at other URLs may need none.
pub(crate) fn require_key(provider: &str, endpoint: &Endpoint, kind: &str) -> Result<()> {
    let Some((_, default_url, Some(var))) = super::kind_defaults(kind) else {
        return Ok(());
    };
    if endpoint.api_key.is_none() && endpoint.base_url.trim_end_matches('/') == default_url {
        return Err(Error::Usage(format!(
            "no API key for provider '{provider}': set {var} (or api_key_env in config.yaml)"
        )));
    }
    Ok(())
}
