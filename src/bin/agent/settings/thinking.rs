//! Reasoning and caching settings: `--reasoning`/`--thinking-budget` over the config's
//! `reasoning:` (per model alias, then global), and `--cache-ttl`/`--no-cache` over `cache:`.
//! The session's stored reasoning sits between the flag and the config; the turn applies it
//! (it needs the session).

use std::collections::BTreeMap;

use agent::provider::{CacheTtl, Effort, Reasoning};

use crate::cli::{CacheTtlArg, EffortArg, ReasoningArgs, ReasoningShowArgs};
use crate::config::Config;

/// What the config says about reasoning and caching.
#[derive(Debug, Default)]
pub(crate) struct ThinkingDefaults {
    reasoning: Option<Reasoning>,
    aliases: BTreeMap<String, Reasoning>,
    config_model: Option<String>,
    /// `cache:`: `None` unset, `Some(None)` off.
    cache: Option<Option<CacheTtl>>,
}

fn effort(e: EffortArg) -> Effort {
    match e {
        EffortArg::None => Effort::None,
        EffortArg::Minimal => Effort::Minimal,
        EffortArg::Low => Effort::Low,
        EffortArg::Medium => Effort::Medium,
        EffortArg::High => Effort::High,
    }
}

/// The flags' reasoning: `--thinking-budget` alone means medium with that budget.
pub(crate) fn flags(args: &ReasoningArgs) -> Option<Reasoning> {
    match (args.reasoning, args.thinking_budget) {
        (None, None) => None,
        (e, budget) => Some(Reasoning {
            effort: e.map_or(Effort::Medium, effort),
            budget,
        }),
    }
}

fn parse(value: &str, budget: Option<u32>, key: &str) -> agent::Result<Reasoning> {
    let effort: Effort = value
        .parse()
        .map_err(|e| agent::Error::Usage(format!("config: {key}: {e}")))?;
    Ok(Reasoning { effort, budget })
}

impl ThinkingDefaults {
    pub(crate) fn new(config: &Config) -> agent::Result<Self> {
        let reasoning = config
            .reasoning
            .as_deref()
            .map(|r| parse(r, config.thinking_budget, "reasoning"))
            .transpose()?;
        let mut aliases = BTreeMap::new();
        for (name, alias) in &config.models {
            if let Some(r) = alias.reasoning.as_deref() {
                let key = format!("models.{name}.reasoning");
                aliases.insert(name.clone(), parse(r, alias.thinking_budget, &key)?);
            }
        }
        let cache = match config.cache.as_deref() {
            None => None,
            Some("off") => Some(None),
            Some(ttl) => Some(Some(ttl.parse().map_err(|e| {
                agent::Error::Usage(format!("config: cache: {e} (or off)"))
            })?)),
        };
        Ok(ThinkingDefaults {
            reasoning,
            aliases,
            config_model: config.model.clone(),
            cache,
        })
    }

    /// The config's reasoning for a call whose `-m` is `model` (an alias, perhaps).
    pub(crate) fn fallback(&self, model: Option<&str>) -> Option<Reasoning> {
        model
            .or(self.config_model.as_deref())
            .and_then(|m| self.aliases.get(m).copied())
            .or(self.reasoning)
    }

    /// The cache lifetime (`None`: off) and whether a flag or the config chose it.
    pub(crate) fn cache(&self, show: &ReasoningShowArgs) -> (Option<CacheTtl>, bool) {
        if show.no_cache {
            return (None, true);
        }
        match show.cache_ttl {
            Some(CacheTtlArg::FiveMinutes) => (Some(CacheTtl::FiveMinutes), true),
            Some(CacheTtlArg::OneHour) => (Some(CacheTtl::OneHour), true),
            None => match self.cache {
                Some(c) => (c, true),
                None => (Some(CacheTtl::FiveMinutes), false),
            },
        }
    }
}
