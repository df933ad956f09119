//! `config.yaml`: its keys, and reading it. What the values mean, and which wins over which,
//! is [`crate::settings`]'s business.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use agent::Error;

use crate::locate::{config_path, ConfigFile, Env};

/// `config.yaml`. Unknown keys are ignored so a newer config works with an older binary.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
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
    /// Prices per million tokens, extending or overriding the built-in table.
    pub(crate) prices: BTreeMap<String, agent::pricing::Price>,
    /// Context windows in tokens, extending or overriding the built-in table.
    pub(crate) context_windows: BTreeMap<String, u64>,
    /// Default for `--auto-compact`.
    pub(crate) auto_compact: Option<u64>,
    /// What `session prune` deletes besides expired sessions.
    pub(crate) retention: Retention,
}

/// `retention: {older_than: 90d, keep: 500}`: the defaults of `session prune`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Retention {
    pub(crate) older_than: Option<String>,
    pub(crate) keep: Option<usize>,
}

impl Retention {
    /// The age and count limits, the age parsed.
    pub(crate) fn resolve(&self) -> agent::Result<(Option<std::time::Duration>, Option<usize>)> {
        let age = self
            .older_than
            .as_deref()
            .map(|text| {
                humantime::parse_duration(text).map_err(|e| {
                    Error::Usage(format!("retention.older_than '{text}' in the config: {e}"))
                })
            })
            .transpose()?;
        Ok((age, self.keep))
    }
}

/// A model alias: `fast: {provider: anthropic, model: claude-haiku-4-5}`, used as `-m fast`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ModelAlias {
    pub(crate) provider: Option<String>,
    pub(crate) model: Option<String>,
}

/// A named provider: `openrouter: {kind: openai, base_url: ..., api_key_env: OPENROUTER_API_KEY}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProviderConfig {
    pub(crate) kind: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) api_key_env: Option<String>,
    pub(crate) headers: BTreeMap<String, String>,
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

fn read(path: &Path, env: &Env) -> agent::Result<Config> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read config {}: {e}", path.display())))?;
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let mut config: Config = serde_yaml::from_str(&text)
        .map_err(|e| Error::Usage(format!("invalid config {}: {e}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for tool in &mut config.tools {
        *tool = config_path(dir, tool, env);
    }
    Ok(config)
}
