//! MCP servers as a source of tools, through the binary: a real server from PyPI
//! (`mcp-server-time`, installed by .ci/run), a small stdio server written from the
//! specification (tests/fixtures/mcp/server.py: pagination, isError, list_changed, a crash, a
//! hang, garbage), and a Streamable HTTP server mocked byte for byte; the mock model calls
//! their tools in the usual turn loop.

use std::path::Path;

use serde_json::{json, Value};

use crate::tools::{openai_calls, Tools};
use crate::util::*;

pub(crate) fn server_py() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp/server.py")
        .display()
        .to_string()
}

/// A servers file naming the fixture server `t` in `mode`, in the `mcpServers` form.
fn servers_file(t: &Tools, mode: &str, extra: Value) -> String {
    // The test's own directory as a last argument: what `pids` looks for.
    let mut body = json!({"command": "python3", "args": [server_py(), mode, t.env.path()]});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    let path = t.env.path().join(format!("mcp-{mode}.json"));
    std::fs::write(&path, json!({"mcpServers": {"t": body}}).to_string()).unwrap();
    path.display().to_string()
}

/// What the fixture server received, one JSON message per line of $MCP_LOG.
fn received(t: &Tools) -> Vec<Value> {
    std::fs::read_to_string(t.env.path().join("mcp.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn agent(t: &Tools) -> assert_cmd::Command {
    let mut cmd = t.agent();
    cmd.env("MCP_LOG", t.env.path().join("mcp.log"));
    cmd
}

/// The pids of this test's fixture servers (none may outlive a command).
fn pids(t: &Tools) -> Vec<String> {
    let out = std::process::Command::new("pgrep")
        .args(["-f", &format!("server.py .* {}", t.env.path().display())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn have_time_server() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import mcp_server_time"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let allowed = std::env::var_os("AGENT_TEST_ALLOW_SKIP").is_some_and(|v| v == "1");
        assert!(
            allowed,
            "the MCP server mcp-server-time is not installed and this test needs it: \
             pip install mcp-server-time (.ci/run installs it; AGENT_TEST_ALLOW_SKIP=1 skips)"
        );
    }
    ok
}

const TIME_CONFIG: &str =
    "mcp_servers:\n  time:\n    command: [python3, -m, mcp_server_time, --local-timezone, UTC]\n";

#[test]
fn the_real_time_server_lists_its_tools() {
    if !have_time_server() {
        return;
    }
    let t = Tools::new();
    t.env.write_config(TIME_CONFIG);
    let out = agent(&t).args(["mcp", "ls"]).output().unwrap();
    assert_eq!(
        stdout(&out),
        "time\tpython3 -m mcp_server_time --local-timezone UTC\n"
    );
    let out = agent(&t)
        .args(["mcp", "tools", "time", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["time__get_current_time", "time__convert_time"]);
    assert_eq!(list[1]["tool"], "convert_time");
    assert_eq!(list[1]["inputSchema"]["type"], "object");
}

#[test]
fn a_turn_calls_the_real_time_server() {
    if !have_time_server() {
        return;
    }
    let t = Tools::new();
    t.env.write_config(TIME_CONFIG);
    let args = r#"{"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}"#;
    t.server
        .push(openai_calls(&[("call_1", "time__convert_time", args)]));
    t.server
        .push(MockResponse::openai_stream(&["It is 21:00."]));
    let out = agent(&t)
        .args(["run", "What time is noon UTC in Tokyo?"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "It is 21:00.\n", "{}", stderr(&out));
    let first = t.server.body(0);
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["time__get_current_time", "time__convert_time"]);
    let result = t.server.body(1)["messages"][2].clone();
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], "call_1");
    let content: Value = serde_json::from_str(result["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["target"]["timezone"], "Asia/Tokyo");
    let at = content["target"]["datetime"].as_str().unwrap();
    assert!(at.ends_with("T21:00:00+09:00"), "{at}");
    assert_eq!(content["time_difference"], "+9.0h");
}

#[test]
fn the_handshake_and_every_page_of_tools_list() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({}));
    let out = agent(&t).args(["mcp", "tools", &file]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let names: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "t__echo",
            "t__fail",
            "t__env",
            "t__crash",
            "t__change",
            "t__image",
            "t__slow"
        ]
    );
    assert!(text.starts_with(
        "t__echo\tSays the text back.\n  {\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}\n"
    ), "{text}");
    let got = received(&t);
    assert_eq!(got[0]["method"], "initialize");
    assert_eq!(got[0]["params"]["protocolVersion"], "2025-11-25");
    assert_eq!(got[0]["params"]["clientInfo"]["name"], "agent");
    assert_eq!(
        got[0]["params"]["clientInfo"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        got[1],
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    );
    assert_eq!(got[2]["method"], "tools/list");
    assert_eq!(got[3]["method"], "tools/list");
    assert_eq!(got[3]["params"]["cursor"], "page-2");
    assert!(pids(&t).is_empty(), "a server outlived the command");
}

#[test]
fn a_session_remembers_its_server_and_the_model_calls_it() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({"env": {"EXTRA": "1"}}));
    let out = agent(&t)
        .args(["session", "new", "--id", "s", "--mcp", &file])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = t.env.doc("s");
    assert_eq!(
        doc["mcp_servers"],
        json!([{"name": "t", "command": ["python3", server_py(), "ok", t.env.path()], "env": {"EXTRA": "1"}, "timeout": 30.0}])
    );
    t.server.push(openai_calls(&[
        ("call_1", "t__echo", r#"{"text": "hi there"}"#),
        ("call_2", "t__env", "{}"),
    ]));
    t.server.push(MockResponse::openai_stream(&["Done."]));
    let out = agent(&t)
        .args(["session", "run", "s", "say hi"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Done.\n", "{}", stderr(&out));
    let first = t.server.body(0);
    assert_eq!(
        first["tools"][0],
        json!({"type": "function", "function": {"name": "t__echo",
            "description": "Says the text back.\nSecond line.",
            "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}})
    );
    let follow = t.server.body(1)["messages"].clone();
    assert_eq!(
        follow[2],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "hi there"})
    );
    // Provider keys never reach a server; its `env:` does.
    assert_eq!(
        follow[3],
        json!({"role": "tool", "tool_call_id": "call_2", "content": "EXTRA PATH"})
    );
    let calls: Vec<Value> = received(&t)
        .into_iter()
        .filter(|m| m["method"] == "tools/call")
        .map(|m| {
            let mut params = m["params"].clone();
            // The SDK asks for progress notifications on every call.
            assert!(params["_meta"]["progressToken"].is_number(), "{params}");
            params.as_object_mut().unwrap().remove("_meta");
            params
        })
        .collect();
    assert_eq!(
        calls,
        [
            json!({"name": "echo", "arguments": {"text": "hi there"}}),
            json!({"name": "env", "arguments": {}})
        ]
    );
    let doc = t.env.doc("s");
    assert_eq!(doc["messages"][2]["content"], "hi there");
    assert_eq!(doc["messages"][4]["content"], "Done.");
    assert!(pids(&t).is_empty(), "a server outlived the command");
}

#[test]
fn error_results_images_and_invalid_arguments() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({}));
    t.server.push(openai_calls(&[
        ("call_1", "t__fail", "{}"),
        ("call_2", "t__image", "{}"),
        ("call_3", "t__echo", r#"{"text": 5}"#),
    ]));
    t.server.push(MockResponse::openai_stream(&["Sorry."]));
    let out = agent(&t)
        .args(["run", "--mcp", &file, "go"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Sorry.\n", "{}", stderr(&out));
    let follow = t.server.body(1)["messages"].clone();
    assert_eq!(follow[2]["content"], "no such order");
    assert_eq!(
        follow[3]["content"],
        "[image: image/png, about 8 bytes, not shown]\n{\"w\":1,\"h\":1}"
    );
    let invalid = follow[4]["content"].as_str().unwrap();
    assert!(invalid.starts_with("invalid arguments"), "{invalid}");
    // The invalid call never reached the server.
    let calls = received(&t)
        .iter()
        .filter(|m| m["method"] == "tools/call")
        .count();
    assert_eq!(calls, 2);
}

#[test]
fn a_server_that_dies_mid_call_fails_the_turn_and_leaves_nothing_running() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({}));
    let id = new_session(&t.env, &["--mcp", &file]);
    let before = t.env.doc(&id);
    t.server.push(openai_calls(&[("call_1", "t__crash", "{}")]));
    let out = agent(&t)
        .args(["session", "run", &id, "go"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "agent: error: MCP server 't' stopped during the call of crash (Transport closed) (the server exited: exit status: 3); stderr: server ready / crashing now\n"
    );
    // One request: no follow-up with a result; the history is as it was, the prompt kept.
    assert_eq!(t.server.requests().len(), 1);
    let doc = t.env.doc(&id);
    assert_eq!(doc["messages"], before["messages"]);
    assert_eq!(doc["failed_turn"]["prompt"], "go");
    assert!(pids(&t).is_empty(), "a server outlived the command");
}

#[test]
fn servers_that_fail_to_start_hang_or_write_garbage_fail_the_turn_before_any_request() {
    let t = Tools::new();
    let id = new_session(&t.env, &[]);
    let before = t.env.raw(&id);
    for (mode, want) in [
        (
            "exit",
            "agent: error: MCP server 't' failed to start: it exited before answering initialize (the server exited: exit status: 2); stderr: cannot start: no database\n",
        ),
        (
            "hang",
            "agent: error: MCP server 't' did not complete initialize within 3s; stderr: server ready\n",
        ),
        (
            "future",
            "agent: error: MCP server 't' answered protocol version \"2099-01-01\", which agent does not speak (2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05)\n",
        ),
        (
            "garbage",
            "agent: error: MCP server 't' did not complete initialize within 3s; it wrote what is not JSON-RPC on stdout: \"this is not JSON\"; stderr: server ready\n",
        ),
    ] {
        let file = servers_file(&t, mode, json!({"timeout": 3}));
        let out = agent(&t)
            .args(["session", "run", &id, "--mcp", &file, "hello"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", stderr(&out));
        assert_eq!(stderr(&out), want, "{mode}");
    }
    assert!(t.server.requests().is_empty());
    assert_eq!(t.env.raw(&id), before, "a failed start touched the session");
    assert!(pids(&t).is_empty(), "a server outlived the command");
}

#[test]
fn a_chat_starts_its_server_once_and_sees_a_changed_tools_list() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({}));
    t.server
        .push(openai_calls(&[("call_1", "t__change", "{}")]));
    t.server.push(MockResponse::openai_stream(&["Added."]));
    t.server.push(MockResponse::openai_stream(&["Two."]));
    t.server.push(MockResponse::openai_stream(&["Three."]));
    let out = agent(&t)
        .args(["chat", "--lines", "--mcp", &file])
        .write_stdin("one\ntwo\nthree\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Added.\n\nTwo.\n\nThree.\n");
    let count = |i: usize| t.server.body(i)["tools"].as_array().unwrap().len();
    assert_eq!((count(0), count(1), count(2), count(3)), (7, 7, 8, 8));
    let got = received(&t);
    let inits = got.iter().filter(|m| m["method"] == "initialize").count();
    let lists = got.iter().filter(|m| m["method"] == "tools/list").count();
    // One server for the whole chat; listed once, then again after list_changed (2 pages each).
    assert_eq!((inits, lists), (1, 4));
}

#[test]
fn strict_mcp_ignores_the_config_and_unknown_names_say_what_there_is() {
    let t = Tools::new();
    t.env.write_config(&format!(
        "mcp_servers:\n  conf:\n    command: [python3, {}, ok]\n",
        server_py()
    ));
    let file = servers_file(&t, "ok", json!({}));
    t.server.push(MockResponse::openai_stream(&["Hi."]));
    let out = agent(&t)
        .args(["run", "--strict-mcp", "--mcp", &file, "hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let tools = t.server.body(0)["tools"].clone();
    assert!(tools
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["function"]["name"].as_str().unwrap().starts_with("t__")));
    let out = agent(&t)
        .args(["run", "--mcp", "nope", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "agent: error: --mcp nope: no such file, and no MCP server of that name in the config (it has conf)\n"
    );
}

#[test]
fn show_and_import_name_the_servers() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({}));
    let out = agent(&t)
        .args(["session", "new", "--id", "s", "--mcp", &file])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let command = format!("python3 {} ok {}", server_py(), t.env.path().display());
    let shown = stdout(&agent(&t).args(["session", "show", "s"]).output().unwrap());
    assert!(
        shown.contains(&format!("\n[mcp servers]\nt: {command}\n")),
        "{shown}"
    );
    let doc = t.env.path().join("s.json");
    std::fs::write(&doc, t.env.raw("s")).unwrap();
    agent(&t).args(["session", "rm", "s"]).assert().success();
    let out = agent(&t)
        .args(["session", "import"])
        .arg(&doc)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("agent: note: session 's' declares MCP servers that later turns start or contact: t ({command})\n")
    );
}

#[test]
fn confirm_timeout_and_the_servers_stderr_with_verbose() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({"confirm": true, "timeout": 3}));
    // No terminal to ask on, and no --yes: the call is refused, the server never sees it.
    t.server
        .push(openai_calls(&[("call_1", "t__echo", r#"{"text": "x"}"#)]));
    t.server.push(MockResponse::openai_stream(&["Refused."]));
    let out = agent(&t)
        .args(["run", "--mcp", &file, "go"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Refused.\n", "{}", stderr(&out));
    let refused = t.server.body(1)["messages"][2]["content"].clone();
    assert!(refused.as_str().unwrap().contains("--yes"), "{refused}");
    assert!(!received(&t).iter().any(|m| m["method"] == "tools/call"));
    // With --yes it runs; a call slower than `timeout` is an error result naming the server.
    t.server.push(openai_calls(&[("call_2", "t__slow", "{}")]));
    t.server.push(MockResponse::openai_stream(&["Too slow."]));
    let out = agent(&t)
        .args(["run", "-v", "--yes", "--mcp", &file, "go"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Too slow.\n", "{}", stderr(&out));
    assert_eq!(
        t.server.body(3)["messages"][2]["content"],
        "MCP server 't' did not answer the call of slow within 3s"
    );
    let err = stderr(&out);
    assert!(err.contains("\nagent: t: server ready\n"), "{err}");
    assert!(pids(&t).is_empty(), "a server outlived the command");
}

#[test]
fn ctrl_c_leaves_no_server_running() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({}));
    t.server.push(openai_calls(&[("call_1", "t__slow", "{}")]));
    let mut child = t
        .env
        .spawnable(&t.server)
        .env("MCP_LOG", t.env.path().join("mcp.log"))
        .args(["run", "--mcp", &file, "go"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the call to reach the server, then interrupt twice (the second ends at once).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !received(&t).iter().any(|m| m["method"] == "tools/call") {
        assert!(
            std::time::Instant::now() < deadline,
            "the call never arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(pids(&t).len(), 1);
    signal(child.id(), "INT");
    std::thread::sleep(std::time::Duration::from_millis(200));
    signal(child.id(), "INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(pids(&t).is_empty(), "a server outlived the command");
}

#[test]
fn run_create_remembers_the_servers_and_no_tools_starts_none() {
    let t = Tools::new();
    let file = servers_file(&t, "ok", json!({}));
    t.server.push(MockResponse::openai_stream(&["Hi."]));
    let out = agent(&t)
        .args(["session", "run", "s", "--create", "--mcp", &file, "hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(t.env.doc("s")["mcp_servers"][0]["name"], "t");
    let inits = |t: &Tools| {
        received(t)
            .iter()
            .filter(|m| m["method"] == "initialize")
            .count()
    };
    assert_eq!(inits(&t), 1);
    // The next turn starts the remembered server without flags; --no-tools starts nothing.
    t.server.push(MockResponse::openai_stream(&["Again."]));
    agent(&t)
        .args(["session", "run", "s", "again"])
        .assert()
        .success();
    assert_eq!(inits(&t), 2);
    assert_eq!(t.server.body(1)["tools"].as_array().unwrap().len(), 7);
    t.server.push(MockResponse::openai_stream(&["Plain."]));
    agent(&t)
        .args(["session", "run", "s", "--no-tools", "plain"])
        .assert()
        .success();
    assert_eq!(inits(&t), 2);
    assert!(t.server.body(2).get("tools").is_none());
}
