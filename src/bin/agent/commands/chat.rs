//! `agent chat` and `agent session chat ID`: a line-editing loop where each exchange is one
//! committed turn (the same `drive` as `session run`), or one turn per line of piped stdin.

use std::io::{BufRead, IsTerminal};

use anyhow::Result;
use rustyline::config::{Behavior, Config};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use agent::{Error, Session};

use super::drive::{drive, Plan};
use super::thoughts::Thoughts;
use super::{naming, open, Ctx};
use crate::choices::Format;
use crate::equip;
use crate::output::write_out;
use crate::settings::{Ask, Chat as ChatArgs, SessionChat};
use crate::transcript::{self, Look};

const HELP: &str = "\
Type a message and press Enter. End a line with \\ to continue it, or wrap several lines in \"\"\".
  !fork [NEW]  copy this conversation to a new session (id NEW or generated) and continue there
  !show        print the conversation so far
  !clear       drop the messages, keep the system prompt
  !model M     use model M for the next turns
  !attach PATH send a file (image, PDF, text) with the next message
  !help        this text
Ctrl-C stops a reply (it is kept for `agent session retry`); Ctrl-D leaves.";

/// `agent chat`: a new session, announced on stderr.
pub(crate) async fn new_chat(ctx: &Ctx, args: ChatArgs) -> Result<()> {
    let id = agent::time::new_session_id();
    // Tool files are read before the session exists: a bad one creates nothing.
    let tools = equip::resolve(&ctx.settings, &ctx.out, &args.ask.tools)?;
    let mut session = open::stored(ctx, &id, &args.ask, Some(args.system.clone())).await?;
    // Like `session run --create`, the new session remembers its --tool files.
    let title = args.title.clone();
    if title.is_some() || tools.to_remember() {
        let remember = tools.remember();
        session
            .edit(|d| {
                d.title = title;
                remember(d);
            })
            .await?;
    }
    ctx.out.report(format!("session {id}"));
    let session = equip::equip(&ctx.settings, &ctx.out, session, tools).await?;
    Chat::new(ctx, session, args.ask, args.lines).run().await
}

/// `agent session chat ID [--create]`
pub(crate) async fn session_chat(ctx: &Ctx, args: SessionChat) -> Result<()> {
    let session = match args.create {
        None => open::equipped(ctx, &args.id, &args.ask).await?,
        Some(system) => {
            naming::refuse_last(&args.id)?;
            let tools = equip::resolve(&ctx.settings, &ctx.out, &args.ask.tools)?;
            let session = open::stored(ctx, &args.id, &args.ask, Some(system)).await?;
            equip::equip(&ctx.settings, &ctx.out, session, tools).await?
        }
    };
    Chat::new(ctx, session, args.ask, args.lines).run().await
}

/// Joins input lines into prompts: a trailing `\` continues a line; `"""` opens and closes a
/// block whose lines are kept as typed.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    lines: Vec<String>,
    in_block: bool,
}

const FENCE: &str = "\"\"\"";

impl Assembler {
    /// Feed one line (without its newline); a complete prompt comes back when there is one.
    pub(crate) fn push(&mut self, line: &str) -> Option<String> {
        if self.in_block {
            if let Some(before) = line.trim_end().strip_suffix(FENCE) {
                if !before.trim().is_empty() {
                    self.lines.push(before.to_string());
                }
                self.in_block = false;
                return Some(self.take());
            }
            self.lines.push(line.to_string());
            return None;
        }
        let trimmed = line.trim_end();
        if let Some(rest) = trimmed.trim_start().strip_prefix(FENCE) {
            if let Some(inner) = rest.strip_suffix(FENCE) {
                self.lines.push(inner.to_string()); // """one line"""
                return Some(self.take());
            }
            self.in_block = true;
            if !rest.trim().is_empty() {
                self.lines.push(rest.to_string());
            }
            return None;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            self.lines.push(body.to_string());
            return None;
        }
        self.lines.push(line.to_string());
        Some(self.take())
    }

    /// Whatever is still open at the end of the input.
    pub(crate) fn finish(&mut self) -> Option<String> {
        self.in_block = false;
        (!self.lines.is_empty()).then(|| self.take())
    }

    /// A continuation line is expected.
    fn pending(&self) -> bool {
        self.in_block || !self.lines.is_empty()
    }

    fn take(&mut self) -> String {
        std::mem::take(&mut self.lines).join("\n")
    }
}

