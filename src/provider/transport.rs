//! The one HTTP transport of every protocol: the key and how it is sent, extra headers, the
//! cached client, the missing-key check, the retry policy, bounded error bodies, and turning a
//! response body into events with an inactivity timeout. A protocol file keeps only its wire
//! translation and describes itself here with a [`Protocol`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use super::wire::{stream_error, ErrorParser, WireParser};
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

/// The secrets a transport sends (its key, credential-like header values), to be cut out of
/// any text a server sends back: an error that quotes the key never reaches a message.
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    fn of(endpoint: &Endpoint) -> Self {
        let mut list: Vec<String> = endpoint
            .api_key
            .iter()
            .map(|k| k.expose().to_string())
            .collect();
        for (name, value) in &endpoint.headers {
            let name = name.to_ascii_lowercase();
            let sensitive = ["auth", "key", "token", "secret", "cookie", "password"]
                .iter()
                .any(|w| name.contains(w));
            if sensitive {
                list.push(value.clone());
                // `Bearer X`: the token alone may be echoed too.
                if let Some((_, token)) = value.split_once(' ') {
                    list.push(token.to_string());
                }
            }
        }
        // Short values would cut ordinary words out of messages; keys are long.
        list.retain(|s| s.len() >= 8);
        // Longest first, so a value containing another is cut whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Secrets(list)
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "(redacted)");
            }
        }
        out
    }

    fn scrub_provider(&self, mut err: ProviderError) -> ProviderError {
        err.message = self.scrub(&err.message);
        err.kind = err.kind.map(|k| self.scrub(&k));
        err
    }

    /// The error with every secret cut out of the text a server may have written.
    pub(crate) fn scrub_error(&self, e: Error) -> Error {
        match e {
            Error::Provider(p) => Error::Provider(self.scrub_provider(p)),
            Error::ContextOverflow {
                id,
                model,
                estimate,
                window,
                provider,
            } => Error::ContextOverflow {
                id,
                model,
                estimate,
                window,
                provider: provider.map(|p| Box::new(self.scrub_provider(*p))),
            },
            Error::Validation { message, raw } => Error::Validation {
                message: self.scrub(&message),
                raw: self.scrub(&raw),
            },
            other => other,
        }
    }
}

/// How a protocol sends its key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth {
    /// `Authorization: Bearer KEY` (OpenAI, Ollama behind a proxy).
    Bearer,
    /// The key as the value of this header (`x-api-key`, `x-goog-api-key`).
    Header(&'static str),
}

/// What a protocol tells the transport about itself.
pub(crate) struct Protocol {
    /// The kind whose official base URL needs a key (see [`super::kind_defaults`]).
    pub(crate) kind: &'static str,
    pub(crate) auth: Auth,
    /// Headers every request of the protocol carries (`anthropic-version`).
    pub(crate) headers: &'static [(&'static str, &'static str)],
    pub(crate) parse_error: ErrorParser,
}

/// Most bytes of an error body read for its message: enough for any provider's error object,
/// and a server that sends gigabytes (or never stops) costs nothing more.
pub(crate) const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Most bytes of a whole (non-streamed) response body.
pub(crate) const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// The longest wait a server may ask for (`Retry-After`); a longer one fails the request with
/// the server's message instead of sleeping.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(60);

/// One provider's connection: where, with which key and protocol, and its client, built on
/// first use (building one loads the TLS roots).
pub(crate) struct Transport {
    name: String,
    endpoint: Endpoint,
    protocol: &'static Protocol,
    client: OnceLock<reqwest::Client>,
    secrets: Secrets,
}

impl Transport {
    pub(crate) fn new(name: &str, endpoint: Endpoint, protocol: &'static Protocol) -> Self {
        Transport {
            name: name.to_string(),
            secrets: Secrets::of(&endpoint),
            endpoint,
            protocol,
            client: OnceLock::new(),
        }
    }

    /// The provider's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Run a provider call whose errors may quote what a server sent: every secret this
    /// transport sends is cut out of them, whatever path they came by.
    pub(crate) async fn guard<T>(
        &self,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        call.await.map_err(|e| self.secrets.scrub_error(e))
    }

    /// The base URL without a trailing `/`.
    pub(crate) fn base(&self) -> &str {
        self.endpoint.base_url.trim_end_matches('/')
    }

