//! Turns that fail, are interrupted or compete for a session: nothing is added to the history,
//! the prompt is kept for `retry`, and every concurrent turn is recorded.

use serde_json::json;

use crate::util::*;

#[test]
fn an_http_error_adds_nothing_and_keeps_the_prompt_for_retry() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(
        400,
        "This model's maximum context length is exceeded",
        "context_length_exceeded",
    ));
    new_session(&env, &["--id", "s"]);
    let before = env.doc("s");
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "hello there"])
        .code(3);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("HTTP 400") && err.contains("maximum context length"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
    let after = env.doc("s");
    assert_eq!(after["messages"], before["messages"]);
    assert_eq!(after["failed_turn"]["prompt"], "hello there");

    // `retry` re-sends it; success clears the failed turn.
    server.push(MockResponse::openai_stream(&["hi"]));
    env.agent(&server)
        .args(["session", "retry", "s"])
        .assert()
        .success()
        .stdout("hi\n");
    let doc = env.doc("s");
    assert_eq!(
        roles_and_contents(&doc),
        pairs(&[("user", "hello there"), ("assistant", "hi")])
    );
    assert!(doc.get("failed_turn").is_none());
    assert_eq!(server.body(1)["messages"][0]["content"], "hello there");
}

#[test]
fn a_stream_broken_midway_fails_the_turn_and_saves_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    // Role chunk and two deltas arrive, then the connection drops before [DONE].
    server.push(MockResponse::openai_stream(&["Once", " upon", " a time"]).break_after(3));
    new_session(&env, &["--id", "s"]);
    let before = env.raw("s");
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "story"])
        .code(3);
    assert_eq!(stdout(&out), "Once upon");
    let doc = env.doc("s");
    assert_eq!(doc["messages"], json!([]));
    assert_eq!(doc["failed_turn"]["partial"], "Once upon");
    assert_ne!(env.raw("s"), before);
}

#[test]
fn a_stream_without_done_is_truncated() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let mut events = openai_events(&["partial"], "stop", None);
    events.pop(); // no [DONE]
    server.push(MockResponse::sse_events(&events));
    new_session(&env, &["--id", "s"]);
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "x"])
        .code(3);
    assert!(stderr(&out).contains("[DONE]"), "{}", stderr(&out));
    assert_eq!(env.doc("s")["messages"], json!([]));
}

#[test]
fn kill_9_mid_stream_leaves_the_file_byte_for_byte_unchanged() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["a"; 50]).slow(std::time::Duration::from_millis(40)));
    new_session(&env, &["--id", "s", "--system", "sys"]);
    let before = env.raw("s");
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "s", "go"])
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(env.raw("s"), before);
    let leftovers: Vec<_> = std::fs::read_dir(env.data_dir().join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(leftovers, vec!["s.json".to_string()]);
}

#[test]
fn sigint_mid_stream_exits_130_and_records_the_partial_reply() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(
        MockResponse::openai_stream(&["chunk "; 100]).slow(std::time::Duration::from_millis(30)),
    );
    new_session(&env, &["--id", "s"]);
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "s", "long story"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first, b"chunk ");
    signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let doc = env.doc("s");
    assert_eq!(doc["messages"], json!([]));
    assert_eq!(doc["failed_turn"]["prompt"], "long story");
    assert!(doc["failed_turn"]["partial"]
        .as_str()
        .unwrap()
        .starts_with("chunk "));
}

#[test]
fn sigterm_is_an_interrupt_too() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server
        .push(MockResponse::openai_stream(&["x"; 100]).slow(std::time::Duration::from_millis(30)));
    new_session(&env, &["--id", "s"]);
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "s", "q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(env.doc("s")["messages"], json!([]));
}

#[test]
fn server_errors_are_retried_before_any_output() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(500, "boom", "server_error"));
    server.push(
        MockResponse::openai_error(429, "slow down", "rate_limit_exceeded")
            .header("retry-after", "0"),
    );
    server.push(MockResponse::openai_stream(&["third time"]));
    new_session(&env, &["--id", "r"]);
    env.agent(&server)
        .args(["session", "run", "r", "hi"])
        .assert()
        .success()
        .stdout("third time\n");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(roles_and_contents(&env.doc("r")).len(), 2);

    server.push(MockResponse::openai_error(503, "down", "server_error"));
    env.agent(&server)
        .args(["session", "run", "r", "--retries", "0", "again"])
        .code(3);
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn the_api_key_appears_nowhere_on_disk_or_in_errors() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(
        401,
        &format!("Incorrect API key provided: {KEY}"),
        "invalid_api_key",
    ));
    server.push(MockResponse::openai_stream(&["fine"]));
    new_session(&env, &["--id", "k"]);
    let out = env
        .agent(&server)
        .args(["session", "run", "k", "one"])
        .code(3);
    assert!(
        !stderr(&out).contains(KEY) && stderr(&out).contains("(redacted)"),
        "{}",
        stderr(&out)
    );
    env.agent(&server)
        .args(["session", "run", "k", "two"])
        .assert()
        .success();
    for file in env.all_files() {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "key in {}",
            file.display()
        );
    }
}

