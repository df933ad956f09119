//! The command line, as clap types only: no I/O, no logic. Doc comments become `--help`.
//!
//! Environment variables and `config.yaml` are not read here: [`crate::settings`] resolves
//! every value, with its precedence, once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::ArgValueCompleter;

use crate::candidates::{provider_names, store_urls};

mod attaching;
mod housekeeping;
mod prompting;
mod shell;
mod thinking;

pub(crate) use attaching::*;
pub(crate) use housekeeping::*;
pub(crate) use prompting::*;
pub(crate) use shell::*;
pub(crate) use thinking::*;

use crate::choices::ColorChoice;

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
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Data directory [env: AGENT_DATA_DIR] [default: $XDG_DATA_HOME/agent or
    /// ~/.local/share/agent]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Session store: dir:PATH, sqlite:PATH, redis://[user:pass@]host:port[/db], rediss://... or
    /// postgres://[user[:pass]@]host[:port]/db; any takes ?encrypt, ?index=clear and ?ttl=AGE
    /// [env: AGENT_STORE] [default: dir:DATA_DIR]
    #[arg(long, global = true, value_name = "URL", add = ArgValueCompleter::new(store_urls))]
    pub(crate) store: Option<String>,
    /// Config file [env: AGENT_CONFIG] [default: $XDG_CONFIG_HOME/agent/config.yaml]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// No progress or notes on stderr (errors are still printed)
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Say more on stderr: the resolved provider, its kind, model and base URL, the config
    /// file and the store
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Never read stdin: the prompt is the arguments alone (as with </dev/null)
    #[arg(short = 'n', long, global = true)]
    pub(crate) no_stdin: bool,
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
    /// Reusable prompts: list, show and locate templates
    #[command(subcommand)]
    Template(TemplateCommand),
    /// MCP servers whose tools the model may call
    #[command(subcommand)]
    Mcp(McpCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// List the configured MCP servers (mcp_servers: in the config)
    #[command(visible_alias = "list")]
    Ls(McpLsArgs),
    /// Start a server and list its tools, as the model sees them, with their schemas
    Tools(McpToolsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct McpLsArgs {
    /// One JSON array of the definitions
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct McpToolsArgs {
    /// A server of the config, or a file of `mcpServers` (every server in it)
    #[arg(value_name = "NAME|FILE", add = ArgValueCompleter::new(crate::candidates::mcp_names))]
    pub(crate) server: String,
    /// One JSON array: each tool's name, the server's name for it, description and input schema
    #[arg(long)]
    pub(crate) json: bool,
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
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete sessions
    #[command(visible_aliases = ["delete", "remove"])]
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
    /// Delete expired sessions, and those past the retention limits (--older-than, --keep, or
    /// retention: in the config)
    Prune(PruneArgs),
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
    /// Validate every document in a store and report problems on stderr (changes nothing
    /// without --migrate)
    Check(StoreCheckArgs),
    /// Print a new random encryption key (base64 of 32 bytes) for ?encrypt store URLs
    Keygen,
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
    /// Encrypt the sessions an encrypting store (?encrypt) still holds unencrypted
    #[arg(long)]
    pub(crate) migrate: bool,
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

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
