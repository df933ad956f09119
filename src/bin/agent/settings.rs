//! Flags + environment + config file -> one resolved `Settings`. Precedence lives here alone:
//! flag > environment > the session's stored value > config file > built-in default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use agent::document::SessionData;
use agent::{Agent, DirStore, Error, Notice, SessionStore};

use crate::cli::{GlobalArgs, ModelArgs};

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
}

/// A model alias: `fast: {provider: anthropic, model: claude-haiku-4-5}`, used as `-m fast`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ModelAlias {
    pub(crate) provider: Option<String>,
    pub(crate) model: Option<String>,
}

/// A named provider: `openrouter: {kind: openai, base_url: ..., api_key_env: OPENROUTER_API_KEY}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProviderConfig {
    pub(crate) kind: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) api_key_env: Option<String>,
    pub(crate) headers: BTreeMap<String, String>,
}

pub(crate) struct Settings {
    pub(crate) data_dir: PathBuf,
    pub(crate) config: Config,
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
    /// `--store` / `AGENT_STORE` / `store:`; None means the data directory.
    store_url: Option<String>,
    /// Opened on first use, so commands that store nothing never touch it.
    store: OnceLock<Arc<dyn SessionStore>>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A path-valued variable; empty counts as unset, as XDG says.
pub(crate) fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The data directory when neither `--data-dir` nor `AGENT_DATA_DIR` names one.
pub(crate) fn default_data_dir() -> Option<PathBuf> {
    env_path("XDG_DATA_HOME")
        .or_else(|| env_path("HOME").map(|h| h.join(".local/share")))
        .map(|d| d.join("agent"))
}

/// The config file when neither `--config` nor `AGENT_CONFIG` names one.
pub(crate) fn default_config_file() -> Option<PathBuf> {
    env_path("XDG_CONFIG_HOME")
        .or_else(|| env_path("HOME").map(|h| h.join(".config")))
        .map(|d| d.join("agent/config.yaml"))
}

fn secs(value: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        Error::Usage(format!("{what} must be a number of seconds, not {value}")).into()
    })
}

impl Settings {
    pub(crate) fn load(global: &GlobalArgs) -> Result<Settings> {
        let data_dir = match &global.data_dir {
            Some(dir) => dir.clone(),
            None => default_data_dir().context(
                "cannot find a data directory: set HOME, XDG_DATA_HOME or AGENT_DATA_DIR",
            )?,
        };
        let config = match &global.config {
            Some(path) => read_config(path)?,
            None => match default_config_file() {
                Some(path) if path.exists() => read_config(&path)?,
                _ => Config::default(),
            },
        };
        let store_url = global.store.clone().or_else(|| config.store.clone());
        Ok(Settings {
            data_dir,
            config,
            quiet: global.quiet,
            verbose: global.verbose,
            store_url,
            store: OnceLock::new(),
        })
    }

    /// The session store, opened once.
    pub(crate) fn store(&self) -> Result<Arc<dyn SessionStore>> {
        if let Some(store) = self.store.get() {
            return Ok(store.clone());
        }
        let store = match &self.store_url {
            Some(url) => agent::store::open(url)?,
            None => Arc::new(DirStore::new(&self.data_dir)),
        };
        if self.verbose {
            eprintln!("agent: store {}", store.describe());
        }
        Ok(self.store.get_or_init(|| store).clone())
    }

    pub(crate) fn lock_timeout(&self, flag: Option<f64>) -> Result<Option<Duration>> {
        flag.or(self.config.lock_timeout)
            .map(|s| secs(s, "--lock-timeout"))
            .transpose()
            .map(|t| t.or(Some(Duration::from_secs(300))))
    }

