//! `agent generate completions|man`: shell completions and man pages from the clap definitions,
//! at run time (never in build.rs), committed in `completions/` and `man/`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::choices::Shell;
use crate::cli::Cli;
use crate::completion::registration;
use crate::output::write_out;

/// The file name each shell looks for (bash-completion, zsh `fpath`, fish `complete/`).
pub(crate) fn completion_file(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "agent.bash",
        Shell::Zsh => "_agent",
        Shell::Fish => "agent.fish",
        Shell::Elvish => "agent.elv",
        Shell::Powershell => "_agent.ps1",
    }
}

/// `generate completions SHELL [--dir DIR]`
pub(crate) fn completions(shell: Shell, dir: Option<&Path>) -> Result<()> {
    let script = registration(shell);
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let path = dir.join(completion_file(shell));
            std::fs::write(&path, script)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => write_out(script.as_bytes())?,
    }
    Ok(())
}

/// `generate man --dir DIR`: `agent.1` and `agent-<sub>[-<sub>].1` for every visible subcommand.
pub(crate) fn man(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    write_pages(&cmd, dir)
}

fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let (file_name, page) = super::manual::page(cmd)?;
    let path = dir.join(file_name);
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(&page)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
