//! The model requests of one turn, as named steps: ask the model ([`Exchange::ask`]); when it
//! calls tools, run a tool round and ask again; when a structured reply does not validate, send
//! a correction and ask again; otherwise the reply is the final answer.

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::link::Msg;
use super::request::{self, JsonSpec};
use super::round::run_round;
use super::spend::Spending;
use super::{Response, RunOptions};
use crate::provider::{Event, Request};
use crate::{Agent, Error, Message, Oversized, Result, Role, Tool, ToolCall, Usage};

/// One turn's conversation with the model so far.
pub(crate) struct Exchange<'a> {
    agent: &'a Agent,
    id: &'a str,
    options: &'a RunOptions,
    json: Option<&'a JsonSpec>,
    tx: &'a mpsc::Sender<Msg>,
    /// The next request: the history, the prompt, and every step of this turn.
    request: Request,
    /// What the turn adds to the history: the prompt, tool rounds, the answer.
    added: Vec<Message>,
    /// Every reply text of this turn so far: what a cancelled or failed turn records.
    text: String,
    /// Usage of every request, and whether any reported it.
    total: Option<Usage>,
    /// Usage of the answer's attempts (a structured reply and its corrections).
    attempts: Usage,
    corrections: u32,
    steps: u32,
    /// Bytes of reply so far (text and tool arguments), against `options.max_reply_bytes`.
    received: usize,
    /// The turn's and the session's spending limits, and what the turn has spent.
    spending: Spending,
    /// Which of the agent's models answers: 0 its own, then its fallbacks (see
    /// [`super::fallback`]); a turn that fell back stays there.
    link: usize,
}

/// One model reply, read to its end.
struct Reply {
    message: Message,
    calls: Vec<ToolCall>,
}

impl<'a> Exchange<'a> {
    /// An exchange starting with `request`, whose last message is the turn's prompt.
    pub(crate) fn new(
        agent: &'a Agent,
        id: &'a str,
        options: &'a RunOptions,
        json: Option<&'a JsonSpec>,
        tx: &'a mpsc::Sender<Msg>,
        request: Request,
    ) -> Self {
        let prompt = request
            .messages
            .last()
            .cloned()
            .expect("the prompt is last");
        Exchange {
            agent,
            id,
            options,
            json,
            tx,
            request,
            added: vec![prompt],
            text: String::new(),
            total: None,
            attempts: Usage::default(),
            corrections: 0,
            steps: 0,
            received: 0,
            spending: Spending::default(),
            link: 0,
        }
    }

    /// Stop before any request that a spending limit forbids.
    pub(crate) fn with_spending(mut self, spending: Spending) -> Self {
        self.spending = spending;
        self
    }

    /// What the turn adds to the history, and every reply text of the turn so far.
    pub(crate) fn into_parts(self) -> (String, Vec<Message>) {
        (self.text, self.added)
    }

    /// Ask until the model gives its final answer; the answer is the last of `added`.
    pub(crate) async fn run(&mut self) -> Result<Response> {
        loop {
            let reply = self.ask().await?;
            if !reply.calls.is_empty() && self.tools_on() {
                self.tool_round(reply).await?;
                continue;
            }
            let value = match self.json {
                None => None,
                Some(spec) => match request::check_json(spec, &reply.message.content) {
                    Ok(value) => Some(value),
                    Err(problems) if self.corrections < spec.retries => {
                        self.correction(reply, &problems);
                        continue;
                    }
                    Err(problems) => return Err(self.invalid(reply, &problems)),
                },
            };
            return Ok(self.answer(reply, value));
        }
    }

    fn tools_on(&self) -> bool {
        self.options.tools && !self.agent.tools().is_empty()
    }

    async fn send(&self, event: Event) -> Result<()> {
        // The consumer went away: the turn is cancelled.
        self.tx
            .send(Msg::Event(event))
            .await
            .map_err(|_| Error::Interrupted)
    }

    /// Forward the notices emitted since the last call (a lock wait, retries, a rejected
    /// attempt) into the stream, in order with the events around them.
    async fn flush_notices(&self) -> Result<()> {
        for notice in crate::notice::drain() {
            self.send(Event::Notice { notice }).await?;
        }
        Ok(())
    }

    /// One model request, streamed: text deltas are forwarded as they arrive.
    async fn ask(&mut self) -> Result<Reply> {
        self.steps += 1;
        self.flush_notices().await?;
        self.spending.check(self.agent, &self.request, self.steps)?;
        let opened = super::fallback::open(self.agent, &mut self.request, &mut self.link).await;
        self.flush_notices().await?;
        let (provider, asked, mut stream) = opened?;
        let start = self.text.len();
        let mut reasoning = String::new();
        let mut calls = Vec::new();
        let (mut finish_reason, mut model, mut usage) = (None, None, None);
        let mut kept = serde_json::Map::new();
        while let Some(event) = stream.next().await {
            let event = event?;
            self.count(&event)?;
            match &event {
                Event::TextDelta { text } => self.text.push_str(text),
                Event::ReasoningDelta { text } => reasoning.push_str(text),
                Event::ToolCall { call } => calls.push(call.clone()),
                Event::Usage { usage: u } => {
                    self.total.get_or_insert_with(Usage::default).add(u);
                    usage = Some(u.clone());
                }
                Event::Done {
                    finish_reason: f,
                    model: m,
                } => {
                    (finish_reason, model) = (f.clone(), m.clone());
                    continue; // one Done per turn, sent after the save
                }
                Event::ProviderData { key, value } => {
                    // Kept on the reply for the provider's next request, never shown.
                    kept.insert(key.clone(), value.clone());
                    continue;
                }
                Event::ToolResult { .. } | Event::Notice { .. } => {}
            }
            self.send(event).await?;
        }
        let mut message = Message::assistant(&self.text[start..]);
        message.provider = Some(provider.name().to_string());
        message.model = Some(model.unwrap_or_else(|| asked.clone()));
        if let (Some(u), Some(m)) = (&usage, &message.model) {
            let prices = self.agent.prices();
            self.spending
                .add(prices.cost(m, u).or_else(|| prices.cost(&asked, u)));
        }
        message.finish_reason = finish_reason;
        message.usage = usage;
        message.reasoning = (!reasoning.is_empty()).then_some(reasoning);
        message.extra.extend(kept);
        Ok(Reply { message, calls })
    }

