//! The turn engine: lock, reload, ask the model (running tools and correcting JSON as needed),
//! then save the whole turn at once — or record it as failed and save nothing to `messages`.

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::context::{self, ContextPolicy};
use super::round::run_round;
use super::{Response, RunOptions};
use crate::agent::Notice;
use crate::document::{FailedTurn, SessionData};
use crate::provider::{Event, JsonFormat, Request};
use crate::store;
use crate::{Agent, Error, Message, Result, ToolCall, Usage};

/// Structured-output settings of a turn.
#[derive(Clone)]
pub(crate) struct JsonSpec {
    pub(crate) format: JsonFormat,
    pub(crate) validator: Arc<jsonschema::Validator>,
    pub(crate) retries: u32,
}

/// What the turn task tells its stream: an event, or "the answer is complete: may I save?".
pub(crate) enum Msg {
    Event(Event),
    Ready,
}

/// Everything a turn needs, owned, so it can run as its own task.
pub(crate) struct Turn {
    pub(crate) agent: Agent,
    pub(crate) id: String,
    pub(crate) prompt: String,
    pub(crate) options: RunOptions,
    pub(crate) json: Option<JsonSpec>,
    /// Every reply text of this turn so far, shared with the stream so a cancelled turn can
    /// still record what arrived. The one copy of the text while it streams.
    pub(crate) partial: Arc<std::sync::Mutex<String>>,
}

/// Take the session's lock, polling without blocking the runtime, so a cancelled turn stops
/// waiting at once.
pub(crate) async fn lock(agent: &Agent, id: &str) -> Result<store::StoreLock> {
    let mut wait = store::LockWait::new(id, agent.lock_timeout());
    let mut notify = || agent.notify(&Notice::WaitingForLock { id: id.to_string() });
    loop {
        if let Some(guard) = agent.store().try_lock(id)? {
            return Ok(guard);
        }
        tokio::time::sleep(wait.next(&mut notify)?).await;
    }
}

/// The first request of a turn: the history, then `prompt` as the new user message. Both a
/// real turn and [`crate::Session::preview_request`] (`--dry-run`) build it here, so what a dry
/// run prints is what a turn sends.
pub(crate) fn build_request(
    agent: &Agent,
    data: &SessionData,
    prompt: &str,
    options: &RunOptions,
    json: Option<&JsonSpec>,
) -> Request {
    let tools = if options.tools { agent.tools() } else { &[] };
    Request {
        model: options
            .model
            .clone()
            .unwrap_or_else(|| agent.model().to_string()),
        system: context::system_prompt(data),
        messages: data
            .messages
            .iter()
            .cloned()
            .chain([Message::user(prompt)])
            .collect(),
        temperature: options.temperature,
        max_tokens: options.max_tokens,
        stream: options.stream,
        json: json.map(|j| j.format.clone()),
        tools: tools.iter().map(|t| t.spec().clone()).collect(),
    }
}

/// A title from the first prompt: its first non-blank line, trimmed, cut at about 60 characters
/// on a word boundary, so `ls` says what a session is about without `--title`.
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

/// A provider's own "context too long" error becomes the same error as ours.
fn context_error(e: Error, id: &str, model: &str) -> Error {
    match e {
        Error::Provider(pe) if pe.is_context_overflow() => Error::ContextOverflow {
            id: id.to_string(),
            model: model.to_string(),
            estimate: None,
            window: None,
            provider: Some(Box::new(pe)),
        },
        other => other,
    }
}

/// Put a price on a reply's usage when its model's price is known.
fn price(agent: &Agent, reply: &mut Message) {
    if let (Some(usage), Some(model)) = (&reply.usage, &reply.model) {
        reply.cost_usd = agent.prices().cost(model, usage);
    }
}

/// Make the request fit the model's context window (when the window is known): fail with a
/// clear error, or leave the oldest messages out of it. A turn and its `--dry-run` preview both
/// apply it.
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

/// Record a failed turn (outside `messages`) so `retry` can re-send it. Messages are untouched.
pub(crate) fn record_failure(
    agent: &Agent,
    data: &mut SessionData,
    prompt: &str,
    partial: &str,
    error: &Error,
) -> Result<()> {
    data.failed_turn = Some(FailedTurn {
        prompt: prompt.to_string(),
        partial: partial.to_string(),
        error: error.to_string(),
        at: crate::time::now(),
    });
    store::save_data(&**agent.store(), data)
}

