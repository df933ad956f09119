//! A running MCP server, through the official SDK (rmcp): the stdio server started in its own
//! process group with a scrubbed environment, or a Streamable HTTP endpoint; its tools as
//! [`Tool`]s whose calls go to it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
};
use rmcp::service::{MaybeSendFuture, NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

use super::process::{exit_of, spawn, stop, with_exit, with_stderr, Process, StderrSink, GRACE};
use super::spec::{expand_header, McpSpec};
use super::watch::Watched;
use super::{groups, result};
use crate::tool::{Tool, ToolHandler, ToolOutput, PROVIDER_KEY_VARS};
use crate::{Error, Result};

/// The protocol versions with an `initialize` handshake the SDK speaks, newest first; the
/// server's answer must be one of them
/// (<https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#version-negotiation>).
const SPOKEN: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// How to start servers: what to remove from their environment, where their stderr goes.
#[derive(Clone)]
pub struct McpOptions {
    scrub: Vec<String>,
    stderr: Option<StderrSink>,
    client: (String, String),
}

impl Default for McpOptions {
    fn default() -> Self {
        McpOptions {
            scrub: PROVIDER_KEY_VARS.iter().map(|s| s.to_string()).collect(),
            stderr: None,
            client: ("agent".into(), env!("CARGO_PKG_VERSION").into()),
        }
    }
}

impl McpOptions {
    /// Also remove these variables from a stdio server's environment (store credentials,
    /// configured providers' keys).
    #[must_use]
    pub fn scrub_env<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.scrub.extend(names.into_iter().map(Into::into));
        self
    }

    /// Pass each stderr line of a stdio server to `sink(server, line)`; without it they are
    /// only kept for error messages.
    #[must_use]
    pub fn on_stderr(mut self, sink: StderrSink) -> Self {
        self.stderr = Some(sink);
        self
    }
}

/// Tells the running session that the server's tools changed.
struct Handler {
    info: ClientConfig,
    stale: Arc<AtomicBool>,
}

impl ClientHandler for Handler {
    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + MaybeSendFuture + '_ {
        self.stale.store(true, Ordering::SeqCst);
        std::future::ready(())
    }

    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }
}

struct Conn {
    spec: McpSpec,
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, Handler>>>,
    peer: rmcp::Peer<RoleClient>,
    stale: Arc<AtomicBool>,
    process: Option<Process>,
    tools: tokio::sync::Mutex<Option<Vec<Tool>>>,
    version: String,
    /// Why the connection is gone, once a call found it so: the turn fails with this.
    dead: Mutex<Option<String>>,
}

/// A connected MCP server. Clones share the connection; [`McpServer::shutdown`] ends it (a
/// dropped one is killed).
#[derive(Clone)]
pub struct McpServer {
    conn: Arc<Conn>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.conn.spec.name)
            .finish()
    }
}

