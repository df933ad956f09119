//! Anthropic, Gemini and Ollama through the real binary against a mock speaking each protocol's
//! exact event sequences: request bodies and headers, stored usage, error bodies, mid-stream
//! failures that leave the session unchanged.

use serde_json::{json, Value};

use crate::util::*;

/// Anthropic named SSE events, as in the Messages streaming reference (with a `ping`).
pub(crate) fn anthropic_events(deltas: &[&str], input: u64, output: u64) -> Vec<String> {
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut out = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant",
                "content": [], "model": "claude-haiku-4-5-20251001", "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ev("ping", json!({"type": "ping"})),
    ];
    for d in deltas {
        out.push(ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
        ));
    }
    out.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": output}}),
    ));
    out.push(ev("message_stop", json!({"type": "message_stop"})));
    out
}

/// Gemini `alt=sse` chunks, CRLF-framed as Gemini sends them; the last carries `finishReason`.
pub(crate) fn gemini_events(deltas: &[&str], input: u64, output: u64) -> Vec<String> {
    let n = deltas.len();
    deltas
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut candidate =
                json!({"content": {"parts": [{"text": d}], "role": "model"}, "index": 0});
            let mut usage = json!({"promptTokenCount": input, "totalTokenCount": input});
            if i + 1 == n {
                candidate["finishReason"] = json!("STOP");
                usage = json!({"promptTokenCount": input, "candidatesTokenCount": output,
                               "totalTokenCount": input + output});
            }
            let chunk = json!({"candidates": [candidate], "usageMetadata": usage,
                               "modelVersion": "gemini-2.5-flash", "responseId": "r1"});
            format!("data: {chunk}\r\n\r\n")
        })
        .collect()
}

/// Ollama NDJSON lines, ending with the `done: true` object and its counts.
pub(crate) fn ollama_lines(deltas: &[&str], input: u64, output: u64) -> Vec<String> {
    let mut out: Vec<String> = deltas
        .iter()
        .map(|d| {
            let line = json!({"model": "llama3.2", "created_at": "2023-08-04T08:52:19.385406455-07:00",
                              "message": {"role": "assistant", "content": d}, "done": false});
            format!("{line}\n")
        })
        .collect();
    let last = json!({"model": "llama3.2", "created_at": "2023-08-04T19:22:45.499127Z",
                      "message": {"role": "assistant", "content": ""}, "done_reason": "stop", "done": true,
                      "total_duration": 4883583458u64, "load_duration": 1334875, "prompt_eval_count": input,
                      "prompt_eval_duration": 342546000, "eval_count": output, "eval_duration": 4535599000u64});
    out.push(format!("{last}\n"));
    out
}

pub(crate) fn ndjson(lines: &[String]) -> MockResponse {
    let parts = lines
        .iter()
        .map(|l| Part::Bytes(l.clone().into_bytes()))
        .collect();
    MockResponse::new(200, "application/x-ndjson", parts)
}

/// `agent` pointed at `server` for all three providers.
pub(crate) fn agent(env: &TestEnv, server: &MockServer) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.env("ANTHROPIC_BASE_URL", server.url(""))
        .env("ANTHROPIC_API_KEY", KEY)
        .env("GEMINI_BASE_URL", server.url(""))
        .env("GEMINI_API_KEY", KEY)
        .env("OLLAMA_HOST", server.url(""))
        .env("OPENAI_BASE_URL", server.url("/v1"));
    cmd
}

pub(crate) fn new_session(env: &TestEnv, server: &MockServer, args: &[&str]) -> String {
    let out = agent(env, server)
        .args(["session", "new", "--system", "Be brief."])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

pub(crate) fn run(env: &TestEnv, server: &MockServer, args: &[&str]) -> std::process::Output {
    agent(env, server)
        .args(["session", "run"])
        .args(args)
        .output()
        .unwrap()
}

pub(crate) fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "stderr: {}", stderr(out));
    stdout(out)
}

/// A failed turn: exit 3 and one stderr line.
pub(crate) fn failed(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(3),
        "stdout: {} stderr: {}",
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    // A partial reply on stdout is followed by a bare newline on stderr, then the error.
    assert_eq!(err.lines().filter(|l| !l.is_empty()).count(), 1, "{err}");
    err
}

