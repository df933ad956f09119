//! Transcripts for people: `session show` as text (coloured and folded on a terminal) or as
//! Markdown, and `session ls` as an aligned table.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use agent::document::{SessionData, SessionSummary};
use agent::{Message, Role};

/// How a text transcript is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Look {
    /// ANSI colours for roles and headings.
    pub(crate) color: bool,
    /// Tool calls and results on one line each (for reading, not for copying).
    pub(crate) fold: bool,
}

impl Look {
    fn paint(self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

fn role_style(role: Role) -> Style {
    let color = match role {
        Role::User => AnsiColor::Green,
        Role::Assistant => AnsiColor::Cyan,
        Role::Tool => AnsiColor::Yellow,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

const DIM: Style = Style::new().dimmed();

/// The first line of `text`, at most `max` characters, with `…` when anything was cut.
fn one_line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    let cut: String = first.chars().take(max).collect();
    if cut.len() < text.trim_end().len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// `text` with what a terminal would act on made visible: control characters (escape
/// sequences a model may send, that set titles or move the cursor) as `^[`-style carets, C1
/// controls and bidirectional overrides as `<U+…>`. Newlines and tabs stay.
pub(crate) fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            '\u{7f}' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c => out.push_str(&format!("<U+{:04X}>", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A copy of the document whose text is safe to show on a terminal (see [`visible`]).
fn on_terminal(data: &SessionData) -> SessionData {
    let v = |t: &str| visible(t).into_owned();
    let mut d = data.clone();
    d.title = d.title.as_deref().map(v);
    d.model = d.model.as_deref().map(v);
    d.system = d.system.as_deref().map(v);
    for t in &mut d.tools {
        t.name = v(&t.name);
        t.command = t.command.iter().map(|c| v(c)).collect();
    }
    for m in &mut d.mcp_servers {
        m.name = v(&m.name);
        m.command = m.command.iter().map(|c| v(c)).collect();
        m.url = m.url.as_deref().map(v);
    }
    for m in &mut d.messages {
        m.content = v(&m.content);
        m.reasoning = m.reasoning.as_deref().map(v);
        m.model = m.model.as_deref().map(v);
        m.name = m.name.as_deref().map(v);
        for c in &mut m.tool_calls {
            c.name = v(&c.name);
            c.arguments = serde_json::Value::String(v(&c.arguments.to_string()));
        }
    }
    if let Some(f) = &mut d.failed_turn {
        f.prompt = v(&f.prompt);
        f.partial = v(&f.partial);
        f.error = v(&f.error);
    }
    d
}

/// The text transcript: a heading, the system prompt, then each message with its time and model.
/// On a terminal (`look.fold`) control characters are shown, not sent to it.
pub(crate) fn text(data: &SessionData, last: Option<usize>, look: Look) -> String {
    let safe;
    let data = if look.fold {
        safe = on_terminal(data);
        &safe
    } else {
        data
    };
    let mut s = String::new();
    let title = data
        .title
        .as_deref()
        .map(|t| format!(" — {t}"))
        .unwrap_or_default();
    let model = data.model.as_deref().unwrap_or("-");
    let head = format!(
        "# {}{title} ({model}, {} messages)",
        data.id,
        data.messages.len()
    );
    let _ = writeln!(s, "{}", look.paint(Style::new().bold(), &head));
    if let Some(f) = &data.forked_from {
        let _ = writeln!(s, "(forked from {} at message {})", f.id, f.messages);
    }
    if let Some(system) = &data.system {
        let _ = writeln!(s, "\n{}\n{system}", look.paint(DIM, "[system]"));
    }
    // The commands a turn may run are part of what the session is.
    if !data.tools.is_empty() {
        let _ = writeln!(s, "\n{}", look.paint(DIM, "[tools]"));
        for t in &data.tools {
            let _ = writeln!(s, "{}: {}", t.name, t.command.join(" "));
        }
    }
    if !data.mcp_servers.is_empty() {
        let _ = writeln!(s, "\n{}", look.paint(DIM, "[mcp servers]"));
        for m in &data.mcp_servers {
            let _ = writeln!(s, "{}: {}", m.name, m.describe());
        }
    }
    let skip = last.map_or(0, |n| data.messages.len().saturating_sub(n));
    for m in &data.messages[skip..] {
        message(&mut s, m, look);
    }
    if let Some(f) = &data.failed_turn {
        let _ = writeln!(
            s,
            "\n{} {} — {}\n(not in the history; `agent session retry {}` sends it again)\n{}",
            look.paint(
                Style::new().fg_color(Some(AnsiColor::Red.into())),
                "[failed turn]"
            ),
            f.at,
            f.error,
            data.id,
            f.prompt
        );
        if !f.partial.is_empty() {
            let _ = writeln!(s, "[partial reply]\n{}", f.partial);
        }
    }
    s
}

fn message(s: &mut String, m: &Message, look: Look) {
    let when = m.created_at.as_deref().unwrap_or("");
    let mut meta = when.to_string();
    if let Some(model) = &m.model {
        meta.push_str(&format!(" ({model})"));
    }
    let role = look.paint(role_style(m.role), &format!("[{}]", m.role.as_str()));
    let meta = meta.trim();
    if meta.is_empty() {
        let _ = writeln!(s, "\n{role}");
    } else {
        let _ = writeln!(s, "\n{role} {}", look.paint(DIM, meta));
    }
    // Reasoning folded to one dimmed line on a terminal, whole otherwise.
    if let Some(r) = m.reasoning.as_deref().filter(|r| !r.is_empty()) {
        let shown = if look.fold {
            format!("[reasoning] {}", one_line(r, 80))
        } else {
            format!("[reasoning]\n{}", r.trim_end())
        };
        let _ = writeln!(s, "{}", look.paint(DIM, &shown));
    }
    for call in &m.tool_calls {
        let args = match &call.arguments {
            // Made terminal-safe already (see `on_terminal`).
            serde_json::Value::String(shown) if look.fold => shown.clone(),
            other => other.to_string(),
        };
        let args = if look.fold { one_line(&args, 80) } else { args };
        let _ = writeln!(s, "→ {}({args})", call.name);
    }
    for a in &m.attachments {
        let _ = writeln!(s, "{}", visible(&a.label()));
    }
    if m.content.is_empty() {
        return;
    }
    if look.fold && m.role == Role::Tool {
        let name = m.name.as_deref().unwrap_or("tool");
        let status = if m.is_error { "error" } else { "ok" };
        let _ = writeln!(
            s,
            "← {name} {status}, {} bytes: {}",
            m.content.len(),
            one_line(&m.content, 60)
        );
    } else {
        s.push_str(&m.content);
        s.push('\n');
    }
}

/// A Markdown transcript: headings per message, tool traffic in code blocks.
pub(crate) fn markdown(data: &SessionData, last: Option<usize>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", data.title.as_deref().unwrap_or(&data.id));
    let _ = writeln!(s, "- Session: `{}`", data.id);
    if let Some(model) = &data.model {
        let _ = writeln!(s, "- Model: `{model}`");
    }
    let _ = writeln!(s, "- Created: {}", data.created_at);
    let _ = writeln!(s, "- Updated: {}", data.updated_at);
    if let Some(f) = &data.forked_from {
        let _ = writeln!(s, "- Forked from: `{}` at message {}", f.id, f.messages);
    }
    for t in &data.tools {
        let _ = writeln!(s, "- Tool `{}`: `{}`", t.name, t.command.join(" "));
    }
    for m in &data.mcp_servers {
        let _ = writeln!(s, "- MCP server `{}`: `{}`", m.name, m.describe());
    }
    if let Some(system) = &data.system {
        let _ = writeln!(s, "\n## System\n\n{}", system.trim_end());
    }
    let skip = last.map_or(0, |n| data.messages.len().saturating_sub(n));
    for m in &data.messages[skip..] {
        let heading = match m.role {
            Role::User => "User".to_string(),
            Role::Assistant => match &m.model {
                Some(model) => format!("Assistant ({model})"),
                None => "Assistant".to_string(),
            },
            Role::Tool => format!("Tool result: {}", m.name.as_deref().unwrap_or("tool")),
        };
        let _ = writeln!(s, "\n## {heading}\n");
        for a in &m.attachments {
            let _ = writeln!(s, "{}\n", a.label());
        }
        if let Some(r) = m.reasoning.as_deref().filter(|r| !r.is_empty()) {
            let _ = writeln!(s, "### Reasoning\n\n{}\n", r.trim_end());
        }
        for call in &m.tool_calls {
            let _ = writeln!(
                s,
                "Tool call `{}`:\n\n```json\n{}\n```\n",
                call.name, call.arguments
            );
        }
        match m.role {
            Role::Tool => {
                let _ = writeln!(s, "```\n{}\n```", m.content.trim_end());
            }
            _ if !m.content.is_empty() => {
                let _ = writeln!(s, "{}", m.content.trim_end());
            }
            _ => {}
        }
    }
    s
}

/// `session ls` on a terminal: a header, then columns padded to their widest cell.
pub(crate) fn table(sessions: &[SessionSummary], color: bool) -> String {
    let rows: Vec<[String; 5]> = sessions
        .iter()
        .map(|s| {
            let model = match (&s.provider, &s.model) {
                (Some(p), Some(m)) => format!("{p}/{m}"),
                (None, Some(m)) => m.clone(),
                _ => "-".to_string(),
            };
            [
                s.id.clone(),
                relative(&s.updated_at),
                s.message_count.to_string(),
                model,
                visible(s.title.as_deref().unwrap_or_default()).into_owned(),
            ]
        })
        .collect();
    let header = ["ID", "UPDATED", "MSGS", "MODEL", "TITLE"].map(str::to_string);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let look = Look { color, fold: true };
    let mut out = String::new();
    for (i, row) in std::iter::once(&header).chain(&rows).enumerate() {
        let mut line = String::new();
        for (col, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            let cell = match col {
                // The count is a number: right-aligned.
                2 => format!("{}{cell}", " ".repeat(pad)),
                4 => cell.clone(),
                _ => format!("{cell}{}", " ".repeat(pad)),
            };
            if col > 0 {
                line.push_str("  ");
            }
            line.push_str(&cell);
        }
        let line = line.trim_end();
        let line = if i == 0 {
            look.paint(Style::new().bold(), line)
        } else {
            line.to_string()
        };
        let _ = writeln!(out, "{line}");
    }
    out
}

/// "3m ago", "2h ago", "5d ago": for tables people read.
fn relative(ts: &str) -> String {
    let Some(t) = agent::time::parse(ts) else {
        return ts.to_string();
    };
    let secs = std::time::SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}