struct Chat<'a> {
    ctx: &'a Ctx,
    session: Session,
    ask: Ask,
    /// Piped stdin: a turn per line (`--lines`) rather than one message.
    lines: bool,
}

/// What the loop does after one prompt.
enum Next {
    Continue,
    Quit,
}

impl<'a> Chat<'a> {
    fn new(ctx: &'a Ctx, session: Session, ask: Ask, lines: bool) -> Self {
        Chat {
            ctx,
            session,
            ask,
            lines,
        }
    }

    async fn run(mut self) -> Result<()> {
        if !std::io::stdin().is_terminal() {
            if let Next::Quit = self.piped().await? {
                return Ok(());
            }
            // `cat notes | agent chat` at a terminal: keep talking there. A script (stdout not
            // a terminal) ends with its input instead of waiting on a terminal it may not own.
            if !(std::io::stdout().is_terminal() && tty_available()) {
                return Ok(());
            }
        }
        self.interactive().await
    }

    /// Piped stdin: all of it as one message, or with `--lines` one turn per prompt (replies
    /// separated by an empty line); the first failure ends the chat with its exit code.
    async fn piped(&mut self) -> Result<Next> {
        if !self.lines {
            let text = crate::input::stdin().await?;
            return self.handle(&text, false).await;
        }
        let mut first = true;
        let mut assembler = Assembler::default();
        let mut lines = Lines::stdin();
        loop {
            let line = lines.next().await?;
            let prompt = match &line {
                None => match assembler.finish() {
                    Some(p) => p,
                    None => return Ok(Next::Continue),
                },
                Some(line) => match assembler.push(line.trim_end_matches(['\n', '\r'])) {
                    Some(p) => p,
                    None => continue,
                },
            };
            if prompt.trim().is_empty() {
                continue;
            }
            if !std::mem::take(&mut first) {
                // Multi-line replies stay told apart.
                write_out(b"\n")?;
            }
            if let Next::Quit = self.handle(&prompt, false).await? {
                return Ok(Next::Quit);
            }
            if line.is_none() {
                return Ok(Next::Continue);
            }
        }
    }

    async fn interactive(&mut self) -> Result<()> {
        // PreferTerm: edit on the terminal even when stdin was a pipe we already read.
        let config = Config::builder()
            .behavior(Behavior::PreferTerm)
            .auto_add_history(true)
            .max_history_size(1000)?
            .build();
        let mut editor = DefaultEditor::with_config(config)?;
        let history = self.ctx.settings.data_dir.join("chat_history");
        let _ = editor.load_history(&history);
        self.ctx.out.note(format!(
            "chatting in session {} (!help for commands, Ctrl-D to leave)",
            self.session.session_id()
        ));
        let mut assembler = Assembler::default();
        loop {
            let prompt = if assembler.pending() { "... " } else { "> " };
            // The editor blocks on the terminal: off the runtime, so a SIGTERM is still heard.
            let (back, line) = tokio::task::spawn_blocking(move || {
                let line = editor.readline(prompt);
                (editor, line)
            })
            .await?;
            editor = back;
            let line = match line {
                Ok(line) => line,
                // Ctrl-C at the prompt drops what was typed, as in a shell.
                Err(ReadlineError::Interrupted) => {
                    assembler = Assembler::default();
                    continue;
                }
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e.into()),
            };
            let Some(text) = assembler.push(&line) else {
                continue;
            };
            // The history file holds prompts: private like the sessions (rustyline writes 0600).
            let _ = editor.save_history(&history);
            match self.handle(&text, true).await {
                Ok(Next::Continue) => {}
                Ok(Next::Quit) => break,
                Err(e) => self.ctx.out.error(crate::exit::message(&e)),
            }
        }
        let _ = editor.save_history(&history);
        Ok(())
    }

    /// A `!command` or a turn. Interactively, a cancelled or failed turn leaves the loop running.
    async fn handle(&mut self, text: &str, interactive: bool) -> Result<Next> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Next::Continue);
        }
        if let Some(command) = text.strip_prefix('!') {
            return self.command(command).await;
        }
        if crate::mcp_pool::changed() {
            // An MCP server's tools changed (notifications/tools/list_changed): list them again.
            let id = self.session.session_id().to_string();
            self.reopen(&id).await?;
        }
        // -a and -f files, and those of !attach, go with this message only.
        let prompt = crate::attach::chat_prompt(text, &mut self.ask.attach).await?;
        let options = self.ask.run_options();
        self.ask.attach.loaded.clear();
        let plan = Plan {
            prompt,
            options,
            json: None,
            format: Format::Text,
            persist: true,
            usage: self.ask.usage,
            thoughts: Thoughts::of(&self.ask),
        };
        match drive(self.ctx, &mut self.session, plan).await {
            Ok(_) => Ok(Next::Continue),
            Err(e) if interactive && is_interrupted(&e) => {
                self.ctx
                    .out
                    .note("reply stopped (`agent session retry` sends it again)");
                Ok(Next::Continue)
            }
            Err(e) => Err(e),
        }
    }

    async fn command(&mut self, command: &str) -> Result<Next> {
        let (name, arg) = match command.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (command, ""),
        };
        let out = &self.ctx.out;
        match name {
            "help" => out.plain(HELP),
            "quit" | "exit" => return Ok(Next::Quit),
            "show" => {
                self.session.refresh().await?;
                let look = Look {
                    color: out.color,
                    fold: true,
                };
                let text = transcript::text(self.session.data(), None, look);
                write_out(text.as_bytes())?;
            }
            "clear" => {
                self.session.clear().await?;
                out.note(format!("cleared session {}", self.session.session_id()));
            }
            "fork" => {
                let new_id = (!arg.is_empty()).then_some(arg);
                let fork = self.session.fork(new_id).await?;
                let id = fork.session_id().to_string();
                self.reopen(&id).await?;
                out.note(format!("forked to session {id}; continuing there"));
            }
            "attach" if !arg.is_empty() => {
                let a = crate::attach::attachment(std::path::Path::new(arg), None).await?;
                out.note(format!("{}: sent with your next message", a.label()));
                self.ask.attach.loaded.push(a);
            }
            "model" if !arg.is_empty() => {
                self.ask.call.route.model = Some(arg.to_string());
                let id = self.session.session_id().to_string();
                self.reopen(&id).await?;
                out.note(format!("model {arg} from now on"));
            }
            _ => {
                return Err(Error::Usage(format!(
                    "unknown command '!{command}' (!help lists them)"
                ))
                .into())
            }
        }
        Ok(Next::Continue)
    }

    /// Point the loop at session `id`, resolving provider and model again (`!fork`, `!model`).
    async fn reopen(&mut self, id: &str) -> Result<()> {
        self.session = open::equipped(self.ctx, id, &self.ask).await?;
        Ok(())
    }
}

