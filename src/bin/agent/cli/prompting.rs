//! The flags of the commands that ask the model: `run`, `session run|retry|json|chat`, `json`,
//! `chat`, and the model, request, tool and structured-output options they share.

use std::path::PathBuf;

use clap::{Args, ValueEnum, ValueHint};
use clap_complete::engine::ArgValueCompleter;

use crate::candidates::{model_names, provider_names, session_ids};
use crate::choices::Format;

/// Model and request options shared by every command that calls a model.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ModelArgs {
    /// Model, or an alias from config.yaml's models: [env: AGENT_MODEL; default: the session's,
    /// the config's, gpt-4o-mini]
    #[arg(short, long, value_name = "MODEL", add = ArgValueCompleter::new(model_names))]
    pub(crate) model: Option<String>,
    /// Provider [env: AGENT_PROVIDER; default: the session's, the config's, else the one the
    /// model name implies (claude-*: anthropic, gemini-*: gemini, gpt-*, o1/o3/o4*: openai),
    /// else openai]
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(provider_names))]
    pub(crate) provider: Option<String>,
    /// Provider base URL, e.g. http://127.0.0.1:8080/v1 for llama-server [env: OPENAI_BASE_URL,
    /// ANTHROPIC_BASE_URL, GEMINI_BASE_URL, OLLAMA_HOST]
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// Sampling temperature
    #[arg(short, long, value_name = "T")]
    pub(crate) temperature: Option<f64>,
    /// Longest reply, in tokens
    #[arg(long, value_name = "N")]
    pub(crate) max_tokens: Option<u32>,
    #[command(flatten)]
    pub(crate) reasoning: super::ReasoningArgs,
    /// The protocol of an openai-kind provider: the Responses API or Chat Completions
    /// [config: providers.NAME.api; default: responses at OpenAI's own URL, else chat]
    #[arg(long, value_enum, value_name = "API")]
    pub(crate) api: Option<super::ApiArg>,
    /// Retries of a request that cannot have been processed: a connection that failed before it
    /// was sent, or a 408, 429 or 5xx answer (before any reply byte). A timeout or reset after
    /// the request went out is not retried: it may have been billed [default: 2]
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u32>,
    /// Seconds to wait for the provider to answer or send more [default: 600]
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// A model to ask when a request fails in a way retries could not cure (overloaded, 429 or
    /// 5xx after the retries, no connection), as MODEL or PROVIDER:MODEL; repeatable, tried in
    /// order [config: fallbacks: of a model alias]
    #[arg(long, value_name = "MODEL", add = ArgValueCompleter::new(model_names))]
    pub(crate) fallback: Vec<String>,
    /// Save every exchange with the provider in DIR, one JSON file per request, named by the
    /// hash of the request [env: AGENT_RECORD]
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath,
          conflicts_with_all = ["replay", "replay_or_record"])]
    pub(crate) record: Option<PathBuf>,
    /// Answer every request from the exchanges saved in DIR and never connect (no key needed);
    /// a request with none is exit 8 [env: AGENT_REPLAY]
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath,
          conflicts_with = "replay_or_record")]
    pub(crate) replay: Option<PathBuf>,
    /// Replay the exchanges DIR holds; send and record the others [env: AGENT_REPLAY_OR_RECORD]
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub(crate) replay_or_record: Option<PathBuf>,
}

