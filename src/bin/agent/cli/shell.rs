//! The clap types of the shell-integration commands: `generate`, `chat`, `session chat`,
//! `session rename`, and the value enums of `--color`, `show --format` and `ls --sort`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use super::ExchangeArgs;
use crate::completion::session_ids;

#[derive(Debug, Subcommand)]
pub(crate) enum GenerateCommand {
    /// Print (or write into --dir) the completion script for SHELL
    Completions(CompletionsArgs),
    /// Write agent.1 and one page per subcommand into DIR
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: Shell,
    /// Write the script into DIR under its conventional name instead of printing it
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// System prompt of the new session
    #[arg(short, long)]
    pub(crate) system: Option<String>,
    /// Title for listings [default: the first prompt's first line]
    #[arg(long)]
    pub(crate) title: Option<String>,
    #[command(flatten)]
    pub(crate) chat: ExchangeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SessionChatArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) chat: ExchangeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RenameArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// The new title
    pub(crate) title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShowFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LsSort {
    Updated,
    Created,
    Id,
}