#[test]
fn anthropic_two_turns_stream_with_top_level_system_and_usage() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::sse_events(&anthropic_events(
        &["Hel", "lo!"],
        21,
        5,
    )));
    server.push(MockResponse::sse_events(&anthropic_events(
        &["Again."],
        30,
        3,
    )));
    let id = new_session(&env, &server, &["-m", "claude-haiku-4-5"]);
    assert_eq!(ok(&run(&env, &server, &[&id, "hi"])), "Hello!\n");
    assert_eq!(ok(&run(&env, &server, &[&id, "once more"])), "Again.\n");

    let req = &server.requests()[1];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    let body = req.json();
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(
        (
            body["system"].clone(),
            body["max_tokens"].clone(),
            body["stream"].clone()
        ),
        (
            json!([{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]),
            json!(4096),
            json!(true)
        )
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
            {"role": "user", "content": [{"type": "text", "text": "once more", "cache_control": {"type": "ephemeral"}}]},
        ])
    );
    let doc = env.doc(&id);
    assert_eq!(doc["provider"], "anthropic");
    let reply = &doc["messages"][3];
    assert_eq!(
        (reply["provider"].clone(), reply["model"].clone()),
        (json!("anthropic"), json!("claude-haiku-4-5-20251001"))
    );
    assert_eq!(
        reply["usage"],
        json!({"input_tokens": 30, "output_tokens": 3})
    );
    assert_eq!(reply["finish_reason"], "stop");
}

#[test]
fn anthropic_no_stream_and_max_tokens_flag() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::json(200, json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 2}})));
    let id = new_session(
        &env,
        &server,
        &["--provider", "anthropic", "-m", "claude-haiku-4-5"],
    );
    assert_eq!(
        ok(&run(
            &env,
            &server,
            &[&id, "--no-stream", "--max-tokens", "50", "capital?"]
        )),
        "Paris.\n"
    );
    let body = server.body(0);
    assert_eq!(
        (body["stream"].clone(), body["max_tokens"].clone()),
        (json!(false), json!(50))
    );
    assert_eq!(
        env.doc(&id)["messages"][1]["usage"],
        json!({"input_tokens": 12, "output_tokens": 2})
    );
}

#[test]
fn anthropic_error_body_is_one_line_and_overloaded_is_retried() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    server.push(MockResponse::json(529, overloaded));
    server.push(MockResponse::sse_events(&anthropic_events(&["ok"], 1, 1)));
    let id = new_session(&env, &server, &["-m", "claude-haiku-4-5"]);
    assert_eq!(ok(&run(&env, &server, &[&id, "hi"])), "ok\n");
    assert_eq!(server.requests().len(), 2);

    let bad = json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"},
                     "request_id": "req_1"});
    server.push(MockResponse::json(400, bad));
    let err = failed(&run(&env, &server, &[&id, "again"]));
    assert!(
        err.contains("HTTP 400")
            && err.contains("invalid_request_error")
            && err.contains("max_tokens: too large"),
        "{err}"
    );
    assert_eq!(env.doc(&id)["messages"].as_array().unwrap().len(), 2);
}

#[test]
fn anthropic_mid_stream_error_leaves_messages_unchanged() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let mut events = anthropic_events(&["Partial"], 9, 1);
    events.truncate(4); // message_start, block start, ping, a delta
    events.push("event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n".into());
    server.push(MockResponse::sse_events(&events));
    let id = new_session(&env, &server, &["-m", "claude-haiku-4-5"]);
    let err = failed(&run(&env, &server, &[&id, "hi"]));
    assert!(
        err.contains("overloaded_error") && err.contains("Overloaded"),
        "{err}"
    );
    let doc = env.doc(&id);
    assert_eq!(doc["messages"], json!([]));
    assert_eq!(doc["failed_turn"]["prompt"], "hi");

    // A stream cut before message_stop fails the same way.
    let mut events = anthropic_events(&["Cut"], 9, 1);
    events.pop();
    server.push(MockResponse::sse_events(&events));
    let err = failed(&run(&env, &server, &[&id, "hi"]));
    assert!(err.contains("message_stop"), "{err}");
    assert_eq!(env.doc(&id)["messages"], json!([]));
}

#[test]
fn gemini_two_turns_stream_with_model_role_and_system_instruction() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    // An overloaded model (503 UNAVAILABLE) is retried after its Retry-After.
    let unavailable = json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}});
    server.push(MockResponse::json(503, unavailable).header("retry-after", "0"));
    server.push(MockResponse::sse_events(&gemini_events(
        &["Hel", "lo!"],
        8,
        4,
    )));
    server.push(MockResponse::sse_events(&gemini_events(&["Again."], 15, 2)));
    let id = new_session(&env, &server, &["-m", "gemini-2.5-flash"]);
    assert_eq!(ok(&run(&env, &server, &[&id, "hi"])), "Hello!\n");
    assert_eq!(ok(&run(&env, &server, &[&id, "once more"])), "Again.\n");

    assert_eq!(server.requests().len(), 3);
    let req = &server.requests()[2];
    assert_eq!(
        req.path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(req.header("x-goog-api-key"), Some(KEY));
    let body = req.json();
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "once more"}]},
        ])
    );
    let reply = &env.doc(&id)["messages"][3];
    assert_eq!(
        (reply["provider"].clone(), reply["model"].clone()),
        (json!("gemini"), json!("gemini-2.5-flash"))
    );
    assert_eq!(
        reply["usage"],
        json!({"input_tokens": 15, "output_tokens": 2})
    );
}

