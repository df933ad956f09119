//! A stdio server's stdout as rmcp reads it, watched for lines that are not JSON-RPC at all
//! (a server printing a banner or a log line on stdout): the SDK skips them, so a server that
//! only writes such lines would just look silent. The first one is kept for the error message.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// How much of the first stray line is kept.
const KEEP: usize = 80;

/// The first line that did not start like a JSON-RPC message, if any.
pub(crate) type Stray = Arc<Mutex<Option<String>>>;

pub(crate) struct Watched<R> {
    inner: R,
    line_start: bool,
    capturing: Option<Vec<u8>>,
    stray: Stray,
}

impl<R> Watched<R> {
    pub(crate) fn new(inner: R) -> (Self, Stray) {
        let stray = Stray::default();
        let watched = Watched {
            inner,
            line_start: true,
            capturing: None,
            stray: stray.clone(),
        };
        (watched, stray)
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(line) = self.capturing.as_mut() {
                if b == b'\n' || line.len() >= KEEP {
                    let text = String::from_utf8_lossy(line).trim().to_string();
                    self.capturing = None;
                    let mut stray = self.stray.lock().unwrap_or_else(|e| e.into_inner());
                    stray.get_or_insert(text);
                } else {
                    line.push(b);
                }
            }
            if b == b'\n' {
                self.line_start = true;
            } else if self.line_start && !b.is_ascii_whitespace() {
                self.line_start = false;
                let first_stray = self
                    .stray
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_none();
                if b != b'{' && b != b'[' && first_stray {
                    self.capturing = Some(vec![b]);
                }
            }
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Watched<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let new = buf.filled()[before..].to_vec();
            self.scan(&new);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_stray_line_is_kept() {
        let (mut w, stray) = Watched::new(tokio::io::empty());
        w.scan(b"{\"jsonrpc\":\"2.0\"}\n  this is ");
        w.scan(b"not JSON\n{}\nnor this\n");
        assert_eq!(stray.lock().unwrap().as_deref(), Some("this is not JSON"));
    }
}
