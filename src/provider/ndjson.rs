//! A byte-level newline-delimited JSON decoder (Ollama's stream).
//!
//! Reads bytes, not lines: a line, a JSON object or a UTF-8 character may be split across reads
//! anywhere, so bytes are buffered until `\n` and only whole lines are decoded.

use super::sse::TooLarge;

/// Incremental NDJSON line splitter: push chunks, get whole non-blank lines.
#[derive(Debug)]
pub(crate) struct LineDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for `\n`.
    scanned: usize,
    max: usize,
}

impl Default for LineDecoder {
    fn default() -> Self {
        LineDecoder {
            buf: Vec::new(),
            scanned: 0,
            max: super::sse::DEFAULT_MAX_EVENT,
        }
    }
}

impl LineDecoder {
    /// Feed bytes; returns the lines they complete (without `\n` or `\r\n`).
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        for i in self.scanned..self.buf.len() {
            if self.buf[i] == b'\n' {
                line(&self.buf[start..i], &mut out);
                start = i + 1;
            }
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > self.max {
            return Err(TooLarge(self.buf.len()));
        }
        Ok(out)
    }

    /// The stream ended: a last line without its `\n`, if any.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let mut out = Vec::new();
        line(&std::mem::take(&mut self.buf), &mut out);
        self.scanned = 0;
        out.pop()
    }
}

fn line(bytes: &[u8], out: &mut Vec<String>) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    if !text.trim().is_empty() {
        out.push(text.into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere_decode_the_same() {
        let input = "{\"a\":\"é✓\"}\n\r\n{\"b\":2}\r\n{\"c\":3}".as_bytes();
        for cut in 0..=input.len() {
            let mut d = LineDecoder::default();
            let mut lines = d.push(&input[..cut]).unwrap();
            lines.extend(d.push(&input[cut..]).unwrap());
            lines.extend(d.finish());
            assert_eq!(
                lines,
                ["{\"a\":\"é✓\"}", "{\"b\":2}", "{\"c\":3}"],
                "cut at {cut}"
            );
        }
    }
}
