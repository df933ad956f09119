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
    CompleteEnv::with_factory(|| match completing_a_flag() {
        true => Cli::command(),
        false => flags_hidden(Cli::command()),
    })
    .var(VAR)
    .complete();
}

/// Whether the word being completed starts with `-`. The shells give the words after `--`;
/// bash and zsh say which one is being completed (`_CLAP_COMPLETE_INDEX`), the others complete
/// the last.
fn completing_a_flag() -> bool {
    let words: Vec<std::ffi::OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let index = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse::<usize>().ok());
    let word = match index {
        Some(i) => words.get(i),
        None => words.last(),
    };
    word.is_some_and(|w| w.as_encoded_bytes().starts_with(b"-"))
}

/// `cmd` with every flag hidden: a TAB on an empty word then offers the ids, subcommands and
/// values that can go there, and flags only where nothing else can (hidden candidates are
/// dropped when visible ones exist). `-<TAB>` still lists them all.
fn flags_hidden(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| match a.is_positional() {
        true => a,
        false => a.hide(true),
    })
    .disable_help_flag(true)
    .disable_version_flag(true)
    .mut_subcommands(flags_hidden)
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
        Shell::Bash => bash_whole_words(&script),
        _ => script,
    }
}

/// bash splits the line at the characters of `COMP_WORDBREAKS`, `:` and `=` among them, so
/// `--store sqlite:/s.db` reaches the function as `sqlite`, `:`, `/s.db`, and the completer
/// would see a store named `sqlite`. As bash-completion's `_get_comp_words_by_ref -n =:` does,
/// join the pieces no blank separated again before asking `agent`; then, as its
/// `__ltrim_colon_completions` does, cut from each answer what bash does not count as the
/// current word (up to its last `:` or `=`), since bash replaces only that part.
fn bash_whole_words(script: &str) -> String {
    let split = "    local _CLAP_COMPLETE_INDEX=${COMP_CWORD}\n";
    let words = "    local words=(\"${COMP_WORDS[@]}\")\n    if [[ \"${BASH_VERSINFO[0]}\" -ge 4 ]]; then\n        words[COMP_CWORD]=\"$2\"\n    fi\n";
    let reply = "    if [[ $? != 0 ]]; then\n        unset COMPREPLY\n";
    for part in [split, words, reply] {
        assert!(
            script.contains(part),
            "clap_complete changed its bash script"
        );
    }
    script.replace(split, "").replace(words, BASH_JOIN).replace(
        reply,
        "    local _agent_status=$?\n    \
         [[ -n $_agent_cut ]] && COMPREPLY=(\"${COMPREPLY[@]#\"$_agent_cut\"}\")\n    \
         if [[ $_agent_status != 0 ]]; then\n        unset COMPREPLY\n",
    )
}

/// The words of the line, pieces split at `:` or `=` joined back, and the current word's
/// index among them. `$2` is the current piece up to the cursor.
const BASH_JOIN: &str = r#"    local words=() _CLAP_COMPLETE_INDEX=0 _agent_rest=$COMP_LINE _agent_gap _agent_w _agent_i
    for (( _agent_i = 0; _agent_i < ${#COMP_WORDS[@]}; _agent_i++ )); do
        _agent_w=${COMP_WORDS[_agent_i]}
        _agent_gap=${_agent_rest%%[![:blank:]]*}
        _agent_rest=${_agent_rest#"$_agent_gap"}
        _agent_rest=${_agent_rest#"$_agent_w"}
        if (( _agent_i == COMP_CWORD )) && [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
            _agent_w=$2
        fi
        if (( _agent_i > 0 )) && [[ -z $_agent_gap ]] &&
            [[ $_agent_w == [=:]* || ${words[${#words[@]}-1]} == *[=:] ]]; then
            words[${#words[@]}-1]+=$_agent_w
        else
            words+=("$_agent_w")
        fi
        if (( _agent_i == COMP_CWORD )); then
            _CLAP_COMPLETE_INDEX=$(( ${#words[@]} - 1 ))
        fi
    done
    local _agent_cut=${words[_CLAP_COMPLETE_INDEX]%"$2"}
"#;

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
            if shell == Shell::Bash {
                assert!(script.contains("_agent_cut"), "{script}");
                assert!(!script.contains("local _CLAP_COMPLETE_INDEX=${COMP_CWORD}"));
            }
            assert!(script.contains("agent"), "{shell:?}");
        }
    }
}
