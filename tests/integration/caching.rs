//! Prompt caching through the binary: Anthropic breakpoints placed by the agent on the tools, the
//! system prompt and the last block (which moves forward every turn while everything before it
//! stays the same), `--cache-ttl 1h` with its beta header, `--no-cache`; cache reads and writes
//! in the stored usage, priced, shown by `-u` and totalled by `session stats`.

use serde_json::{json, Value};

use crate::providers::agent;
use crate::tools::{fixture, Tools};
use crate::util::*;

/// An Anthropic text reply whose usage reports cache writes and reads, as `message_start`
/// carries them (<https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>).
fn cached_reply(text: &str, written: u64, read: u64) -> MockResponse {
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    MockResponse::sse_events(&[
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant",
                "content": [], "model": "claude-haiku-4-5-20251001", "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 10, "cache_creation_input_tokens": written, "cache_read_input_tokens": read,
                          "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ),
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": 5}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ])
}

/// `v` without any `cache_control`, to compare what is cached apart from where the marks are.
fn unmarked(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "cache_control")
                .map(|(k, v)| (k.clone(), unmarked(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(unmarked).collect()),
        other => other.clone(),
    }
}

/// Where the marks are: `tools[i]`, `system[i]`, `messages[i].content[j]`.
fn marks(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["tools", "system"] {
        for (i, b) in body[key].as_array().into_iter().flatten().enumerate() {
            if b.get("cache_control").is_some() {
                out.push(format!("{key}[{i}]"));
            }
        }
    }
    for (i, m) in body["messages"].as_array().unwrap().iter().enumerate() {
        for (j, b) in m["content"].as_array().into_iter().flatten().enumerate() {
            if b.get("cache_control").is_some() {
                out.push(format!("messages[{i}].content[{j}]"));
            }
        }
    }
    out
}

#[test]
fn breakpoints_move_forward_and_the_prefix_stays_byte_stable() {
    let t = Tools::new();
    t.new_session(&[
        "--provider",
        "anthropic",
        "-m",
        "claude-haiku-4-5",
        "--tool",
        &fixture("get_user_orders.yaml"),
    ]);
    for (i, text) in ["One.", "Two.", "Three."].iter().enumerate() {
        t.server
            .push(cached_reply(text, 1000, if i == 0 { 0 } else { 3000 }));
        let out = t.run(&["-u", &format!("turn {i}")]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let bodies: Vec<Value> = (0..3).map(|i| t.server.body(i)).collect();
    assert_eq!(
        marks(&bodies[0]),
        ["tools[0]", "system[0]", "messages[0].content[0]"]
    );
    assert_eq!(
        marks(&bodies[2]),
        ["tools[0]", "system[0]", "messages[4].content[0]"]
    );
    assert_eq!(
        bodies[0]["system"],
        json!([{"type": "text", "text": "You are a customer service assistant.", "cache_control": {"type": "ephemeral"}}])
    );
    for pair in bodies.windows(2) {
        // Tools and system prompt: the same bytes, marks included.
        for key in ["tools", "system"] {
            assert_eq!(pair[0][key].to_string(), pair[1][key].to_string());
        }
        // The earlier turn's messages start the later one's, unchanged but for the moved mark.
        let (before, after) = (&pair[0]["messages"], &pair[1]["messages"]);
        let n = before.as_array().unwrap().len();
        assert_eq!(
            unmarked(before).to_string(),
            json!(after.as_array().unwrap()[..n]).to_string()
        );
    }
    assert_eq!(t.server.requests()[0].header("anthropic-beta"), None);

    // 10 fresh at $1/M, 1000 writes at $1.25/M, 3000 reads at $0.10/M, 5 out at $5/M.
    let doc = t.env.doc("s");
    let reply = &doc["messages"][5];
    assert_eq!(
        reply["usage"],
        json!({"input_tokens": 4010, "output_tokens": 5, "cache_read_tokens": 3000, "cache_write_tokens": 1000})
    );
    assert_eq!(reply["cost_usd"], json!(0.001585));
    let stats = t
        .agent()
        .args(["session", "stats", "s", "--json"])
        .output()
        .unwrap();
    let s: Value = serde_json::from_str(&stdout(&stats)).unwrap();
    assert_eq!(
        (
            s["cache_read_tokens"].clone(),
            s["cache_write_tokens"].clone()
        ),
        (json!(6000), json!(3000))
    );
    // Reads saved 0.9 x $1/M each; writes cost 0.25 x $1/M more: 6000 x 0.9 - 3000 x 0.25.
    assert_eq!(s["cache_saved_usd"], json!(0.00465));
    let text = t.agent().args(["session", "stats", "s"]).output().unwrap();
    assert!(
        stdout(&text).contains("\ncache        6000 read, 3000 written, $0.004650 saved\n"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn usage_line_shows_cache_reads_and_writes() {
    let t = Tools::new();
    t.new_session(&["--provider", "anthropic", "-m", "claude-haiku-4-5"]);
    t.server.push(cached_reply("Hi.", 1000, 3000));
    let out = t.run(&["-u", "hello"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stderr(&out);
    assert!(
        line.starts_with(
            "agent: tokens 4010 in, 5 out (cached 3000, cache writes 1000) · $0.001585 · first token "
        ),
        "{line}"
    );
}

#[test]
fn one_hour_ttl_sends_the_beta_header_and_no_cache_sends_no_marks() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(cached_reply("Hi.", 0, 0));
    let id = crate::providers::new_session(&env, &server, &["-m", "claude-haiku-4-5"]);
    let run = |args: &[&str]| {
        let out = agent(&env, &server)
            .args(["session", "run", &id])
            .args(args)
            .arg("q")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    run(&["--cache-ttl", "1h"]);
    let req = &server.requests()[0];
    assert_eq!(
        req.header("anthropic-beta"),
        Some("extended-cache-ttl-2025-04-11")
    );
    assert_eq!(
        req.json()["system"][0]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );
    run(&["--no-cache"]);
    let body = server.body(1);
    assert_eq!(body["system"], "Be brief.");
    assert!(!body.to_string().contains("cache_control"));
    // A dry run shows what the turn would send: marks for a session, none for a one-shot.
    let dry = |args: &[&str]| {
        let out = agent(&env, &server).args(args).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).contains("cache_control")
    };
    assert!(dry(&["session", "run", &id, "--dry-run", "q"]));
    assert!(!dry(&["run", "--dry-run", "-m", "claude-haiku-4-5", "q"]));
    assert!(dry(&[
        "run",
        "--dry-run",
        "--cache-ttl",
        "5m",
        "-m",
        "claude-haiku-4-5",
        "q"
    ]));
    env.write_config("cache: off\n");
    run(&[]);
    assert!(!server.body(2).to_string().contains("cache_control"));
}
