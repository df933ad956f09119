//! Dynamic shell completion: answering a TAB (the values come from [`crate::candidates`]) and the
//! registration scripts `agent generate completions` prints.
//!
//! The scripts in `completions/` are clap_complete's small registration stubs: on TAB the shell
//! runs `AGENT_COMPLETE=<shell> agent -- <words>`, and the completion comes from the same clap
//! definitions that parse the command line, so flags and values never drift from the binary.
//! Each completer must stay cheap: it runs on every TAB.

use clap::CommandFactory;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::CompleteEnv;

use crate::choices::Shell;
use crate::cli::Cli;

/// The variable that turns a run of `agent` into a completion request.
pub(crate) const VAR: &str = "AGENT_COMPLETE";

/// Answer a completion request and exit, when the shell made one; otherwise return at once.
pub(crate) fn handle_env() {
    CompleteEnv::with_factory(Cli::command).var(VAR).complete();
}

/// The registration script for `shell`. It calls `agent` through `PATH` (not this binary's
/// path), so the committed scripts are the same on every machine.
pub(crate) fn registration(shell: Shell) -> String {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::Powershell => &Powershell,
    };
    let mut buf = Vec::new();
    completer
        .write_registration(VAR, "agent", "agent", "agent", &mut buf)
        .expect("writing to a Vec cannot fail");
    let script = String::from_utf8(buf).expect("the scripts are UTF-8");
    match shell {
        Shell::Zsh => zsh_autoloadable(&script),
        _ => script,
    }
}

/// clap_complete's zsh script only registers itself (`compdef`), which suits `source`. Installed
/// as `_agent` on `$fpath`, zsh autoloads the file as the completion function on the first TAB,
/// so it must also complete then; this is the usual `funcstack` idiom of zsh completion files.
fn zsh_autoloadable(script: &str) -> String {
    let register = "compdef _clap_dynamic_completer_agent agent\n";
    debug_assert!(
        script.contains(register),
        "clap_complete changed its zsh script"
    );
    script.replace(
        register,
        "if [[ \"${funcstack[1]}\" == \"_agent\" ]]; then\n    \
         _clap_dynamic_completer_agent \"$@\"\nelse\n    \
         compdef _clap_dynamic_completer_agent agent\nfi\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_has_a_registration_that_calls_agent() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::Powershell,
        ] {
            let script = registration(shell);
            assert!(script.contains(VAR), "{shell:?}: {script}");
            assert!(script.contains("agent"), "{shell:?}");
        }
    }
}
