//! Hostile servers and inputs: keys that must stay where they belong, answers that never end or
//! never arrive, files copied or planted by hand. Each test failed before its fix.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::*;

/// A key appears nowhere the test can read: output, stored documents, every file.
fn assert_no_key(env: &TestEnv, out: &std::process::Output) {
    assert!(!stderr(out).contains(KEY), "stderr: {}", stderr(out));
    assert!(!stdout(out).contains(KEY), "stdout: {}", stdout(out));
    for file in env.all_files() {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(KEY), "{} holds the key", file.display());
    }
}

#[test]
fn a_named_providers_key_goes_to_its_own_url_only() {
    let env = TestEnv::new();
    let local = MockServer::start();
    let router = MockServer::start();
    router.push(MockResponse::openai_stream(&["routed"]));
    env.write_config(&format!(
        "providers:\n  openrouter: {{kind: openai, base_url: '{}', api_key_env: OPENROUTER_API_KEY}}\n",
        router.url("/api/v1")
    ));
    // OPENAI_BASE_URL points at a local server (env.agent sets it): it must see nothing.
    env.agent(&local)
        .env("OPENROUTER_API_KEY", "sk-or-ROUTER-KEY-0123456789")
        .args(["run", "--provider", "openrouter", "hi"])
        .assert()
        .success()
        .stdout("routed\n");
    assert!(
        local.requests().is_empty(),
        "the local server got a request"
    );
    let sent = &router.requests()[0];
    assert_eq!(sent.path, "/api/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-or-ROUTER-KEY-0123456789")
    );
    // A provider defined without a key variable sends no key at all, not OPENAI_API_KEY.
    env.write_config(&format!(
        "providers:\n  plain: {{kind: openai, base_url: '{}'}}\n",
        router.url("/v1")
    ));
    router.push(MockResponse::openai_stream(&["ok"]));
    env.agent(&local)
        .args(["run", "--provider", "plain", "hi"])
        .assert()
        .success();
    assert_eq!(router.requests()[1].header("authorization"), None);
}

#[test]
fn redirects_are_never_followed() {
    for (provider, model, key_var) in [
        ("openai", "gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic", "claude-haiku-4-5", "ANTHROPIC_API_KEY"),
        ("gemini", "gemini-2.5-flash", "GEMINI_API_KEY"),
    ] {
        let env = TestEnv::new();
        let server = MockServer::start();
        let elsewhere = MockServer::start();
        server.push(
            MockResponse::new(307, "text/plain", vec![])
                .header("location", &elsewhere.url("/steal")),
        );
        let var = format!("{}_BASE_URL", provider.to_uppercase());
        let out = env
            .cmd()
            .env(
                &var,
                server.url(if provider == "openai" { "/v1" } else { "" }),
            )
            .env(key_var, KEY)
            .args(["run", "--provider", provider, "-m", model, "hi"])
            .code(3);
        assert!(
            elsewhere.requests().is_empty(),
            "{provider} followed the redirect"
        );
        assert!(
            stderr(&out).contains(&elsewhere.url("/steal")) && stderr(&out).contains("redirect"),
            "{provider}: {}",
            stderr(&out)
        );
        assert_eq!(server.requests().len(), 1, "{provider}: sent again");
        assert_no_key(&env, &out);
    }
}

#[test]
fn a_key_echoed_in_an_error_is_redacted_wherever_it_goes() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    // Inside a 200 stream.
    server.push(MockResponse::sse_events(&[format!(
        "data: {}\n\n",
        json!({"error": {"message": format!("invalid key {KEY} for this org"), "type": "invalid_request_error"}})
    )]));
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "hi"])
        .code(3);
    assert!(stderr(&out).contains("(redacted)"), "{}", stderr(&out));
    let export = env.cmd().args(["session", "export", "s"]).passes();
    assert!(stdout(&export).contains("(redacted)"));
    assert_no_key(&env, &out);
    // In a non-streamed 200 body, and in an error status body.
    server.push(MockResponse::json(
        200,
        json!({"error": {"message": format!("key {KEY} revoked")}}),
    ));
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "--no-stream", "hi"])
        .code(3);
    assert_no_key(&env, &out);
    server.push(MockResponse::openai_error(
        401,
        &format!("key {KEY} revoked"),
        "invalid_api_key",
    ));
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "hi"])
        .code(3);
    assert_no_key(&env, &out);
}

#[test]
fn an_infinite_retry_after_fails_with_the_servers_message() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    for (header, value) in [
        ("retry-after", "inf"),
        ("retry-after-ms", "1e308"),
        ("retry-after", "86400"),
    ] {
        server.push(
            MockResponse::openai_error(429, "slow down", "rate_limit_exceeded")
                .header(header, value),
        );
        let start = Instant::now();
        let out = env
            .agent(&server)
            .args(["session", "run", "s", "hi"])
            .code(3);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{header}: {value} slept"
        );
        assert!(
            stderr(&out).contains("slow down") && stderr(&out).contains("asked to wait"),
            "{}",
            stderr(&out)
        );
        assert_eq!(env.doc("s")["failed_turn"]["prompt"], "hi");
    }
}

