//! Waits and failures that say why: a notice on stderr for each retry and lock wait, the same
//! as `notice` events in `--format jsonl`, each rejected structured attempt's errors, and the
//! error object a program reads on stdout with `--format json` or `jsonl`.

use serde_json::{json, Value};

use crate::util::*;

fn lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn each_retry_prints_the_status_and_the_delay() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(
        MockResponse::openai_error(429, "slow down", "rate_limit_exceeded")
            .header("retry-after", "0.2"),
    );
    server.push(MockResponse::openai_error(503, "down", "server_error").header("retry-after", "0"));
    server.push(MockResponse::openai_stream(&["ok"]));
    let out = env.agent(&server).args(["run", "hi"]).passes();
    assert_eq!(stdout(&out), "ok\n");
    assert_eq!(
        stderr(&out),
        "agent: openai answered 429, retrying in 0.2 s (1 of 2)\n\
         agent: openai answered 503, retrying in 0.0 s (2 of 2)\n"
    );
}

#[test]
fn jsonl_carries_retries_as_notice_events_in_order() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(500, "boom", "server_error").header("retry-after", "0"));
    server.push(MockResponse::openai_stream(&["ok"]));
    let out = env
        .agent(&server)
        .args(["run", "--format", "jsonl", "hi"])
        .passes();
    let events = lines(&out);
    assert_eq!(
        events[0],
        json!({"type": "notice", "kind": "retrying", "provider": "openai", "status": 500,
               "error": "openai: HTTP 500 (server_error): boom", "delay_ms": 0, "attempt": 1,
               "retries": 2, "message": "openai answered 500, retrying in 0.0 s (1 of 2)"})
    );
    assert_eq!(events[1], json!({"type": "text_delta", "text": "ok"}));
}

#[test]
fn a_refused_connection_names_itself_when_retried() {
    let env = TestEnv::new();
    let port = free_port();
    let out = env
        .cmd()
        .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"))
        .args(["run", "--retries", "1", "hi"])
        .code(3);
    let err = stderr(&out);
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with("agent: openai: cannot connect to http://127.0.0.1:")
            && first.contains(", retrying in ")
            && first.ends_with(" s (1 of 1)"),
        "{err}"
    );
}

#[test]
fn rejected_structured_attempts_show_their_errors_and_number_their_events() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&[r#"{"a": "x"}"#]));
    server.push(MockResponse::openai_stream(&[r#"{"a": 1}"#]));
    let out = env
        .agent(&server)
        .args(["json", "--schema", "a int", "--format", "jsonl", "go"])
        .passes();
    assert_eq!(
        stderr(&out),
        "agent: attempt 1 did not match the schema: /a: \"x\" is not of type \"integer\"; \
         asking again (1 of 2 corrections)\n"
    );
    let events = lines(&out);
    let attempts: Vec<(Value, Value)> = events
        .iter()
        .map(|e| (e["type"].clone(), e["attempt"].clone()))
        .collect();
    assert_eq!(
        attempts,
        [
            (json!("text_delta"), json!(1)),
            (json!("usage"), json!(1)),
            (json!("notice"), json!(1)),
            (json!("text_delta"), json!(2)),
            (json!("usage"), json!(2)),
            (json!("done"), Value::Null),
        ]
    );
    assert_eq!(events[2]["kind"], "rejected");
}

#[test]
fn format_json_failures_print_an_error_object() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    server.push(MockResponse::openai_error(
        401,
        "bad key",
        "invalid_api_key",
    ));
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "--format", "json", "hi"])
        .code(3);
    let message =
        "openai: HTTP 401 (invalid_api_key): bad key (check the API key for provider 'openai')";
    assert_eq!(
        lines(&out),
        [
            json!({"type": "error", "session_id": "s", "exit_code": 3, "error": {
            "kind": "provider", "message": message, "provider": "openai", "status": 401}})
        ]
    );
    assert_eq!(stderr(&out), format!("agent: error: {message}\n"));
}

#[test]
fn jsonl_streams_end_with_an_error_event_for_each_class() {
    let env = TestEnv::new();
    let server = MockServer::start();
    // A session that does not exist: exit 5, before any turn.
    let out = env
        .agent(&server)
        .args(["session", "run", "nope", "--format", "jsonl", "hi"])
        .code(5);
    let last = lines(&out).pop().unwrap();
    assert_eq!(
        (
            last["type"].clone(),
            last["exit_code"].clone(),
            last["error"]["kind"].clone()
        ),
        (json!("error"), json!(5), json!("session_not_found"))
    );
    // A stream that breaks after a delta: the delta, then the error.
    server.push(MockResponse::sse_events(&[
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n".to_string(),
    ]));
    let out = env
        .agent(&server)
        .args(["run", "--format", "jsonl", "hi"])
        .code(3);
    let events = lines(&out);
    assert_eq!(events[0], json!({"type": "text_delta", "text": "par"}));
    assert_eq!(events[1]["error"]["kind"], "provider");
    assert_eq!(events.len(), 2);
    // A schema that never validates: exit 4.
    for _ in 0..2 {
        server.push(MockResponse::openai_stream(&["[]"]));
    }
    let out = env
        .agent(&server)
        .args([
            "json",
            "--schema",
            "a int",
            "--schema-retries",
            "1",
            "--format",
            "jsonl",
            "go",
        ])
        .code(4);
    assert_eq!(lines(&out).pop().unwrap()["error"]["kind"], "validation");
}

