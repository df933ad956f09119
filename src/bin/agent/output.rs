//! The stdout sink (flushed per delta), stderr notes, and the spinner; tty facts read once.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub(crate) struct Output {
    pub(crate) stdout_tty: bool,
    stderr_tty: bool,
    quiet: bool,
    /// Colour what stdout shows people (see [`Output::with_color`]).
    pub(crate) color: bool,
}

impl Output {
    pub(crate) fn new(quiet: bool) -> Self {
        // AGENT_TEST_TTY=1 lets tests see terminal behaviour without a terminal.
        let forced = std::env::var_os("AGENT_TEST_TTY").is_some_and(|v| v == "1");
        Output {
            stdout_tty: forced || std::io::stdout().is_terminal(),
            stderr_tty: forced || std::io::stderr().is_terminal(),
            quiet,
            color: false,
        }
    }

    /// `--color`: `always` wins over NO_COLOR (a flag is more specific than the environment);
    /// `auto` colours a terminal unless NO_COLOR is set and not empty.
    pub(crate) fn with_color(mut self, choice: crate::cli::ColorChoice) -> Self {
        use crate::cli::ColorChoice;
        self.color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                self.stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        self
    }

    /// `-q`: no progress or notes on stderr.
    pub(crate) fn quiet(&self) -> bool {
        self.quiet
    }

    /// A spinner on stderr while waiting for the first token: only on a terminal, not with -q.
    pub(crate) fn spinner(&self) -> Option<ProgressBar> {
        if self.quiet || !self.stderr_tty {
            return None;
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        pb.set_message("waiting for the model");
        pb.enable_steady_tick(Duration::from_millis(80));
        Some(pb)
    }
}

/// Write and flush, so `agent ... | tee log` streams.
pub(crate) fn write_out(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// A JSON value on one line.
pub(crate) fn write_json_line(value: &serde_json::Value) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).expect("JSON values serialize");
    line.push(b'\n');
    write_out(&line)
}
