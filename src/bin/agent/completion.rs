//! Dynamic shell completion: the values the completion scripts ask the binary for (session ids,
//! provider names, model aliases) and the registration scripts `agent generate completions`
//! prints.
//!
//! The scripts in `completions/` are clap_complete's small registration stubs: on TAB the shell
//! runs `AGENT_COMPLETE=<shell> agent -- <words>`, and the completion comes from the same clap
//! definitions that parse the command line, so flags and values never drift from the binary.
//! Each completer must stay cheap: it runs on every TAB.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::CompleteEnv;

use agent::{DirStore, SessionStore};

use crate::cli::{Cli, Shell};
use crate::settings::{default_config_file, default_data_dir, env_path};

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

/// The value of `--NAME VALUE` or `--NAME=VALUE` already typed on the line being completed:
/// completers get only the current word, but the whole line is in this process's arguments.
fn flag_on_line(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let long = format!("--{name}");
    let with_eq = format!("--{name}=");
    args.iter().enumerate().rev().find_map(|(i, a)| {
        if *a == long {
            return args.get(i + 1).cloned();
        }
        a.strip_prefix(&with_eq).map(str::to_string)
    })
}

/// The data directory as `Settings::load` finds it: the flag on the line, the environment,
/// then the XDG default.
fn data_dir() -> Option<PathBuf> {
    flag_on_line("data-dir")
        .map(PathBuf::from)
        .or_else(|| env_path("AGENT_DATA_DIR"))
        .or_else(default_data_dir)
}

fn config_file() -> Option<PathBuf> {
    flag_on_line("config")
        .map(PathBuf::from)
        .or_else(|| env_path("AGENT_CONFIG"))
        .or_else(default_config_file)
}

/// The store as `Settings` picks it (`--store`, AGENT_STORE, the config's `store:`), else the
/// data directory.
fn store() -> Option<Arc<dyn SessionStore>> {
    let url = flag_on_line("store")
        .or_else(|| std::env::var("AGENT_STORE").ok().filter(|v| !v.is_empty()))
        .or_else(|| config()["store"].as_str().map(str::to_string));
    match url {
        Some(url) => agent::store::open(&url).ok(),
        None => Some(Arc::new(DirStore::new(data_dir()?))),
    }
}

/// Stored session ids starting with `current`, newest first (generated ids sort by time).
///
/// Only the store's id listing is read, never a document: for the data directory that is one
/// directory listing, and 10,000 sessions complete in about 15 ms.
pub(crate) fn session_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let Some(ids) = store().and_then(|s| s.list_sessions().ok()) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = ids
        .into_iter()
        .filter(|id| id.starts_with(prefix))
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.into_iter().map(CompletionCandidate::new).collect()
}

/// The config file as loose YAML: completion must not fail on a key it does not know.
fn config() -> serde_yaml::Value {
    config_file()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_yaml::from_str(&t).ok())
        .unwrap_or(serde_yaml::Value::Null)
}

fn keys(value: &serde_yaml::Value) -> impl Iterator<Item = String> + '_ {
    value
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.keys())
        .filter_map(|k| k.as_str().map(str::to_string))
}

fn matching(names: BTreeSet<String>, current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_str().unwrap_or("");
    names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// Built-in provider kinds and the named providers of the config.
pub(crate) fn provider_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = config();
    let mut names: BTreeSet<String> = agent::provider::KINDS
        .iter()
        .map(|k| k.to_string())
        .collect();
    names.extend(keys(&config["providers"]));
    matching(names, current)
}

/// Model aliases of the config (`models: {fast: {provider, model}}`), the models they stand
/// for, the config's default model and the built-in default.
pub(crate) fn model_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = config();
    let mut names = BTreeSet::from([agent::agent::DEFAULT_MODEL.to_string()]);
    names.extend(keys(&config["models"]));
    if let Some(aliases) = config["models"].as_mapping() {
        names.extend(
            aliases
                .values()
                .filter_map(|a| a["model"].as_str().map(str::to_string)),
        );
    }
    if let Some(model) = config["model"].as_str() {
        names.insert(model.to_string());
    }
    matching(names, current)
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
