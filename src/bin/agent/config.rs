//! `config.yaml`: its keys, and reading it. What the values mean, and which wins over which,
//! is [`crate::settings`]'s business.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use agent::Error;

use crate::locate::{config_path, ConfigFile, Env};

/// `config.yaml`. An unknown key is an error naming it and the nearest known one, as for tool
/// files: a typo (`modle:`) must not be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    pub(crate) provider: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) timeout: Option<f64>,
    pub(crate) retries: Option<u32>,
    pub(crate) lock_timeout: Option<f64>,
    /// Session store URL (`--store` and `AGENT_STORE` win).
    pub(crate) store: Option<String>,
    pub(crate) providers: BTreeMap<String, ProviderConfig>,
    pub(crate) models: BTreeMap<String, ModelAlias>,
    /// Tool files every turn may call (relative to the config file's directory).
    pub(crate) tools: Vec<PathBuf>,
    /// Where `--template NAME` looks (relative to the config file).
    pub(crate) templates_dir: Option<PathBuf>,
    /// MCP servers every turn may use, by name (`{time: {command: [...]}}`).
    pub(crate) mcp_servers: Option<serde_json::Value>,
    /// Prices per million tokens, extending or overriding the built-in table.
    pub(crate) prices: BTreeMap<String, agent::pricing::Price>,
    /// Context windows in tokens, extending or overriding the built-in table.
    pub(crate) context_windows: BTreeMap<String, u64>,
    /// Default for `--auto-compact`.
    pub(crate) auto_compact: Option<u64>,
    /// Default for `--max-reply-bytes`.
    pub(crate) max_reply_bytes: Option<usize>,
    /// What `session prune` deletes besides expired sessions.
    pub(crate) retention: Retention,
    /// Where the store's encryption key is, for a store URL that does not say.
    pub(crate) encrypt: Option<Encrypt>,
    /// Default for `--reasoning` (`none`, `minimal`, `low`, `medium`, `high`).
    pub(crate) reasoning: Option<String>,
    /// Default for `--thinking-budget`.
    pub(crate) thinking_budget: Option<u32>,
    /// Prompt caching: `5m`, `1h` or `off`.
    pub(crate) cache: Option<String>,
}

/// `retention: {max_age: 90d, max_count: 500}`: the defaults of `session prune`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Retention {
    pub(crate) max_age: Option<String>,
    pub(crate) max_count: Option<usize>,
}

/// `encrypt: {key_env: NAME}` or `encrypt: {key_file: PATH}`: seal every session the store
/// writes, as `?encrypt=env:NAME` / `?encrypt=file:PATH` on its URL would.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Encrypt {
    pub(crate) key_env: Option<String>,
    pub(crate) key_file: Option<PathBuf>,
}

impl Retention {
    /// The age and count limits, the age parsed.
    pub(crate) fn resolve(&self) -> agent::Result<(Option<std::time::Duration>, Option<usize>)> {
        let age = self
            .max_age
            .as_deref()
            .map(|text| {
                humantime::parse_duration(text).map_err(|e| {
                    Error::Usage(format!("retention.max_age '{text}' in the config: {e}"))
                })
            })
            .transpose()?;
        Ok((age, self.max_count))
    }
}

/// A model alias: `fast: {provider: anthropic, model: claude-haiku-4-5}`, used as `-m fast`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ModelAlias {
    pub(crate) provider: Option<String>,
    pub(crate) model: Option<String>,
    /// Reasoning effort for this alias.
    pub(crate) reasoning: Option<String>,
    /// Thinking budget for this alias.
    pub(crate) thinking_budget: Option<u32>,
    /// Models to ask, in order, when this one fails in a way retries could not cure
    /// (`provider:model` or a model whose name implies its provider).
    pub(crate) fallbacks: Vec<String>,
}

/// A named provider: `openrouter: {kind: openai, base_url: ..., api_key_env: OPENROUTER_API_KEY}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ProviderConfig {
    pub(crate) kind: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) api_key_env: Option<String>,
    pub(crate) headers: BTreeMap<String, String>,
    /// For kind openai: `responses` or `chat`.
    pub(crate) api: Option<String>,
}

impl Encrypt {
    /// The `?encrypt=` value this stands for.
    pub(crate) fn url_value(&self) -> agent::Result<String> {
        match (&self.key_env, &self.key_file) {
            (Some(var), None) => Ok(format!("env:{var}")),
            (None, Some(path)) => Ok(format!("file:{}", path.display())),
            _ => Err(Error::Usage(
                "encrypt: in the config takes one of key_env: NAME or key_file: PATH".into(),
            )),
        }
    }
}

impl Config {
    /// Read the config file that `file` names (nothing to read is the empty config).
    pub(crate) fn load(file: &ConfigFile, env: &Env) -> agent::Result<Config> {
        match file {
            ConfigFile::Named(path) | ConfigFile::Default(path) => read(path, env),
            ConfigFile::None => Ok(Config::default()),
        }
    }
}

/// serde's "unknown field `modle`, expected one of `provider`, `model`, …" as "unknown key
/// `modle` (did you mean `model`?)", keeping where it was found.
fn explain(message: &str) -> String {
    let Some(start) = message.find("unknown field `") else {
        return message.to_string();
    };
    let (prefix, rest) = (
        &message[..start],
        &message[start + "unknown field `".len()..],
    );
    let Some((key, rest)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let location = rest.find(" at line ").map_or("", |i| &rest[i..]);
    match crate::similar::nearest(key, known.iter().copied()) {
        Some(near) => format!("{prefix}unknown key `{key}` (did you mean `{near}`?){location}"),
        None => format!(
            "{prefix}unknown key `{key}` (known: {}){location}",
            known.join(", ")
        ),
    }
}

fn read(path: &Path, env: &Env) -> agent::Result<Config> {
    let text = agent::limits::read_config_file(path)
        .map_err(|e| Error::Usage(format!("cannot read config {}: {e}", path.display())))?;
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let mut config: Config = serde_yaml::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "invalid config {}: {}",
            path.display(),
            explain(&e.to_string())
        ))
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for tool in &mut config.tools {
        *tool = config_path(dir, tool, env);
    }
    if let Some(t) = config.templates_dir.as_mut() {
        *t = config_path(dir, t, env);
    }
    if let Some(file) = config.encrypt.as_mut().and_then(|e| e.key_file.as_mut()) {
        *file = config_path(dir, file, env);
    }
    Ok(config)
}
