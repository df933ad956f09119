//! The values completion offers (session ids, provider names, model aliases), computed when a
//! TAB asks for them. Each must stay cheap: it runs on every TAB.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

use clap_complete::engine::CompletionCandidate;

use agent::{DirStore, SessionStore};

use crate::locate::{self, ConfigFile, Env};

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

/// The data directory, config file and store as the command would resolve them
/// ([`crate::locate`]), from the flags already on the line.
fn store() -> Option<Arc<dyn SessionStore>> {
    let env = Env::process();
    let config = config(&env);
    let flag = flag_on_line("store");
    match locate::store_url(flag.as_deref(), &env, config["store"].as_str()) {
        Some(url) => agent::store::open(&url).ok(),
        None => {
            let dir = flag_on_line("data-dir").map(PathBuf::from);
            Some(Arc::new(DirStore::new(locate::data_dir(
                dir.as_deref(),
                &env,
            )?)))
        }
    }
}

/// Stored session ids starting with `current`, most recently used first, each with its title
/// as the description zsh and fish show beside it.
///
/// No document is read: the data directory answers from its listing cache, the databases from
/// their index ([`SessionStore::recent_ids`]).
pub(crate) fn session_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    // Files that are not valid documents are left out; `session ls` reports them.
    let recent = store().and_then(|s| s.recent_ids().ok());
    recent
        .unwrap_or_default()
        .into_iter()
        .filter(|(id, _)| id.starts_with(prefix))
        .map(|(id, title)| {
            let title = title.filter(|t| !t.is_empty());
            CompletionCandidate::new(id).help(title.map(Into::into))
        })
        .collect()
}

/// Template names in the templates directory starting with `current`.
pub(crate) fn template_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let env = Env::process();
    let configured = config(&env)["templates_dir"].as_str().map(PathBuf::from);
    let Some(dir) = crate::template::dir(&env, configured.as_deref()) else {
        return Vec::new();
    };
    crate::template::names(&dir)
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// A store URL: its schemes, then for `dir:` and `sqlite:` the path after the scheme.
pub(crate) fn store_urls(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(typed) = current.to_str() else {
        return Vec::new();
    };
    for scheme in ["dir:", "sqlite:"] {
        if let Some(path) = typed.strip_prefix(scheme) {
            let paths = clap_complete::engine::PathCompleter::any();
            return clap_complete::engine::ValueCompleter::complete(&paths, OsStr::new(path))
                .into_iter()
                .map(|c| c.add_prefix(scheme))
                .collect();
        }
    }
    ["dir:", "sqlite:", "redis://", "rediss://", "postgres://"]
        .into_iter()
        .filter(|s| s.starts_with(typed))
        .map(CompletionCandidate::new)
        .collect()
}

/// The config file as loose YAML: completion must not fail on a key it does not know.
fn config(env: &Env) -> serde_yaml::Value {
    let flag = flag_on_line("config").map(PathBuf::from);
    let path = match locate::config_file(flag.as_deref(), env) {
        ConfigFile::Named(p) | ConfigFile::Default(p) => p,
        ConfigFile::None => return serde_yaml::Value::Null,
    };
    std::fs::read_to_string(path)
        .ok()
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
    let config = config(&Env::process());
    let mut names: BTreeSet<String> = agent::provider::KINDS
        .iter()
        .map(|k| k.to_string())
        .collect();
    names.extend(keys(&config["providers"]));
    matching(names, current)
}

/// The MCP servers of the config (`mcp_servers: {time: {...}}`), for `--mcp` and `agent mcp
/// tools`.
pub(crate) fn mcp_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = config(&Env::process());
    matching(keys(&config["mcp_servers"]).collect(), current)
}

/// Model aliases of the config (`models: {fast: {provider, model}}`), the models they stand
/// for, the config's default model and the built-in default.
pub(crate) fn model_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let config = config(&Env::process());
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
