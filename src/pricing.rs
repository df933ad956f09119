//! Prices and context windows of well-known models, overridable from the config.
//!
//! Prices are US dollars per million tokens as published on the providers' pricing pages
//! (openai.com/api/pricing, anthropic.com/pricing, ai.google.dev/gemini-api/docs/pricing),
//! read 2025-10; standard tier, text, prompts under 200k tokens. An unknown model has no price
//! and therefore no cost: never a guess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Usage;

/// Dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Prompt tokens.
    pub input: f64,
    /// Completion tokens (reasoning included).
    pub output: f64,
    /// Prompt tokens served from the provider's cache, when cheaper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
}

const fn p(input: f64, output: f64, cached: f64) -> Price {
    Price {
        input,
        output,
        cached_input: Some(cached),
    }
}

/// Built-in prices by model-name prefix; the longest matching prefix wins, so dated snapshots
/// (`gpt-4o-mini-2024-07-18`) find their family.
const PRICES: &[(&str, Price)] = &[
    ("gpt-4o", p(2.50, 10.00, 1.25)),
    ("gpt-4o-mini", p(0.15, 0.60, 0.075)),
    ("gpt-4.1", p(2.00, 8.00, 0.50)),
    ("gpt-4.1-mini", p(0.40, 1.60, 0.10)),
    ("gpt-4.1-nano", p(0.10, 0.40, 0.025)),
    ("gpt-5", p(1.25, 10.00, 0.125)),
    ("gpt-5-mini", p(0.25, 2.00, 0.025)),
    ("gpt-5-nano", p(0.05, 0.40, 0.005)),
    ("o3", p(2.00, 8.00, 0.50)),
    ("o3-mini", p(1.10, 4.40, 0.55)),
    ("o4-mini", p(1.10, 4.40, 0.275)),
    ("claude-opus-4", p(15.00, 75.00, 1.50)),
    ("claude-sonnet-4", p(3.00, 15.00, 0.30)),
    ("claude-3-7-sonnet", p(3.00, 15.00, 0.30)),
    ("claude-haiku-4-5", p(1.00, 5.00, 0.10)),
    ("claude-3-5-haiku", p(0.80, 4.00, 0.08)),
    ("gemini-2.5-pro", p(1.25, 10.00, 0.31)),
    ("gemini-2.5-flash", p(0.30, 2.50, 0.075)),
    ("gemini-2.5-flash-lite", p(0.10, 0.40, 0.025)),
    ("gemini-2.0-flash", p(0.10, 0.40, 0.025)),
];

/// Context windows in tokens, by model-name prefix (longest prefix wins).
const WINDOWS: &[(&str, u64)] = &[
    ("gpt-4o", 128_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-5", 400_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4-mini", 200_000),
    ("claude-", 200_000),
    ("gemini-2.5", 1_048_576),
    ("gemini-2.0-flash", 1_048_576),
];

fn longest_prefix<T: Copy>(table: &[(&str, T)], model: &str) -> Option<(usize, T)> {
    // Routed names (`openai/gpt-4o`) match as their last segment; exact names match too.
    let name = model.rsplit('/').next().unwrap_or(model);
    table
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix) || model == *prefix)
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(prefix, v)| (prefix.len(), *v))
}

fn pick<T: Copy>(own: &[(&str, T)], builtin: &[(&str, T)], model: &str) -> Option<T> {
    match (longest_prefix(own, model), longest_prefix(builtin, model)) {
        (Some((a, v)), Some((b, _))) if a >= b => Some(v),
        (Some(_), Some((_, v))) | (None, Some((_, v))) => Some(v),
        (Some((_, v)), None) => Some(v),
        (None, None) => None,
    }
}

/// The price table: built-ins plus the config's `prices:` (exact model names, or prefixes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices {
    overrides: BTreeMap<String, Price>,
    windows: BTreeMap<String, u64>,
}

