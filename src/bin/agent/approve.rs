//! Asking a person before a tool call that needs confirmation: on the terminal (`y`/`n`/`a` for
//! all), never on stdin; `--yes` approves everything without asking.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;

use agent::ToolApproval;

use crate::calls::shown;
use crate::output::Output;

type Approval = BoxFuture<'static, std::result::Result<(), String>>;

/// The approval callback of a turn's agent.
pub(crate) fn approver(
    yes: bool,
    out: &Output,
) -> impl Fn(ToolApproval) -> Approval + Send + Sync + 'static {
    let all = Arc::new(AtomicBool::new(yes));
    let out = out.clone();
    move |request| {
        let all = all.clone();
        let out = out.clone();
        Box::pin(async move {
            if all.load(Ordering::Relaxed) {
                return Ok(());
            }
            // The terminal read blocks; keep it off the runtime so Ctrl-C still cancels.
            let answer = tokio::task::spawn_blocking(move || ask(&request, &out))
                .await
                .map_err(|e| format!("asking for confirmation failed: {e}"))??;
            match answer {
                'y' => Ok(()),
                'a' => {
                    all.store(true, Ordering::Relaxed);
                    Ok(())
                }
                _ => Err("the user declined to run this tool call".to_string()),
            }
        })
    }
}

fn ask(request: &ToolApproval, out: &Output) -> std::result::Result<char, String> {
    let call = &request.call;
    let refused = || {
        format!(
            "not run: tool '{}' needs confirmation and there is no terminal to ask on (the user can pass --yes to allow it)",
            call.name
        )
    };
    let prompt = format!(
        "agent: run tool {} {}? [y]es / [n]o / [a]ll: ",
        call.name,
        shown(&call.arguments)
    );
    // Tests answer through a file; the prompt then goes to stderr.
    let line = if let Some(path) = std::env::var_os("AGENT_TEST_CONFIRM_TTY") {
        let file = std::fs::File::open(path).map_err(|_| refused())?;
        out.ask(&prompt);
        first_line(file)
    } else {
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|_| refused())?;
        tty.write_all(prompt.as_bytes()).map_err(|_| refused())?;
        first_line(tty)
    };
    let answer = line.trim().to_ascii_lowercase();
    Ok(match answer.as_str() {
        "y" | "yes" => 'y',
        "a" | "all" => 'a',
        _ => 'n',
    })
}

fn first_line(source: impl std::io::Read) -> String {
    let mut line = String::new();
    let _ = std::io::BufReader::new(source).read_line(&mut line);
    line
}
