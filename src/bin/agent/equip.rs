//! Which tools a turn may call — from `--tool`/`--tools`, the session document and config.yaml,
//! the more specific winning by name — made into executable tools that ask on the terminal when
//! they need confirmation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use agent::mcp::McpSpec;
use agent::tool::{ExecSpec, ExecTool};
use agent::{Error, Session, SessionData, Tool};

use crate::approve::approver;
use crate::mcp_pool;
use crate::output::Output;
use crate::settings::{Settings, ToolChoice};

/// Tool definitions loaded and checked before any session is opened or request sent.
pub(crate) struct TurnTools {
    /// From `--tool`/`--tools`: used this turn (and remembered by a session they create).
    pub(crate) flags: Vec<ExecSpec>,
    config: Vec<ExecSpec>,
    /// From `--mcp`: used this turn (and remembered by a session they create).
    pub(crate) mcp_flags: Vec<McpSpec>,
    mcp_config: Vec<McpSpec>,
    strict_mcp: bool,
    off: bool,
    confirm_all: bool,
    yes: bool,
}

/// Parse the `--tool FILE` and `--tools DIR` files; two with one name are a usage error.
pub(crate) fn load_files(choice: &ToolChoice) -> agent::Result<Vec<ExecSpec>> {
    let mut paths = choice.files.clone();
    for dir in &choice.dirs {
        paths.extend(files_in(dir)?);
    }
    load_paths(&paths)
}

fn load_paths(paths: &[PathBuf]) -> agent::Result<Vec<ExecSpec>> {
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
            )));
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
/// A tool file of the config that does not exist is a warning naming it, not a failure of
/// turns that never needed it.
pub(crate) fn resolve(
    settings: &Settings,
    out: &Output,
    choice: &ToolChoice,
) -> agent::Result<TurnTools> {
    let (flags, config) = if choice.off {
        (Vec::new(), Vec::new())
    } else {
        let present: Vec<PathBuf> = settings
            .config_tools
            .iter()
            .filter(|p| {
                let exists = p.exists();
                if !exists {
                    out.warn(format!(
                        "the config's tool file {} does not exist; turns go on without it",
                        p.display()
                    ));
                }
                exists
            })
            .cloned()
            .collect();
        (load_files(choice)?, load_paths(&present)?)
    };
    let (mcp_flags, mcp_config) = if choice.off {
        (Vec::new(), Vec::new())
    } else if choice.strict_mcp {
        (mcp_pool::from_flags(settings, &choice.mcp)?, Vec::new())
    } else {
        (
            mcp_pool::from_flags(settings, &choice.mcp)?,
            mcp_pool::configured(settings)?,
        )
    };
    Ok(TurnTools {
        flags,
        config,
        mcp_flags,
        mcp_config,
        strict_mcp: choice.strict_mcp,
        off: choice.off,
        confirm_all: choice.confirm_all,
        yes: choice.yes,
    })
}

impl TurnTools {
    /// Whether a session this command creates has tools or servers to remember.
    pub(crate) fn to_remember(&self) -> bool {
        !self.flags.is_empty() || !self.mcp_flags.is_empty()
    }

    /// Remember the `--tool` files and `--mcp` servers in a session this command creates.
    pub(crate) fn remember(&self) -> impl FnOnce(&mut SessionData) {
        let (tools, servers) = (self.flags.clone(), self.mcp_flags.clone());
        move |d| {
            d.tools = tools;
            d.mcp_servers = servers;
        }
    }
}

/// The session with an agent that can call its tools: config < session document < flags, for
/// executables and MCP servers alike (whose servers start now, if this command has not
/// started them already).
pub(crate) async fn equip(
    settings: &Settings,
    out: &Output,
    session: Session,
    tools: TurnTools,
) -> agent::Result<Session> {
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
    let stored = if tools.strict_mcp {
        Vec::new()
    } else {
        session.data().mcp_servers.clone()
    };
    let servers = mcp_pool::merge(
        tools
            .mcp_config
            .into_iter()
            .chain(stored)
            .chain(tools.mcp_flags),
    );
    if by_name.is_empty() && servers.is_empty() {
        return Ok(session);
    }
    let mut list = by_name
        .into_iter()
        .map(|spec| {
            let confirm = spec.confirm || tools.confirm_all;
            Ok(executable(settings, spec)?.confirm(confirm))
        })
        .collect::<agent::Result<Vec<Tool>>>()?;
    list.extend(mcp_pool::tools(settings, out, &servers, tools.confirm_all).await?);
    let agent = session
        .agent()
        .to_builder()
        .replace_tools(list)
        .approve_tool(approver(tools.yes, out))
        .build()?;
    Ok(agent.resume(session.data().clone()))
}

/// A spec as a tool whose environment lacks every provider key and store credential.
pub(crate) fn executable(settings: &Settings, spec: ExecSpec) -> agent::Result<Tool> {
    ExecTool::new(spec)
        .scrub_env(settings.secret_vars.iter().cloned())
        .into_tool()
}