impl Turn {
    /// Run the turn, forwarding events to `tx`. The turn is saved only after the consumer read
    /// every event and confirmed through `commit`: a stream dropped early saves nothing.
    pub(crate) async fn run(
        self,
        tx: mpsc::Sender<Msg>,
        commit: oneshot::Receiver<()>,
    ) -> Result<(SessionData, Response)> {
        let _lock = lock(&self.agent, &self.id).await?;
        let mut data = store::load_data(&**self.agent.store(), &self.id)?;
        let outcome = match self.compact_if_needed(&mut data).await {
            Ok(()) => self.exchange(&data, &tx).await,
            Err(e) => Err(e),
        };
        match outcome.map_err(|e| context_error(e, &self.id, &self.model())) {
            Ok((added, mut response)) => {
                if tx.send(Msg::Ready).await.is_err() || commit.await.is_err() {
                    return Err(Error::Interrupted);
                }
                // No await is left, so nothing can cancel the turn now: the partial reply
                // (kept for a failed turn's record) is no longer needed.
                drop(std::mem::take(&mut *self.partial.lock().unwrap()));
                response.text = added.last().map(|m| m.content.clone()).unwrap_or_default();
                if data
                    .failed_turn
                    .as_ref()
                    .is_some_and(|f| f.prompt == self.prompt)
                {
                    data.failed_turn = None;
                }
                data.messages.extend(added);
                if data.title.is_none() {
                    data.title = title_from(&self.prompt);
                }
                data.touch();
                store::save_data(&**self.agent.store(), &data)?;
                Ok((data, response))
            }
            // The consumer went away: it decides what to record (see `TurnStream::cancel`).
            Err(Error::Interrupted) => Err(Error::Interrupted),
            Err(e) => {
                if let Err(save) = record_failure(
                    &self.agent,
                    &mut data,
                    &self.prompt,
                    &self.partial_text(),
                    &e,
                ) {
                    return Err(Error::Other(format!(
                        "{e} (and recording the failed turn failed: {save})"
                    )));
                }
                Err(e)
            }
        }
    }

    /// The model this turn asks.
    fn model(&self) -> String {
        self.options
            .model
            .clone()
            .unwrap_or_else(|| self.agent.model().to_string())
    }

    /// Before the turn: compact when the history is over `auto_compact`, or over the model's
    /// window with `--context compact`. A failed compaction fails the turn and changes nothing.
    async fn compact_if_needed(&self, data: &mut SessionData) -> Result<()> {
        let estimate =
            context::estimate_request(context::system_prompt(data).as_deref(), &data.messages)
                + context::estimate_text(&self.prompt);
        let window = self.agent.prices().context_window(&self.model());
        let over_window =
            self.options.context == ContextPolicy::Compact && window.is_some_and(|w| estimate > w);
        let over_threshold = self.options.auto_compact.is_some_and(|t| estimate > t);
        if over_window || over_threshold {
            let replaced =
                context::compact(&self.agent, data, &context::CompactOptions::default()).await?;
            if replaced > 0 {
                self.agent.notify(&Notice::Compacted {
                    id: self.id.clone(),
                    replaced,
                });
            }
        }
        Ok(())
    }

    fn partial_text(&self) -> String {
        self.partial.lock().unwrap().clone()
    }

    fn partial_text_len(&self) -> usize {
        self.partial.lock().unwrap().len()
    }

