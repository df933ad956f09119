//! Fitting history into a model: token estimates, the summary of compacted history, trimming
//! the oldest messages out of a request, and compaction itself.

use futures_util::StreamExt;

use crate::document::SessionData;
use crate::provider::{Event, Request};
use crate::{Agent, Error, Message, Result, Role};

/// What a turn does when its request would not fit the model's context window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContextPolicy {
    /// Fail with an error naming the session's size (the default).
    #[default]
    Error,
    /// Leave the oldest messages out of the request (they stay in the session).
    Trim,
    /// Compact the history into a summary first.
    Compact,
}

/// The heading under which a compacted history's summary follows the system prompt.
pub(crate) const SUMMARY_HEADING: &str = "Summary of the earlier conversation:";

/// The system prompt a request carries: the session's, then the summary of compacted history.
pub(crate) fn system_prompt(data: &SessionData) -> Option<String> {
    match (&data.system, &data.summary) {
        (s, None) => s.clone(),
        (None, Some(sum)) => Some(format!("{SUMMARY_HEADING}\n{sum}")),
        (Some(s), Some(sum)) => Some(format!("{s}\n\n{SUMMARY_HEADING}\n{sum}")),
    }
}

/// A documented heuristic: one token per four bytes of text, plus four per message for the
/// role and framing. Good to about 20% on English prose; exact counts replace it where a
/// provider reported them (see [`estimate_request`]).
pub(crate) fn estimate_text(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

fn estimate_message(m: &Message) -> u64 {
    let calls: u64 = m
        .tool_calls
        .iter()
        .map(|c| estimate_text(&c.name) + estimate_text(&c.arguments.to_string()))
        .sum();
    4 + estimate_text(&m.content) + calls
}

/// Estimated prompt tokens of a request: the heuristic over everything, or, when the last reply
/// recorded the provider's own count, that count (its input plus its output) plus the heuristic
/// for what came after, whichever is larger (a count taken from a trimmed request understates).
pub(crate) fn estimate_request(system: Option<&str>, messages: &[Message]) -> u64 {
    let heuristic =
        system.map_or(0, estimate_text) + messages.iter().map(estimate_message).sum::<u64>();
    let counted = messages
        .iter()
        .rposition(|m| m.role == Role::Assistant && m.usage.is_some())
        .map(|i| {
            let u = messages[i].usage.as_ref().expect("checked above");
            u.input_tokens
                + u.output_tokens
                + messages[i + 1..].iter().map(estimate_message).sum::<u64>()
        });
    heuristic.max(counted.unwrap_or(0))
}

/// Leave the oldest messages out of `request` until its estimate fits `limit`. Cuts only
/// before a user message, so a tool call never loses its result, and never removes the last
/// user message. Returns how many messages were left out. Linear in the history: each
/// message's estimate is computed once, and the cut is found from suffix sums.
pub(crate) fn trim(request: &mut Request, limit: u64) -> usize {
    let messages = &request.messages;
    let system = request.system.as_deref().map_or(0, estimate_text);
    // suffix[i]: the heuristic estimate of messages[i..].
    let mut suffix = vec![0u64; messages.len() + 1];
    for i in (0..messages.len()).rev() {
        suffix[i] = suffix[i + 1] + estimate_message(&messages[i]);
    }
    // The provider's own count, from the last reply that reported one, holds while that reply
    // is kept (see `estimate_request`).
    let counted = messages
        .iter()
        .rposition(|m| m.role == Role::Assistant && m.usage.is_some())
        .map(|u| {
            let usage = messages[u].usage.as_ref().expect("checked above");
            (u, usage.input_tokens + usage.output_tokens + suffix[u + 1])
        });
    let estimate = |cut: usize| {
        let count = counted.filter(|(u, _)| *u >= cut).map_or(0, |(_, c)| c);
        (system + suffix[cut]).max(count)
    };
    if estimate(0) <= limit {
        return 0;
    }
    let last_user = messages.iter().rposition(|m| m.role == Role::User);
    let mut cut = 0;
    for (i, m) in messages.iter().enumerate().skip(1) {
        if m.role != Role::User || last_user.is_some_and(|l| i > l) {
            continue;
        }
        cut = i;
        if estimate(i) <= limit {
            break;
        }
    }
    request.messages.drain(..cut);
    cut
}

/// The error for a request that does not fit.
pub(crate) fn too_large(id: &str, model: &str, estimate: u64, window: u64) -> Error {
    Error::ContextOverflow {
        id: id.to_string(),
        model: model.to_string(),
        estimate: Some(estimate),
        window: Some(window),
        provider: None,
    }
}

/// Options of a compaction.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Messages at the end left as they are (default 4).
    pub keep: usize,
    /// The model that writes the summary (default: the agent's).
    pub model: Option<String>,
    /// Instructions replacing the default summary prompt.
    pub instructions: Option<String>,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            keep: 4,
            model: None,
            instructions: None,
        }
    }
}

