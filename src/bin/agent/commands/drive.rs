//! Driving one turn from the terminal: stream events to stdout in the chosen format, a spinner
//! until the first token, and Ctrl-C or SIGTERM stopping the turn, which records itself for
//! `retry` before this returns.

use std::time::Instant;

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{json, Value};

use agent::{Error, Event, Response, RunOptions, Session, Usage};

use super::Ctx;
use crate::calls::ToolLog;
use crate::choices::Format;
use crate::output::{write_json_line, write_out};

/// How long without a reply before a log without a terminal says it still waits.
const SLOW_FIRST_TOKEN: std::time::Duration = std::time::Duration::from_secs(5);

/// What one turn should do and print.
pub(crate) struct Plan {
    pub(crate) prompt: String,
    pub(crate) options: RunOptions,
    /// Structured output: the schema and how many correction turns to allow.
    pub(crate) json: Option<(Value, u32)>,
    pub(crate) format: Format,
    /// The session is stored: a closed stdout still lets the turn finish and be saved.
    pub(crate) persist: bool,
    /// `-u`: a usage line on stderr after the turn.
    pub(crate) usage: bool,
}

/// Run the turn and print what streams. Text deltas go to stdout only for plain text turns;
/// the caller prints the final result of JSON turns.
pub(crate) async fn drive(ctx: &Ctx, session: &mut Session, plan: Plan) -> Result<Response> {
    let out = &ctx.out;
    let mut interrupts = ctx.interrupts.clone();
    let _held = interrupts.hold();
    let waiting = format!(
        "waiting for {} ({})",
        session.agent().provider().name(),
        plan.options
            .model
            .as_deref()
            .unwrap_or(session.agent().model())
    );
    let mut spinner = out.spinner(&waiting);
    let session_id = session.session_id().to_string();
    *ctx.turn_session.lock().unwrap_or_else(|p| p.into_inner()) = Some(session_id.clone());
    // Without a terminal (a CI log) a slow first token is one line; a terminal's spinner
    // counts the seconds instead.
    let slow = tokio::time::sleep(SLOW_FIRST_TOKEN);
    tokio::pin!(slow);
    let mut slow_told = out.stderr_tty;
    // Structured output: which attempt the events belong to (a rejected one is followed by a
    // `rejected` notice, then the next attempt's events).
    let mut attempt = 1u32;
    // The fallback model that answered, for `-u`.
    let mut fell_back = None;
    let start = Instant::now();
    let mut first_token = None;
    let echo_text = plan.format == Format::Text && plan.json.is_none();
    let mut turn = match &plan.json {
        Some((schema, retries)) => {
            session.stream_json(plan.prompt, schema, plan.options, *retries)?
        }
        None => session.stream_with(plan.prompt, plan.options),
    };
    let mut stdout_open = true;
    let mut text_ends_line = true;
    let mut printed = false;
    let mut tool_log = ToolLog::new(out.stdout_tty);
    loop {
        let next = if interrupts.pending() {
            Some(Err(Error::Interrupted))
        } else {
            tokio::select! {
                ev = turn.next() => ev,
                _ = interrupts.wait() => Some(Err(Error::Interrupted)),
                _ = &mut slow, if !slow_told => {
                    // A wait that said why is not a slow model: a lock wait has its line; after
                    // a retry's delay, the model gets its time again.
                    match out.last_wait().filter(|(at, _)| *at >= start) {
                        Some((_, None)) => {
                            slow_told = true;
                            continue;
                        }
                        Some((at, Some(delay))) if (at + delay).elapsed() < SLOW_FIRST_TOKEN => {
                            slow.as_mut().reset((at + delay + SLOW_FIRST_TOKEN).into());
                            continue;
                        }
                        _ => {}
                    }
                    slow_told = true;
                    out.note(format!(
                        "still {waiting} after {} s, no reply yet",
                        start.elapsed().as_secs()
                    ));
                    continue;
                }
            }
        };
        let event = match next {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                spinner.stop();
                if printed && !text_ends_line && out.stdout_tty {
                    out.break_line(); // keep the error off the partial reply's line
                }
                if matches!(e, Error::Interrupted) {
                    // The turn records itself; a second Ctrl-C meanwhile quits at once.
                    turn.cancel().await?;
                }
                return Err(e.into());
            }
        };
        match &event {
            // Printed on stderr when it happened, by the notice callback.
            Event::Notice { .. } => {}
            // Tools run once the reply is complete; then the model is asked again.
            Event::ToolCall { call } => {
                spinner.stop();
                spinner = out.spinner(&format!("running tool {}", call.name));
            }
            Event::ToolResult { .. } => {
                spinner.stop();
                spinner = out.spinner(&waiting);
            }
            _ => spinner.stop(),
        }
        if let Some(line) = tool_log.line(&event) {
            out.plain(line);
        }
        if first_token.is_none() && matches!(event, Event::TextDelta { .. }) {
            first_token = Some(start.elapsed());
        }
        if !matches!(event, Event::Notice { .. } | Event::Usage { .. }) {
            slow_told = true;
        }
        let rejected = matches!(
            event,
            Event::Notice {
                notice: agent::Notice::Rejected { .. }
            }
        );
        if let Event::Notice {
            notice:
                agent::Notice::FallingBack {
                    to_provider,
                    to_model,
                    ..
                },
        } = &event
        {
            fell_back = Some(format!("{to_provider} ({to_model})"));
        }
        if !stdout_open {
            continue;
        }
        let written = match (&event, plan.format) {
            (Event::TextDelta { text }, Format::Text) if echo_text => {
                printed = true;
                text_ends_line = text.ends_with('\n');
                write_out(text.as_bytes())
            }
            (_, Format::Jsonl) => {
                let mut line = event_json(&event, &session_id, turn.response());
                if plan.json.is_some() && !matches!(event, Event::Done { .. }) {
                    line["attempt"] = json!(attempt);
                }
                write_json_line(&line)
            }
            _ => Ok(()),
        };
        if rejected {
            attempt += 1;
        }
        if let Err(e) = written {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(e.into());
            }
            stdout_open = false;
            if !plan.persist {
                return Err(e.into());
            }
        }
    }
    let response = turn.into_response().ok_or(Error::Interrupted)?;
    if plan.usage {
        let mut line = usage_line(
            response.usage.as_ref(),
            response.cost_usd,
            first_token,
            start.elapsed(),
        );
        if let Some(by) = fell_back {
            line.push_str(&format!(" · answered by the fallback {by}"));
        }
        out.report(line);
    }
    if !stdout_open {
        return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
    }
    match plan.format {
        Format::Text if echo_text && printed && !text_ends_line => write_out(b"\n")?,
        Format::Json if plan.json.is_none() => write_json_line(&json!({
            "session_id": response.session_id,
            "text": response.text,
            "model": response.model,
            "usage": response.usage,
            "cost_usd": response.cost_usd,
            "finish_reason": response.finish_reason,
        }))?,
        _ => {}
    }
    Ok(response)
}