    /// POST `body` as JSON to `url`, with retries.
    pub(crate) async fn post(&self, url: &str, body: &Value) -> Result<reqwest::Response> {
        // Serialized once: a retry re-sends the same bytes.
        let bytes = bytes::Bytes::from(serde_json::to_vec(body).expect("JSON values serialize"));
        self.send(|c| {
            c.post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone())
        })
        .await
    }

    /// GET `url` with `query`, with retries.
    pub(crate) async fn get(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<reqwest::Response> {
        self.send(|c| c.get(url).query(query)).await
    }

    fn client(&self) -> Result<&reqwest::Client> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let c = reqwest::Client::builder()
            .connect_timeout(self.endpoint.timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("agent/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the key and the conversation to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(self.client.get_or_init(|| c))
    }

    /// Fail before sending when the provider's own API (its default base URL) would be called
    /// without a key: the message names the variable to set. Proxies at other URLs may need none.
    fn require_key(&self) -> Result<()> {
        let Some((_, default_url, Some(var))) = super::kind_defaults(self.protocol.kind) else {
            return Ok(());
        };
        if self.endpoint.api_key.is_none() && self.base() == default_url.trim_end_matches('/') {
            return Err(Error::MissingKey {
                provider: self.name.clone(),
                variable: var.to_string(),
            });
        }
        Ok(())
    }

    fn authorized(&self, mut b: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(key) = &self.endpoint.api_key {
            b = match self.protocol.auth {
                Auth::Bearer => b.bearer_auth(key.expose()),
                Auth::Header(name) => b.header(name, key.expose()),
            };
        }
        for (k, v) in self.protocol.headers {
            b = b.header(*k, *v);
        }
        for (k, v) in &self.endpoint.headers {
            b = b.header(k, v);
        }
        b
    }

    /// Send, retrying only what cannot have been processed: a connection that failed before
    /// the request went out, and 408, 429 and 5xx answers (before any reply byte). A timeout or
    /// a reset after the request was sent is not retried: it may have been billed. Backs off
    /// exponentially with jitter, honouring `Retry-After` up to [`MAX_SERVER_WAIT`].
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        self.require_key()?;
        let client = self.client()?;
        let mut attempt = 0;
        loop {
            let sent =
                tokio::time::timeout(self.endpoint.timeout, self.authorized(build(client)).send());
            let err = match sent.await {
                Err(_) => ProviderError::timeout(
                    &self.name,
                    format!("no response within {}s", self.endpoint.timeout.as_secs()),
                ),
                Ok(Err(e)) => ProviderError::network(&self.name, self.describe(&e), e.is_connect()),
                Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
                Ok(Ok(resp)) if resp.status().is_redirection() => self.redirected(&resp),
                Ok(Ok(resp)) => self.error_response(resp).await,
            };
            if !err.retryable || attempt >= self.endpoint.retries {
                return Err(Error::Provider(self.scrubbed(err)));
            }
            let delay = match err.retry_after {
                Some(wait) if wait > MAX_SERVER_WAIT => {
                    let mut err = err;
                    err.message.push_str(&format!(
                        " (the server asked to wait {}s, over the {}s this client waits)",
                        wait.as_secs(),
                        MAX_SERVER_WAIT.as_secs()
                    ));
                    return Err(Error::Provider(self.scrubbed(err)));
                }
                Some(wait) => wait,
                None => backoff(attempt),
            };
            let err = self.scrubbed(err);
            crate::notice::emit(crate::Notice::Retrying {
                provider: self.name.clone(),
                status: err.status,
                error: err.to_string(),
                delay_ms: delay.as_millis() as u64,
                attempt: attempt + 1,
                retries: self.endpoint.retries,
            });
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        let what = if e.is_connect() {
            "cannot connect to"
        } else if e.is_timeout() {
            "timed out talking to"
        } else {
            "request failed to"
        };
        // The innermost cause says what went wrong (refused, reset, bad certificate).
        let mut source = std::error::Error::source(e);
        let mut detail = String::new();
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        format!("{what} {}: {detail}", crate::store::redact(self.base()))
    }

    /// A redirect is never followed: its target is named instead.
    fn redirected(&self, resp: &reqwest::Response) -> ProviderError {
        let target = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(no Location)");
        ProviderError::http(
            &self.name,
            resp.status().as_u16(),
            None,
            format!(
                "the server redirected to {} (provider requests follow no redirects: is the base URL right?)",
                crate::store::redact(target)
            ),
        )
    }

    async fn error_response(&self, resp: reqwest::Response) -> ProviderError {
        let status = resp.status().as_u16();
        let retry_after = retry_after(resp.headers());
        let body = read_prefix(resp, ERROR_BODY_LIMIT, self.endpoint.timeout).await;
        let body = String::from_utf8_lossy(&body);
        let (kind, message) = (self.protocol.parse_error)(&body).unwrap_or_else(|| {
            let text: String = body.trim().chars().take(300).collect();
            let text = if text.is_empty() {
                "(empty body)".to_string()
            } else {
                text.replace('\n', " ")
            };
            (None, text)
        });
        ProviderError {
            retryable: matches!(status, 408 | 429 | 500..=599),
            retry_after,
            ..ProviderError::http(&self.name, status, kind, message)
        }
    }

    /// Remove the secrets from a message a server wrote.
    fn scrubbed(&self, err: ProviderError) -> ProviderError {
        self.secrets.scrub_provider(err)
    }

    /// A whole (non-streamed) response body as JSON, read within the timeout and the size limit.
    pub(crate) async fn json(&self, resp: reqwest::Response) -> Result<Value> {
        self.check_content_type(&resp, "application/json")?;
        let timeout = self.endpoint.timeout;
        let read = async {
            let mut body = resp.bytes_stream();
            let mut bytes = Vec::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk
                    .map_err(|e| stream_error(&self.name, format!("reading the response: {e}")))?;
                if bytes.len() + chunk.len() > BODY_LIMIT {
                    return Err(stream_error(
                        &self.name,
                        format!("response is over {} MiB", BODY_LIMIT >> 20),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        };
        let bytes = tokio::time::timeout(timeout, read).await.map_err(|_| {
            Error::Provider(ProviderError::timeout(
                &self.name,
                format!(
                    "the response did not arrive whole within {}s",
                    timeout.as_secs()
                ),
            ))
        })??;
        serde_json::from_slice(&bytes).map_err(|e| {
            let head: String = String::from_utf8_lossy(&bytes).chars().take(80).collect();
            self.secrets.scrub_error(stream_error(
                &self.name,
                format!("response is not JSON ({e}): {head}"),
            ))
        })
    }

    /// An HTML page (a login portal, a web server's index) is not an API's answer.
    fn check_content_type(&self, resp: &reqwest::Response, expected: &str) -> Result<()> {
        let ty = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if ty.starts_with("text/html") {
            let what = if expected == "application/json" {
                "JSON"
            } else {
                "a stream"
            };
            return Err(stream_error(
                &self.name,
                format!("the server answered with text/html, not {what}; is the base URL right?"),
            ));
        }
        Ok(())
    }

    /// Turn a streaming response into events. Each read waits at most the timeout: a server
    /// that stops sending fails the turn instead of hanging it.
    pub(crate) fn events(
        &self,
        resp: reqwest::Response,
        parser: impl WireParser,
    ) -> Result<EventStream> {
        self.check_content_type(&resp, "text/event-stream")?;
        struct State<P> {
            body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
            parser: P,
            queue: VecDeque<Event>,
            ended: bool,
            provider: String,
            timeout: Duration,
            secrets: Secrets,
        }
        let state = State {
            body: resp.bytes_stream().boxed(),
            parser,
            queue: VecDeque::new(),
            ended: false,
            provider: self.name.clone(),
            timeout: self.endpoint.timeout,
            secrets: self.secrets.clone(),
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
                let failed = match tokio::time::timeout(st.timeout, st.body.next()).await {
                    Err(_) => Error::Provider(ProviderError::timeout(
                        &st.provider,
                        format!(
                            "stream stalled: nothing received for {}s",
                            st.timeout.as_secs()
                        ),
                    )),
                    Ok(Some(Err(e))) => stream_error(&st.provider, format!("stream broken: {e}")),
                    Ok(Some(Ok(chunk))) => match st.parser.feed(&chunk) {
                        Ok(evs) => {
                            st.queue.extend(evs);
                            continue;
                        }
                        Err(e) => e,
                    },
                    Ok(None) => match st.parser.finish() {
                        Ok(evs) => {
                            st.ended = true;
                            st.queue.extend(evs);
                            continue;
                        }
                        Err(e) => e,
                    },
                };
                st.ended = true;
                // An error event may quote the key back: it never reaches a message.
                return Some((Err(st.secrets.scrub_error(failed)), st));
            }
        });
        Ok(Box::pin(stream))
    }
}

/// 0.5s, 1s, 2s, ... (capped at 30s), each scaled by a random factor in [0.5, 1.5).
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500) * 2u32.saturating_pow(attempt.min(6));
    base.min(Duration::from_secs(30))
        .mul_f64(0.5 + fastrand::f64())
}