impl Prices {
    /// Built-ins extended (and overridden) by `prices` and `context_windows`.
    pub fn new(prices: BTreeMap<String, Price>, windows: BTreeMap<String, u64>) -> Self {
        Prices {
            overrides: prices,
            windows,
        }
    }

    /// The price of `model`, if known: the longest matching prefix of either table, the
    /// config's winning a tie (so overriding `gpt-4o` leaves `gpt-4o-mini` alone).
    pub fn price(&self, model: &str) -> Option<Price> {
        let own: Vec<(&str, Price)> = self
            .overrides
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        pick(&own, PRICES, model)
    }

    /// The cost in dollars of `usage` on `model`, if its price is known.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        let price = self.price(model)?;
        let cached = usage.cached_tokens.unwrap_or(0).min(usage.input_tokens);
        let fresh = usage.input_tokens - cached;
        let cached_rate = price.cached_input.unwrap_or(price.input);
        Some(
            (fresh as f64 * price.input
                + cached as f64 * cached_rate
                + usage.output_tokens as f64 * price.output)
                / 1_000_000.0,
        )
    }

    /// The context window of `model` in tokens, if known.
    pub fn context_window(&self, model: &str) -> Option<u64> {
        let own: Vec<(&str, u64)> = self.windows.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        pick(&own, WINDOWS, model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cached: Option<u64>) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: cached,
            reasoning_tokens: None,
        }
    }

    #[test]
    fn cost_arithmetic() {
        let prices = Prices::default();
        // 1M in at $0.15 + 1M out at $0.60.
        let c = prices
            .cost("gpt-4o-mini-2024-07-18", &usage(1_000_000, 1_000_000, None))
            .unwrap();
        assert!((c - 0.75).abs() < 1e-12, "{c}");
        // The longest prefix wins: gpt-4o-mini is not priced as gpt-4o.
        let c = prices.cost("gpt-4o", &usage(1_000, 500, None)).unwrap();
        assert!(
            (c - (1_000.0 * 2.5 + 500.0 * 10.0) / 1e6).abs() < 1e-12,
            "{c}"
        );
        // Cached prompt tokens at the cached rate.
        let c = prices
            .cost("claude-sonnet-4-5", &usage(10_000, 0, Some(8_000)))
            .unwrap();
        assert!(
            (c - (2_000.0 * 3.0 + 8_000.0 * 0.30) / 1e6).abs() < 1e-12,
            "{c}"
        );
        assert_eq!(prices.cost("my-local-llama", &usage(10, 10, None)), None);
    }

    #[test]
    fn config_overrides_and_extends() {
        let mut own = BTreeMap::new();
        own.insert(
            "my-model".to_string(),
            Price {
                input: 1.0,
                output: 2.0,
                cached_input: None,
            },
        );
        own.insert(
            "gpt-4o".to_string(),
            Price {
                input: 0.0,
                output: 0.0,
                cached_input: None,
            },
        );
        own.insert(
            "gpt".to_string(),
            Price {
                input: 9.0,
                output: 9.0,
                cached_input: None,
            },
        );
        let prices = Prices::new(own, BTreeMap::from([("my-model".to_string(), 8192)]));
        assert_eq!(
            prices.cost("my-model", &usage(1_000_000, 0, None)),
            Some(1.0)
        );
        assert_eq!(
            prices.cost("gpt-4o-2024-08-06", &usage(1_000_000, 0, None)),
            Some(0.0)
        );
        assert_eq!(
            prices.cost("gpt-4o-mini", &usage(1_000_000, 0, None)),
            Some(0.15)
        );
        assert_eq!(prices.cost("gpt-9", &usage(1_000_000, 0, None)), Some(9.0));
        assert_eq!(prices.context_window("my-model"), Some(8192));
        assert_eq!(prices.context_window("claude-haiku-4-5"), Some(200_000));
        assert_eq!(prices.context_window("openai/gpt-4o-mini"), Some(128_000));
        assert_eq!(prices.context_window("llama3.2"), None);
    }
}
