//! The command line, as clap types only: no I/O, no logic. Doc comments become `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use clap_complete::engine::ArgValueCompleter;

use crate::completion::{model_names, provider_names, session_ids};

mod shell;
pub(crate) use shell::{
    ChatArgs, ColorChoice, CompletionsArgs, GenerateCommand, LsSort, ManArgs, RenameArgs,
    SessionChatArgs, Shell, ShowFormat,
};

/// Multi-turn conversations with language models, for shell pipelines, scripts and CI.
///
/// Replies stream to stdout; progress, warnings and errors go to stderr.
#[derive(Debug, Parser)]
#[command(name = "agent", version, after_help = crate::exit::TABLE, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Data directory [default: $XDG_DATA_HOME/agent or ~/.local/share/agent]
    #[arg(long, global = true, env = "AGENT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Session store: dir:PATH, sqlite:PATH, redis://[user:pass@]host:port[/db] or rediss://...
    /// [default: dir:DATA_DIR]
    #[arg(
        long,
        global = true,
        env = "AGENT_STORE",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub(crate) store: Option<String>,
    /// Config file [default: $XDG_CONFIG_HOME/agent/config.yaml]
    #[arg(long, global = true, env = "AGENT_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// No progress or notes on stderr (errors are still printed)
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Say more on stderr (resolved provider, model and URL)
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Colour transcripts and tables: auto (a terminal without NO_COLOR), always or never
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub(crate) color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Manage and continue stored sessions
    #[command(subcommand)]
    Session(SessionCommand),
    /// One-shot prompt in an in-memory session (saved only with --save), or a turn of --session ID
    /// or of the session used last (-c)
    Run(RunArgs),
    /// Structured output: JSON that validates against a schema, or exit 4
    Json(JsonArgs),
    /// List the models a provider reports, one id per line
    Models(ModelsArgs),
    /// Chat in a new stored session (its id goes to stderr); see `agent session chat`
    Chat(ChatArgs),
    /// Shell completions and man pages, generated from these definitions
    #[command(subcommand, hide = true)]
    Generate(GenerateCommand),
    /// Copy sessions between stores and check stored documents
    #[command(subcommand)]
    Store(StoreCommand),
    /// Executable tools the model may call
    #[command(subcommand)]
    Tool(ToolCommand),
}