/// Options of every exchange with the model: one-shot and session turns, and chats.
#[derive(Debug, Args, Clone)]
pub(crate) struct ExchangeArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Wait for each whole reply instead of streaming it
    #[arg(long)]
    pub(crate) no_stream: bool,
    /// Seconds to wait for another turn on the same session to finish [default: 300]
    #[arg(long, value_name = "SECS")]
    pub(crate) lock_timeout: Option<f64>,
    /// Print token usage, cost and timings on stderr after each turn
    #[arg(short, long)]
    pub(crate) usage: bool,
    /// When the request would not fit the model's context window: fail, leave the oldest
    /// messages out of the request, or compact the history first
    #[arg(long, value_enum, value_name = "POLICY", default_value = "error")]
    pub(crate) context: ContextArg,
    /// Compact the history before a turn when it is estimated above TOKENS [config: auto_compact]
    #[arg(long, value_name = "TOKENS")]
    pub(crate) auto_compact: Option<u64>,
    /// Fail the turn when its reply (text and tool arguments, every step) passes N bytes
    /// [config: max_reply_bytes; default: 67108864, 64 MiB]
    #[arg(long, value_name = "N")]
    pub(crate) max_reply_bytes: Option<usize>,
    /// Stop the turn before any further request once it has cost USD (every step, tool round
    /// and correction counted), or before the first when that request's input alone is
    /// estimated above it: exit 9, nothing added, the prompt kept for `retry`. The model needs
    /// a known price
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub(crate) max_cost: Option<f64>,
    #[command(flatten)]
    pub(crate) show: super::ReasoningShowArgs,
    #[command(flatten)]
    pub(crate) tools: ToolArgs,
    #[command(flatten)]
    pub(crate) attach: super::AttachArgs,
}

/// A positive amount of US dollars (`0.50`).
pub(crate) fn parse_usd(s: &str) -> Result<f64, String> {
    match s.trim_start_matches('$').parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err("expected a positive amount of US dollars, like 0.50".into()),
    }
}

/// Options of a conversational turn.
#[derive(Debug, Args, Clone)]
pub(crate) struct TurnArgs {
    #[command(flatten)]
    pub(crate) exchange: ExchangeArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
    /// Print the request body that would be sent (pretty JSON) and stop: nothing is sent or saved
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ContextArg {
    /// A clear error naming the session's size (exit 3)
    Error,
    /// Leave the oldest messages out of this request (they stay in the session)
    Trim,
    /// Compact the history into a summary first
    Compact,
}

/// Tool files: executables the model may call.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ToolFileArgs {
    /// A tool file (YAML or JSON) the model may call; repeatable
    #[arg(long = "tool", value_name = "FILE")]
    pub(crate) tool: Vec<PathBuf>,
    /// Every *.yaml, *.yml and *.json tool file in DIR; repeatable
    #[arg(long = "tools", value_name = "DIR")]
    pub(crate) tools: Vec<PathBuf>,
    /// MCP servers whose tools the model may call: a JSON or YAML file of `mcpServers`, or
    /// the NAME of one in the config's mcp_servers; repeatable
    #[arg(long = "mcp", value_name = "FILE|NAME", add = ArgValueCompleter::new(crate::candidates::mcp_names))]
    pub(crate) mcp: Vec<String>,
    /// Only the MCP servers given with --mcp: not the config's, nor the session's
    #[arg(long)]
    pub(crate) strict_mcp: bool,
}

