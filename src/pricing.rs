//! Prices and context windows of well-known models, overridable from the config.
//!
//! Prices are US dollars per million tokens, standard tier, text. Sources, read 2026-11-25:
//! - Anthropic: platform.claude.com/docs/en/about-claude/pricing and the per-model pages
//!   (`platform.claude.com/docs/en/models/MODEL/overview`).
//! - OpenAI: the per-model pages under developers.openai.com/api/docs/models (its pricing page
//!   was not available to read); gpt-4o and gpt-4.1 as long published.
//! - Google: ai.google.dev/gemini-api/docs/pricing and /models, with the changelog's announced
//!   price changes and shutdowns.
//!
//! A model is left out when its price could not be read from the provider itself.
//!
//! Never a guess: a built-in entry prices only its own model name and that name's snapshots
//! (`claude-opus-4-5-20251101`, `gpt-4o-2024-08-06`, `gemini-2.5-flash-001`), so
//! `claude-opus-4-8` is not priced as `claude-opus-4`. A price change the provider announced is
//! two entries with dates, so the table does not go stale on that day. Models being shut down
//! keep their price: a request after the shutdown fails, and a rerouted one reports its new
//! model. Unknown means no cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Usage;

/// Dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Prompt tokens.
    pub input: f64,
    /// Completion tokens (reasoning included).
    pub output: f64,
    /// Prompt tokens served from the provider's cache, when cheaper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    /// Rates for a whole request whose prompt is over a size (long-context pricing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long: Option<LongPrice>,
}

/// The rates of a request whose prompt has more than `above` tokens, for all its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongPrice {
    /// Prompt tokens beyond which these rates apply.
    pub above: u64,
    /// Prompt tokens.
    pub input: f64,
    /// Completion tokens.
    pub output: f64,
    /// Cached prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
}

impl Price {
    /// Input and output rates, nothing else known.
    pub const fn new(input: f64, output: f64) -> Self {
        Price {
            input,
            output,
            cached_input: None,
            long: None,
        }
    }

    const fn cached(mut self, rate: f64) -> Self {
        self.cached_input = Some(rate);
        self
    }

    const fn above(mut self, above: u64, input: f64, output: f64, cached: Option<f64>) -> Self {
        self.long = Some(LongPrice {
            above,
            input,
            output,
            cached_input: cached,
        });
        self
    }
}

/// A built-in fact about one model, valid on `[from, until)` (ISO dates, UTC) when given.
struct Entry<T> {
    model: &'static str,
    value: T,
    from: Option<&'static str>,
    until: Option<&'static str>,
}

const fn e<T>(model: &'static str, value: T) -> Entry<T> {
    Entry {
        model,
        value,
        from: None,
        until: None,
    }
}

impl<T> Entry<T> {
    const fn until(mut self, date: &'static str) -> Self {
        self.until = Some(date);
        self
    }

    const fn from(mut self, date: &'static str) -> Self {
        self.from = Some(date);
        self
    }
}

const fn p(input: f64, output: f64) -> Price {
    Price::new(input, output)
}

