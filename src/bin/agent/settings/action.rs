//! What a command is asked to do, as plain values: every flag resolved against the environment
//! and the config file (timeouts, retries, lock waits, compaction), with nothing of clap left.
//! Only what depends on a stored session (its provider and model) is resolved later, by
//! [`super::Routes`].

use std::path::PathBuf;
use std::time::Duration;

use agent::session::ContextPolicy;
use agent::{Role, RunOptions};

use super::route::ModelChoice;
use crate::choices::{Format, LsSort, Shell, ShowFormat};

/// The id that names the most recently used session wherever an id is taken; no session may
/// be called this.
pub(crate) const LAST: &str = "last";

/// One command with its options.
#[derive(Debug)]
pub(crate) enum Action {
    /// `template ls|show|path`.
    Template {
        what: TemplateQuery,
        dir: Option<PathBuf>,
    },
    Run(Run),
    SessionRun(SessionRun),
    Retry {
        id: String,
        turn: Turn,
        force: bool,
    },
    Json(Json),
    Chat(Chat),
    SessionChat(SessionChat),
    Models {
        call: ModelCall,
    },
    ToolTest(ToolTest),
    McpLs {
        json: bool,
    },
    McpTools {
        server: String,
        json: bool,
    },
    New(New),
    Fork {
        src: String,
        id: Option<String>,
        at: Option<usize>,
    },
    Show(Show),
    Ls(Ls),
    Rm(Rm),
    Clear {
        id: String,
    },
    Add {
        id: String,
        role: Role,
        text: Option<String>,
    },
    Export {
        id: String,
    },
    Import {
        file: PathBuf,
        force: bool,
    },
    Rename {
        id: String,
        title: String,
    },
    Stats {
        id: String,
        json: bool,
    },
    Compact(Compact),
    Undo {
        id: String,
        n: usize,
    },
    StoreCopy(StoreCopy),
    StoreCheck {
        url: Option<String>,
        migrate: bool,
    },
    Keygen,
    Prune(Prune),
    Completions {
        shell: Shell,
        dir: Option<PathBuf>,
    },
    Man {
        dir: PathBuf,
    },
}

/// One model call: which model, and how patiently.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelCall {
    pub(crate) route: ModelChoice,
    pub(crate) temperature: Option<f64>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    /// `--reasoning`/`--thinking-budget`.
    pub(crate) reasoning: Option<agent::provider::Reasoning>,
    /// `--api`: `responses` or `chat`.
    pub(crate) api: Option<&'static str>,
    /// `--fallback`, in order (empty: the model alias's `fallbacks:`).
    pub(crate) fallbacks: Vec<String>,
    /// `--record`, `--replay`, `--replay-or-record` (or their variables).
    pub(crate) cassette: Option<agent::provider::Cassette>,
}

/// What `agent template` asks.
#[derive(Debug, Clone)]
pub(crate) enum TemplateQuery {
    Ls { json: bool },
    Show(String),
    Path(Option<String>),
}

/// Which tools a turn may call, before the files are read.
#[derive(Debug, Clone, Default)]
pub(crate) struct ToolChoice {
    /// `--tool FILE`.
    pub(crate) files: Vec<PathBuf>,
    /// `--tools DIR`.
    pub(crate) dirs: Vec<PathBuf>,
    /// `--mcp FILE|NAME`.
    pub(crate) mcp: Vec<String>,
    /// `--strict-mcp`: only the servers of `--mcp`.
    pub(crate) strict_mcp: bool,
    /// `--no-tools`: not even the session's or the config's.
    pub(crate) off: bool,
    pub(crate) max_steps: Option<u32>,
    /// `--confirm`: ask before every call.
    pub(crate) confirm_all: bool,
    /// `--yes`: approve calls that need confirmation without asking.
    pub(crate) yes: bool,
}

/// Every exchange with the model: one-shot and session turns, and chats.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub(crate) call: ModelCall,
    pub(crate) stream: bool,
    /// How long to wait for another turn on the session (`None`: for ever).
    pub(crate) lock_timeout: Option<Duration>,
    /// `-u`: a usage line after each turn.
    pub(crate) usage: bool,
    pub(crate) context: ContextPolicy,
    pub(crate) auto_compact: Option<u64>,
    pub(crate) max_reply_bytes: usize,
    /// `--max-cost`: the turn's spending limit, in US dollars.
    pub(crate) max_cost: Option<f64>,
    pub(crate) tools: ToolChoice,
    /// `-a`, `-f`: read by the command, then sent with the next turn.
    pub(crate) attach: crate::attach::AttachChoice,
    /// The config's reasoning, used when neither a flag nor the session says.
    pub(crate) reasoning_default: Option<agent::provider::Reasoning>,
    /// `--hide-reasoning`.
    pub(crate) hide_reasoning: bool,
    /// Prompt caching (`None`: off), and whether a flag or the config chose it (else a
    /// one-shot turn, which no later turn reads, leaves it off).
    pub(crate) cache: (Option<agent::provider::CacheTtl>, bool),
}

