//! How tool calls are shown to people: arguments on one line, and the one stderr line each call
//! gets (`tool get_user_orders {"user_id":"user-123"} → ok, 212 bytes, 0.03s`).

use std::collections::HashMap;

use serde_json::Value;

use agent::Event;

/// Arguments on one line, cut so a huge call stays one readable line.
pub(crate) fn shown(arguments: &Value) -> String {
    let text = arguments.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Follows a turn's events and says what each tool call did.
pub(crate) struct ToolLog {
    stdout_tty: bool,
    arguments: HashMap<String, String>,
    mid_line: bool,
}

impl ToolLog {
    pub(crate) fn new(stdout_tty: bool) -> Self {
        ToolLog {
            stdout_tty,
            arguments: HashMap::new(),
            mid_line: false,
        }
    }

    /// The line to print for `event`, if any.
    pub(crate) fn line(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::TextDelta { text } => {
                self.mid_line = !text.ends_with('\n');
                None
            }
            Event::ToolCall { call } => {
                self.arguments
                    .insert(call.id.clone(), shown(&call.arguments));
                None
            }
            Event::ToolResult {
                id,
                name,
                ok,
                content,
                duration_ms,
            } => {
                let args = self.arguments.get(id).map_or("", String::as_str);
                let line = result_line(name, args, *ok, content, *duration_ms);
                // On a terminal the reply text may have stopped mid-line: start a fresh one.
                let fresh = std::mem::take(&mut self.mid_line) && self.stdout_tty;
                Some(if fresh { format!("\n{line}") } else { line })
            }
            _ => None,
        }
    }
}

pub(crate) fn result_line(name: &str, args: &str, ok: bool, content: &str, ms: u64) -> String {
    let secs = ms as f64 / 1000.0;
    if ok {
        format!(
            "tool {name} {args} → ok, {} bytes, {secs:.2}s",
            content.len()
        )
    } else {
        let first = content.lines().next().unwrap_or("");
        format!("tool {name} {args} → error, {secs:.2}s: {first}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            result_line(
                "get_user_orders",
                r#"{"user_id":"user-123"}"#,
                true,
                &"x".repeat(212),
                30
            ),
            r#"tool get_user_orders {"user_id":"user-123"} → ok, 212 bytes, 0.03s"#
        );
        assert_eq!(
            result_line("f", "{}", false, "boom\nmore", 1500),
            "tool f {} → error, 1.50s: boom"
        );
        assert!(shown(&Value::String("é".repeat(300))).ends_with('…'));
    }
}