#[test]
fn an_endless_error_body_is_read_only_in_part() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::new(
        500,
        "text/plain",
        vec![Part::Repeat {
            bytes: b"x".repeat(64 * 1024),
            times: u64::MAX,
            pause: Duration::ZERO,
        }],
    ));
    let start = Instant::now();
    let out = env
        .agent(&server)
        .args(["run", "--retries", "0", "--timeout", "5", "hi"])
        .code(3);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // One line, a bounded prefix of the body.
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1);
    assert!(err.len() < 1000, "{} bytes", err.len());
}

#[test]
fn an_endless_reply_stops_at_the_limit_and_the_session_stays_readable() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    let delta = format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {"content": "never ending "}}]})
    );
    server.push(MockResponse::new(
        200,
        "text/event-stream",
        vec![Part::Repeat {
            bytes: delta.into_bytes(),
            times: u64::MAX,
            pause: Duration::ZERO,
        }],
    ));
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "--max-reply-bytes", "100000", "go"])
        .code(3);
    assert!(
        stderr(&out).contains("--max-reply-bytes"),
        "{}",
        stderr(&out)
    );
    let doc = env.doc("s");
    assert_eq!(doc["messages"], json!([]));
    let partial = doc["failed_turn"]["partial"].as_str().unwrap();
    assert!(
        partial.len() <= 100_000 && partial.starts_with("never ending"),
        "{}",
        partial.len()
    );
    env.cmd().args(["session", "show", "s"]).passes();
}

#[test]
fn a_trickling_body_without_streaming_hits_the_timeout() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::new(
        200,
        "application/json",
        vec![Part::Repeat {
            bytes: b" ".to_vec(),
            times: 100,
            pause: Duration::from_millis(200),
        }],
    ));
    let start = Instant::now();
    let out = env
        .agent(&server)
        .args(["run", "--no-stream", "--timeout", "1", "hi"])
        .code(3);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(stderr(&out).contains("whole within 1s"), "{}", stderr(&out));
}

#[test]
fn an_html_page_is_named_for_what_it_is() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let page = "<!doctype html><html><body>Welcome to nginx!</body></html>";
    server.fallback(MockResponse::new(
        200,
        "text/html; charset=utf-8",
        vec![Part::Bytes(page.into())],
    ));
    for extra in [&[][..], &["--no-stream"]] {
        let out = env.agent(&server).args(["run", "hi"]).args(extra).code(3);
        assert!(
            stderr(&out).contains("text/html") && stderr(&out).contains("base URL"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_copied_session_file_is_invalid_and_never_written() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "a", "--title", "original"]);
    std::fs::copy(env.session_path("a"), env.session_path("b")).unwrap();
    let (a, b) = (env.raw("a"), env.raw("b"));
    let out = env
        .agent(&server)
        .args(["session", "run", "b", "hi"])
        .code(6);
    let err = stderr(&out);
    assert!(err.contains("'a'") && err.contains("'b'"), "{err}");
    assert!(server.requests().is_empty());
    assert_eq!((env.raw("a"), env.raw("b")), (a, b), "neither file changed");
    // ls names it and lists only the real session; store check reports it.
    let ls = env.cmd().args(["session", "ls", "--ids"]).code(6);
    assert_eq!(stdout(&ls), "a\n");
    assert!(stderr(&ls).contains("b.json"), "{}", stderr(&ls));
    let check = env.cmd().args(["store", "check"]).code(6);
    assert!(stderr(&check).contains("'b'"), "{}", stderr(&check));
}

#[test]
fn an_oversized_prompt_is_refused_before_anything() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    let before = env.raw("s");
    let huge = "x".repeat(17 << 20);
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "summarize"])
        .write_stdin(huge)
        .code(2);
    assert!(stderr(&out).contains("prompt"), "{}", stderr(&out));
    assert!(server.requests().is_empty());
    assert_eq!(env.raw("s"), before, "nothing recorded");
}

#[test]
fn a_save_over_the_load_limit_is_refused_and_the_old_document_stays() {
    // The library's own store: documents past the limit are refused as they are written.
    let env = TestEnv::new();
    let store = agent::DirStore::new(env.data_dir());
    let mut data = agent::SessionData::new("big");
    agent::store::save_data(&store, &data).unwrap();
    let before = env.raw("big");
    let chunk = "y".repeat(8 << 20);
    for _ in 0..33 {
        data.messages.push(agent::Message::user(chunk.clone()));
    }
    let err = agent::store::save_data(&store, &data).unwrap_err();
    assert!(matches!(err, agent::Error::TooLarge { .. }), "{err}");
    assert_eq!(env.raw("big"), before);
    assert_eq!(
        file_names(&env.data_dir().join("sessions")),
        ["big.json"],
        "no temp file left"
    );
}

