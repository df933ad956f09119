//! A turn's reasoning: which effort it asks for (flag > the session's stored value > config),
//! whether it caches, and how the reasoning the model streams is shown: on stderr as it
//! arrives, dimmed on a terminal, never on stdout; `--hide-reasoning` and `-q` silence it.

use serde_json::{json, Map, Value};

use agent::document::SessionData;
use agent::provider::{Effort, Reasoning};
use agent::RunOptions;

use crate::output::Output;
use crate::settings::Ask;

/// The keys under a session's `options` that remember its reasoning.
const EFFORT_KEY: &str = "reasoning";
const BUDGET_KEY: &str = "thinking_budget";

/// What a turn does about reasoning beyond its [`RunOptions`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Thoughts {
    /// The config's reasoning, when neither the flag nor the session says.
    fallback: Option<Reasoning>,
    /// Show reasoning on stderr.
    pub(crate) show: bool,
    /// A flag or the config chose the caching (else a one-shot turn leaves it off).
    cache_chosen: bool,
}

impl Thoughts {
    pub(crate) fn of(ask: &Ask) -> Self {
        Thoughts {
            fallback: ask.reasoning_default,
            show: !ask.hide_reasoning,
            cache_chosen: ask.cache.1,
        }
    }

    /// Fill in what the flags left open: the session's reasoning, else the config's; no cache
    /// for a one-shot turn nobody asked to cache.
    pub(crate) fn apply(&self, options: &mut RunOptions, data: &SessionData, persist: bool) {
        if options.reasoning.is_none() {
            options.reasoning = stored(data).or(self.fallback);
        }
        if !persist && !self.cache_chosen {
            options.cache = None;
        }
    }
}

/// The reasoning a session remembers (`session new --reasoning`).
pub(crate) fn stored(data: &SessionData) -> Option<Reasoning> {
    let effort: Effort = data.options.get(EFFORT_KEY)?.as_str()?.parse().ok()?;
    let budget = data
        .options
        .get(BUDGET_KEY)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    Some(Reasoning { effort, budget })
}

/// Remember `reasoning` in a session's options.
pub(crate) fn remember(options: &mut Map<String, Value>, reasoning: Reasoning) {
    options.insert(EFFORT_KEY.into(), json!(reasoning.effort.as_str()));
    match reasoning.budget {
        Some(n) => options.insert(BUDGET_KEY.into(), json!(n)),
        None => options.remove(BUDGET_KEY),
    };
}

/// Reasoning being shown on stderr during one turn, and all of it for `--format json`.
#[derive(Default)]
pub(crate) struct Shown {
    pub(crate) text: String,
    /// The stderr line is open (the reasoning did not end with a newline yet).
    open: bool,
}

impl Shown {
    /// A piece of reasoning: kept, and shown unless hidden.
    pub(crate) fn delta(&mut self, out: &Output, show: bool, text: &str) {
        self.text.push_str(text);
        if show && out.reasoning(text) {
            self.open = !text.ends_with('\n');
        }
    }

    /// Something else arrived: end the reasoning's line so the rest starts clear of it.
    pub(crate) fn close(&mut self, out: &Output) {
        if std::mem::take(&mut self.open) {
            out.reasoning_end();
        }
    }
}