    /// Resolve provider, model and endpoint for a model call on `session` (if any).
    pub(crate) fn agent(
        &self,
        args: &ModelArgs,
        session: Option<&SessionData>,
        store: Option<Arc<dyn SessionStore>>,
        lock_timeout: Option<Duration>,
    ) -> Result<Agent> {
        let (provider, model, why) = self.provider_and_model(args, session);
        let named = self.config.providers.get(&provider);
        let kind = named
            .and_then(|p| p.kind.clone())
            .unwrap_or_else(|| provider.clone());
        let (url_var, _, key_var) = agent::provider::kind_defaults(&kind).ok_or_else(|| {
            Error::Usage(format!(
                "unknown provider '{provider}' (built in: {}; or define it under providers: in config.yaml)",
                agent::provider::KINDS.join(", ")
            ))
        })?;
        let base_url = args
            .base_url
            .clone()
            .or_else(|| env(url_var))
            .or_else(|| named.and_then(|p| p.base_url.clone()))
            .or_else(|| {
                (self
                    .config
                    .provider
                    .as_deref()
                    .unwrap_or(agent::agent::DEFAULT_PROVIDER)
                    == provider)
                    .then(|| self.config.base_url.clone())
                    .flatten()
            });
        let key_var = named
            .and_then(|p| p.api_key_env.clone())
            .or(key_var.map(str::to_string));
        let mut builder = Agent::builder()
            .provider(&provider)
            .kind(&kind)
            .model(&model)
            .lock_timeout(lock_timeout)
            .prices(agent::pricing::Prices::new(
                self.config.prices.clone(),
                self.config.context_windows.clone(),
            ));
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        if let Some(key) = key_var.as_deref().and_then(env) {
            builder = builder.api_key(agent::provider::ApiKey::new(key));
        }
        for (k, v) in named.map(|p| p.headers.clone()).unwrap_or_default() {
            builder = builder.header(k, v);
        }
        if let Some(t) = args.timeout.or(self.config.timeout) {
            builder = builder.timeout(secs(t, "--timeout")?);
        }
        if let Some(r) = args.retries.or(self.config.retries) {
            builder = builder.retries(r);
        }
        if let Some(store) = store {
            builder = builder.store_arc(store);
        }
        if !self.quiet {
            builder = builder.on_notice(|n| {
                match n {
                    Notice::WaitingForLock { id } => {
                        eprintln!("agent: waiting for session '{id}': another turn is running")
                    }
                    Notice::Trimmed { id, dropped } => eprintln!(
                        "agent: session '{id}' does not fit the model's context window: the oldest {dropped} messages were left out of this request"
                    ),
                    Notice::Compacted { id, replaced } => eprintln!(
                        "agent: compacted session '{id}': a summary replaced {replaced} messages"
                    ),
                    _ => {}
                }
            });
        }
        let agent = builder.build()?;
        if self.verbose {
            eprintln!("agent: provider {provider} ({kind}{why}), model {model}");
        }
        Ok(agent)
    }
}

/// Where a setting came from, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Flag,
    Env,
    Session,
    Config,
    Default,
}

fn pick(candidates: [(Option<String>, Level); 4]) -> Option<(String, Level)> {
    candidates
        .into_iter()
        .find_map(|(v, level)| v.map(|v| (v, level)))
}

impl Settings {
    /// The kind a provider name speaks: its config entry's `kind`, else the name itself.
    fn kind_of(&self, provider: &str) -> String {
        self.config
            .providers
            .get(provider)
            .and_then(|p| p.kind.clone())
            .unwrap_or_else(|| provider.to_string())
    }

    /// Provider and model, resolved as a pair, and a note for `-v` on how the provider was
    /// chosen. A model named more specifically than the provider (`-m claude-...` on a session
    /// stored with `openai`) brings its own provider: the alias's, else the one its name
    /// implies. A provider named at least as specifically as the model always wins.
    fn provider_and_model(
        &self,
        args: &ModelArgs,
        session: Option<&SessionData>,
    ) -> (String, String, String) {
        let provider = pick([
            (args.provider.clone(), Level::Flag),
            (env("AGENT_PROVIDER"), Level::Env),
            (session.and_then(|s| s.provider.clone()), Level::Session),
            (self.config.provider.clone(), Level::Config),
        ]);
        let (mut model, model_level) = pick([
            (args.model.clone(), Level::Flag),
            (env("AGENT_MODEL"), Level::Env),
            (session.and_then(|s| s.model.clone()), Level::Session),
            (self.config.model.clone(), Level::Config),
        ])
        .unwrap_or_else(|| (agent::agent::DEFAULT_MODEL.to_string(), Level::Default));
        let mut alias_provider = None;
        let mut why = String::new();
        if let Some(alias) = self.config.models.get(&model) {
            why = format!(", model alias '{model}'");
            alias_provider = alias.provider.clone();
            if let Some(m) = &alias.model {
                model = m.clone();
            }
        }
        let provider = match provider {
            Some((p, level)) if level <= model_level => p,
            fallback => match (alias_provider, agent::provider::kind_for_model(&model)) {
                (Some(p), _) => p,
                // A named provider of the implied kind (a proxy for Claude) is kept.
                (None, Some(kind))
                    if fallback
                        .as_ref()
                        .is_none_or(|(p, _)| self.kind_of(p) != kind) =>
                {
                    if model_level != Level::Default {
                        why = format!(", inferred from model '{model}'");
                    }
                    kind.to_string()
                }
                _ => fallback
                    .map(|(p, _)| p)
                    .unwrap_or_else(|| agent::agent::DEFAULT_PROVIDER.to_string()),
            },
        };
        (provider, model, why)
    }
}

fn read_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let mut config: Config = serde_yaml::from_str(&text)
        .map_err(|e| Error::Usage(format!("invalid config {}: {e}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for tool in &mut config.tools {
        *tool = crate::equip::config_path(dir, tool);
    }
    Ok(config)
}