impl McpServer {
    /// Start a stdio server and complete the handshake: `McpServer::stdio("time", argv)`.
    pub async fn stdio<I, S>(name: &str, argv: I) -> Result<McpServer>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        McpServer::connect(McpSpec::stdio(name, argv), &McpOptions::default()).await
    }

    /// Start (stdio) or reach (HTTP) the server and complete the handshake (`initialize`,
    /// then `notifications/initialized`), within the definition's `timeout`.
    pub async fn connect(spec: McpSpec, options: &McpOptions) -> Result<McpServer> {
        spec.check()
            .map_err(|e| Error::Usage(format!("MCP server '{}': {e}", spec.name)))?;
        let stale = Arc::new(AtomicBool::new(false));
        let handler = Handler {
            info: ClientConfig::new(
                ClientCapabilities::default(),
                Implementation::new(&options.client.0, &options.client.1),
            )
            // The newest version with an `initialize` handshake this SDK speaks.
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE),
            stale: stale.clone(),
        };
        let limit = timeout_of(&spec);
        let (service, process) = if let Some(url) = &spec.url {
            (serve_http(&spec, url, handler, limit).await?, None)
        } else {
            let (process, stdout, stdin) = spawn(&spec, &options.scrub, options.stderr.as_ref())?;
            let (stdout, stray) = Watched::new(stdout);
            let exited = async {
                match process.child.lock().await.as_mut() {
                    Some(child) => child.wait().await.ok(),
                    None => None,
                }
            };
            let served = tokio::select! {
                served = tokio::time::timeout(limit, handler.serve((stdout, stdin))) => served,
                _ = exited => {
                    stop(&process).await;
                    let msg = format!(
                        "MCP server '{}' failed to start: it exited before answering initialize",
                        spec.name
                    );
                    return Err(Error::Usage(with_exit(msg, &process).await));
                }
            };
            let service = match served {
                Ok(Ok(service)) => service,
                Ok(Err(e)) => {
                    // The SDK saw the pipe close: say so plainly when the server is gone.
                    let why = match exit_of(&process).await {
                        Some(_) => "it exited before answering initialize".to_string(),
                        None => e.to_string(),
                    };
                    stop(&process).await;
                    let msg = format!("MCP server '{}' failed to start: {why}", spec.name);
                    return Err(Error::Usage(with_exit(msg, &process).await));
                }
                Err(_) => {
                    stop(&process).await;
                    let mut msg = format!(
                        "MCP server '{}' did not complete initialize within {}s",
                        spec.name, spec.timeout
                    );
                    let stray = stray.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    if let Some(line) = stray {
                        msg.push_str(&format!(
                            "; it wrote what is not JSON-RPC on stdout: {line:?}"
                        ));
                    }
                    return Err(Error::Usage(with_stderr(msg, &process).await));
                }
            };
            (service, Some(process))
        };
        let version = service
            .peer_info()
            .map(|info| info.protocol_version.to_string())
            .unwrap_or_default();
        if !SPOKEN.contains(&version.as_str()) {
            let mut service = service;
            let _ = service.close_with_timeout(GRACE).await;
            if let Some(process) = &process {
                stop(process).await;
            }
            return Err(Error::Usage(format!(
                "MCP server '{}' answered protocol version {version:?}, which agent does not \
                 speak ({})",
                spec.name,
                SPOKEN.join(", ")
            )));
        }
        let peer = service.peer().clone();
        Ok(McpServer {
            conn: Arc::new(Conn {
                spec,
                service: tokio::sync::Mutex::new(Some(service)),
                peer,
                stale,
                process,
                tools: tokio::sync::Mutex::new(None),
                version,
                dead: Mutex::new(None),
            }),
        })
    }

    /// The definition it was started from.
    pub fn spec(&self) -> &McpSpec {
        &self.conn.spec
    }

    /// The protocol version the server agreed to.
    pub fn protocol_version(&self) -> &str {
        &self.conn.version
    }

    /// The pid of a stdio server (also its process group's id).
    pub fn pid(&self) -> Option<u32> {
        self.conn.process.as_ref().map(|p| p.pid as u32)
    }

    /// The server's tools as the model sees them (`SERVER__TOOL`, its `inputSchema`), every
    /// page of `tools/list`; listed once, and again after `notifications/tools/list_changed`.
    pub async fn tools(&self) -> Result<Vec<Tool>> {
        let mut cached = self.conn.tools.lock().await;
        if self.conn.stale.swap(false, Ordering::SeqCst) {
            *cached = None;
        }
        if let Some(tools) = cached.as_ref() {
            return Ok(tools.clone());
        }
        let listed = self.list().await?;
        let spec = &self.conn.spec;
        let mut tools = Vec::with_capacity(listed.len());
        for t in listed {
            let remote = t.get("name").and_then(Value::as_str).unwrap_or_default();
            let name = offered_name(&spec.name, remote);
            let description = t.get("description").and_then(Value::as_str).unwrap_or("");
            let schema = t
                .get("inputSchema")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"type": "object"}));
            let handler = Arc::new(Call {
                conn: self.conn.clone(),
                remote: remote.to_string(),
            });
            let tool = Tool::with_handler(name, description, schema, handler)
                .map_err(|e| Error::Usage(format!("MCP server '{}': {e}", spec.name)))?;
            tools.push(tool.confirm(spec.confirm));
        }
        *cached = Some(tools.clone());
        Ok(tools)
    }

    /// The connection is gone (a stdio server exited, an HTTP transport closed).
    pub fn is_closed(&self) -> bool {
        self.conn.peer.is_transport_closed()
            || self
                .conn
                .dead
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
    }

    /// The server sent `notifications/tools/list_changed` since its tools were last listed.
    pub fn tools_changed(&self) -> bool {
        self.conn.stale.load(Ordering::SeqCst)
    }

    /// The raw `tools/list` entries (every page), as the server sent them.
    pub async fn list(&self) -> Result<Vec<Value>> {
        let spec = &self.conn.spec;
        let listed = tokio::time::timeout(timeout_of(spec), self.conn.peer.list_all_tools())
            .await
            .map_err(|_| {
                Error::Usage(format!(
                    "MCP server '{}' did not answer tools/list within {}s",
                    spec.name, spec.timeout
                ))
            })?;
        let listed = match listed {
            Ok(listed) => listed,
            Err(e) => {
                let why = self.conn.broken(&format!("failed tools/list: {e}")).await;
                return Err(Error::Usage(why));
            }
        };
        Ok(listed
            .into_iter()
            .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
            .collect())
    }

    /// End the connection: the HTTP session is deleted; a stdio server gets its stdin closed
    /// and [`GRACE`] to exit, then its process group is killed.
    pub async fn shutdown(&self) {
        if let Some(mut service) = self.conn.service.lock().await.take() {
            let _ = service.close_with_timeout(GRACE).await;
        }
        if let Some(process) = &self.conn.process {
            stop(process).await;
        }
    }
}