// OpenAI: GPT-5.4 and later bill a request over 272K prompt tokens at 2x input and 1.5x output.
const PRICES: &[Entry<Price>] = &[
    e(
        "gpt-6.2-astra",
        p(8.00, 40.00).above(272_000, 16.00, 60.00, None),
    ),
    e(
        "gpt-6.2-sol",
        p(2.00, 10.00)
            .cached(0.10)
            .above(272_000, 4.00, 15.00, Some(0.20)),
    ),
    e(
        "gpt-6.1-terra",
        p(1.00, 5.00).above(272_000, 2.00, 7.50, None),
    ),
    e(
        "gpt-6-astra",
        p(10.00, 50.00)
            .cached(1.00)
            .above(272_000, 20.00, 75.00, Some(2.00)),
    ),
    e(
        "gpt-5.6-luna",
        p(0.20, 1.20)
            .cached(0.02)
            .above(272_000, 0.40, 1.80, Some(0.04)),
    ),
    e(
        "gpt-5.4-nano",
        p(0.20, 1.25)
            .cached(0.02)
            .above(272_000, 0.40, 1.875, Some(0.04)),
    ),
    e("gpt-5.1", p(1.25, 10.00).cached(0.125)),
    e("gpt-5", p(1.25, 10.00).cached(0.125)),
    e("gpt-5-mini", p(0.25, 2.00).cached(0.025)),
    e("gpt-5-nano", p(0.05, 0.40).cached(0.005)),
    e("o3", p(2.00, 8.00).cached(0.50)),
    e("gpt-4.1", p(2.00, 8.00).cached(0.50)),
    e("gpt-4.1-mini", p(0.40, 1.60).cached(0.10)),
    e("gpt-4o", p(2.50, 10.00).cached(1.25)),
    e("gpt-4o-mini", p(0.15, 0.60).cached(0.075)),
    // Anthropic: cache reads are 0.1x input (0.025x on Fable and Mythos 5.1).
    e("claude-fable-5-1", p(10.00, 50.00).cached(0.25)),
    e("claude-mythos-5-1", p(10.00, 50.00).cached(0.25)),
    e("claude-fable-5", p(10.00, 50.00).cached(1.00)),
    e("claude-mythos-5", p(10.00, 50.00).cached(1.00)),
    e("claude-opus-5-5", p(4.00, 20.00).cached(0.20)),
    e("claude-opus-5", p(5.00, 25.00).cached(0.50)),
    e("claude-opus-4-8", p(5.00, 25.00).cached(0.50)),
    e("claude-opus-4-7", p(5.00, 25.00).cached(0.50)),
    e("claude-opus-4-6", p(5.00, 25.00).cached(0.50)),
    e("claude-opus-4-5", p(5.00, 25.00).cached(0.50)),
    e("claude-opus-4-1", p(15.00, 75.00).cached(1.50)),
    e("claude-opus-4", p(15.00, 75.00).cached(1.50)),
    e("claude-sonnet-5-5", p(2.00, 10.00).cached(0.20)),
    e("claude-sonnet-5", p(2.00, 10.00).cached(0.20)),
    e("claude-sonnet-4-6", p(3.00, 15.00).cached(0.30)),
    e("claude-sonnet-4-5", p(3.00, 15.00).cached(0.30)),
    // Over 100K prompt tokens, every token of the request at the higher rate.
    e(
        "claude-haiku-5-5",
        p(0.10, 0.50).above(100_000, 0.50, 2.50, None),
    ),
    e("claude-haiku-4-5", p(1.00, 5.00).cached(0.10)),
    // Google: a price announced to change on a date is two entries.
    e("gemini-4-argon", p(2.00, 10.00)).until("2026-12-01"),
    e("gemini-4-argon", p(4.00, 20.00)).from("2026-12-01"),
    e("gemini-3.8-flash", p(0.75, 3.75)).until("2027-01-01"),
    e("gemini-3.8-flash", p(1.50, 7.50)).from("2027-01-01"),
    e("gemini-3.5-flash-lite", p(0.30, 2.50)),
    e(
        "gemini-3.1-pro-preview",
        p(2.00, 12.00).above(200_000, 4.00, 18.00, None),
    ),
    e(
        "gemini-2.5-pro",
        p(1.25, 10.00).above(200_000, 2.50, 15.00, None),
    ),
    e("gemini-2.5-flash", p(0.30, 2.50)),
    e("gemini-2.5-flash-lite", p(0.10, 0.40)),
];