    /// The model called tools: run them, and put the call and the results in the history.
    async fn tool_round(&mut self, reply: Reply) -> Result<()> {
        if self.steps >= self.options.max_steps {
            return Err(Error::TooManySteps { steps: self.steps });
        }
        let Reply { mut message, calls } = reply;
        message.tool_calls = calls.clone();
        self.price(&mut message);
        self.push(message);
        let outcomes = run_round(self.agent, self.agent.tools(), &calls, self.id).await;
        let called = self
            .agent
            .tools()
            .iter()
            .filter(|t| calls.iter().any(|c| c.name == t.name()));
        if let Some(fatal) = called.filter_map(Tool::fatal).next() {
            return Err(Error::Usage(fatal));
        }
        for (call, outcome) in calls.iter().zip(outcomes) {
            let (ok, content) = match outcome.output {
                Ok(text) => (true, text),
                Err(text) => (false, text),
            };
            self.send(Event::ToolResult {
                id: call.id.clone(),
                name: call.name.clone(),
                ok,
                content: content.clone(),
                duration_ms: outcome.elapsed.as_millis() as u64,
            })
            .await?;
            let mut result = Message::tool_result(call, content);
            result.is_error = !ok;
            self.push(result);
        }
        Ok(())
    }

    /// A structured reply did not validate: the reply and the problems go to the model only,
    /// never into the history.
    fn correction(&mut self, reply: Reply, problems: &[String]) {
        self.corrections += 1;
        self.agent.notify(&crate::Notice::Rejected {
            attempt: self.corrections,
            errors: problems.to_vec(),
            retries: self.json.map_or(0, |s| s.retries),
        });
        if let Some(u) = &reply.message.usage {
            self.attempts.add(u);
        }
        self.request.messages.push(reply.message);
        self.request
            .messages
            .push(Message::user(request::correction_prompt(problems)));
    }

    /// The structured reply still did not validate after every correction.
    fn invalid(&self, reply: Reply, problems: &[String]) -> Error {
        let shown: Vec<&str> = problems.iter().take(3).map(String::as_str).collect();
        Error::Validation {
            message: format!(
                "the reply did not match the schema after {} attempt(s): {}",
                self.corrections + 1,
                shown.join("; ")
            ),
            raw: reply.message.content,
        }
    }

    /// The final answer: priced, added, and summed up with every request of the turn.
    fn answer(&mut self, reply: Reply, json: Option<Value>) -> Response {
        let mut message = reply.message;
        if self.corrections > 0 {
            if let Some(u) = &message.usage {
                // The stored answer carries what every attempt cost.
                self.attempts.add(u);
                message.usage = Some(self.attempts.clone());
            }
        }
        self.price(&mut message);
        let finish_reason = message.finish_reason.clone();
        let model = message.model.clone();
        self.added.push(message);
        let priced = || {
            self.added
                .iter()
                .filter(|m| m.role == Role::Assistant && m.usage.is_some())
        };
        let shown: Vec<&str> = self
            .added
            .iter()
            .filter_map(|m| m.reasoning.as_deref())
            .collect();
        let reasoning = (!shown.is_empty()).then(|| shown.join("\n"));
        let cost_usd = priced()
            .map(|m| m.cost_usd)
            .sum::<Option<f64>>()
            .filter(|_| priced().next().is_some())
            .map(crate::pricing::round_usd);
        Response {
            session_id: self.id.to_string(),
            // Filled in by the turn once this exchange's text is freed, so a long reply is
            // held twice at most.
            text: String::new(),
            reasoning,
            usage: self.total.take(),
            cost_usd,
            model,
            finish_reason,
            json,
            attempts: self.corrections + 1,
        }
    }

    /// Bound the reply: an endless or huge stream fails the turn instead of filling memory (and
    /// then a failure record nothing could read back).
    fn count(&mut self, event: &Event) -> Result<()> {
        self.received += match event {
            Event::TextDelta { text } | Event::ReasoningDelta { text } => text.len(),
            Event::ToolCall { call } => call.name.len() + call.arguments.to_string().len(),
            _ => 0,
        };
        let limit = self.options.max_reply_bytes;
        if self.received > limit {
            return Err(Error::TooLarge {
                what: Oversized::Reply,
                size: self.received as u64,
                limit: limit as u64,
            });
        }
        Ok(())
    }

    fn push(&mut self, message: Message) {
        self.added.push(message.clone());
        self.request.messages.push(message);
    }

    /// Put a price on a reply's usage when its model's price is known.
    fn price(&self, message: &mut Message) {
        if let (Some(usage), Some(model)) = (&message.usage, &message.model) {
            message.cost_usd = self.agent.prices().cost(model, usage);
        }
    }
}
