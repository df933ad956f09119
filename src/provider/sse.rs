//! A byte-level Server-Sent Events decoder.
//!
//! Reads bytes, not lines: events, lines and UTF-8 characters may be split across reads anywhere.
//! Lines end with `\n`, `\r\n` or `\r` (Gemini sends CRLF); a blank line ends an event; lines
//! starting with `:` are comments (proxies' keep-alives).

/// One decoded event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SseEvent {
    /// The `event:` field, if any.
    pub(crate) event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub(crate) data: String,
}

/// An event or line longer than the decoder accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooLarge(pub(crate) usize);

/// Incremental SSE decoder: push chunks, get whole events.
#[derive(Debug)]
pub(crate) struct SseDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a line end.
    scanned: usize,
    event: Option<String>,
    data: String,
    has_data: bool,
    max: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENT)
    }
}

/// Events up to 32 MiB are accepted (a tool call's arguments can be large); beyond that the
/// stream is refused instead of growing memory without bound.
pub(crate) const DEFAULT_MAX_EVENT: usize = 32 << 20;

impl SseDecoder {
    /// A decoder refusing events larger than `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        SseDecoder {
            buf: Vec::new(),
            scanned: 0,
            event: None,
            data: String::new(),
            has_data: false,
            max,
        }
    }

    /// Feed bytes; returns the events they complete.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        let mut i = self.scanned;
        while i < self.buf.len() {
            let b = self.buf[i];
            if b == b'\n' || b == b'\r' {
                // A lone '\r' at the end may be the first half of "\r\n": wait for more bytes.
                if b == b'\r' && i + 1 == self.buf.len() {
                    break;
                }
                let line_end = i;
                let next = if b == b'\r' && self.buf[i + 1] == b'\n' {
                    i + 2
                } else {
                    i + 1
                };
                let line = self.buf[start..line_end].to_vec();
                self.line(&line, &mut out);
                start = next;
                i = next;
            } else {
                i += 1;
            }
        }
        self.buf.drain(..start);
        self.scanned = i - start;
        if self.buf.len() + self.data.len() > self.max {
            return Err(TooLarge(self.buf.len() + self.data.len()));
        }
        Ok(out)
    }

    /// The stream ended: an event without its closing blank line is dispatched only if complete
    /// lines were seen (the specification drops it; providers that omit the final blank line
    /// exist, and a truncated reply is caught by each protocol's end marker instead).
    pub(crate) fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            let line = line.strip_suffix(b"\r").unwrap_or(&line).to_vec();
            self.line(&line, &mut out);
            self.scanned = 0;
        }
        out.extend(self.dispatch());
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            out.extend(self.dispatch());
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(p) => {
                let v = &line[p + 1..];
                (&line[..p], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {} // id, retry and unknown fields do not matter to a one-shot client
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(d.push(c).unwrap());
        }
        out.extend(d.finish());
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn terminators_comments_and_multiline_data() {
        let input = b": keep-alive\n\ndata: a\n\nevent: x\r\ndata: b\r\ndata:c\r\n\r\ndata: d\r\r";
        assert_eq!(
            decode_all(&[input]),
            vec![ev(None, "a"), ev(Some("x"), "b\nc"), ev(None, "d")]
        );
    }

    #[test]
    fn split_utf8_and_crlf() {
        let input = "data: héllo ✓\r\n\r\n".as_bytes();
        for cut in 0..input.len() {
            assert_eq!(
                decode_all(&[&input[..cut], &input[cut..]]),
                vec![ev(None, "héllo ✓")],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn refuses_unbounded_lines() {
        let mut d = SseDecoder::new(1000);
        assert!(d.push(&[b'x'; 600]).is_ok());
        assert!(d.push(&[b'x'; 600]).is_err());
    }

    proptest! {
        #[test]
        fn any_split_decodes_the_same(
            datas in proptest::collection::vec("[a-zé✓ {}:\"]{0,20}", 1..8),
            crlf in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for d in &datas {
                text.push_str(&format!(": c{nl}event: e{nl}data: {d}{nl}{nl}"));
            }
            let bytes = text.as_bytes();
            let whole = decode_all(&[bytes]);
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            points.sort();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for p in points { chunks.push(&bytes[prev..p]); prev = p; }
            chunks.push(&bytes[prev..]);
            prop_assert_eq!(decode_all(&chunks), whole.clone());
            prop_assert_eq!(whole.len(), datas.len());
        }
    }
}