/// Context windows in tokens, from the same pages.
const WINDOWS: &[Entry<u64>] = &[
    e("gpt-6.2-astra", 1_050_000),
    e("gpt-6.2-sol", 1_050_000),
    e("gpt-6.1-terra", 1_050_000),
    e("gpt-6-astra", 1_050_000),
    e("gpt-5.6-luna", 1_050_000),
    e("gpt-5.4-nano", 400_000),
    e("gpt-5.1", 400_000),
    e("gpt-5", 400_000),
    e("gpt-5-mini", 400_000),
    e("gpt-5-nano", 400_000),
    e("o3", 200_000),
    e("gpt-4.1", 1_047_576),
    e("gpt-4.1-mini", 1_047_576),
    e("gpt-4o", 128_000),
    e("gpt-4o-mini", 128_000),
    e("claude-fable-5-1", 1_000_000),
    e("claude-mythos-5-1", 1_000_000),
    e("claude-fable-5", 1_000_000),
    e("claude-mythos-5", 1_000_000),
    e("claude-opus-5-5", 1_000_000),
    e("claude-opus-5", 1_000_000),
    e("claude-opus-4-8", 1_000_000),
    e("claude-opus-4-5", 200_000),
    e("claude-sonnet-5-5", 1_000_000),
    e("claude-sonnet-5", 1_000_000),
    e("claude-sonnet-4-6", 1_000_000),
    e("claude-sonnet-4-5", 200_000),
    e("claude-haiku-5-5", 1_000_000),
    e("claude-haiku-4-5", 200_000),
    e("gemini-4-argon", 1_048_576),
    e("gemini-3.8-flash", 1_048_576),
    e("gemini-3.5-flash-lite", 1_048_576),
    e("gemini-2.5-pro", 1_048_576),
    e("gemini-2.5-flash", 1_048_576),
    e("gemini-2.5-flash-lite", 1_048_576),
];

/// Routed names (`openai/gpt-4o`) are looked up by their last segment.
fn base_name(model: &str) -> &str {
    model.rsplit('/').next().unwrap_or(model)
}

/// `name` is `model` itself or one of its snapshots: a date (`-20251101`, `-2024-08-06`), a
/// three-digit version (`-001`) or `-latest`. A short number is a newer model, not a snapshot:
/// `claude-opus-4-9` is not `claude-opus-4`.
fn names(model: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(model) else {
        return false;
    };
    let Some(suffix) = rest.strip_prefix('-') else {
        return rest.is_empty();
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let date = suffix.len() == 10
        && suffix.split('-').map(str::len).eq([4, 2, 2])
        && suffix.split('-').all(digits);
    suffix == "latest" || (digits(suffix) && matches!(suffix.len(), 3 | 8)) || date
}

/// The built-in value for `model` on `today` (`YYYY-MM-DD`), with the length of the entry's name.
fn builtin<T: Copy>(table: &[Entry<T>], model: &str, today: &str) -> Option<(usize, T)> {
    let name = base_name(model);
    table
        .iter()
        .filter(|e| names(e.model, name))
        .filter(|e| e.from.is_none_or(|d| today >= d) && e.until.is_none_or(|d| today < d))
        .max_by_key(|e| e.model.len())
        .map(|e| (e.model.len(), e.value))
}

/// The config's value for `model`: its keys are exact names or prefixes, the longest winning.
fn configured<T: Copy>(own: &BTreeMap<String, T>, model: &str) -> Option<(usize, T)> {
    let name = base_name(model);
    own.iter()
        .filter(|(prefix, _)| name.starts_with(prefix.as_str()) || model == prefix.as_str())
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(prefix, v)| (prefix.len(), *v))
}

/// The config's entry wins unless a built-in names the model more precisely (so overriding
/// `gpt-4o` leaves `gpt-4o-mini` alone).
fn pick<T: Copy>(own: Option<(usize, T)>, builtin: Option<(usize, T)>) -> Option<T> {
    match (own, builtin) {
        (Some((a, v)), Some((b, _))) if a >= b => Some(v),
        (_, Some((_, v))) => Some(v),
        (Some((_, v)), None) => Some(v),
        (None, None) => None,
    }
}

fn today() -> String {
    crate::time::now()[..10].to_string()
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

    /// The price of `model` today, if known.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.price_on(model, &today())
    }

    /// The price of `model` on `date` (`YYYY-MM-DD`), if known: the config's `prices:` (exact
    /// names or prefixes) or a built-in entry for the model or its snapshots.
    pub fn price_on(&self, model: &str, date: &str) -> Option<Price> {
        pick(
            configured(&self.overrides, model),
            builtin(PRICES, model, date),
        )
    }

    /// The cost in dollars of `usage` on `model`, if its price is known, to 6 significant
    /// digits ([`round_usd`]).
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        Some(round_usd(cost_at(self.price(model)?, usage)))
    }

    /// The context window of `model` in tokens, if known.
    pub fn context_window(&self, model: &str) -> Option<u64> {
        pick(
            configured(&self.windows, model),
            builtin(WINDOWS, model, &today()),
        )
    }
}