/// Tool options of a turn.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ToolArgs {
    #[command(flatten)]
    pub(crate) files: ToolFileArgs,
    /// No tools for this turn, not even the session's or the config's
    #[arg(long, conflicts_with_all = ["tool", "tools", "mcp"])]
    pub(crate) no_tools: bool,
    /// Most model requests in this turn, the first included, so 1 allows no tool round
    /// [default: 10]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_steps: Option<u32>,
    /// Ask on the terminal before every tool call, not only tools marked `confirm: true`
    #[arg(long)]
    pub(crate) confirm: bool,
    /// Run tool calls that need confirmation without asking (required without a terminal)
    #[arg(long)]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SessionRunArgs {
    /// Session id (`last`: the most recently used one)
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Prompt (joined with spaces; stdin's text, when piped, comes first)
    pub(crate) prompt: Vec<String>,
    /// Create the session if it does not exist
    #[arg(long)]
    pub(crate) create: bool,
    /// System prompt for a session made by --create
    #[arg(short, long, requires = "create")]
    pub(crate) system: Option<String>,
    #[command(flatten)]
    pub(crate) turn: TurnArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RetryArgs {
    /// Session id (`last`: the most recently used one)
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Send a failed turn that is older than the session's last exchange
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) turn: TurnArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Prompt (joined with spaces; stdin's text, when piped, comes first)
    pub(crate) prompt: Vec<String>,
    /// System prompt
    #[arg(short, long)]
    pub(crate) system: Option<String>,
    /// Use the stored session ID instead of an in-memory one
    #[arg(long, visible_alias = "cid", value_name = "ID", add = ArgValueCompleter::new(session_ids))]
    pub(crate) session: Option<String>,
    /// Continue the most recently used stored session (by last update, not creation)
    #[arg(short = 'c', long = "continue", conflicts_with_all = ["session", "system", "save"])]
    pub(crate) continue_last: bool,
    /// Keep this one-shot as a new stored session and print its id on stderr
    #[arg(long, conflicts_with = "session")]
    pub(crate) save: bool,
    #[command(flatten)]
    pub(crate) turn: TurnArgs,
}

/// Options of a structured-output call.
#[derive(Debug, Args, Clone)]
pub(crate) struct JsonOptions {
    /// JSON Schema: a JSON or YAML file, - for stdin, inline JSON, or fields like 'name, age int, bio: one sentence'
    #[arg(long, value_name = "SCHEMA", value_hint = ValueHint::FilePath, required_unless_present = "template")]
    pub(crate) schema: Option<String>,
    /// Extract many records: the schema becomes {"items": [<schema>...]}
    #[arg(long)]
    pub(crate) multi: bool,
    /// With --multi, print one item per line
    #[arg(long, requires = "multi")]
    pub(crate) jsonl: bool,
    /// Pretty-print the JSON (the default when stdout is a terminal)
    #[arg(long)]
    pub(crate) pretty: bool,
    /// Correction turns when a reply does not validate
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) schema_retries: u32,
    /// Where to save the last raw reply when validation fails [default: DATA_DIR/invalid/]
    #[arg(long, value_name = "PATH")]
    pub(crate) save_invalid: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) turn: TurnArgs,
}

#[derive(Debug, Args)]
pub(crate) struct JsonArgs {
    /// Prompt (joined with spaces; stdin's text, when piped, comes first)
    pub(crate) prompt: Vec<String>,
    /// System prompt (one-shot calls)
    #[arg(short, long)]
    pub(crate) system: Option<String>,
    /// Run as a turn of the stored session ID (appended only when the reply is valid)
    #[arg(long, visible_alias = "cid", value_name = "ID", add = ArgValueCompleter::new(session_ids))]
    pub(crate) session: Option<String>,
    /// A turn of the most recently used stored session
    #[arg(short = 'c', long = "continue", conflicts_with_all = ["session", "system"])]
    pub(crate) continue_last: bool,
    #[command(flatten)]
    pub(crate) json: JsonOptions,
}

#[derive(Debug, Args)]
pub(crate) struct SessionJsonArgs {
    /// Session id (`last`: the most recently used one)
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Prompt (joined with spaces; stdin's text, when piped, comes first)
    pub(crate) prompt: Vec<String>,
    #[command(flatten)]
    pub(crate) json: JsonOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// System prompt of the new session
    #[arg(short, long)]
    pub(crate) system: Option<String>,
    /// Title for listings [default: the first prompt's first line]
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// Continue the most recently used stored session instead of starting one
    #[arg(short = 'c', long = "continue", conflicts_with_all = ["system", "title"])]
    pub(crate) continue_last: bool,
    /// Piped stdin: one turn per line instead of one message of the whole input
    #[arg(long)]
    pub(crate) lines: bool,
    #[command(flatten)]
    pub(crate) chat: ExchangeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SessionChatArgs {
    /// Session id (`last`: the most recently used one)
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Create the session if it does not exist
    #[arg(long)]
    pub(crate) create: bool,
    /// System prompt for a session made by --create
    #[arg(short, long, requires = "create")]
    pub(crate) system: Option<String>,
    /// Piped stdin: one turn per line instead of one message of the whole input
    #[arg(long)]
    pub(crate) lines: bool,
    #[command(flatten)]
    pub(crate) chat: ExchangeArgs,
}