/// Lines of stdin, read off the runtime thread.
struct Lines {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<String>>,
}

impl Lines {
    fn stdin() -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let limit = agent::limits::MAX_PROMPT_BYTES as u64;
            loop {
                let mut line = String::new();
                // A line longer than any prompt may be is cut there, not read into memory whole.
                let read = std::io::Read::take(stdin.lock(), limit).read_line(&mut line);
                let end = matches!(read, Ok(0) | Err(_));
                let sent = match read {
                    Ok(0) => break,
                    Ok(_) => tx.blocking_send(Ok(line)),
                    Err(e) => tx.blocking_send(Err(e)),
                };
                if sent.is_err() || end {
                    break;
                }
            }
        });
        Lines { rx }
    }

    /// The next line with its newline, or `None` at the end of stdin.
    async fn next(&mut self) -> Result<Option<String>> {
        match self.rx.recv().await {
            Some(Ok(line)) => Ok(Some(line)),
            Some(Err(e)) => Err(anyhow::anyhow!("cannot read stdin: {e}")),
            None => Ok(None),
        }
    }
}

fn is_interrupted(err: &anyhow::Error) -> bool {
    matches!(err.downcast_ref::<Error>(), Some(Error::Interrupted))
}

fn tty_available() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::Assembler;

    fn feed(lines: &[&str]) -> Vec<String> {
        let mut a = Assembler::default();
        let mut out: Vec<String> = lines.iter().filter_map(|l| a.push(l)).collect();
        out.extend(a.finish());
        out
    }

    #[test]
    fn backslash_continues_and_fences_keep_lines() {
        assert_eq!(feed(&["hi", "there"]), ["hi", "there"]);
        assert_eq!(feed(&["one \\", "two"]), ["one \ntwo"]);
        assert_eq!(
            feed(&["\"\"\"", "a \\", "", "b", "\"\"\"", "next"]),
            ["a \\\n\nb", "next"]
        );
        assert_eq!(feed(&["\"\"\"inline\"\"\""]), ["inline"]);
        assert_eq!(feed(&["\"\"\"start", "end\"\"\""]), ["start\nend"]);
        assert_eq!(feed(&["open \\"]), ["open "]);
    }
}
