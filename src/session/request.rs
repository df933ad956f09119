//! The first request of a turn and what it must satisfy: the history plus the new prompt, fitted
//! to the model's context window, and for structured turns the schema it is checked against.
//! A real turn and [`crate::Session::preview_request`] (`--dry-run`) both build it here, so a
//! preview cannot drift from what a turn sends.

use std::sync::Arc;

use serde_json::Value;

use super::context::{self, ContextPolicy};
use super::RunOptions;
use crate::agent::Notice;
use crate::document::SessionData;
use crate::provider::{JsonFormat, Request};
use crate::{Agent, Error, Message, Result};

/// Structured-output settings of a turn.
#[derive(Clone)]
pub(crate) struct JsonSpec {
    pub(crate) format: JsonFormat,
    pub(crate) validator: Arc<jsonschema::Validator>,
    pub(crate) retries: u32,
}

/// The first request of a turn: the history, then `prompt` as the new user message.
pub(crate) fn build(
    agent: &Agent,
    data: &SessionData,
    prompt: &str,
    options: &RunOptions,
    json: Option<&JsonSpec>,
) -> Request {
    let tools = if options.tools { agent.tools() } else { &[] };
    Request {
        model: model(agent, options),
        system: context::system_prompt(data),
        messages: data
            .messages
            .iter()
            .cloned()
            .chain([prompt_message(prompt, options)])
            .collect(),
        temperature: options.temperature,
        max_tokens: options.max_tokens,
        stream: options.stream,
        json: json.map(|j| j.format.clone()),
        tools: tools.iter().map(|t| t.spec().clone()).collect(),
        reasoning: options.reasoning,
        cache: options.cache,
        cache_key: options.cache.map(|_| data.id.clone()),
    }
}

/// The turn's new user message: its attachments, then its text.
fn prompt_message(prompt: &str, options: &RunOptions) -> Message {
    let mut m = Message::user(prompt);
    m.attachments = options.attachments.clone();
    m
}

/// Refuse, before any request, an attachment of `request` the agent's provider cannot take.
pub(crate) fn check_attachments(agent: &Agent, request: &Request) -> Result<()> {
    let provider = agent.provider();
    request
        .messages
        .iter()
        .flat_map(|m| &m.attachments)
        .try_for_each(|a| provider.check_attachment(a))
}

/// The model a turn with `options` asks.
pub(crate) fn model(agent: &Agent, options: &RunOptions) -> String {
    options
        .model
        .clone()
        .unwrap_or_else(|| agent.model().to_string())
}

/// Make the request fit the model's context window (when the window is known): fail with
/// [`Error::ContextOverflow`], or with [`ContextPolicy::Trim`] leave the oldest messages out.
pub(crate) fn fit(
    agent: &Agent,
    id: &str,
    options: &RunOptions,
    request: &mut Request,
) -> Result<()> {
    let Some(window) = agent.prices().context_window(&request.model) else {
        return Ok(());
    };
    let estimate = context::estimate_request(request.system.as_deref(), &request.messages);
    if estimate <= window {
        return Ok(());
    }
    if options.context == ContextPolicy::Trim {
        let dropped = context::trim(request, window);
        if dropped > 0 {
            agent.notify(&Notice::Trimmed {
                id: id.to_string(),
                dropped,
            });
        }
        let left = context::estimate_request(request.system.as_deref(), &request.messages);
        if left <= window {
            return Ok(());
        }
        return Err(context::too_large(id, &request.model, left, window));
    }
    Err(context::too_large(id, &request.model, estimate, window))
}

/// Compile `schema` and name it for the provider: an invalid schema fails before any request.
pub(crate) fn json_spec(schema: &Value, retries: u32) -> Result<JsonSpec> {
    let validator = crate::schema::compile(schema).map_err(Error::Usage)?;
    let name = schema
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .filter(|t| {
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .unwrap_or("response");
    Ok(JsonSpec {
        format: JsonFormat {
            name: name.to_string(),
            schema: schema.clone(),
            strict: crate::schema::is_strict_compatible(schema),
        },
        validator: Arc::new(validator),
        retries,
    })
}

/// Parse a reply as JSON (tolerating a Markdown code fence) and validate it: the value, or the
/// problems to send back in a correction.
pub(crate) fn check_json(spec: &JsonSpec, text: &str) -> std::result::Result<Value, Vec<String>> {
    let body = strip_fence(text);
    let value: Value =
        serde_json::from_str(body).map_err(|e| vec![format!("not valid JSON: {e}")])?;
    let errors = crate::schema::errors(&spec.validator, &value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// The user message of a correction turn: what did not validate, and what to do.
pub(crate) fn correction_prompt(problems: &[String]) -> String {
    let list: Vec<String> = problems.iter().take(10).map(|p| format!("- {p}")).collect();
    format!(
        "Your reply was not valid against the required JSON Schema:\n{}\nReply again with only the corrected JSON value.",
        list.join("\n")
    )
}

/// A title from the first prompt: its first non-blank line, trimmed, cut at about 60 characters
/// on a word boundary, so `ls` says what a session is about without a title being given.
pub(crate) fn title_from(prompt: &str) -> Option<String> {
    const MAX: usize = 60;
    let line = prompt.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.chars().count() <= MAX {
        return Some(line.to_string());
    }
    let cut: String = line.chars().take(MAX).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > MAX / 2 => cut[..i].trim_end().to_string(),
        _ => cut,
    };
    Some(format!("{cut}…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line() {
        assert_eq!(
            title_from("  \n  Fix the bug \nmore").as_deref(),
            Some("Fix the bug")
        );
        assert_eq!(title_from(" \n "), None);
        let long = "word ".repeat(30);
        let t = title_from(&long).unwrap();
        assert!(t.ends_with('…') && t.chars().count() <= 61, "{t}");
        assert!(!t.contains("  "));
    }

    #[test]
    fn fences_are_stripped() {
        assert_eq!(strip_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_fence(" {\"a\":1} "), "{\"a\":1}");
    }
}