#[test]
fn parallel_turns_are_all_recorded_in_pairs() {
    let env = TestEnv::new();
    let server = MockServer::start();
    // The reply echoes nothing, so pair each reply to its prompt through the request bodies.
    server.fallback(MockResponse::openai_stream(&["ok"]).slow(std::time::Duration::from_millis(5)));
    new_session(&env, &["--id", "p"]);
    let n = 20;
    let children: Vec<_> = (0..n)
        .map(|i| {
            env.spawnable(&server)
                .args(["-q", "session", "run", "p", &format!("q{i}")])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let doc = env.doc("p");
    let msgs = roles_and_contents(&doc);
    assert_eq!(msgs.len(), 2 * n);
    let mut prompts = std::collections::HashSet::new();
    for (i, pair) in msgs.chunks(2).enumerate() {
        assert_eq!(pair[0].0, "user");
        assert_eq!(pair[1], ("assistant".to_string(), "ok".to_string()));
        prompts.insert(pair[0].1.clone());
        // Each request carried exactly the history before it: the turns were serialized.
        let req = server
            .requests()
            .into_iter()
            .map(|r| r.json())
            .find(|b| b["messages"].as_array().unwrap().last().unwrap()["content"] == pair[0].1)
            .unwrap();
        assert_eq!(req["messages"].as_array().unwrap().len(), 2 * i + 1);
    }
    assert_eq!(prompts.len(), n);
}

#[test]
fn a_busy_session_times_out_with_exit_7() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["x"; 40]).slow(std::time::Duration::from_millis(50)));
    new_session(&env, &["--id", "b"]);
    let mut holder = env
        .spawnable(&server)
        .args(["session", "run", "b", "slow"])
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut first).unwrap();
    let out = env
        .agent(&server)
        .args(["session", "run", "b", "--lock-timeout", "0.2", "other"])
        .code(7);
    let err = stderr(&out);
    assert!(
        err.contains("waiting for session 'b'") && err.contains("busy"),
        "{err}"
    );
    assert!(holder.wait().unwrap().success());
    assert_eq!(roles_and_contents(&env.doc("b")).len(), 2);
}

#[test]
fn a_second_ctrl_c_while_the_turn_waits_exits_at_once() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    // Another process holds the session's lock: this turn waits for it.
    let lock = env.data_dir().join("locks/s.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let holder = std::fs::File::create(&lock).unwrap();
    holder.lock().unwrap();
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "s", "--lock-timeout", "60", "hi"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // It says it waits, then the first Ctrl-C only asks it to stop: it still waits for the lock
    // to record the prompt, and the second one ends it.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.contains("waiting for session 's'"), "{line}");
    signal(child.id(), "INT");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C waits to record"
    );
    signal(child.id(), "INT");
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(server.requests().is_empty());
    drop(holder);
}

#[test]
fn sigterm_before_the_turn_starts_exits_130() {
    let env = TestEnv::new();
    let server = MockServer::start();
    // A prompt on a stdin that never closes: the signal comes while it is being read.
    let mut child = env
        .spawnable(&server)
        .args(["run", "hi"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Held open until the child has exited: `Child::wait` would close it first, and an end of
    // input racing the signal could let the turn start.
    let stdin = child.stdin.take();
    wait_until_catching(child.id(), 15);
    signal(child.id(), "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    drop(stdin);
    assert!(server.requests().is_empty());
}

#[test]
fn a_request_that_may_have_been_processed_is_not_sent_again() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    // The server takes the request and never answers: it may be working on it, and billing it.
    server
        .fallback(MockResponse::openai_stream(&["late"]).slow(std::time::Duration::from_secs(30)));
    let out = env
        .agent(&server)
        .args([
            "session",
            "run",
            "s",
            "--timeout",
            "0.5",
            "--retries",
            "3",
            "hi",
        ])
        .code(3);
    assert!(stderr(&out).contains("(see --timeout)"), "{}", stderr(&out));
    assert_eq!(
        server.requests().len(),
        1,
        "a timed-out request was sent again"
    );
    assert_eq!(env.doc("s")["failed_turn"]["prompt"], "hi");
    // Refused connections are retried: nothing was sent.
    let closed = free_port();
    let out = env
        .cmd()
        .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{closed}/v1"))
        .args(["run", "--retries", "1", "hi"])
        .code(3);
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
}

#[test]
fn openai_without_a_key_fails_before_any_request() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .env_remove("OPENAI_API_KEY")
        .args(["run", "hi"])
        .code(2);
    assert_eq!(
        stderr(&out),
        "agent: error: no API key for provider 'openai': set OPENAI_API_KEY (or api_key_env in config.yaml)\n"
    );
}

/// Wait until process `pid` catches signal `signo` (its handler is installed), from the
/// `SigCgt` mask in /proc, so a test signals it at a known moment, not after a guessed sleep.
fn wait_until_catching(pid: u32, signo: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (signo - 1)) != 0);
        if caught {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("process {pid} never installed a handler for signal {signo}");
}