/// `usd` to 6 significant digits, so documents and JSON say `0.0000219`, not the
/// `0.000021899999999999997` that binary fractions make of a product or a sum. Prices are
/// known to 3 or 4 digits, so nothing real is lost. Dividing the rounded integer by an exact
/// power of ten gives the double nearest the decimal, which serde_json prints as written.
pub fn round_usd(usd: f64) -> f64 {
    if usd == 0.0 || !usd.is_finite() {
        return usd;
    }
    let digits = 5 - usd.abs().log10().floor() as i32;
    match digits {
        0..=22 => {
            let scale = 10f64.powi(digits);
            (usd * scale).round() / scale
        }
        // Under a trillionth of a trillionth of a dollar, or over a million: as it is.
        _ if digits > 22 => usd,
        _ => usd.round(),
    }
}

/// `usage` priced at `price`: cache reads at the cached rate, cache writes at 1.25x input for
/// five minutes and 2x for an hour (Anthropic, the only provider that bills writes:
/// <https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#pricing>), and a prompt
/// over the long-context size at the long rates for the whole request.
fn cost_at(price: Price, usage: &Usage) -> f64 {
    let (input, output, cached_rate) = rates(price, usage);
    let read = usage.cache_read_tokens.unwrap_or(0).min(usage.input_tokens);
    let written = usage
        .cache_write_tokens
        .unwrap_or(0)
        .min(usage.input_tokens - read);
    let hour = usage.cache_write_1h_tokens.unwrap_or(0).min(written);
    let fresh = usage.input_tokens - read - written;
    let writes = (written - hour) as f64 * input * 1.25 + hour as f64 * input * 2.0;
    (fresh as f64 * input
        + read as f64 * cached_rate
        + writes
        + usage.output_tokens as f64 * output)
        / 1_000_000.0
}

/// Input, output and cached-input rates for `usage`'s size.
fn rates(price: Price, usage: &Usage) -> (f64, f64, f64) {
    match price.long {
        Some(long) if usage.input_tokens > long.above => (
            long.input,
            long.output,
            long.cached_input.unwrap_or(long.input),
        ),
        _ => (
            price.input,
            price.output,
            price.cached_input.unwrap_or(price.input),
        ),
    }
}

