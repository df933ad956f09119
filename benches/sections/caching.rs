//! Prompt caching over a 50-turn Anthropic session on the mock: the same conversation with
//! `--no-cache` and with the default breakpoints, the mock billing as Anthropic documents
//! (<https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>): the prefix up to
//! the last breakpoint that an earlier request wrote is read, the rest of it written, and
//! without breakpoints every prompt token is fresh input.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::util::{MockResponse, MockServer, TestEnv};

const TURNS: usize = 50;

/// Prompt tokens, estimated as a quarter of the bytes of what is sent.
fn tokens(body: &Value) -> u64 {
    let mut b = body.clone();
    strip(&mut b);
    let parts = [&b["tools"], &b["system"], &b["messages"]];
    parts.iter().map(|p| p.to_string().len() as u64 / 4).sum()
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("cache_control");
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

fn reply(fresh: u64, written: u64, read: u64) -> MockResponse {
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let text = "Noted; here is a short, useful answer of a realistic length for a review turn.";
    MockResponse::sse_events(&[
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "content": [], "model": "claude-haiku-4-5-20251001",
            "usage": {"input_tokens": fresh, "cache_creation_input_tokens": written,
                      "cache_read_input_tokens": read, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}),
        ),
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 20}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ])
}

/// A mock that bills like Anthropic: it remembers how many tokens the last request cached.
fn server() -> MockServer {
    let server = MockServer::start();
    let cached = Arc::new(Mutex::new(0u64));
    server.respond_with(Arc::new(move |req| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let total = tokens(&body);
        if !body.to_string().contains("cache_control") {
            return reply(total, 0, 0);
        }
        let mut prev = cached.lock().unwrap();
        // The last breakpoint is on the last block: the whole prompt is the cached prefix.
        let read = (*prev).min(total);
        *prev = total;
        reply(0, total - read, read)
    }));
    server
}

fn agent(env: &TestEnv, server: &MockServer) -> std::process::Command {
    let mut cmd = env.spawnable(server);
    cmd.env("ANTHROPIC_BASE_URL", server.url(""))
        .env("ANTHROPIC_API_KEY", "sk-bench");
    cmd
}

fn run(cache: bool) -> Value {
    let env = TestEnv::new();
    let server = server();
    let system = "You review code changes for a team that ships a Rust CLI. ".repeat(120);
    let new = env
        .spawnable(&server)
        .args([
            "session",
            "new",
            "--id",
            "c",
            "-m",
            "claude-haiku-4-5",
            "--system",
            &system,
        ])
        .output()
        .unwrap();
    assert!(new.status.success());
    let prompt = "Here is the next part of the diff to review, with its context lines. ".repeat(6);
    for _ in 0..TURNS {
        let mut cmd = agent(&env, &server);
        cmd.args(["session", "run", "c"]);
        if !cache {
            cmd.arg("--no-cache");
        }
        let out = cmd.arg(&prompt).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stats = env
        .spawnable(&server)
        .args(["session", "stats", "c", "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&stats.stdout).unwrap()
}

pub(crate) fn caching() {
    println!("\n## Prompt caching over a {TURNS}-turn session (claude-haiku-4-5 prices)\n");
    println!("| caching | prompt tokens | billed at full price | cache reads | cache writes | cost | saved |");
    println!("|---|---|---|---|---|---|---|");
    for cache in [false, true] {
        let s = run(cache);
        let (input, read, written) = (
            s["input_tokens"].as_u64().unwrap(),
            s["cache_read_tokens"].as_u64().unwrap(),
            s["cache_write_tokens"].as_u64().unwrap(),
        );
        println!(
            "| {} | {input} | {} | {read} | {written} | ${:.4} | ${:.4} |",
            if cache {
                "on (default)"
            } else {
                "off (--no-cache)"
            },
            input - read - written,
            s["cost_usd"].as_f64().unwrap(),
            s["cache_saved_usd"].as_f64().unwrap(),
        );
    }
}
