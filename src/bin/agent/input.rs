//! What the user gives besides flags: the prompt (arguments and piped stdin), and files or `-`
//! named by flags. Reads happen off the runtime thread, so a signal is handled at once even
//! while stdin stays open.

use std::io::{IsTerminal, Read};
use std::path::Path;

use agent::Error;

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

/// All of stdin, as UTF-8 text.
pub(crate) async fn stdin() -> agent::Result<String> {
    let read = tokio::task::spawn_blocking(|| {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    });
    let bytes = read
        .await
        .map_err(|e| Error::Other(format!("cannot read stdin: {e}")))?
        .map_err(|e| Error::io("cannot read stdin", e))?;
    String::from_utf8(bytes).map_err(|_| Error::Usage("stdin is not UTF-8 text".into()))
}

/// A file named by a flag, or stdin for `-`.
pub(crate) async fn file_or_stdin(path: &Path) -> agent::Result<String> {
    if path.as_os_str() == "-" {
        return stdin().await;
    }
    std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))
}