#[test]
fn deeply_nested_yaml_is_refused_at_once() {
    let env = TestEnv::new();
    let bomb = format!("model: {}\n", "[".repeat(100_000));
    env.write_config(&bomb);
    let start = Instant::now();
    let out = env.cmd().args(["session", "ls"]).code(2);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(stderr(&out).contains("nested"), "{}", stderr(&out));
    let tool = env.path().join("deep.yaml");
    std::fs::write(
        &tool,
        format!(
            "name: t\ncommand: [true]\nparameters: {}",
            "{a: ".repeat(100_000)
        ),
    )
    .unwrap();
    env.write_config("");
    let out = env.cmd().args(["tool", "test"]).arg(&tool).code(2);
    assert!(stderr(&out).contains("nested"), "{}", stderr(&out));
}

#[test]
fn a_tool_that_escapes_its_process_group_does_not_outlive_the_call() {
    let env = TestEnv::new();
    let pidfile = env.path().join("escaped.pid");
    let script = env.path().join("escape.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nsetsid sh -c 'echo $$ > {}; exec sleep 300' </dev/null >/dev/null 2>&1 &\nsleep 0.2\necho started\n",
            pidfile.display()
        ),
    )
    .unwrap();
    let tool = env.path().join("escape.yaml");
    std::fs::write(
        &tool,
        format!("name: escape\ncommand: [sh, '{}']\n", script.display()),
    )
    .unwrap();
    let out = env.cmd().args(["tool", "test"]).arg(&tool).passes();
    assert_eq!(stdout(&out), "started\n");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the escaped process {pid} outlived the tool call");
}

#[test]
fn escape_sequences_show_on_a_terminal_and_pass_through_to_pipes() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "s"]);
    let nasty = "title\u{1b}]0;pwned\u{7}\u{1b}[2J done";
    env.cmd()
        .args(["session", "add", "s", "--role", "assistant", nasty])
        .passes();
    let shown = env
        .cmd()
        .args(["session", "show", "s"])
        .env("AGENT_TEST_TTY", "1")
        .env("NO_COLOR", "1")
        .passes();
    let text = stdout(&shown);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("^[]0;pwned^G^[[2J done"), "{text}");
    let piped = env.cmd().args(["session", "show", "s"]).passes();
    assert!(
        stdout(&piped).contains(nasty),
        "pipes get the bytes as stored"
    );
}

#[test]
fn a_symlinked_lock_file_is_not_followed() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    let target = env.path().join("elsewhere");
    let locks = env.data_dir().join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    let _ = std::fs::remove_file(locks.join("s.lock"));
    std::os::unix::fs::symlink(&target, locks.join("s.lock")).unwrap();
    env.agent(&server)
        .args(["session", "run", "s", "hi"])
        .code(1);
    assert!(
        !target.exists(),
        "the lock followed the symlink and created its target"
    );
}

#[test]
fn store_credentials_stay_out_of_errors_and_tools() {
    let env = TestEnv::new();
    // A password with unencoded `/`, `?` and `#` in a URL that does not parse or connect.
    for pw in ["s3cr/et-PW", "s3cr?et-PW", "s3cr#et-PW"] {
        let out = env
            .cmd()
            .args([
                "--store",
                &format!("redis://:{pw}@127.0.0.1:1/0"),
                "session",
                "ls",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(!stderr(&out).contains("et-PW"), "{pw}: {}", stderr(&out));
    }
    // A tool never sees AGENT_STORE.
    let tool = env.path().join("env.yaml");
    std::fs::write(&tool, "name: env\ncommand: [env]\n").unwrap();
    let out = env
        .cmd()
        .env("AGENT_STORE", format!("dir:{}", env.data_dir().display()))
        .args(["tool", "test"])
        .arg(&tool)
        .passes();
    assert!(!stdout(&out).contains("AGENT_STORE"), "{}", stdout(&out));
}

#[test]
fn credentials_in_a_base_url_are_never_shown() {
    let env = TestEnv::new();
    let closed = free_port();
    let out = env
        .cmd()
        .args([
            "-v",
            "run",
            "--retries",
            "0",
            "--base-url",
            &format!("http://user:hunter2-PW@127.0.0.1:{closed}/v1?key=QUERY-SECRET"),
            "hi",
        ])
        .code(3);
    let err = stderr(&out);
    assert!(
        !err.contains("hunter2-PW") && !err.contains("QUERY-SECRET"),
        "{err}"
    );
    let _: Value = json!(null);
}
