//! The clap types of the shell-integration command `generate`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::choices::Shell;

#[derive(Debug, Subcommand)]
pub(crate) enum GenerateCommand {
    /// Print (or write into --dir) the completion script for SHELL
    Completions(CompletionsArgs),
    /// Write agent.1 and one page per subcommand into DIR
    Man(ManArgs),
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
