//! What the user gives besides flags: the prompt (arguments and piped stdin), and files or `-`
//! named by flags. Reads happen off the runtime thread, so a signal is handled at once even
//! while stdin stays open.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agent::limits::MAX_PROMPT_BYTES;
use agent::{Error, Oversized};

use crate::output::Output;

/// A turn's prompt, and the title it gives a new session.
pub(crate) struct Prompt {
    pub(crate) text: String,
    /// From the arguments when stdin was read too: `git diff | agent session run r "Anything
    /// risky?"` is titled by the question, not the diff's first line.
    pub(crate) title: Option<String>,
}

/// How long stdin may stay silent while arguments wait before a note says what is going on.
const QUIET_STDIN: Duration = Duration::from_secs(2);

/// The prompt: stdin's text when stdin is not a terminal (and `-n` was not given), a blank
/// line, then the arguments joined by spaces (`git diff | agent session run review "review
/// this"`). A stdin that sends nothing and never closes gets a note after a moment.
pub(crate) async fn prompt(
    args: &[String],
    read_stdin: bool,
    out: &Output,
) -> agent::Result<Prompt> {
    let joined = args.join(" ");
    let stdin = if !read_stdin || std::io::stdin().is_terminal() {
        String::new()
    } else {
        let quiet = (!joined.trim().is_empty()).then_some(QUIET_STDIN);
        stdin_noting(MAX_PROMPT_BYTES as u64, quiet, out).await?
    };
    let stdin = stdin.trim_end_matches(['\n', '\r']);
    let (text, title) = match (stdin.trim().is_empty(), joined.trim().is_empty()) {
        (true, true) => {
            return Err(Error::Usage(
                "no prompt: pass it as arguments or on stdin".to_string(),
            ))
        }
        (true, false) => (joined, None),
        (false, true) => (stdin.to_string(), None),
        (false, false) => (format!("{stdin}\n\n{joined}"), Some(joined)),
    };
    Ok(Prompt { text, title })
}

/// A file named by a flag, or stdin for `-`, within the prompt limit (a system prompt, a
/// history to start from).
pub(crate) async fn file_or_stdin(path: &Path) -> agent::Result<String> {
    if path.as_os_str() == "-" {
        return stdin().await;
    }
    bounded_file(path, MAX_PROMPT_BYTES as u64)
}

/// A whole session document to import, within the document limit.
pub(crate) async fn document(path: &Path) -> agent::Result<String> {
    if path.as_os_str() == "-" {
        return stdin_within(agent::limits::MAX_DOCUMENT_BYTES).await;
    }
    bounded_file(path, agent::limits::MAX_DOCUMENT_BYTES)
}

fn bounded_file(path: &Path, limit: u64) -> agent::Result<String> {
    let cannot = |e: std::io::Error| Error::Usage(format!("cannot read {}: {e}", path.display()));
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_string(&mut text))
        .map_err(cannot)?;
    if text.len() as u64 > limit {
        return Err(Error::Usage(format!(
            "{} is larger than the {} MiB this reads",
            path.display(),
            limit >> 20
        )));
    }
    Ok(text)
}

/// All of stdin, as UTF-8 text, up to the prompt limit: more is refused without reading it
/// all, so `cat huge | agent ...` cannot exhaust memory.
pub(crate) async fn stdin() -> agent::Result<String> {
    stdin_within(MAX_PROMPT_BYTES as u64).await
}

async fn stdin_within(limit: u64) -> agent::Result<String> {
    read_stdin(limit, None, None).await
}

async fn stdin_noting(limit: u64, quiet: Option<Duration>, out: &Output) -> agent::Result<String> {
    read_stdin(limit, quiet, Some(out)).await
}

/// Read stdin to its end within `limit`; when `quiet` passes with not a byte read, say so.
async fn read_stdin(
    limit: u64,
    quiet: Option<Duration>,
    out: Option<&Output>,
) -> agent::Result<String> {
    let started = Arc::new(AtomicBool::new(false));
    let seen = started.clone();
    let mut read = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        let mut input = std::io::stdin().take(limit + 1);
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match input.read(&mut chunk) {
                Ok(0) => return Ok(bytes),
                Ok(n) => {
                    seen.store(true, Ordering::Relaxed);
                    bytes.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    });
    let done = match (quiet, out) {
        (Some(wait), Some(out)) => tokio::select! {
            done = &mut read => done,
            () = tokio::time::sleep(wait) => {
                if !started.load(Ordering::Relaxed) {
                    out.note(
                        "reading the prompt from stdin, which is not a terminal and has sent \
                         nothing yet (close it, or pass -n/--no-stdin or </dev/null to use the \
                         arguments alone)",
                    );
                }
                read.await
            }
        },
        _ => read.await,
    };
    let bytes = done
        .map_err(|e| Error::Other(format!("cannot read stdin: {e}")))?
        .map_err(|e| Error::io("cannot read stdin", e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            what: Oversized::Prompt,
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|_| Error::Usage("stdin is not UTF-8 text".into()))
}