impl Conn {
    /// A failed exchange, explained: a stdio server that exited says how, with its stderr.
    async fn broken(&self, what: &str) -> String {
        let msg = format!("MCP server '{}' {what}", self.spec.name);
        match &self.process {
            Some(process) => with_exit(msg, process).await,
            None => msg,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(process) = &self.process {
            groups::kill(process.pid);
        }
    }
}

/// One of the server's tools.
struct Call {
    conn: Arc<Conn>,
    remote: String,
}

impl ToolHandler for Call {
    fn call<'a>(&'a self, arguments: Value, _session_id: &'a str) -> BoxFuture<'a, ToolOutput> {
        Box::pin(async move {
            let spec = &self.conn.spec;
            let mut params = CallToolRequestParams::new(self.remote.clone());
            if let Value::Object(map) = arguments {
                params = params.with_arguments(map);
            }
            let call = self.conn.peer.call_tool(params);
            match tokio::time::timeout(timeout_of(spec), call).await {
                Err(_) => Err(format!(
                    "MCP server '{}' did not answer the call of {} within {}s",
                    spec.name, self.remote, spec.timeout
                )),
                Ok(Err(rmcp::ServiceError::McpError(e))) => Err(format!(
                    "MCP server '{}' refused the call of {}: {}",
                    spec.name, self.remote, e.message
                )),
                Ok(Err(e)) => {
                    // The transport is gone: the server died mid-call. That ends the turn.
                    let what = format!("stopped during the call of {} ({e})", self.remote);
                    let why = self.conn.broken(&what).await;
                    *self.conn.dead.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
                    Err(why)
                }
                Ok(Ok(answer)) => result::output(&serde_json::to_value(answer).unwrap_or_default()),
            }
        })
    }

    fn fatal(&self) -> Option<String> {
        self.conn
            .dead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// `SERVER__TOOL`, with characters providers refuse replaced by `_`, at most 64 bytes.
pub fn offered_name(server: &str, tool: &str) -> String {
    let clean: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{server}__{clean}");
    name.truncate(64);
    name
}

fn timeout_of(spec: &McpSpec) -> Duration {
    Duration::try_from_secs_f64(spec.timeout).unwrap_or(Duration::MAX)
}

fn unanswered(spec: &McpSpec) -> Error {
    Error::Usage(format!(
        "MCP server '{}' did not complete initialize within {}s",
        spec.name, spec.timeout
    ))
}

/// Reach a Streamable HTTP server and complete the handshake.
async fn serve_http(
    spec: &McpSpec,
    url: &str,
    handler: Handler,
    limit: Duration,
) -> Result<RunningService<RoleClient, Handler>> {
    super::install_tls();
    let mut config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            url.to_string(),
        );
    for (k, v) in &spec.headers {
        let bad =
            |why: String| Error::Usage(format!("MCP server '{}': header {k}: {why}", spec.name));
        let value = expand_header(v).map_err(bad)?;
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        let value =
            reqwest::header::HeaderValue::from_str(&value).map_err(|e| bad(e.to_string()))?;
        config.custom_headers.insert(name, value);
    }
    let transport = rmcp::transport::StreamableHttpClientTransport::from_config(config);
    tokio::time::timeout(limit, handler.serve(transport))
        .await
        .map_err(|_| unanswered(spec))?
        .map_err(|e| Error::Usage(format!("MCP server '{}' failed to start: {e}", spec.name)))
}
