//! Which provider, model and endpoint a model call uses: the one place their precedence lives.
//!
//! flag > environment > the session's stored value > config file > built-in default, resolved
//! as a pair: a model named more specifically than the provider (`-m claude-…` on a session
//! stored with `openai`) brings its own provider (its alias's, else the one its name implies).
//! A provider's base URL and key follow from the provider alone: a provider defined under
//! `providers:` uses its own `base_url` and `api_key_env`, and a kind's variables
//! (`OPENAI_BASE_URL`, `OPENAI_API_KEY`) belong to the built-in provider of that name only, so
//! a key is only ever sent where it belongs.

use std::collections::BTreeMap;

use agent::document::SessionData;
use agent::provider::{self, ApiKey};
use agent::Error;

use crate::config::{Config, ModelAlias, ProviderConfig};
use crate::locate::Env;

/// The model-choosing flags of one command.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ModelChoice {
    pub(crate) model: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) base_url: Option<String>,
}

/// What the environment and config file say about providers and models, before any flag or
/// session is known.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    env_provider: Option<String>,
    env_model: Option<String>,
    /// The kinds' own variables that are set: `OPENAI_BASE_URL` → value, `OPENAI_API_KEY` → ...
    env: BTreeMap<String, String>,
    config_provider: Option<String>,
    config_model: Option<String>,
    config_base_url: Option<String>,
    providers: BTreeMap<String, ProviderConfig>,
    models: BTreeMap<String, ModelAlias>,
}

/// A resolved provider endpoint and model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    /// The provider's name (`openai`, or one defined in the config).
    pub(crate) provider: String,
    /// The protocol it speaks.
    pub(crate) kind: String,
    pub(crate) model: String,
    /// `None`: the kind's default.
    pub(crate) base_url: Option<String>,
    /// The variable the key came from, if any.
    pub(crate) key_var: Option<String>,
    pub(crate) key: Option<ApiKey>,
    pub(crate) headers: Vec<(String, String)>,
    /// How the provider was chosen, for `-v`.
    pub(crate) why: String,
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

impl Routes {
    pub(crate) fn new(env: &Env, config: &Config) -> Self {
        let mut vars = BTreeMap::new();
        for kind in provider::KINDS {
            let (url_var, _, key_var) = provider::kind_defaults(kind).expect("a built-in kind");
            for var in [Some(url_var), key_var].into_iter().flatten() {
                if let Some(v) = env.get(var) {
                    vars.insert(var.to_string(), v.to_string());
                }
            }
        }
        // Keys of configured providers, read now so nothing else looks at the environment.
        for p in config.providers.values() {
            if let Some(var) = &p.api_key_env {
                if let Some(v) = env.get(var) {
                    vars.insert(var.clone(), v.to_string());
                }
            }
        }
        Routes {
            env_provider: env.get("AGENT_PROVIDER").map(str::to_string),
            env_model: env.get("AGENT_MODEL").map(str::to_string),
            env: vars,
            config_provider: config.provider.clone(),
            config_model: config.model.clone(),
            config_base_url: config.base_url.clone(),
            providers: config.providers.clone(),
            models: config.models.clone(),
        }
    }

    /// The kind a provider name speaks: its config entry's `kind`, else the name itself.
    fn kind_of(&self, provider: &str) -> String {
        self.providers
            .get(provider)
            .and_then(|p| p.kind.clone())
            .unwrap_or_else(|| provider.to_string())
    }

