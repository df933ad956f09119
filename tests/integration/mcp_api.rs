//! MCP, continued: the Streamable HTTP transport against a server mocked byte for byte, the
//! library API, and completion of server names.

use std::path::Path;

use serde_json::{json, Value};

use crate::mcp::{agent, server_py};
use crate::tools::{openai_calls, Tools};
use crate::util::*;

/// A Streamable HTTP server, answered byte for byte: JSON for initialize and calls, SSE for
/// tools/list, 202 for notifications, 405 for the GET stream, 200 for DELETE.
fn http_server() -> MockServer {
    let server = MockServer::start();
    server.respond_with(std::sync::Arc::new(|r: &Recorded| {
        if r.method == "GET" {
            return MockResponse::new(405, "text/plain", vec![]);
        }
        if r.method == "DELETE" {
            return MockResponse::new(200, "text/plain", vec![]);
        }
        let msg = r.json();
        let id = msg["id"].clone();
        let answer = |result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
        match msg["method"].as_str().unwrap_or("") {
            "initialize" => MockResponse::json(
                200,
                answer(json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "remote", "version": "2"}})),
            )
            .header("mcp-session-id", "sess-42"),
            "tools/list" => MockResponse::sse_events(&[format!(
                "event: message\ndata: {}\n\n",
                answer(json!({"tools": [{"name": "lookup", "description": "Looks up.",
                    "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}}]}))
            )]),
            "tools/call" => MockResponse::json(
                200,
                answer(json!({"content": [{"type": "text", "text": format!("found {}", msg["params"]["arguments"]["q"].as_str().unwrap_or(""))}]})),
            ),
            _ => MockResponse::new(202, "text/plain", vec![]),
        }
    }));
    server
}

#[test]
fn streamable_http_keeps_the_session_id_and_deletes_it_at_the_end() {
    let t = Tools::new();
    let remote = http_server();
    let config = format!(
        "mcp_servers:\n  r:\n    url: {}\n    headers: {{Authorization: '${{REMOTE_TOKEN}}'}}\n",
        remote.url("/mcp")
    );
    t.env.write_config(&config);
    t.server
        .push(openai_calls(&[("call_1", "r__lookup", r#"{"q": "rust"}"#)]));
    t.server.push(MockResponse::openai_stream(&["Found it."]));
    let out = agent(&t)
        .env("REMOTE_TOKEN", "Bearer tok-1")
        .args(["run", "find rust"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Found it.\n", "{}", stderr(&out));
    assert_eq!(
        t.server.body(1)["messages"][2],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "found rust"})
    );
    let reqs = remote.requests();
    let posts: Vec<&Recorded> = reqs.iter().filter(|r| r.method == "POST").collect();
    let methods: Vec<String> = posts
        .iter()
        .map(|r| r.json()["method"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        methods,
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/call"
        ]
    );
    for r in &posts {
        // Both, as the transport requires (rmcp's order).
        assert_eq!(
            r.header("accept"),
            Some("text/event-stream, application/json")
        );
        assert_eq!(r.header("authorization"), Some("Bearer tok-1"));
    }
    assert_eq!(posts[0].header("mcp-session-id"), None);
    for r in &posts[1..] {
        assert_eq!(r.header("mcp-session-id"), Some("sess-42"));
        assert_eq!(r.header("mcp-protocol-version"), Some("2025-06-18"));
    }
    assert_eq!(
        posts[3].json()["params"],
        json!({"_meta": {"progressToken": 1}, "name": "lookup", "arguments": {"q": "rust"}})
    );
    let delete = reqs
        .iter()
        .find(|r| r.method == "DELETE")
        .expect("a DELETE at the end");
    assert_eq!(delete.header("mcp-session-id"), Some("sess-42"));
    assert_eq!(delete.path, "/mcp");
}

#[test]
fn the_library_offers_a_servers_tools_to_an_agent() {
    let server = MockServer::start();
    server.push(openai_calls(&[(
        "call_1",
        "t__echo",
        r#"{"text": "from the library"}"#,
    )]));
    server.push(MockResponse::openai_stream(&["Echoed."]));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mcp = agent::mcp::McpServer::stdio("t", ["python3".to_string(), server_py()])
            .await
            .unwrap();
        let tools = mcp.tools().await.unwrap();
        assert_eq!(tools.len(), 7);
        let agent = agent::Agent::builder()
            .provider("openai")
            .model("gpt-4o")
            .base_url(server.url("/v1"))
            .api_key(agent::provider::ApiKey::new(KEY))
            .tools(tools)
            .build()
            .unwrap();
        let mut session = agent.session().await.unwrap();
        let reply = session.run("echo it").await.unwrap();
        assert_eq!(reply.text, "Echoed.");
        let pid = mcp.pid().unwrap();
        mcp.shutdown().await;
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    });
    assert_eq!(
        server.body(1)["messages"][2],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "from the library"})
    );
}

#[test]
fn completion_offers_the_configured_servers() {
    let t = Tools::new();
    t.env.write_config(
        "mcp_servers:\n  time: {command: [python3, -m, mcp_server_time]}\n  tickets: {url: 'http://127.0.0.1:1/mcp'}\n",
    );
    for line in [
        &["--", "agent", "mcp", "tools", "t"][..],
        &["--", "agent", "run", "--mcp", "t"][..],
    ] {
        let out = t
            .env
            .cmd()
            .env("AGENT_COMPLETE", "fish")
            .args(line)
            .output()
            .unwrap();
        let names: Vec<&str> = std::str::from_utf8(&out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert_eq!(names, ["tickets", "time"], "{line:?}");
    }
}
