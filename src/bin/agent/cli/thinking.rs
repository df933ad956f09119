//! The flags of reasoning and prompt caching: how hard the model reasons, whether its
//! reasoning is shown, and how long Anthropic keeps the cached prefix.

use clap::{Args, ValueEnum};

/// `--reasoning` and `--thinking-budget`, on every command that sends a turn and on
/// `session new` (which remembers them).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ReasoningArgs {
    /// How hard the model reasons before it answers, mapped to each protocol's own control
    /// (OpenAI reasoning effort, Anthropic thinking budget, Gemini thinking level or budget,
    /// Ollama think) [config: reasoning; default: the session's, else the model's own]
    #[arg(long, value_enum, value_name = "EFFORT")]
    pub(crate) reasoning: Option<EffortArg>,
    /// Exact thinking budget in tokens for Anthropic and Gemini 2.5 (Anthropic's minimum is
    /// 1024); implies --reasoning medium when that is not given
    #[arg(long, value_name = "N")]
    pub(crate) thinking_budget: Option<u32>,
}

/// Reasoning display and caching options of an exchange.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ReasoningShowArgs {
    /// Do not show the model's reasoning on stderr (-q hides it too)
    #[arg(long)]
    pub(crate) hide_reasoning: bool,
    /// How long Anthropic keeps the cached prompt prefix; 1h writes cost 2x input, 5m 1.25x
    /// [config: cache; default: 5m]
    #[arg(long, value_enum, value_name = "TTL", conflicts_with = "no_cache")]
    pub(crate) cache_ttl: Option<CacheTtlArg>,
    /// No prompt caching breakpoints and no cache key for this turn [config: cache: off]
    #[arg(long)]
    pub(crate) no_cache: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EffortArg {
    /// No reasoning (a model that cannot turn it off says so)
    None,
    /// The least
    Minimal,
    /// Some
    Low,
    /// The usual
    Medium,
    /// The most
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CacheTtlArg {
    /// Five minutes, refreshed by each read
    #[value(name = "5m")]
    FiveMinutes,
    /// One hour
    #[value(name = "1h")]
    OneHour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApiArg {
    /// POST /responses
    Responses,
    /// POST /chat/completions
    Chat,
}
