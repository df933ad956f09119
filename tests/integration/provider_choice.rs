//! Choosing a provider: switching between turns with a neutral history, model-name
//! inference, config aliases and named providers, `agent models`, and a missing key.

use serde_json::{json, Value};

use crate::providers::{agent, anthropic_events, gemini_events, new_session, ok, run};
use crate::util::*;

#[test]
fn a_session_switches_provider_between_turns_with_neutral_history() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["From ", "OpenAI."]));
    server.push(MockResponse::sse_events(&anthropic_events(
        &["From Claude."],
        20,
        3,
    )));
    server.push(MockResponse::sse_events(&gemini_events(
        &["From Gemini."],
        30,
        3,
    )));
    let id = new_session(&env, &server, &[]);
    ok(&run(&env, &server, &[&id, "one"]));
    let out = agent(&env, &server)
        .args(["-v", "session", "run", &id, "-m", "claude-haiku-4-5", "two"])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "From Claude.\n");
    assert!(
        stderr(&out).contains("inferred from model 'claude-haiku-4-5'"),
        "{}",
        stderr(&out)
    );
    ok(&run(
        &env,
        &server,
        &[
            &id,
            "--provider",
            "gemini",
            "-m",
            "gemini-2.5-flash",
            "three",
        ],
    ));

    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths[..2], ["/v1/chat/completions", "/v1/messages"]);
    assert!(paths[2].starts_with("/v1beta/models/gemini-2.5-flash:"));
    assert_eq!(
        server.body(1)["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "one"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "From OpenAI."}]},
            {"role": "user", "content": [{"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}}]},
        ])
    );
    assert_eq!(
        server.body(1)["system"],
        json!([{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        server.body(2)["contents"],
        json!([
            {"role": "user", "parts": [{"text": "one"}]},
            {"role": "model", "parts": [{"text": "From OpenAI."}]},
            {"role": "user", "parts": [{"text": "two"}]},
            {"role": "model", "parts": [{"text": "From Claude."}]},
            {"role": "user", "parts": [{"text": "three"}]},
        ])
    );
    let doc = env.doc(&id);
    let who: Vec<(Value, Value)> = [1, 3, 5]
        .iter()
        .map(|&i| {
            (
                doc["messages"][i]["provider"].clone(),
                doc["messages"][i]["model"].clone(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            (json!("openai"), json!("gpt-4o-mini-2024-07-18")),
            (json!("anthropic"), json!("claude-haiku-4-5-20251001")),
            (json!("gemini"), json!("gemini-2.5-flash")),
        ]
    );
}

#[test]
fn model_aliases_and_named_providers_come_from_config() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    env.write_config(&format!(
        "models:\n  fast: {{provider: claude, model: claude-haiku-4-5}}\nproviders:\n  claude: {{kind: anthropic, base_url: '{}', api_key_env: MY_CLAUDE_KEY, headers: {{x-team: docs}}}}\n",
        server.url("")
    ));
    server.push(MockResponse::sse_events(&anthropic_events(&["Hi."], 5, 1)));
    let out = env
        .cmd()
        .env("MY_CLAUDE_KEY", "k-claude-123")
        .args(["run", "-m", "fast", "hello"])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "Hi.\n");
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(
        (req.header("x-api-key"), req.header("x-team")),
        (Some("k-claude-123"), Some("docs"))
    );
    assert_eq!(req.json()["model"], "claude-haiku-4-5");
}

#[test]
fn models_lists_each_protocols_ids() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::json(200, json!({"data": [{"type": "model", "id": "claude-opus-4-1", "display_name": "Claude Opus 4.1"},
        {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5"}],
        "has_more": false, "first_id": "claude-opus-4-1", "last_id": "claude-haiku-4-5"})));
    server.push(MockResponse::json(
        200,
        json!({"models": [{"name": "models/gemini-2.5-flash"}], "nextPageToken": "p2"}),
    ));
    server.push(MockResponse::json(
        200,
        json!({"models": [{"name": "models/gemini-2.5-pro"}]}),
    ));
    server.push(MockResponse::json(
        200,
        json!({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 1}]}),
    ));
    server.push(MockResponse::json(
        200,
        json!({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}),
    ));
    let list = |p: &str| {
        ok(&agent(&env, &server)
            .args(["models", "--provider", p])
            .output()
            .unwrap())
    };
    assert_eq!(list("anthropic"), "claude-opus-4-1\nclaude-haiku-4-5\n");
    assert_eq!(list("gemini"), "gemini-2.5-flash\ngemini-2.5-pro\n");
    assert_eq!(list("ollama"), "llama3.2:latest\n");
    assert_eq!(list("openai"), "gpt-4o-mini\n");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/models?limit=1000",
            "/v1beta/models?pageSize=1000",
            "/v1beta/models?pageSize=1000&pageToken=p2",
            "/api/tags",
            "/v1/models"
        ]
    );
    assert_eq!(server.requests()[0].header("x-api-key"), Some(KEY));
}

#[test]
fn a_missing_key_names_the_variable_before_any_request() {
    let env = TestEnv::new();
    for (model, var) in [
        ("claude-haiku-4-5", "ANTHROPIC_API_KEY"),
        ("gemini-2.5-flash", "GEMINI_API_KEY"),
    ] {
        let out = env.cmd().args(["run", "-m", model, "hi"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(var), "{}", stderr(&out));
    }
}

#[test]
fn inference_keeps_a_configured_provider_of_the_same_kind_and_local_tags() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    env.write_config(&format!(
        "provider: claude\nproviders:\n  claude: {{kind: anthropic, base_url: '{}', api_key_env: MY_CLAUDE_KEY}}\n",
        server.url("")
    ));
    server.push(MockResponse::sse_events(&anthropic_events(&["Hi."], 5, 1)));
    let out = env
        .cmd()
        .env("MY_CLAUDE_KEY", "k-claude-123")
        .args(["run", "-m", "claude-sonnet-4-5", "hello"])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "Hi.\n");
    assert_eq!(
        server.requests()[0].header("x-api-key"),
        Some("k-claude-123")
    );

    // `gpt-oss:20b` is an Ollama tag, not an OpenAI model: the configured provider stays.
    env.write_config("provider: ollama\n");
    let lines = crate::providers::ollama_lines(&["Local."], 5, 1);
    server.push(crate::providers::ndjson(&lines));
    let out = env
        .cmd()
        .env("OLLAMA_HOST", server.url(""))
        .args(["run", "-m", "gpt-oss:20b", "hello"])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "Local.\n");
    assert_eq!(server.requests()[1].path, "/api/chat");
}