    /// Resolve the route of a call with these flags on `session` (if any).
    pub(crate) fn resolve(
        &self,
        flags: &ModelChoice,
        session: Option<&SessionData>,
    ) -> agent::Result<Route> {
        let (provider, model, why) = self.provider_and_model(flags, session);
        let named = self.providers.get(&provider);
        let kind = self.kind_of(&provider);
        let (url_var, _, kind_key_var) = provider::kind_defaults(&kind).ok_or_else(|| {
            Error::Usage(format!(
                "unknown provider '{provider}' (built in: {}; or define it under providers: in config.yaml)",
                provider::KINDS.join(", ")
            ))
        })?;
        // The kind's own variables, for the built-in provider of that name only.
        let builtin = provider == kind;
        let env = |var: &str| builtin.then(|| self.env.get(var).cloned()).flatten();
        let is_config_default = self
            .config_provider
            .as_deref()
            .unwrap_or(agent::agent::DEFAULT_PROVIDER)
            == provider;
        let base_url = flags
            .base_url
            .clone()
            .or_else(|| env(url_var))
            .or_else(|| named.and_then(|p| p.base_url.clone()))
            .or_else(|| {
                is_config_default
                    .then(|| self.config_base_url.clone())
                    .flatten()
            });
        let key_var = named
            .and_then(|p| p.api_key_env.clone())
            .or_else(|| builtin.then(|| kind_key_var.map(str::to_string)).flatten());
        let key = key_var
            .as_deref()
            .and_then(|v| self.env.get(v))
            .map(|k| ApiKey::new(k.clone()));
        let headers = named
            .map(|p| {
                p.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Route {
            provider,
            kind,
            model,
            base_url,
            key_var,
            key,
            headers,
            why,
        })
    }

    /// Whether `name` is a provider: built in, or defined in the config.
    pub(crate) fn is_provider(&self, name: &str) -> bool {
        provider::KINDS.contains(&name) || self.providers.contains_key(name)
    }

    /// The `fallbacks:` of the model alias the call names (by flag, environment, session or
    /// config, as for its model), if it names one.
    pub(crate) fn alias_fallbacks(
        &self,
        flags: &ModelChoice,
        session: Option<&SessionData>,
    ) -> Vec<String> {
        let named = pick([
            (flags.model.clone(), Level::Flag),
            (self.env_model.clone(), Level::Env),
            (session.and_then(|s| s.model.clone()), Level::Session),
            (self.config_model.clone(), Level::Config),
        ]);
        named
            .and_then(|(m, _)| self.models.get(&m))
            .map(|a| a.fallbacks.clone())
            .unwrap_or_default()
    }

    /// Provider and model, resolved as a pair, and a note for `-v` on how the provider was
    /// chosen. A provider named at least as specifically as the model always wins.
    fn provider_and_model(
        &self,
        flags: &ModelChoice,
        session: Option<&SessionData>,
    ) -> (String, String, String) {
        let provider = pick([
            (flags.provider.clone(), Level::Flag),
            (self.env_provider.clone(), Level::Env),
            (session.and_then(|s| s.provider.clone()), Level::Session),
            (self.config_provider.clone(), Level::Config),
        ]);
        let (mut model, model_level) = pick([
            (flags.model.clone(), Level::Flag),
            (self.env_model.clone(), Level::Env),
            (session.and_then(|s| s.model.clone()), Level::Session),
            (self.config_model.clone(), Level::Config),
        ])
        .unwrap_or_else(|| (agent::agent::DEFAULT_MODEL.to_string(), Level::Default));
        let mut alias_provider = None;
        let mut why = String::new();
        if let Some(alias) = self.models.get(&model) {
            why = format!(", model alias '{model}'");
            alias_provider = alias.provider.clone();
            if let Some(m) = &alias.model {
                model = m.clone();
            }
        }
        let provider = match provider {
            Some((p, level)) if level <= model_level => p,
            fallback => match (alias_provider, provider::kind_for_model(&model)) {
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

#[cfg(test)]
mod tests {
    //! The precedence table of the README, row by row.
    use super::*;

    fn config(yaml: &str) -> Config {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn route(
        env: &[(&str, &str)],
        yaml: &str,
        flags: ModelChoice,
        session: Option<(&str, &str)>,
    ) -> Route {
        let routes = Routes::new(&Env::of(env), &config(yaml));
        let data = session.map(|(p, m)| {
            let mut d = SessionData::new("s");
            d.provider = Some(p.into());
            d.model = Some(m.into());
            d
        });
        routes.resolve(&flags, data.as_ref()).unwrap()
    }

    fn flags(provider: Option<&str>, model: Option<&str>) -> ModelChoice {
        ModelChoice {
            provider: provider.map(Into::into),
            model: model.map(Into::into),
            base_url: None,
        }
    }

    #[test]
    fn model_flag_beats_env_beats_session_beats_config_beats_default() {
        let yaml = "model: config-model\n";
        let env = [("AGENT_MODEL", "env-model")];
        let session = Some(("openai", "session-model"));
        let r = |env: &[(&str, &str)], yaml, flags, session| route(env, yaml, flags, session).model;
        assert_eq!(
            r(&env, yaml, flags(None, Some("flag-model")), session),
            "flag-model"
        );
        assert_eq!(r(&env, yaml, flags(None, None), session), "env-model");
        assert_eq!(r(&[], yaml, flags(None, None), session), "session-model");
        assert_eq!(r(&[], yaml, flags(None, None), None), "config-model");
        assert_eq!(
            r(&[], "", flags(None, None), None),
            agent::agent::DEFAULT_MODEL
        );
    }

    #[test]
    fn provider_flag_beats_env_beats_session_beats_config_beats_default() {
        let yaml = "provider: gemini\n";
        let env = [("AGENT_PROVIDER", "ollama")];
        let session = Some(("anthropic", "local-model"));
        let p =
            |env: &[(&str, &str)], yaml, flags, session| route(env, yaml, flags, session).provider;
        assert_eq!(
            p(&env, yaml, flags(Some("openai"), None), session),
            "openai"
        );
        assert_eq!(p(&env, yaml, flags(None, None), session), "ollama");
        assert_eq!(p(&[], yaml, flags(None, None), session), "anthropic");
        assert_eq!(p(&[], yaml, flags(None, Some("local")), None), "gemini");
        assert_eq!(p(&[], "", flags(None, Some("local")), None), "openai");
    }

    #[test]
    fn a_more_specific_model_brings_its_provider() {
        let r = route(
            &[],
            "",
            flags(None, Some("claude-sonnet-4-5")),
            Some(("openai", "gpt-4o")),
        );
        assert_eq!(
            (r.provider.as_str(), r.kind.as_str()),
            ("anthropic", "anthropic")
        );
        // A provider named as specifically as the model wins.
        let r = route(
            &[],
            "",
            flags(Some("openai"), Some("claude-sonnet-4-5")),
            None,
        );
        assert_eq!(r.provider, "openai");
        let aliased = route(
            &[],
            "models:\n  fast: {provider: anthropic, model: claude-haiku-4-5}\n",
            flags(None, Some("fast")),
            None,
        );
        assert_eq!(
            (aliased.provider.as_str(), aliased.model.as_str()),
            ("anthropic", "claude-haiku-4-5")
        );
    }

    #[test]
    fn base_url_flag_beats_env_beats_config() {
        let yaml = "base_url: http://config/v1\n";
        let env = [("OPENAI_BASE_URL", "http://env/v1")];
        let mut f = flags(None, None);
        f.base_url = Some("http://flag/v1".into());
        assert_eq!(
            route(&env, yaml, f, None).base_url.as_deref(),
            Some("http://flag/v1")
        );
        assert_eq!(
            route(&env, yaml, flags(None, None), None)
                .base_url
                .as_deref(),
            Some("http://env/v1")
        );
        assert_eq!(
            route(&[], yaml, flags(None, None), None)
                .base_url
                .as_deref(),
            Some("http://config/v1")
        );
        assert_eq!(route(&[], "", flags(None, None), None).base_url, None);
        // The top-level base_url belongs to the config's default provider only.
        let r = route(&[], yaml, flags(Some("anthropic"), None), None);
        assert_eq!(r.base_url, None);
    }

    #[test]
    fn a_named_provider_uses_its_own_url_and_key_never_the_kinds() {
        let yaml = "providers:\n  openrouter: {kind: openai, base_url: 'https://openrouter.ai/api/v1', api_key_env: OPENROUTER_API_KEY}\n  local: {kind: openai, base_url: 'http://127.0.0.1:8080/v1'}\n";
        let env = [
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("OPENAI_API_KEY", "sk-openai"),
            ("OPENROUTER_API_KEY", "sk-or"),
        ];
        let r = route(&env, yaml, flags(Some("openrouter"), None), None);
        assert_eq!(r.kind, "openai");
        assert_eq!(r.base_url.as_deref(), Some("https://openrouter.ai/api/v1"));
        assert_eq!(r.key_var.as_deref(), Some("OPENROUTER_API_KEY"));
        assert_eq!(r.key.as_ref().map(ApiKey::expose), Some("sk-or"));
        // A named provider without a key variable gets no key at all.
        let local = route(&env, yaml, flags(Some("local"), None), None);
        assert_eq!(local.base_url.as_deref(), Some("http://127.0.0.1:8080/v1"));
        assert_eq!((local.key_var, local.key), (None, None));
        // The kind's variables still serve the built-in provider.
        let openai = route(&env, yaml, flags(Some("openai"), None), None);
        assert_eq!(openai.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(openai.key.as_ref().map(ApiKey::expose), Some("sk-openai"));
    }

    #[test]
    fn unknown_providers_are_usage_errors() {
        let routes = Routes::new(&Env::default(), &Config::default());
        let err = routes
            .resolve(&flags(Some("nope"), None), None)
            .unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
    }
}
