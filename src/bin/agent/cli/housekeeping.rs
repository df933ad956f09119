//! The flags of the commands that keep sessions without asking the model: `session new`,
//! `fork`, `show`, `ls`, `rm`, `clear`, `add`, `export`, `import`, `rename`, `stats`, `compact`,
//! `undo`.

use std::path::PathBuf;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;

use super::{ModelArgs, ToolFileArgs};
use crate::candidates::{model_names, provider_names, session_ids};
use crate::choices::{LsSort, ShowFormat};

#[derive(Debug, Args)]
pub(crate) struct IdArg {
    /// Session id (`last`: the most recently used one)
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
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
    /// Delete the session this long after its last use, e.g. 7d, 12h [default: the store's
    /// ?ttl=, else never]
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub(crate) ttl: Option<std::time::Duration>,
    /// A lifetime budget: a turn stops (exit 9) before any request once the session's known
    /// cost (`session stats`) reaches USD, or when the next request's input alone would pass it
    #[arg(long, value_name = "USD", value_parser = super::parse_usd)]
    pub(crate) budget: Option<f64>,
    // Tools the session remembers: every later turn may call them.
    #[command(flatten)]
    pub(crate) tools: ToolFileArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ForkArgs {
    /// Source session id (`last`: the most recently used one)
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
    /// Session id (`last`: the most recently used one)
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
    /// Session id (`last`: the most recently used one)
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// One JSON object
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompactArgs {
    /// Session id (`last`: the most recently used one)
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
    /// Session id (`last`: the most recently used one)
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
    /// With --older-than: list what would be removed, remove nothing
    #[arg(long, requires = "older_than")]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// Session id (`last`: the most recently used one)
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

#[derive(Debug, Args)]
pub(crate) struct RenameArgs {
    /// Session id (`last`: the most recently used one)
    #[arg(add = ArgValueCompleter::new(session_ids))]
    pub(crate) id: String,
    /// The new title (words joined with spaces)
    #[arg(required = true)]
    pub(crate) title: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Also delete sessions not used within this long, e.g. 90d [default: the config's
    /// retention.max_age]
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub(crate) older_than: Option<std::time::Duration>,
    /// Also delete all but the N most recently used sessions [default: the config's
    /// retention.max_count]
    #[arg(long, value_name = "N")]
    pub(crate) keep: Option<usize>,
    /// Print the ids that would be deleted and delete nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}