impl Prices {
    /// What caching saved on `usage` against the same prompt at full price, in dollars (less
    /// the write premium); `None` when the price is unknown or nothing was cached.
    pub fn cache_savings(&self, model: &str, usage: &Usage) -> Option<f64> {
        usage.cache_read_tokens.or(usage.cache_write_tokens)?;
        let price = self.price(model)?;
        let uncached = Usage {
            cache_read_tokens: None,
            cache_write_tokens: None,
            cache_write_1h_tokens: None,
            ..usage.clone()
        };
        Some(cost_at(price, &uncached) - cost_at(price, usage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cached: Option<u64>) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cached,
            ..Usage::default()
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn costs_are_rounded_to_six_digits() {
        assert_eq!(round_usd(0.000021899999999999997), 0.0000219);
        assert_eq!(round_usd(0.1 + 0.2), 0.3);
        assert_eq!(round_usd(1.23456789), 1.23457);
        assert_eq!(round_usd(0.0), 0.0);
        assert_eq!(
            serde_json::json!(round_usd(0.000021899999999999997)).to_string(),
            "0.0000219"
        );
    }

    #[test]
    fn cost_arithmetic() {
        let prices = Prices::default();
        let on = |model: &str, u: &Usage| Some(cost_at(prices.price_on(model, "2026-11-25")?, u));
        // 1M in at $0.15 + 1M out at $0.60, through a dated snapshot.
        let u = usage(1_000_000, 1_000_000, None);
        assert!(close(on("gpt-4o-mini-2024-07-18", &u), 0.75));
        assert!(close(
            on("gpt-4o", &usage(1_000, 500, None)),
            (2_500.0 + 5_000.0) / 1e6
        ));
        // Cached prompt tokens at the cached rate.
        let u = usage(10_000, 0, Some(8_000));
        assert!(close(
            on("claude-opus-4-5-20251101", &u),
            (2_000.0 * 5.0 + 8_000.0 * 0.5) / 1e6
        ));
        // Over the long-context size, the whole request at the long rates.
        assert!(close(
            on("claude-haiku-5-5", &usage(100_000, 1_000, None)),
            0.01 + 0.0005
        ));
        assert!(close(
            on("claude-haiku-5-5", &usage(100_001, 1_000, None)),
            0.0500005 + 0.0025
        ));
        assert_eq!(on("my-local-llama", &usage(10, 10, None)), None);
    }

    #[test]
    fn cache_reads_and_writes_are_priced_apart() {
        // claude-haiku-4-5: $1 in, $5 out, reads $0.10.
        let price = Prices::default()
            .price_on("claude-haiku-4-5", "2026-11-25")
            .unwrap();
        let u = Usage {
            input_tokens: 1_000_000,
            output_tokens: 0,
            cache_read_tokens: Some(500_000),
            cache_write_tokens: Some(400_000),
            cache_write_1h_tokens: Some(100_000),
            reasoning_tokens: None,
        };
        // 100k fresh at $1, 500k reads at $0.10, 300k 5-minute writes at $1.25, 100k 1-hour
        // writes at $2.
        let expected = 0.1 + 0.05 + 0.375 + 0.2;
        assert!((cost_at(price, &u) - expected).abs() < 1e-12);
    }

    #[test]
    fn a_builtin_prices_its_own_model_and_snapshots_only() {
        let prices = Prices::default();
        let input = |model: &str| prices.price_on(model, "2026-11-25").map(|p| p.input);
        assert_eq!(input("claude-opus-4"), Some(15.0));
        assert_eq!(input("claude-opus-4-20250514"), Some(15.0));
        // A newer model is not its family's older price.
        assert_eq!(input("claude-opus-4-8"), Some(5.0));
        assert_eq!(input("claude-opus-4-9"), None);
        assert_eq!(input("claude-opus-5-7"), None);
        assert_eq!(input("gpt-4o-2024-08-06"), Some(2.5));
        assert_eq!(input("gpt-4o-mini"), Some(0.15));
        assert_eq!(input("gpt-4o-audio-preview"), None);
        assert_eq!(input("gpt-5.1-latest"), Some(1.25));
        assert_eq!(input("gemini-2.5-flash-001"), Some(0.30));
        assert_eq!(input("openrouter/gpt-6.2-sol"), Some(2.0));
    }

    #[test]
    fn dated_entries_price_nothing_outside_their_dates() {
        let prices = Prices::default();
        let input = |model: &str, date: &str| prices.price_on(model, date).map(|p| p.input);
        assert_eq!(input("gemini-4-argon", "2026-11-30"), Some(2.0));
        assert_eq!(input("gemini-4-argon", "2026-12-01"), Some(4.0));
        assert_eq!(input("gemini-3.8-flash", "2026-12-31"), Some(0.75));
        assert_eq!(input("gemini-3.8-flash", "2027-01-01"), Some(1.5));
    }

    #[test]
    fn config_overrides_and_extends() {
        let own = BTreeMap::from([
            ("my-model".to_string(), Price::new(1.0, 2.0)),
            ("gpt-4o".to_string(), Price::new(0.0, 0.0)),
            ("gpt".to_string(), Price::new(9.0, 9.0)),
        ]);
        let prices = Prices::new(own, BTreeMap::from([("my-model".to_string(), 8192)]));
        let input = |model: &str| prices.price_on(model, "2026-11-25").map(|p| p.input);
        assert_eq!(input("my-model"), Some(1.0));
        // Config keys are prefixes: they cover snapshots and families...
        assert_eq!(input("gpt-4o-2024-08-06"), Some(0.0));
        assert_eq!(input("gpt-9"), Some(9.0));
        // ...but a built-in naming the model more precisely wins.
        assert_eq!(input("gpt-4o-mini"), Some(0.15));
        assert_eq!(prices.context_window("my-model"), Some(8192));
        assert_eq!(prices.context_window("claude-haiku-4-5"), Some(200_000));
        assert_eq!(prices.context_window("openai/gpt-4o-mini"), Some(128_000));
        assert_eq!(prices.context_window("llama3.2"), None);
    }
}