#[derive(Debug, Args)]
pub(crate) struct ModelsArgs {
    /// Provider [env: AGENT_PROVIDER; default: the config's, openai]
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(provider_names))]
    pub(crate) provider: Option<String>,
    /// Provider base URL [env: OPENAI_BASE_URL, ANTHROPIC_BASE_URL, GEMINI_BASE_URL, OLLAMA_HOST]
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Copy sessions from one store to another, verifying each copy
    Copy(StoreCopyArgs),
    /// Validate every document in a store and report problems on stderr (changes nothing)
    Check(StoreCheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct StoreCopyArgs {
    /// Source store URL (dir:PATH, sqlite:PATH, redis://...)
    pub(crate) from: String,
    /// Destination store URL
    pub(crate) to: String,
    /// Copy only these sessions [default: all]
    #[arg(long, num_args = 1.., value_name = "ID")]
    pub(crate) ids: Vec<String>,
    /// Replace sessions that already exist in the destination
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StoreCheckArgs {
    /// Store URL [default: the configured store]
    pub(crate) url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// Create a session and print its id
    New(NewArgs),
    /// Send one user turn with the whole history and stream the reply
    Run(SessionRunArgs),
    /// Re-send the last failed turn of a session
    Retry(RetryArgs),
    /// Copy a session (or its first N messages) into a new one and print the new id
    Fork(ForkArgs),
    /// Print a session's transcript, or its stored document with --json
    Show(ShowArgs),
    /// List sessions, most recently used first
    Ls(LsArgs),
    /// Delete sessions
    Rm(RmArgs),
    /// Drop a session's messages, keeping its system prompt and settings
    Clear(IdArg),
    /// Append a message to a session without calling the model
    Add(AddArgs),
    /// Print a session's stored document (same as `show --json`)
    Export(IdArg),
    /// Store a session document read from a file or stdin
    Import(ImportArgs),
    /// A structured-output turn of a session (same as `agent json --session ID`)
    Json(SessionJsonArgs),
    /// Chat with a session: a line-editing loop, or one turn per line of piped stdin
    Chat(SessionChatArgs),
    /// Set a session's title
    Rename(RenameArgs),
    /// Turns, tokens, cost, models and activity of a session
    Stats(StatsArgs),
    /// Replace all but the last N messages with a summary written by the model
    Compact(CompactArgs),
    /// Remove the last N exchanges (the removed messages are printed on stderr)
    Undo(UndoArgs),
}

#[derive(Debug, Args)]
pub(crate) struct IdArg {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Reply text as it streams
    Text,
    /// One JSON object when the turn ends
    Json,
    /// One JSON event per line as they happen
    Jsonl,
}

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
    /// Retries on connection errors, 408, 429 and 5xx, before any reply arrived [default: 2]
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u32>,
    /// Seconds to wait for the provider to answer or send more [default: 600]
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
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
    #[command(flatten)]
    pub(crate) tools: ToolArgs,
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
}

/// Tool options of a turn.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ToolArgs {
    #[command(flatten)]
    pub(crate) files: ToolFileArgs,
    /// No tools for this turn, not even the session's or the config's
    #[arg(long, conflicts_with_all = ["tool", "tools"])]
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

#[derive(Debug, Subcommand)]
pub(crate) enum ToolCommand {
    /// Run a tool file by hand, exactly as a model's call would (arguments validated first), and
    /// print the result the model would get; exit 1 when that is an error result
    Test(ToolTestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ToolTestArgs {
    /// The tool file
    pub(crate) file: PathBuf,
    /// The arguments as one JSON object [default: stdin when piped, else {}]
    pub(crate) arguments: Option<String>,
    /// The AGENT_SESSION_ID the tool sees
    #[arg(long, value_name = "ID", default_value = "tool-test")]
    pub(crate) session_id: String,
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Session id [default: generated, sortable]
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// System prompt
    #[arg(short, long, conflicts_with = "system_file")]
    pub(crate) system: Option<String>,
    /// Read the system prompt from a file
    #[arg(long, value_name = "PATH")]
    pub(crate) system_file: Option<PathBuf>,
    /// Title for listings
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// Model to store with the session
    #[arg(short, long, add = ArgValueCompleter::new(model_names))]
    pub(crate) model: Option<String>,
    /// Provider to store with the session
    #[arg(long, add = ArgValueCompleter::new(provider_names))]
    pub(crate) provider: Option<String>,
    /// Initial history: a JSON array of {"role","content"} objects (- for stdin)
    #[arg(long, value_name = "FILE")]
    pub(crate) messages: Option<PathBuf>,
    /// Replace an existing session with the same id
    #[arg(long)]
    pub(crate) force: bool,
    // Tools the session remembers: every later turn may call them.
    #[command(flatten)]
    pub(crate) tools: ToolFileArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SessionRunArgs {
    /// Session id
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
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
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
    #[arg(long, value_name = "SCHEMA", value_hint = ValueHint::FilePath)]
    pub(crate) schema: String,
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
    #[arg(long, value_name = "ID", add = ArgValueCompleter::new(session_ids))]
    pub(crate) session: Option<String>,
    #[command(flatten)]
    pub(crate) json: JsonOptions,
}

#[derive(Debug, Args)]
pub(crate) struct SessionJsonArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Prompt (joined with spaces; stdin's text, when piped, comes first)
    pub(crate) prompt: Vec<String>,
    #[command(flatten)]
    pub(crate) json: JsonOptions,
}

#[derive(Debug, Args)]
pub(crate) struct ForkArgs {
    /// Source session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) src: String,
    /// New session id [default: generated]
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// Copy only the first N messages
    #[arg(long, value_name = "N")]
    pub(crate) at: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Print the exact stored document (same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,
    /// text (coloured on a terminal), markdown (a clean transcript), or json (same as export)
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: ShowFormat,
    /// Only the last N messages
    #[arg(long, value_name = "N")]
    pub(crate) last: Option<usize>,
    /// Also the summary of compacted history and the messages it replaced
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// One JSON array of session summaries
    #[arg(long, conflicts_with = "ids")]
    pub(crate) json: bool,
    /// Only the ids, one per line
    #[arg(long)]
    pub(crate) ids: bool,
    /// At most N sessions
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// Order: updated (most recently used first), created (newest first) or id
    #[arg(long, value_enum, default_value = "updated")]
    pub(crate) sort: LsSort,
    /// Only sessions whose title or messages contain TEXT (case-insensitive)
    #[arg(long, value_name = "TEXT")]
    pub(crate) search: Option<String>,
    /// Only sessions used within this long, e.g. 7d, 12h, 30m
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub(crate) since: Option<std::time::Duration>,
    /// Add token and cost totals per session (reads every document)
    #[arg(long)]
    pub(crate) usage: bool,
}

/// `30d`, `12h`, `90m`, `1w` ...
fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30d, 12h, 90m)"))
}

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// One JSON object
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompactArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Messages at the end left as they are
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) keep: usize,
    /// Instructions for the summary, replacing the default
    #[arg(long, value_name = "TEXT")]
    pub(crate) instructions: Option<String>,
    #[command(flatten)]
    pub(crate) model: ModelArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UndoArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// How many exchanges to remove
    #[arg(default_value_t = 1)]
    pub(crate) n: usize,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Session ids
    #[arg(required_unless_present = "older_than", add = ArgValueCompleter::new(session_ids))]
    pub(crate) ids: Vec<String>,
    /// Remove every session not used within this long, e.g. 30d
    #[arg(long, value_name = "AGE", value_parser = parse_age, conflicts_with = "ids")]
    pub(crate) older_than: Option<std::time::Duration>,
    /// Ignore ids that do not exist
    #[arg(short, long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// Session id
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// Who wrote the message
    #[arg(long, value_parser = ["user", "assistant"])]
    pub(crate) role: String,
    /// Message text [default: read from stdin]
    pub(crate) text: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Session document (JSON), or - for stdin
    pub(crate) file: PathBuf,
    /// Replace an existing session with the same id
    #[arg(long)]
    pub(crate) force: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
