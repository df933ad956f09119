//! Everything the binary writes: the stdout sink (flushed per delta) and every stderr line
//! (notes, warnings, errors, `-v` detail, the spinner). Terminal facts are read once, and `-q`
//! is honoured here alone. This module is the only one allowed to print.
#![allow(clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::choices::ColorChoice;
use crate::locate::Env;

/// When a wait was announced, and how long it lasts (`None`: open-ended).
type Wait = (std::time::Instant, Option<Duration>);

/// Where the binary's words go. Cloning is cheap; clones share the spinner.
#[derive(Clone)]
pub(crate) struct Output {
    pub(crate) stdout_tty: bool,
    pub(crate) stderr_tty: bool,
    quiet: bool,
    verbose: bool,
    /// Colour what stdout shows people.
    pub(crate) color: bool,
    spinner: Arc<Mutex<Option<ProgressBar>>>,
    /// When a notice last announced a wait, and how long it lasts (`None`: until another turn
    /// lets go of a lock).
    last_wait: Arc<Mutex<Option<Wait>>>,
}

impl Output {
    /// `--color`: `always` wins over NO_COLOR (a flag is more specific than the environment);
    /// `auto` colours a terminal unless NO_COLOR is set and not empty. `AGENT_TEST_TTY=1` lets
    /// tests see terminal behaviour without a terminal.
    pub(crate) fn new(quiet: bool, verbose: bool, color: ColorChoice, env: &Env) -> Self {
        let forced = env.get("AGENT_TEST_TTY") == Some("1");
        let stdout_tty = forced || std::io::stdout().is_terminal();
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_tty && env.get("NO_COLOR").is_none(),
        };
        Output {
            stdout_tty,
            stderr_tty: forced || std::io::stderr().is_terminal(),
            quiet,
            verbose,
            color,
            spinner: Arc::default(),
            last_wait: Arc::default(),
        }
    }

    /// A line on stderr, clear of the spinner.
    fn line(&self, text: &str) {
        let spinner = self.spinner.lock().unwrap_or_else(|e| e.into_inner());
        match spinner.as_ref() {
            Some(pb) => pb.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    /// `agent: TEXT`, unless `-q`.
    pub(crate) fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            self.line(&format!("agent: {}", text.as_ref()));
        }
    }

    /// `agent: TEXT` that was asked for (`-u`), even with `-q`.
    pub(crate) fn report(&self, text: impl AsRef<str>) {
        self.line(&format!("agent: {}", text.as_ref()));
    }

    /// A line as it is (a tool call's summary, a chat's help), unless `-q`.
    pub(crate) fn plain(&self, text: impl AsRef<str>) {
        if !self.quiet {
            self.line(text.as_ref());
        }
    }

    /// What was resolved, with `-v` only.
    pub(crate) fn detail(&self, text: impl AsRef<str>) {
        if self.verbose {
            self.line(&format!("agent: {}", text.as_ref()));
        }
    }

    /// `agent: warning: TEXT`, even with `-q`.
    pub(crate) fn warn(&self, text: impl AsRef<str>) {
        self.line(&format!("agent: warning: {}", text.as_ref()));
    }

    /// `agent: error: TEXT`, even with `-q`.
    pub(crate) fn error(&self, text: impl AsRef<str>) {
        self.line(&format!("agent: error: {}", text.as_ref()));
    }

    /// An empty line, so stderr output starts on a fresh line after a partial reply.
    pub(crate) fn break_line(&self) {
        eprintln!();
    }

    /// A prompt on stderr without a newline (a confirmation question when there is no tty).
    pub(crate) fn ask(&self, text: &str) {
        eprint!("{text}");
    }

    /// A spinner on stderr while waiting: only on a terminal, not with -q. It stops when the
    /// returned guard drops (or [`Output::stop_spinner`] runs).
    pub(crate) fn spinner(&self, message: &str) -> Spinner {
        if self.quiet || !self.stderr_tty {
            return Spinner(None);
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
        );
        pb.set_message(message.to_string());
        pb.enable_steady_tick(Duration::from_millis(80));
        *self.spinner.lock().unwrap_or_else(|e| e.into_inner()) = Some(pb.clone());
        Spinner(Some((pb, self.spinner.clone())))
    }
}

impl Output {
    /// Change what the running spinner says it waits for (nothing when none runs).
    pub(crate) fn spinner_says(&self, message: &str) {
        let spinner = self.spinner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pb) = spinner.as_ref() {
            pb.set_message(message.to_string());
            pb.reset_elapsed();
        }
    }

    /// A library notice: its line on stderr (unless `-q`), and what the spinner waits for.
    pub(crate) fn notice(&self, notice: &agent::Notice) {
        if let Some(line) = crate::notices::line(notice) {
            self.note(line);
        }
        if let Some(waiting) = crate::notices::waiting(notice) {
            self.spinner_says(&waiting);
            *self.last_wait.lock().unwrap_or_else(|e| e.into_inner()) = Some((
                std::time::Instant::now(),
                crate::notices::wait_length(notice),
            ));
        }
    }

    /// When a notice last announced a wait, and how long it lasts, if one did.
    pub(crate) fn last_wait(&self) -> Option<Wait> {
        *self.last_wait.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running spinner; dropping it clears it from the terminal.
pub(crate) struct Spinner(Option<(ProgressBar, Arc<Mutex<Option<ProgressBar>>>)>);

impl Spinner {
    /// Clear the spinner now.
    pub(crate) fn stop(&mut self) {
        if let Some((pb, shared)) = self.0.take() {
            pb.finish_and_clear();
            *shared.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `agent: error: TEXT` before there is an [`Output`] (a bad flag, an unreadable config).
pub(crate) fn error_line(text: &str) {
    eprintln!("agent: error: {text}");
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
