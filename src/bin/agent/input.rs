//! What the user gives besides flags: the prompt (arguments and piped stdin), and files or `-`
//! named by flags. Reads happen off the runtime thread, so a signal is handled at once even
//! while stdin stays open.

use std::io::{IsTerminal, Read};
use std::path::Path;

use agent::limits::MAX_PROMPT_BYTES;
use agent::{Error, Oversized};

/// The prompt: stdin's text when stdin is not a terminal, a blank line, then the arguments
/// joined by spaces (`git diff | agent session run review "review this"`).
pub(crate) async fn prompt(args: &[String]) -> agent::Result<String> {
    let joined = args.join(" ");
    let stdin = if std::io::stdin().is_terminal() {
        String::new()
    } else {
        stdin().await?
    };
    let stdin = stdin.trim_end_matches(['\n', '\r']);
    match (stdin.trim().is_empty(), joined.trim().is_empty()) {
        (true, true) => Err(Error::Usage(
            "no prompt: pass it as arguments or on stdin".to_string(),
        )),
        (true, false) => Ok(joined),
        (false, true) => Ok(stdin.to_string()),
        (false, false) => Ok(format!("{stdin}\n\n{joined}")),
    }
}

/// All of stdin, as UTF-8 text, up to the prompt limit: more is refused without reading it
/// all, so `cat huge | agent ...` cannot exhaust memory.
pub(crate) async fn stdin() -> agent::Result<String> {
    stdin_within(MAX_PROMPT_BYTES as u64).await
}

async fn stdin_within(limit: u64) -> agent::Result<String> {
    let read = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes)
    });
    let bytes = read
        .await
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
