//! What every protocol's decoder shares: the parser traits the transport drives, and the small
//! helpers that turn a wire failure into a provider error.

use super::sse::SseDecoder;
use super::{Event, EventStream};
use crate::error::ProviderError;
use crate::{Error, Result};

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
    fn decoder(&mut self) -> &mut SseDecoder;
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

/// A stream error raised by a protocol decoder (bad JSON, an error event, a truncated reply).
pub(crate) fn stream_error(provider: &str, message: impl Into<String>) -> Error {
    Error::Provider(ProviderError::network(provider, message, false))
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

/// The first characters of a bad chunk, for an error message.
pub(crate) fn head(data: &str) -> String {
    data.chars().take(80).collect()
}
