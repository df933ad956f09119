//! `agent mcp ls` and `agent mcp tools NAME|FILE`: the configured MCP servers, and the tools
//! one offers (it is started for that, and stopped when the command ends).

use anyhow::Result;
use serde_json::{json, Value};

use agent::mcp::{offered_name, McpSpec};

use super::Ctx;
use crate::mcp_pool;
use crate::output::{write_json_line, write_out};

/// One line per server, `NAME<TAB>COMMAND or URL`; or one JSON array of the definitions
/// (header values other than `${VAR}` shown as `***`).
pub(crate) fn ls(ctx: &Ctx, json: bool) -> Result<()> {
    let specs = mcp_pool::configured(&ctx.settings)?;
    if json {
        let list: Vec<Value> = specs.iter().map(shown).collect();
        write_json_line(&Value::Array(list))?;
        return Ok(());
    }
    let mut text = String::new();
    for spec in &specs {
        text.push_str(&format!("{}\t{}\n", spec.name, spec.describe()));
    }
    write_out(text.as_bytes())?;
    Ok(())
}

fn shown(spec: &McpSpec) -> Value {
    let mut v = serde_json::to_value(spec).unwrap_or(Value::Null);
    if let Some(Value::Object(headers)) = v.get_mut("headers") {
        for value in headers.values_mut() {
            if !value.as_str().is_some_and(|s| s.starts_with("${")) {
                *value = json!("***");
            }
        }
    }
    v
}

/// Each tool as the model sees it: its offered name and description, then its input schema
/// on an indented line; or one JSON array of them.
pub(crate) async fn tools(ctx: &Ctx, server: &str, json: bool) -> Result<()> {
    let specs = mcp_pool::from_flags(&ctx.settings, &[server.to_string()])?;
    let mut list = Vec::new();
    for spec in &specs {
        let running = mcp_pool::server(&ctx.settings, &ctx.out, spec).await?;
        for tool in running.list().await? {
            let remote = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            list.push(json!({
                "name": offered_name(&spec.name, remote),
                "server": spec.name,
                "tool": remote,
                "description": tool.get("description").cloned().unwrap_or(json!("")),
                "inputSchema": tool.get("inputSchema").cloned().unwrap_or(json!({})),
            }));
        }
    }
    if json {
        write_json_line(&Value::Array(list))?;
        return Ok(());
    }
    let mut text = String::new();
    for t in &list {
        let description = t["description"].as_str().unwrap_or("");
        let first = description.lines().next().unwrap_or("").trim();
        text.push_str(&format!(
            "{}\t{first}\n  {}\n",
            t["name"].as_str().unwrap_or(""),
            t["inputSchema"]
        ));
    }
    write_out(text.as_bytes())?;
    Ok(())
}