#[test]
fn gemini_no_stream_error_body_and_truncated_stream() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let whole = json!({"candidates": [{"content": {"parts": [{"text": "Paris."}], "role": "model"},
                       "finishReason": "STOP", "index": 0}],
                       "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2, "totalTokenCount": 9},
                       "modelVersion": "gemini-2.5-flash"});
    server.push(MockResponse::json(200, whole));
    let id = new_session(&env, &server, &["-m", "gemini-2.5-flash"]);
    assert_eq!(
        ok(&run(&env, &server, &[&id, "--no-stream", "capital?"])),
        "Paris.\n"
    );
    assert_eq!(
        server.requests()[0].path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(
        env.doc(&id)["messages"][1]["usage"],
        json!({"input_tokens": 7, "output_tokens": 2})
    );

    // A bad key is a 400 with the reason in details.
    server.push(MockResponse::json(400, json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}})));
    let err = failed(&run(&env, &server, &[&id, "again"]));
    assert!(
        err.contains("HTTP 400")
            && err.contains("API_KEY_INVALID")
            && err.contains("API key not valid"),
        "{err}"
    );

    // No finishReason before the body ends: truncated, nothing saved.
    let mut events = gemini_events(&["Half", "way"], 7, 2);
    events.pop();
    server.push(MockResponse::sse_events(&events));
    let err = failed(&run(&env, &server, &[&id, "again"]));
    assert!(err.contains("finishReason"), "{err}");
    assert_eq!(env.doc(&id)["messages"].as_array().unwrap().len(), 2);
}

#[test]
fn gemini_error_inside_a_200_stream_fails_the_turn() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let mut events = gemini_events(&["Partial", "x"], 7, 2);
    events[1] = "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n".into();
    server.push(MockResponse::sse_events(&events));
    let id = new_session(&env, &server, &["-m", "gemini-2.5-flash"]);
    let err = failed(&run(&env, &server, &[&id, "hi"]));
    assert!(
        err.contains("UNAVAILABLE") && err.contains("overloaded"),
        "{err}"
    );
    assert_eq!(env.doc(&id)["messages"], json!([]));
}

#[test]
fn ollama_two_turns_stream_ndjson_without_a_key() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(ndjson(&ollama_lines(&["Hel", "lo!"], 26, 5)));
    server.push(ndjson(&ollama_lines(&["Again."], 40, 2)));
    let id = new_session(&env, &server, &["--provider", "ollama", "-m", "llama3.2"]);
    assert_eq!(ok(&run(&env, &server, &[&id, "hi"])), "Hello!\n");
    assert_eq!(ok(&run(&env, &server, &[&id, "once more"])), "Again.\n");

    let req = &server.requests()[1];
    assert_eq!(req.path, "/api/chat");
    assert_eq!(req.header("authorization"), None);
    let body = req.json();
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "once more"},
        ])
    );
    let reply = &env.doc(&id)["messages"][3];
    assert_eq!(
        (reply["provider"].clone(), reply["model"].clone()),
        (json!("ollama"), json!("llama3.2"))
    );
    assert_eq!(
        reply["usage"],
        json!({"input_tokens": 40, "output_tokens": 2})
    );
}

#[test]
fn ollama_no_stream_error_body_and_error_line() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let lines = ollama_lines(&["Paris."], 10, 3);
    let whole: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let mut whole = whole;
    whole["message"]["content"] = json!("Paris.");
    server.push(MockResponse::json(200, whole));
    let id = new_session(&env, &server, &["--provider", "ollama", "-m", "llama3.2"]);
    assert_eq!(
        ok(&run(&env, &server, &[&id, "--no-stream", "capital?"])),
        "Paris.\n"
    );
    assert_eq!(server.body(0)["stream"], false);

    server.push(MockResponse::json(
        404,
        json!({"error": "model 'llama9' not found"}),
    ));
    let err = failed(&run(&env, &server, &[&id, "-m", "llama9", "again"]));
    assert!(
        err.contains("HTTP 404") && err.contains("model 'llama9' not found"),
        "{err}"
    );

    let mut lines = ollama_lines(&["Half"], 10, 3);
    lines[1] = "{\"error\":\"an error was encountered while running the model\"}\n".into();
    server.push(ndjson(&lines));
    let err = failed(&run(&env, &server, &[&id, "again"]));
    assert!(err.contains("error was encountered"), "{err}");
    assert_eq!(env.doc(&id)["messages"].as_array().unwrap().len(), 2);
}