/// The first `limit` bytes of a body (all of it when shorter), within `timeout`; whatever
/// arrived when either runs out.
async fn read_prefix(resp: reqwest::Response, limit: usize, timeout: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = resp.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = body.next().await {
            let room = limit - out.len();
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(timeout, read).await;
    out
}

/// The wait a server asked for: `retry-after-ms` (OpenAI) or `retry-after` in seconds. A wait
/// too long to represent (`inf`, `1e308`) is [`Duration::MAX`], so it is refused as over the
/// cap; what is not a non-negative number (a date, `NaN`, `-1`) is ignored.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let secs = |v: &str, scale: f64| {
        let n = v.trim().parse::<f64>().ok().filter(|n| *n >= 0.0)?;
        Some(Duration::try_from_secs_f64(n / scale).unwrap_or(Duration::MAX))
    };
    get("retry-after-ms")
        .and_then(|v| secs(v, 1000.0))
        .or_else(|| get("retry-after").and_then(|v| secs(v, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn server_waits_are_parsed_defensively() {
        let wait = |name: &'static str, value: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(value).unwrap());
            retry_after(&h)
        };
        assert_eq!(wait("retry-after", "2"), Some(Duration::from_secs(2)));
        assert_eq!(
            wait("retry-after-ms", "1500"),
            Some(Duration::from_millis(1500))
        );
        for huge in ["inf", "1e308", "3600"] {
            assert!(wait("retry-after", huge) > Some(MAX_SERVER_WAIT), "{huge}");
        }
        assert_eq!(wait("retry-after-ms", "1e308"), Some(Duration::MAX));
        for ignored in ["-1", "NaN", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            assert_eq!(wait("retry-after", ignored), None, "{ignored}");
        }
    }
}