    /// The model requests of one turn: tool rounds and JSON corrections until a final answer.
    async fn exchange(
        &self,
        data: &SessionData,
        tx: &mpsc::Sender<Msg>,
    ) -> Result<(Vec<Message>, Response)> {
        let agent = &self.agent;
        let provider = agent.provider();
        let tools = if self.options.tools {
            agent.tools()
        } else {
            &[]
        };
        let mut request =
            build_request(agent, data, &self.prompt, &self.options, self.json.as_ref());
        let user = request
            .messages
            .last()
            .cloned()
            .expect("the prompt is last");
        fit(agent, &self.id, &self.options, &mut request)?;
        let mut added = vec![user];
        let mut total = Usage::default();
        let mut saw_usage = false;
        let mut corrections = 0;
        let mut attempts_usage = Usage::default();
        let mut steps = 0;
        loop {
            steps += 1;
            let mut stream = provider.stream(&request).await?;
            let step_start = self.partial_text_len();
            let mut calls: Vec<ToolCall> = Vec::new();
            let mut finish_reason = None;
            let mut model = None;
            let mut usage = None;
            let mut provider_data = serde_json::Map::new();
            while let Some(event) = stream.next().await {
                let event = event?;
                match &event {
                    Event::TextDelta { text: t } => {
                        self.partial.lock().unwrap().push_str(t);
                    }
                    Event::ToolCall { call } => calls.push(call.clone()),
                    Event::Usage { usage: u } => {
                        total.add(u);
                        saw_usage = true;
                        usage = Some(u.clone());
                    }
                    Event::Done {
                        finish_reason: f,
                        model: m,
                    } => {
                        finish_reason = f.clone();
                        model = m.clone();
                        continue; // one Done per turn, sent after the save
                    }
                    Event::ProviderData { key, value } => {
                        // Kept on the reply for the provider's next request, never shown.
                        provider_data.insert(key.clone(), value.clone());
                        continue;
                    }
                    Event::ToolResult { .. } => {}
                }
                if tx.send(Msg::Event(event)).await.is_err() {
                    return Err(Error::Interrupted);
                }
            }
            let text = self.partial.lock().unwrap()[step_start..].to_string();
            let mut reply = Message::assistant(text);
            reply.provider = Some(provider.name().to_string());
            reply.model = Some(model.clone().unwrap_or_else(|| request.model.clone()));
            reply.finish_reason = finish_reason.clone();
            if let Some(u) = &usage {
                attempts_usage.add(u);
            }
            reply.usage = usage;
            reply.extra.extend(provider_data);

            if !calls.is_empty() && !tools.is_empty() {
                if steps >= self.options.max_steps {
                    return Err(Error::TooManySteps { steps });
                }
                reply.tool_calls = calls.clone();
                price(agent, &mut reply);
                added.push(reply.clone());
                request.messages.push(reply);
                let outcomes = run_round(agent, tools, &calls, &self.id).await;
                for (call, outcome) in calls.iter().zip(outcomes) {
                    let (ok, content) = match outcome.output {
                        Ok(text) => (true, text),
                        Err(text) => (false, text),
                    };
                    let event = Event::ToolResult {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        ok,
                        content: content.clone(),
                        duration_ms: outcome.elapsed.as_millis() as u64,
                    };
                    if tx.send(Msg::Event(event)).await.is_err() {
                        return Err(Error::Interrupted);
                    }
                    let mut msg = Message::tool_result(call, content);
                    msg.is_error = !ok;
                    added.push(msg.clone());
                    request.messages.push(msg);
                }
                continue;
            }

            let mut json = None;
            if let Some(spec) = &self.json {
                match check_json(spec, &reply.content) {
                    Ok(value) => {
                        json = Some(value);
                        if corrections > 0 && reply.usage.is_some() {
                            // The stored answer carries what every attempt cost.
                            reply.usage = Some(attempts_usage.clone());
                        }
                    }
                    Err(problems) if corrections < spec.retries => {
                        corrections += 1;
                        // Correction turns go to the model only; they are never stored.
                        request.messages.push(reply);
                        request
                            .messages
                            .push(Message::user(correction_prompt(&problems)));
                        continue;
                    }
                    Err(problems) => {
                        return Err(Error::Validation {
                            message: format!(
                                "the reply did not match the schema after {} attempt(s): {}",
                                corrections + 1,
                                problems
                                    .iter()
                                    .take(3)
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ),
                            raw: reply.content.clone(),
                        })
                    }
                }
            }
            price(agent, &mut reply);
            added.push(reply);
            let replies = || {
                added
                    .iter()
                    .filter(|m| m.role == crate::Role::Assistant && m.usage.is_some())
            };
            let cost_usd = replies()
                .map(|m| m.cost_usd)
                .sum::<Option<f64>>()
                .filter(|_| replies().next().is_some());
            let reply = added.last().expect("just pushed");
            let response = Response {
                session_id: self.id.clone(),
                // Filled in by `run` once the partial reply is freed: a long reply is then
                // held twice at most (three times while a store converts it).
                text: String::new(),
                usage: saw_usage.then_some(total),
                cost_usd,
                model: reply.model.clone(),
                finish_reason,
                json,
                attempts: corrections + 1,
            };
            return Ok((added, response));
        }
    }
}

/// Parse a reply as JSON (tolerating a Markdown code fence) and validate it.
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

fn correction_prompt(problems: &[String]) -> String {
    let list: Vec<String> = problems.iter().take(10).map(|p| format!("- {p}")).collect();
    format!(
        "Your reply was not valid against the required JSON Schema:\n{}\nReply again with only the corrected JSON value.",
        list.join("\n")
    )
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
