//! The MCP servers of this command: which a turn uses (config < session < `--mcp`), started
//! when a turn first needs their tools, kept for the rest of the command (a chat's turns share
//! them), and stopped when it ends ([`shutdown`]; Ctrl-C kills them, see `interrupt`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use agent::mcp::{McpOptions, McpServer, McpSpec};
use agent::{Error, Tool};

use crate::output::Output;
use crate::settings::Settings;

/// Servers running now, in the order they were started.
static RUNNING: Mutex<Vec<McpServer>> = Mutex::new(Vec::new());

fn running() -> std::sync::MutexGuard<'static, Vec<McpServer>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The config's `mcp_servers:`, checked (a broken entry is a usage error naming it).
pub(crate) fn configured(settings: &Settings) -> agent::Result<Vec<McpSpec>> {
    let Some(map) = &settings.config_mcp else {
        return Ok(Vec::new());
    };
    let mut specs = McpSpec::from_map(map)
        .map_err(|e| Error::Usage(format!("mcp_servers in the config: {e}")))?;
    if let Some(dir) = settings.config_file.as_deref().and_then(Path::parent) {
        for spec in &mut specs {
            anchor(spec, dir);
        }
    }
    Ok(specs)
}

/// `./server` in the config is the config file's directory's.
fn anchor(spec: &mut McpSpec, dir: &Path) {
    if let Some(program) = spec.command.first_mut() {
        if program.starts_with("./") || program.starts_with("../") {
            *program = dir.join(program.as_str()).to_string_lossy().into_owned();
        }
    }
}

/// `--mcp FILE|NAME`: every server of a file, or the config's server of that name.
pub(crate) fn from_flags(settings: &Settings, args: &[String]) -> agent::Result<Vec<McpSpec>> {
    let mut specs: Vec<McpSpec> = Vec::new();
    let config = if args.iter().any(|a| !Path::new(a).is_file()) {
        configured(settings)?
    } else {
        Vec::new()
    };
    for arg in args {
        let found = if Path::new(arg).is_file() {
            McpSpec::from_file(Path::new(arg))?
        } else if let Some(spec) = config.iter().find(|s| &s.name == arg) {
            vec![spec.clone()]
        } else {
            let known: Vec<&str> = config.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::Usage(format!(
                "--mcp {arg}: no such file, and no MCP server of that name in the config ({})",
                if known.is_empty() {
                    "it has none".to_string()
                } else {
                    format!("it has {}", known.join(", "))
                }
            )));
        };
        for spec in found {
            if specs.iter().any(|s| s.name == spec.name) {
                return Err(Error::Usage(format!(
                    "two MCP servers are named '{}' on the command line",
                    spec.name
                )));
            }
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// Later definitions win by name: `config < session < flags`.
pub(crate) fn merge(layers: impl IntoIterator<Item = McpSpec>) -> Vec<McpSpec> {
    let mut by_name: Vec<McpSpec> = Vec::new();
    for spec in layers {
        by_name.retain(|s| s.name != spec.name);
        by_name.push(spec);
    }
    by_name
}

/// The server for `spec`, started (or reached) now unless this command already has it.
pub(crate) async fn server(
    settings: &Settings,
    out: &Output,
    spec: &McpSpec,
) -> agent::Result<McpServer> {
    // A server that died (a chat's earlier turn saw it) is started anew.
    running().retain(|s| !s.is_closed());
    if let Some(s) = running().iter().find(|s| s.spec() == spec) {
        return Ok(s.clone());
    }
    let shown = out.clone();
    let options = McpOptions::default()
        .scrub_env(settings.secret_vars.iter().cloned())
        .on_stderr(Arc::new(move |name: &str, line: &str| {
            shown.detail(format!("{name}: {line}"))
        }));
    out.detail(format!(
        "MCP server {} starts: {}",
        spec.name,
        spec.describe()
    ));
    let server = McpServer::connect(spec.clone(), &options).await?;
    out.detail(format!(
        "MCP server {} speaks protocol {}",
        spec.name,
        server.protocol_version()
    ));
    running().push(server.clone());
    Ok(server)
}

/// The tools of these servers, each asking first when its server says `confirm` or `confirm_all`.
pub(crate) async fn tools(
    settings: &Settings,
    out: &Output,
    specs: &[McpSpec],
    confirm_all: bool,
) -> agent::Result<Vec<Tool>> {
    let mut tools = Vec::new();
    for spec in specs {
        let server = server(settings, out, spec).await?;
        for tool in server.tools().await? {
            let confirm = tool.needs_confirmation() || confirm_all;
            tools.push(tool.confirm(confirm));
        }
    }
    Ok(tools)
}

/// A server said its tools changed: the next turn should be equipped again.
pub(crate) fn changed() -> bool {
    running().iter().any(McpServer::tools_changed)
}

/// Stop every server this command started.
pub(crate) async fn shutdown() {
    let servers: Vec<McpServer> = std::mem::take(&mut *running());
    futures_util::future::join_all(servers.iter().map(McpServer::shutdown)).await;
}
