//! Which tools a turn may call — from `--tool`/`--tools`, the session document and config.yaml,
//! the more specific winning by name — made into executable tools with a terminal approval
//! prompt, and the one stderr line each call gets.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use futures_util::future::BoxFuture;
use serde_json::Value;

use agent::tool::{ExecSpec, ExecTool, ToolApproval};
use agent::{Error, Event, Session, Tool};

use crate::cli::{ToolArgs, ToolFileArgs};
use crate::settings::Settings;

/// Tool definitions loaded and checked before any session is opened or request sent.
pub(crate) struct TurnTools {
    /// From `--tool`/`--tools`: used this turn (and remembered by a session they create).
    pub(crate) flags: Vec<ExecSpec>,
    config: Vec<ExecSpec>,
    off: bool,
    confirm_all: bool,
    yes: bool,
}

/// Parse `--tool FILE` and `--tools DIR` files; two with one name are a usage error.
pub(crate) fn load_files(args: &ToolFileArgs) -> Result<Vec<ExecSpec>> {
    let mut paths = args.tool.clone();
    for dir in &args.tools {
        paths.extend(files_in(dir)?);
    }
    load_paths(&paths)
}

fn load_paths(paths: &[PathBuf]) -> Result<Vec<ExecSpec>> {
    let mut specs: Vec<ExecSpec> = Vec::with_capacity(paths.len());
    let mut origin: HashMap<String, &Path> = HashMap::new();
    for path in paths {
        let spec = ExecSpec::from_file(path)?;
        if let Some(first) = origin.insert(spec.name.clone(), path) {
            return Err(Error::Usage(format!(
                "two tool files declare '{}': {} and {}",
                spec.name,
                first.display(),
                path.display()
            ))
            .into());
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// The tool files of a directory: every `*.yaml`, `*.yml` and `*.json`, sorted by name so the
/// order (and any duplicate-name error) is the same on every machine.
fn files_in(dir: &Path) -> agent::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Usage(format!(
            "cannot read tools directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Load the tools of one turn: `--no-tools` loads nothing (not even a broken config file).
pub(crate) fn resolve(settings: &Settings, args: &ToolArgs) -> Result<TurnTools> {
    let (flags, config) = if args.no_tools {
        (Vec::new(), Vec::new())
    } else {
        (
            load_files(&args.files)?,
            load_paths(&settings.config.tools)?,
        )
    };
    Ok(TurnTools {
        flags,
        config,
        off: args.no_tools,
        confirm_all: args.confirm,
        yes: args.yes,
    })
}

/// The session with an agent that can call its tools: config < session document < flags.
pub(crate) fn equip(settings: &Settings, session: Session, tools: TurnTools) -> Result<Session> {
    if tools.off {
        return Ok(session);
    }
    let mut by_name: Vec<ExecSpec> = Vec::new();
    for spec in tools
        .config
        .into_iter()
        .chain(session.data().tools.iter().cloned())
        .chain(tools.flags)
    {
        by_name.retain(|s| s.name != spec.name);
        by_name.push(spec);
    }
    if by_name.is_empty() {
        return Ok(session);
    }
    let list = by_name
        .into_iter()
        .map(|spec| {
            let confirm = spec.confirm || tools.confirm_all;
            Ok(executable(settings, spec)?.confirm(confirm))
        })
        .collect::<Result<Vec<Tool>>>()?;
    let agent = session
        .agent()
        .to_builder()
        .replace_tools(list)
        .approve_tool(approver(tools.yes))
        .build()?;
    Ok(agent.resume(session.data().clone()))
}

/// A spec as a tool whose environment lacks every provider key the config names too.
pub(crate) fn executable(settings: &Settings, spec: ExecSpec) -> Result<Tool> {
    let keys = settings
        .config
        .providers
        .values()
        .filter_map(|p| p.api_key_env.clone());
    Ok(ExecTool::new(spec).scrub_env(keys).into_tool()?)
}

/// Config paths are relative to the config file; `~/` is the home directory.
pub(crate) fn config_path(config_dir: &Path, path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => config_dir.join(path),
    }
}

type Approval = BoxFuture<'static, std::result::Result<(), String>>;

/// Asks on the terminal (`y`/`n`/`a` for all); `--yes` approves everything without asking.
fn approver(yes: bool) -> impl Fn(ToolApproval) -> Approval + Send + Sync + 'static {
    let all = Arc::new(AtomicBool::new(yes));
    move |request| {
        let all = all.clone();
        Box::pin(async move {
            if all.load(Ordering::Relaxed) {
                return Ok(());
            }
            // The terminal read blocks; keep it off the runtime so Ctrl-C still cancels.
            let answer = tokio::task::spawn_blocking(move || ask(&request))
                .await
                .map_err(|e| format!("asking for confirmation failed: {e}"))??;
            match answer {
                'y' => Ok(()),
                'a' => {
                    all.store(true, Ordering::Relaxed);
                    Ok(())
                }
                _ => Err("the user declined to run this tool call".to_string()),
            }
        })
    }
}

fn ask(request: &ToolApproval) -> std::result::Result<char, String> {
    let call = &request.call;
    let refused = || {
        format!(
            "not run: tool '{}' needs confirmation and there is no terminal to ask on (the user can pass --yes to allow it)",
            call.name
        )
    };
    let prompt = format!(
        "agent: run tool {} {}? [y]es / [n]o / [a]ll: ",
        call.name,
        shown(&call.arguments)
    );
    // Tests answer through a file; the prompt then goes to stderr.
    let line = if let Some(path) = std::env::var_os("AGENT_TEST_CONFIRM_TTY") {
        let file = std::fs::File::open(path).map_err(|_| refused())?;
        eprint!("{prompt}");
        first_line(file)
    } else {
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|_| refused())?;
        tty.write_all(prompt.as_bytes()).map_err(|_| refused())?;
        first_line(tty)
    };
    let answer = line.trim().to_ascii_lowercase();
    Ok(match answer.as_str() {
        "y" | "yes" => 'y',
        "a" | "all" => 'a',
        _ => 'n',
    })
}

fn first_line(source: impl std::io::Read) -> String {
    let mut line = String::new();
    let _ = std::io::BufReader::new(source).read_line(&mut line);
    line
}

/// Arguments on one line, cut so a huge call stays one readable line.
fn shown(arguments: &Value) -> String {
    let text = arguments.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The stderr line of each tool call:
/// `tool get_user_orders {"user_id":"user-123"} → ok, 212 bytes, 0.03s`.
pub(crate) struct ToolLog {
    quiet: bool,
    stdout_tty: bool,
    arguments: HashMap<String, String>,
    mid_line: bool,
}

impl ToolLog {
    pub(crate) fn new(quiet: bool, stdout_tty: bool) -> Self {
        ToolLog {
            quiet,
            stdout_tty,
            arguments: HashMap::new(),
            mid_line: false,
        }
    }

    /// The line to print for `event`, if any.
    pub(crate) fn line(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::TextDelta { text } => {
                self.mid_line = !text.ends_with('\n');
                None
            }
            Event::ToolCall { call } => {
                self.arguments
                    .insert(call.id.clone(), shown(&call.arguments));
                None
            }
            Event::ToolResult {
                id,
                name,
                ok,
                content,
                duration_ms,
            } if !self.quiet => {
                let args = self.arguments.get(id).map_or("", String::as_str);
                let line = result_line(name, args, *ok, content, *duration_ms);
                // On a terminal the reply text may have stopped mid-line: start a fresh one.
                let fresh = std::mem::take(&mut self.mid_line) && self.stdout_tty;
                Some(if fresh { format!("\n{line}") } else { line })
            }
            _ => None,
        }
    }
}

pub(crate) fn result_line(name: &str, args: &str, ok: bool, content: &str, ms: u64) -> String {
    let secs = ms as f64 / 1000.0;
    if ok {
        format!(
            "tool {name} {args} → ok, {} bytes, {secs:.2}s",
            content.len()
        )
    } else {
        let first = content.lines().next().unwrap_or("");
        format!("tool {name} {args} → error, {secs:.2}s: {first}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            result_line(
                "get_user_orders",
                r#"{"user_id":"user-123"}"#,
                true,
                &"x".repeat(212),
                30
            ),
            r#"tool get_user_orders {"user_id":"user-123"} → ok, 212 bytes, 0.03s"#
        );
        assert_eq!(
            result_line("f", "{}", false, "boom\nmore", 1500),
            "tool f {} → error, 1.50s: boom"
        );
        assert!(shown(&Value::String("é".repeat(300))).ends_with('…'));
    }
}
