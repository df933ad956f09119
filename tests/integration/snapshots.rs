//! Snapshots of what people read: `--help`, transcripts, and the one-line errors of common
//! failures. Temp paths, times, ids and ports are filtered, so a snapshot changes only when
//! the words do. A changed snapshot fails with a diff; `INSTA_UPDATE=always cargo test`
//! rewrites them for review.

use serde_json::json;

use crate::util::*;

/// Filters for what differs between runs: the test's temp dir, mock ports, generated ids, times.
fn settings(env: &TestEnv) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(&regex_escape(&env.path().display().to_string()), "[TMP]");
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    s.add_filter(r"\d{8}-\d{6}-[0-9a-f]{6}", "[ID]");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[TIME]");
    s.add_filter(r"\d+\.\d+s\b", "[SECS]s");
    s
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[test]
fn help_texts() {
    let env = TestEnv::new();
    let s = settings(&env);
    for args in [
        &["--help"][..],
        &["session", "run", "--help"],
        &["json", "--help"],
        &["session", "ls", "--help"],
    ] {
        let out = env.cmd().args(args).env("COLUMNS", "100").passes();
        let name = format!("help-{}", args[..args.len() - 1].join("-"));
        let name = if name == "help-" { "help".into() } else { name };
        s.bind(|| insta::assert_snapshot!(name.as_str(), stdout(&out)));
    }
}

/// A session with a tool round and a failed turn, with fixed times, imported.
fn transcript_session(env: &TestEnv) {
    let doc = json!({
        "version": 1, "id": "trip", "title": "Trip to Lisbon",
        "created_at": "2026-11-25T14:28:55.123Z", "updated_at": "2026-11-25T14:31:02.456Z",
        "provider": "openai", "model": "gpt-4o-mini", "system": "You are a travel agent.",
        "options": {}, "forked_from": null,
        "messages": [
            {"role": "user", "content": "Plan a day in Lisbon", "created_at": "2026-11-25T14:29:00.000Z"},
            {"role": "assistant", "content": "", "created_at": "2026-11-25T14:29:01.000Z",
             "provider": "openai", "model": "gpt-4o-mini-2024-07-18",
             "tool_calls": [{"id": "c1", "name": "weather", "arguments": {"city": "Lisbon"}}]},
            {"role": "tool", "content": "{\"sky\": \"clear\", \"max\": 24}", "tool_call_id": "c1",
             "name": "weather", "created_at": "2026-11-25T14:29:02.000Z"},
            {"role": "assistant", "content": "Morning in Alfama, tram 28, sunset at Miradouro.",
             "created_at": "2026-11-25T14:29:05.000Z", "provider": "openai",
             "model": "gpt-4o-mini-2024-07-18", "finish_reason": "stop",
             "usage": {"input_tokens": 120, "output_tokens": 14}}
        ],
        "failed_turn": {"prompt": "And day two?", "partial": "Day two starts",
                        "error": "openai: HTTP 500: boom", "at": "2026-11-25T14:31:02.456Z"}
    });
    env.cmd()
        .args(["session", "import", "-"])
        .write_stdin(doc.to_string())
        .passes();
}

#[test]
fn transcripts() {
    let env = TestEnv::new();
    transcript_session(&env);
    let s = settings(&env);
    let plain = env.cmd().args(["session", "show", "trip"]).passes();
    s.bind(|| insta::assert_snapshot!("show-plain", &stdout(&plain)));
    let folded = env
        .cmd()
        .args(["session", "show", "trip"])
        .env("AGENT_TEST_TTY", "1")
        .env("NO_COLOR", "1")
        .passes();
    s.bind(|| insta::assert_snapshot!("show-terminal", &stdout(&folded)));
    let markdown = env
        .cmd()
        .args(["session", "show", "trip", "--format", "markdown"])
        .passes();
    s.bind(|| insta::assert_snapshot!("show-markdown", &stdout(&markdown)));
}

#[test]
fn error_lines() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    let mut lines = Vec::new();
    let mut case = |what: &str, code: i32, cmd: &mut assert_cmd::Command| {
        let out = cmd.code(code);
        lines.push(format!("{what} (exit {code}):\n{}", stderr(&out)));
    };
    case(
        "unknown session",
        5,
        env.cmd().args(["session", "show", "nope"]),
    );
    case("bad id", 2, env.cmd().args(["session", "show", "../x"]));
    case(
        "no prompt",
        2,
        env.agent(&server)
            .args(["session", "run", "s"])
            .write_stdin(""),
    );
    case(
        "existing id",
        2,
        env.cmd().args(["session", "new", "--id", "s"]),
    );
    server.push(MockResponse::openai_error(
        401,
        "Incorrect API key provided",
        "invalid_api_key",
    ));
    case(
        "bad key",
        3,
        env.agent(&server).args(["session", "run", "s", "hi"]),
    );
    case(
        "missing key",
        2,
        env.cmd().env_remove("OPENAI_API_KEY").args(["run", "hi"]),
    );
    server.push(MockResponse::openai_error(
        400,
        "This model's maximum context length is 128000 tokens.",
        "context_length_exceeded",
    ));
    case(
        "context overflow",
        3,
        env.agent(&server).args(["session", "run", "s", "hi"]),
    );
    std::fs::write(env.session_path("broken"), "{\"version\": 1, \"id\": \"bro").unwrap();
    case(
        "corrupt file",
        6,
        env.cmd().args(["session", "show", "broken"]),
    );
    case(
        "unknown provider",
        2,
        env.cmd().args(["run", "--provider", "nope", "hi"]),
    );
    let s = settings(&env);
    s.bind(|| insta::assert_snapshot!("error-lines", lines.join("\n")));
}
