//! One function per verb. Commands take resolved settings, never clap types beyond their args.

mod chat;
mod copy;
mod drive;
mod dry_run;
mod generate;
mod history;
mod json;
mod ls;
mod manage;
mod models;
mod run;
mod try_tool;

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result};

use crate::cli::{Cli, Command, GenerateCommand, SessionCommand, StoreCommand, ToolCommand};
use crate::output::Output;
use crate::settings::Settings;
use agent::Error;

pub(crate) async fn dispatch(cli: Cli) -> Result<()> {
    // Generating needs no settings: a broken config must not stop `generate man`.
    if let Command::Generate(cmd) = cli.command {
        return match cmd {
            GenerateCommand::Completions(args) => generate::completions(args),
            GenerateCommand::Man(args) => generate::man(args),
        };
    }
    let settings = Settings::load(&cli.global)?;
    let out = Output::new(cli.global.quiet).with_color(cli.global.color);
    match cli.command {
        Command::Run(args) => run::run(&settings, &out, args).await,
        Command::Json(args) => json::json(&settings, &out, args).await,
        Command::Chat(args) => chat::new_chat(&settings, &out, args).await,
        Command::Generate(_) => unreachable!("handled above"),
        Command::Models(args) => models::list(&settings, args).await,
        Command::Tool(ToolCommand::Test(args)) => try_tool::test(&settings, &out, args).await,
        Command::Session(cmd) => match cmd {
            SessionCommand::New(args) => manage::new(&settings, args),
            SessionCommand::Run(args) => run::session_run(&settings, &out, args).await,
            SessionCommand::Retry(args) => run::retry(&settings, &out, args).await,
            SessionCommand::Fork(args) => manage::fork(&settings, args),
            SessionCommand::Show(args) => manage::show(&settings, &out, args),
            SessionCommand::Ls(args) => manage::ls(&settings, &out, args),
            SessionCommand::Rm(args) => manage::rm(&settings, args),
            SessionCommand::Clear(args) => manage::clear(&settings, &args.id),
            SessionCommand::Add(args) => manage::add(&settings, args),
            SessionCommand::Export(args) => manage::export(&settings, &args.id),
            SessionCommand::Import(args) => manage::import(&settings, args),
            SessionCommand::Json(args) => json::session_json(&settings, &out, args).await,
            SessionCommand::Chat(args) => chat::session_chat(&settings, &out, args).await,
            SessionCommand::Rename(args) => manage::rename(&settings, &args.id, &args.title),
            SessionCommand::Stats(args) => history::stats(&settings, args),
            SessionCommand::Compact(args) => history::compact(&settings, args).await,
            SessionCommand::Undo(args) => history::undo(&settings, args),
        },
        Command::Store(cmd) => match cmd {
            StoreCommand::Copy(args) => copy::copy(&settings, args),
            StoreCommand::Check(args) => copy::check(&settings, args),
        },
    }
}

/// The prompt: stdin's text when stdin is not a terminal, a blank line, then the arguments
/// joined by spaces (`git diff | agent session run review "review this"`).
pub(crate) fn read_prompt(args: &[String]) -> Result<String> {
    let joined = args.join(" ");
    let stdin = if std::io::stdin().is_terminal() {
        String::new()
    } else {
        read_stdin()?
    };
    let stdin = stdin.trim_end_matches(['\n', '\r']);
    let prompt = match (stdin.trim().is_empty(), joined.trim().is_empty()) {
        (true, true) => {
            return Err(
                Error::Usage("no prompt: pass it as arguments or on stdin".to_string()).into(),
            )
        }
        (true, false) => joined,
        (false, true) => stdin.to_string(),
        (false, false) => format!("{stdin}\n\n{joined}"),
    };
    Ok(prompt)
}

pub(crate) fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    String::from_utf8(bytes).map_err(|_| Error::Usage("stdin is not UTF-8 text".into()).into())
}

/// Read a file argument, or stdin for `-`.
pub(crate) fn read_input(path: &std::path::Path) -> Result<String> {
    if path.as_os_str() == "-" {
        return read_stdin();
    }
    std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())).into())
}