#[test]
fn a_lock_wait_is_a_notice_event_and_a_busy_session_an_error_object() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["done"]));
    new_session(&env, &["--id", "s"]);
    let lock = env.data_dir().join("locks/s.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let holder = std::fs::File::create(&lock).unwrap();
    holder.lock().unwrap();
    // Busy past the wait: exit 7, and the object says so.
    let out = env
        .agent(&server)
        .args([
            "session",
            "run",
            "s",
            "--lock-timeout",
            "0.2",
            "--format",
            "json",
            "hi",
        ])
        .code(7);
    assert_eq!(lines(&out)[0]["error"]["kind"], "busy");
    // A wait that ends: the notice comes first in the stream.
    let child = env
        .spawnable(&server)
        .args(["session", "run", "s", "--format", "jsonl", "hi"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = child;
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert_eq!(
        line,
        "agent: waiting for session 's': another turn is running\n"
    );
    drop(holder);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let events = lines(&out);
    assert_eq!(
        events[0],
        json!({"type": "notice", "kind": "waiting_for_lock", "id": "s",
               "message": "waiting for session 's': another turn is running"})
    );
    assert_eq!(events[1], json!({"type": "text_delta", "text": "done"}));
}

#[test]
fn a_slow_first_token_says_so_once_in_a_log() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let mut late = MockResponse::openai_stream(&["late"]);
    late.parts
        .insert(0, Part::Sleep(std::time::Duration::from_millis(5300)));
    server.push(late);
    let out = env.agent(&server).args(["run", "hi"]).passes();
    assert_eq!(stdout(&out), "late\n");
    assert_eq!(
        stderr(&out),
        "agent: still waiting for openai (gpt-4o-mini) after 5 s, no reply yet\n"
    );

    // A long lock wait has its own line and is not taken for a slow model.
    new_session(&env, &["--id", "s"]);
    let lock = env.data_dir().join("locks/s.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let holder = std::fs::File::create(&lock).unwrap();
    holder.lock().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(5500));
        drop(holder);
    });
    server.push(MockResponse::openai_stream(&["quick"]));
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "hi"])
        .passes();
    release.join().unwrap();
    assert_eq!(stdout(&out), "quick\n");
    assert_eq!(
        stderr(&out),
        "agent: waiting for session 's': another turn is running\n"
    );
}

#[test]
fn on_a_terminal_the_spinner_names_the_model_and_the_running_tool() {
    if !require(
        "script",
        "apt-get install -y bsdutils (util-linux's script)",
    ) {
        return;
    }
    let env = TestEnv::new();
    let server = MockServer::start();
    let dir = env.path();
    std::fs::write(
        dir.join("nap.sh"),
        "#!/bin/sh\ncat >/dev/null\nsleep 0.6\necho rested\n",
    )
    .unwrap();
    std::fs::set_permissions(
        dir.join("nap.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        dir.join("nap.yaml"),
        "name: nap\ndescription: Rests a while.\nparameters: {type: object, properties: {}}\ncommand: [./nap.sh]\n",
    )
    .unwrap();
    let call = crate::tools::openai_calls(&[("call_1", "nap", "{}")]);
    let mut slow = call.clone();
    slow.parts
        .insert(0, Part::Sleep(std::time::Duration::from_millis(600)));
    server.push(slow);
    server.push(MockResponse::openai_stream(&["Rested."]));
    let agent = assert_cmd::cargo::cargo_bin!("agent");
    let tool = dir.join("nap.yaml");
    let inner = format!("exec {} run --tool {} hi", agent.display(), tool.display());
    let mut script = std::process::Command::new("script");
    script.args(["-qefc", &inner, "/dev/null"]);
    for (k, v) in env.spawnable(&server).get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let mut child = script
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let screen = stdout(&out);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("waiting for openai (gpt-4o-mini)"),
        "{screen}"
    );
    assert!(screen.contains("running tool nap"), "{screen}");
    assert!(screen.contains("Rested."), "{screen}");
}