/// `-u`: `tokens 120 in, 45 out (cached 100) · first token 0.31s · total 1.20s`.
pub(crate) fn usage_line(
    usage: Option<&Usage>,
    cost: Option<f64>,
    ttft: Option<std::time::Duration>,
    total: std::time::Duration,
) -> String {
    let mut line = match usage {
        Some(u) => {
            let mut s = format!("tokens {} in, {} out", u.input_tokens, u.output_tokens);
            let mut extra = Vec::new();
            if let Some(c) = u.cached_tokens {
                extra.push(format!("cached {c}"));
            }
            if let Some(r) = u.reasoning_tokens {
                extra.push(format!("reasoning {r}"));
            }
            if !extra.is_empty() {
                s.push_str(&format!(" ({})", extra.join(", ")));
            }
            s
        }
        None => "tokens not reported".to_string(),
    };
    if let Some(c) = cost {
        line.push_str(&format!(" · {}", dollars(c)));
    }
    if let Some(t) = ttft {
        line.push_str(&format!(" · first token {:.2}s", t.as_secs_f64()));
    }
    line.push_str(&format!(" · total {:.2}s", total.as_secs_f64()));
    line
}

/// `$0.0123`, or more decimals for tiny amounts so they do not print as zero.
pub(crate) fn dollars(c: f64) -> String {
    if c == 0.0 || c >= 0.01 {
        format!("${c:.4}")
    } else {
        format!("${c:.6}")
    }
}

/// An event as one `--format jsonl` line; `done` names the session (and, for JSON turns,
/// carries the validated value).
fn event_json(event: &Event, session_id: &str, response: Option<&Response>) -> Value {
    let mut v = serde_json::to_value(event).expect("events serialize");
    if let Event::Notice { notice } = event {
        if let Some(line) = crate::notices::line(notice) {
            v["message"] = json!(line);
        }
    }
    if let (Event::Done { .. }, Some(obj)) = (event, v.as_object_mut()) {
        obj.insert("session_id".into(), json!(session_id));
        if let Some(value) = response.and_then(|r| r.json.clone()) {
            obj.insert("json".into(), value);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn usage_line_format() {
        let u = Usage {
            input_tokens: 120,
            output_tokens: 45,
            cached_tokens: Some(100),
            reasoning_tokens: None,
        };
        assert_eq!(
            usage_line(
                Some(&u),
                Some(0.000_123),
                Some(Duration::from_millis(310)),
                Duration::from_millis(1200)
            ),
            "tokens 120 in, 45 out (cached 100) · $0.000123 · first token 0.31s · total 1.20s"
        );
        assert_eq!(dollars(1.5), "$1.5000");
        assert_eq!(
            usage_line(None, None, None, Duration::from_secs(2)),
            "tokens not reported · total 2.00s"
        );
    }
}
