//! Driving one turn from the terminal: stream events to stdout in the chosen format, spinner
//! until the first token, Ctrl-C and SIGTERM cancel the turn and record it for `retry`.

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};

use agent::{Error, Event, RunOptions, Session};

use crate::cli::{Format, TurnArgs};
use crate::output::{write_json_line, write_out, Output};

pub(crate) fn run_options(turn: &TurnArgs) -> RunOptions {
    RunOptions {
        temperature: turn.model.temperature,
        max_tokens: turn.model.max_tokens,
        model: None, // resolved into the agent
        stream: !turn.no_stream,
        ..RunOptions::default()
    }
}

/// Run `prompt` as a turn of `session` and print it. `persist` says whether the session is
/// stored: then a closed stdout still lets the turn finish and be saved.
pub(crate) async fn drive(
    session: &mut Session,
    prompt: String,
    options: RunOptions,
    format: Format,
    out: &Output,
    persist: bool,
) -> Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut spinner = out.spinner();
    let session_id = session.session_id().to_string();
    let mut turn = session.stream_with(prompt, options);
    let mut stdout_open = true;
    let mut text_ends_line = true;
    let mut printed = false;
    loop {
        let next = tokio::select! {
            ev = turn.next() => ev,
            _ = sigint.recv() => Some(Err(Error::Interrupted)),
            _ = sigterm.recv() => Some(Err(Error::Interrupted)),
        };
        let event = match next {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                if let Some(pb) = spinner.take() {
                    pb.finish_and_clear();
                }
                if printed && !text_ends_line && format == Format::Text {
                    eprintln!(); // keep the error off the partial reply's line
                }
                if matches!(e, Error::Interrupted) {
                    turn.cancel().await?;
                }
                return Err(e.into());
            }
        };
        if let Some(pb) = spinner.take() {
            pb.finish_and_clear();
        }
        if !stdout_open {
            continue;
        }
        let written = match (&event, format) {
            (Event::TextDelta { text }, Format::Text) => {
                printed = true;
                text_ends_line = text.ends_with('\n');
                write_out(text.as_bytes())
            }
            (_, Format::Jsonl) => write_json_line(&event_json(&event, &session_id)),
            _ => Ok(()),
        };
        if let Err(e) = written {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(e.into());
            }
            stdout_open = false;
            if !persist {
                return Ok(());
            }
        }
    }
    let response = turn.response().cloned().ok_or(Error::Interrupted)?;
    if !stdout_open {
        return Ok(());
    }
    let written = match format {
        Format::Text if printed && !text_ends_line => write_out(b"\n"),
        Format::Json => write_json_line(&json!({
            "session_id": response.session_id,
            "text": response.text,
            "model": response.model,
            "usage": response.usage,
            "finish_reason": response.finish_reason,
        })),
        _ => Ok(()),
    };
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// An event as one `--format jsonl` line.
fn event_json(event: &Event, session_id: &str) -> Value {
    let mut v = serde_json::to_value(event).expect("events serialize");
    if let (Event::Done { .. }, Some(obj)) = (event, v.as_object_mut()) {
        obj.insert("session_id".into(), json!(session_id));
    }
    v
}