const DEFAULT_INSTRUCTIONS: &str = "Summarize the conversation below so the summary can replace it as context for \
continuing it. Keep names, facts, numbers, decisions, open questions and anything the user asked to be \
remembered. Write plain prose, as short as the content allows.";

/// Where the history is cut: before the first user message at or after `len - keep`, so the
/// kept tail starts a fresh exchange. `None` when there is nothing to compact.
fn cut_point(messages: &[Message], keep: usize) -> Option<usize> {
    let start = messages.len().saturating_sub(keep);
    (start..messages.len())
        .find(|&i| messages[i].role == Role::User)
        .or(if keep == 0 {
            Some(messages.len())
        } else {
            None
        })
        .filter(|&cut| cut > 0)
}

/// The request that asks the model for a summary of `messages` (plus an earlier summary).
fn summary_request(data: &SessionData, cut: usize, opts: &CompactOptions, model: &str) -> Request {
    let mut transcript = String::new();
    if let Some(earlier) = &data.summary {
        transcript.push_str(&format!("[summary of what came before]\n{earlier}\n\n"));
    }
    for m in &data.messages[..cut] {
        transcript.push_str(&format!("[{}]\n", m.role.as_str()));
        for c in &m.tool_calls {
            transcript.push_str(&format!("(called {} with {})\n", c.name, c.arguments));
        }
        transcript.push_str(&m.content);
        transcript.push_str("\n\n");
    }
    let instructions = opts.instructions.as_deref().unwrap_or(DEFAULT_INSTRUCTIONS);
    Request {
        model: model.to_string(),
        system: Some("You write faithful, compact summaries of conversations.".into()),
        messages: vec![Message::user(format!(
            "{instructions}\n\n<conversation>\n{}</conversation>",
            transcript
        ))],
        stream: true,
        ..Request::default()
    }
}

/// A summary the model wrote of the messages before `cut`, not yet applied.
pub(crate) struct Summary {
    cut: usize,
    text: String,
}

impl Summary {
    /// Apply it: the messages before the cut move to `archive`, the summary replaces them.
    /// Returns how many messages were replaced.
    pub(crate) fn apply(self, data: &mut SessionData) -> usize {
        let replaced: Vec<Message> = data.messages.drain(..self.cut).collect();
        data.archive.extend(replaced);
        data.summary = Some(self.text);
        self.cut
    }
}

/// Ask the model for a summary of everything but the last `opts.keep` messages. `None` when
/// there is nothing to compact; `data` is never changed here, so a failure changes nothing.
pub(crate) async fn summarize(
    agent: &Agent,
    data: &SessionData,
    opts: &CompactOptions,
) -> Result<Option<Summary>> {
    let Some(cut) = cut_point(&data.messages, opts.keep) else {
        return Ok(None);
    };
    let model = opts
        .model
        .clone()
        .unwrap_or_else(|| agent.model().to_string());
    let request = summary_request(data, cut, opts, &model);
    let mut stream = agent.provider().stream(&request).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let Event::TextDelta { text: t } = event? {
            text.push_str(&t);
        }
    }
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(Error::Other(
            "the model returned an empty summary; nothing was changed".into(),
        ));
    }
    Ok(Some(Summary { cut, text }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(roles: &str) -> Vec<Message> {
        roles
            .chars()
            .map(|c| match c {
                'u' => Message::user("x".repeat(400)),
                _ => Message::assistant("y".repeat(400)),
            })
            .collect()
    }

    #[test]
    fn estimates() {
        assert_eq!(estimate_text("abcdefgh"), 2);
        let m = msgs("ua");
        assert_eq!(estimate_request(None, &m), 2 * (4 + 100));
        let mut counted = msgs("uau");
        counted[1].usage = Some(crate::Usage {
            input_tokens: 1000,
            output_tokens: 50,
            ..Default::default()
        });
        assert_eq!(estimate_request(None, &counted), 1050 + 104);
    }

    #[test]
    fn trim_keeps_the_last_exchange_and_cuts_at_user_messages() {
        let mut req = Request {
            messages: msgs("uauau"),
            ..Request::default()
        };
        let dropped = trim(&mut req, 250);
        assert_eq!(dropped, 4);
        assert_eq!(req.messages.len(), 1);
        let mut req = Request {
            messages: msgs("uau"),
            ..Request::default()
        };
        assert_eq!(trim(&mut req, 10), 2, "never below the last user message");
    }

    #[test]
    fn cuts_start_a_fresh_exchange() {
        assert_eq!(cut_point(&msgs("uauaua"), 4), Some(2));
        assert_eq!(cut_point(&msgs("uauaua"), 3), Some(4));
        assert_eq!(cut_point(&msgs("ua"), 4), None);
        assert_eq!(cut_point(&msgs("uaua"), 0), Some(4));
    }

    #[test]
    fn summary_follows_the_system_prompt() {
        let mut d = SessionData::new("s");
        d.system = Some("Be brief.".into());
        d.summary = Some("Alice likes tea.".into());
        assert_eq!(
            system_prompt(&d).unwrap(),
            format!("Be brief.\n\n{SUMMARY_HEADING}\nAlice likes tea.")
        );
    }
}
