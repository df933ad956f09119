//! `agent "question"`: a first word that is not a command is a prompt for `run`, as with `llm`.
//! A word one typo away from a command is refused instead of being sent to a model; a prompt
//! that is a command's name is sent with `agent run WORD`.

use std::ffi::OsString;

use clap::CommandFactory;

use crate::cli::Cli;

/// The arguments with `run` inserted before a bare prompt; an error for a mistyped command.
pub(crate) fn with_default_command(mut args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let cmd = Cli::command();
    let mut commands: Vec<String> = vec!["help".into()];
    for sub in cmd.get_subcommands() {
        commands.push(sub.get_name().to_string());
        commands.extend(sub.get_all_aliases().map(str::to_string));
    }
    // Global flags that take a value, which may sit before the command.
    let mut with_value: Vec<String> = Vec::new();
    for arg in cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
    {
        with_value.extend(arg.get_long().map(|l| format!("--{l}")));
        with_value.extend(arg.get_short().map(|s| format!("-{s}")));
    }
    let mut i = 1;
    while let Some(arg) = args.get(i).and_then(|a| a.to_str()) {
        if arg == "--" || ["-h", "--help", "-V", "--version"].contains(&arg) {
            return Ok(args);
        }
        if arg.starts_with('-') && arg.len() > 1 {
            let takes_value = !arg.contains('=') && with_value.iter().any(|f| f == arg);
            i += if takes_value { 2 } else { 1 };
            continue;
        }
        if commands.iter().any(|c| c == arg) {
            return Ok(args);
        }
        // Refused only when plainly a typo (one edit; two in a long word): `agent hello` is a
        // prompt, `agent sesion ls` is not.
        let typo = commands.iter().find(|c| {
            let d = crate::similar::distance(arg, c);
            d == 1 || (d == 2 && arg.chars().count() >= 7)
        });
        if let Some(near) = typo.filter(|_| !arg.contains(char::is_whitespace)) {
            return Err(format!(
                "unknown command '{arg}' (did you mean '{near}'?; to send '{arg}' as a prompt: agent run {arg})"
            ));
        }
        args.insert(i, OsString::from("run"));
        return Ok(args);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Result<Vec<String>, String> {
        let args = args.iter().map(OsString::from).collect();
        with_default_command(args)
            .map(|v| v.into_iter().map(|a| a.into_string().unwrap()).collect())
    }

    #[test]
    fn a_bare_prompt_is_run() {
        assert_eq!(
            norm(&["agent", "what is 2+2?"]).unwrap(),
            ["agent", "run", "what is 2+2?"]
        );
        assert_eq!(
            norm(&["agent", "-q", "--store", "dir:/x", "summarize", "this"]).unwrap(),
            [
                "agent",
                "-q",
                "--store",
                "dir:/x",
                "run",
                "summarize",
                "this"
            ]
        );
        assert_eq!(
            norm(&["agent", "session", "ls"]).unwrap(),
            ["agent", "session", "ls"]
        );
        assert_eq!(norm(&["agent", "--help"]).unwrap(), ["agent", "--help"]);
        assert_eq!(norm(&["agent"]).unwrap(), ["agent"]);
        assert!(norm(&["agent", "sesion", "ls"])
            .unwrap_err()
            .contains("did you mean 'session'"));
        assert_eq!(
            norm(&["agent", "hello"]).unwrap(),
            ["agent", "run", "hello"]
        );
    }
}