impl Ask {
    /// The library's options for one turn.
    pub(crate) fn run_options(&self) -> RunOptions {
        let mut options = RunOptions {
            temperature: self.call.temperature,
            max_tokens: self.call.max_tokens,
            model: None, // resolved into the agent
            stream: self.stream,
            tools: !self.tools.off,
            context: self.context,
            auto_compact: self.auto_compact,
            max_reply_bytes: self.max_reply_bytes,
            attachments: self.attach.loaded.clone(),
            reasoning: self.call.reasoning,
            cache: self.cache.0,
            max_cost_usd: self.max_cost,
            ..RunOptions::default()
        };
        if let Some(n) = self.tools.max_steps {
            options.max_steps = n;
        }
        options
    }
}

/// A conversational turn: an exchange and how its result is printed.
#[derive(Debug, Clone)]
pub(crate) struct Turn {
    pub(crate) ask: Ask,
    pub(crate) format: Format,
    /// Print the request body instead of sending it.
    pub(crate) dry_run: bool,
}

/// Which session `agent run` talks to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RunTarget {
    /// An in-memory one-shot.
    Memory,
    /// A new stored session (`--save`).
    Save,
    /// The stored session with this id (`--session`).
    Session(String),
    /// The session used last (`-c`).
    Last,
}

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) prompt: Vec<String>,
    pub(crate) system: Option<String>,
    pub(crate) target: RunTarget,
    pub(crate) turn: Turn,
}

#[derive(Debug)]
pub(crate) struct SessionRun {
    pub(crate) id: String,
    pub(crate) prompt: Vec<String>,
    /// `--create`, with the system prompt of a session it makes.
    pub(crate) create: Option<Option<String>>,
    pub(crate) turn: Turn,
}

/// A structured-output turn.
#[derive(Debug, Clone)]
pub(crate) struct JsonTurn {
    /// The `--schema` argument as given: a file, `-`, inline JSON or a field list.
    pub(crate) schema: String,
    pub(crate) multi: bool,
    pub(crate) jsonl: bool,
    pub(crate) pretty: bool,
    pub(crate) retries: u32,
    /// Where the last raw reply goes on failure (`None`: `DATA_DIR/invalid/`).
    pub(crate) save_invalid: Option<PathBuf>,
    pub(crate) turn: Turn,
}

#[derive(Debug)]
pub(crate) struct Json {
    pub(crate) prompt: Vec<String>,
    pub(crate) system: Option<String>,
    /// A stored session (`--session` or `agent session json ID`).
    pub(crate) session: Option<String>,
    pub(crate) json: JsonTurn,
}

#[derive(Debug)]
pub(crate) struct Chat {
    pub(crate) system: Option<String>,
    pub(crate) title: Option<String>,
    /// Piped stdin: a turn per line, not one message.
    pub(crate) lines: bool,
    pub(crate) ask: Ask,
}

#[derive(Debug)]
pub(crate) struct SessionChat {
    pub(crate) id: String,
    /// `--create`, with the system prompt of a session it makes.
    pub(crate) create: Option<Option<String>>,
    pub(crate) lines: bool,
    pub(crate) ask: Ask,
}

#[derive(Debug)]
pub(crate) struct ToolTest {
    pub(crate) file: PathBuf,
    pub(crate) arguments: Option<String>,
    pub(crate) session_id: String,
}

#[derive(Debug)]
pub(crate) struct New {
    pub(crate) id: Option<String>,
    pub(crate) system: Option<String>,
    pub(crate) system_file: Option<PathBuf>,
    pub(crate) title: Option<String>,
    pub(crate) route: ModelChoice,
    pub(crate) messages: Option<PathBuf>,
    pub(crate) force: bool,
    pub(crate) tools: ToolChoice,
    pub(crate) ttl: Option<Duration>,
    /// `--reasoning`/`--thinking-budget`, remembered by the session.
    pub(crate) reasoning: Option<agent::provider::Reasoning>,
    /// `--budget`: the session's lifetime spending limit, in US dollars.
    pub(crate) budget: Option<f64>,
}

#[derive(Debug)]
pub(crate) struct Show {
    pub(crate) id: String,
    pub(crate) format: ShowFormat,
    pub(crate) last: Option<usize>,
    pub(crate) all: bool,
}

#[derive(Debug)]
pub(crate) struct Ls {
    pub(crate) json: bool,
    pub(crate) ids: bool,
    pub(crate) limit: Option<usize>,
    pub(crate) sort: LsSort,
    pub(crate) search: Option<String>,
    pub(crate) since: Option<Duration>,
    pub(crate) usage: bool,
}

#[derive(Debug)]
pub(crate) struct Rm {
    pub(crate) ids: Vec<String>,
    pub(crate) older_than: Option<Duration>,
    pub(crate) force: bool,
    pub(crate) dry_run: bool,
}

#[derive(Debug)]
pub(crate) struct Compact {
    pub(crate) id: String,
    pub(crate) keep: usize,
    pub(crate) instructions: Option<String>,
    pub(crate) call: ModelCall,
}

/// `session prune`: flags over the config's `retention:`.
#[derive(Debug)]
pub(crate) struct Prune {
    pub(crate) older_than: Option<Duration>,
    pub(crate) keep: Option<usize>,
    pub(crate) dry_run: bool,
}

#[derive(Debug)]
pub(crate) struct StoreCopy {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) ids: Vec<String>,
    pub(crate) force: bool,
}
