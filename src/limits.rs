//! Every bound on what comes in: prompt and reply sizes, documents, nesting. Each is checked
//! before the work it guards, so a huge or hostile input costs nothing and loses nothing.

/// The largest prompt a turn sends (16 MiB, more text than any model's context window holds).
/// Checked before any request; a larger prompt is refused, not recorded.
pub const MAX_PROMPT_BYTES: usize = 16 << 20;

/// The largest attachment (`-a`, [`crate::Attachment`]) read or stored: 64 MiB, above every
/// provider's own limit (each is checked before a request too, in the provider's `parts`).
pub const MAX_ATTACHMENT_BYTES: u64 = 64 << 20;

/// The default bound on one turn's reply (text and tool-call arguments, every step): 64 MiB.
/// A reply beyond it fails the turn cleanly; [`crate::RunOptions::max_reply_bytes`] changes it.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 64 << 20;

/// The largest document a store keeps (256 MiB): larger ones are refused on load, and a save
/// that would write one is refused before anything is written, leaving the old document.
pub const MAX_DOCUMENT_BYTES: u64 = 256 << 20;

/// How much of a partial reply a failed turn keeps for `retry` (4 MiB, with a note of what was
/// cut), so recording a failure can never make a session unreadable.
pub const MAX_PARTIAL_BYTES: usize = 4 << 20;

/// The deepest nesting of `[` and `{` accepted in a YAML or JSON file read from disk (tool
/// files, schemas, config): a document nested 100,000 levels deep is refused at once instead of
/// costing the parser seconds.
pub const MAX_NESTING: usize = 64;

/// The largest YAML or JSON file read from disk for configuration: 1 MiB.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Refuse text whose flow collections (`[`, `{`) nest deeper than [`MAX_NESTING`], looking
/// past quoted strings and comments, in one linear pass before any parser sees it.
pub fn check_nesting(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut previous = '\n';
    for c in text.chars() {
        if comment {
            comment = c != '\n';
        } else if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                // A quote opens a string only where a value can start, so an apostrophe in a
                // plain word (`don't`) cannot hide the rest of the file.
                '"' | '\'' if previous.is_whitespace() || "[{,:-".contains(previous) => {
                    quote = Some(c)
                }
                '#' if previous.is_whitespace() => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(format!("nested more than {MAX_NESTING} levels deep"));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        previous = c;
    }
    Ok(())
}

/// Read a configuration file (YAML or JSON) within [`MAX_FILE_BYTES`] and [`MAX_NESTING`].
pub fn read_config_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {} KiB", MAX_FILE_BYTES >> 10));
    }
    check_nesting(&text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting() {
        assert!(check_nesting("a: [1, {b: [2]}]").is_ok());
        let bomb = "[".repeat(100_000);
        assert!(check_nesting(&bomb).is_err());
        // Brackets in strings and comments do not count.
        let quoted = format!(
            "a: \"{}\"\nb: '{}' # {}",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert!(check_nesting(&quoted).is_ok());
        assert!(check_nesting(&"[".repeat(MAX_NESTING)).is_ok());
        let hidden = format!("a: don't\nb: {}", "[".repeat(1000));
        assert!(
            check_nesting(&hidden).is_err(),
            "an apostrophe hides nothing"
        );
    }
}
