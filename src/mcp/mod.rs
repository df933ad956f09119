//! Tools from MCP servers (the Model Context Protocol): server definitions ([`McpSpec`], in
//! every build, so session documents read the same), and with the `mcp` feature a client on the
//! official Rust SDK, rmcp: [`McpServer`] starts a stdio server or reaches a Streamable HTTP one
//! and offers its tools as [`Tool`](crate::Tool)s named `SERVER__TOOL`, usable with
//! [`AgentBuilder::tools`](crate::AgentBuilder::tools).
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::mcp::McpServer;
//! let time = McpServer::stdio("time", ["python3", "-m", "mcp_server_time"]).await?;
//! let agent = agent::Agent::builder()
//!     .provider("openai")
//!     .model("gpt-4o-mini")
//!     .tools(time.tools().await?)
//!     .build()?;
//! # let _ = agent; time.shutdown().await; Ok(()) }
//! ```

mod spec;
pub use spec::{expand_header, McpSpec, DEFAULT_TIMEOUT};

#[cfg(feature = "mcp")]
mod client;
#[cfg(feature = "mcp")]
mod groups;
#[cfg(feature = "mcp")]
mod process;
#[cfg(feature = "mcp")]
mod result;
#[cfg(feature = "mcp")]
mod watch;
#[cfg(feature = "mcp")]
pub use client::{offered_name, McpOptions, McpServer};
#[cfg(feature = "mcp")]
pub use groups::kill_all;
#[cfg(feature = "mcp")]
pub use process::{StderrSink, GRACE};

/// reqwest 0.13 (rmcp's HTTP client) is built without a TLS provider: use ring's, as the rest
/// of agent does. Once per process; a provider installed already is kept.
#[cfg(feature = "mcp")]
fn install_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
