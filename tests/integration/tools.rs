//! Executable tools through the binary on the OpenAI protocol: the tool really runs (a fixture
//! script records its stdin and environment), results go back to the model, and every failure
//! mode — invalid arguments, a failing or hanging tool, too many steps, bad tool files — does
//! what the README promises.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::util::*;

pub(crate) fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tools")
        .join(name)
        .display()
        .to_string()
}

/// A test env whose tool calls are recorded in `log`.
pub(crate) struct Tools {
    pub(crate) env: TestEnv,
    pub(crate) server: MockServer,
    pub(crate) log: PathBuf,
}

impl Tools {
    pub(crate) fn new() -> Self {
        let env = TestEnv::new();
        let log = env.path().join("tool.log");
        Tools {
            env,
            server: MockServer::start(),
            log,
        }
    }

    /// `agent` pointed at the mock for every provider, recording tool calls.
    pub(crate) fn agent(&self) -> assert_cmd::Command {
        let mut cmd = crate::providers::agent(&self.env, &self.server);
        cmd.env("TOOL_LOG", &self.log);
        cmd
    }

    /// Each recorded call: `{"stdin", "argv", "env"}`.
    pub(crate) fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub(crate) fn new_session(&self, args: &[&str]) {
        let out = self
            .agent()
            .args([
                "session",
                "new",
                "--id",
                "s",
                "--system",
                "You are a customer service assistant.",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }

    pub(crate) fn run(&self, args: &[&str]) -> std::process::Output {
        self.agent()
            .args(["session", "run", "s"])
            .args(args)
            .output()
            .unwrap()
    }
}

/// What orders.py answers for `user`.
pub(crate) fn orders(user: &str) -> String {
    json!({"user_id": user, "orders": [{"id": "1", "item": "Laptop", "status": "shipped"},
        {"id": "2", "item": "Mouse", "status": "delivered"}]})
    .to_string()
    .replace("\":", "\": ")
    .replace(",\"", ", \"")
    .replace("},{", "}, {")
}

/// An OpenAI reply calling tools: `(id, name, arguments)`, each call's arguments split in two
/// fragments, interleaved across calls (they are joined by index, not id).
pub(crate) fn openai_calls(calls: &[(&str, &str, &str)]) -> MockResponse {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": null})
        )
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": null}),
        Value::Null,
    )];
    for (i, (id, name, _)) in calls.iter().enumerate() {
        events.push(chunk(
            json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
            Value::Null,
        ));
    }
    for half in 0..2 {
        for (i, (_, _, args)) in calls.iter().enumerate() {
            let mid = args.len() / 2;
            let part = if half == 0 {
                &args[..mid]
            } else {
                &args[mid..]
            };
            events.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}),
                Value::Null,
            ));
        }
    }
    events.push(chunk(json!({}), json!("tool_calls")));
    events.push("data: [DONE]\n\n".into());
    MockResponse::sse_events(&events)
}

pub(crate) fn roles(doc: &Value) -> Vec<String> {
    doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_string())
        .collect()
}

const ASK: &str = "I'm user-123, what are my recent orders?";
const ORDERS_CALL: (&str, &str, &str) = ("call_1", "get_user_orders", r#"{"user_id": "user-123"}"#);

#[test]
fn openai_tool_round_trip_and_the_follow_up_turn_remembers_it() {
    let t = Tools::new();
    t.new_session(&["--tool", &fixture("get_user_orders.yaml")]);
    t.server.push(openai_calls(&[ORDERS_CALL]));
    t.server
        .push(MockResponse::openai_stream(&["You have ", "two orders."]));
    let out = t.run(&[ASK]);
    assert_eq!(stdout(&out), "You have two orders.\n", "{}", stderr(&out));
    let result = orders("user-123");
    let line = format!(
        "tool get_user_orders {{\"user_id\":\"user-123\"}} → ok, {} bytes, ",
        result.len()
    );
    let err = stderr(&out);
    assert!(err.starts_with(&line) && err.ends_with("s\n"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let calls = t.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["stdin"], "{\"user_id\":\"user-123\"}\n");
    assert_eq!(calls[0]["argv"], json!(["--verbose"]));
    assert_eq!(calls[0]["env"]["AGENT_TOOL_NAME"], "get_user_orders");
    assert_eq!(calls[0]["env"]["AGENT_SESSION_ID"], "s");

    let first = t.server.body(0);
    assert_eq!(first["tools"][0]["function"]["name"], "get_user_orders");
    assert_eq!(
        first["tools"][0]["function"]["parameters"]["required"],
        json!(["user_id"])
    );
    let follow = t.server.body(1)["messages"].clone();
    assert_eq!(
        follow[2],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "get_user_orders", "arguments": "{\"user_id\":\"user-123\"}"}}]})
    );
    assert_eq!(
        follow[3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": result})
    );

    let doc = t.env.doc("s");
    assert_eq!(roles(&doc), ["user", "assistant", "tool", "assistant"]);
    assert_eq!(
        doc["messages"][1]["tool_calls"][0]["arguments"],
        json!({"user_id": "user-123"})
    );
    assert_eq!(doc["messages"][2]["content"], result);
    assert_eq!(doc["messages"][3]["content"], "You have two orders.");
    assert_eq!(doc["tools"][0]["name"], "get_user_orders");

    // No flags: the session remembers its tool and sends the tool exchange back.
    t.server.push(MockResponse::openai_stream(&[
        "It shipped; expect it soon.",
    ]));
    let out = t.run(&["When will order 1 arrive?"]);
    assert_eq!(stdout(&out), "It shipped; expect it soon.\n");
    let third = t.server.body(2);
    assert_eq!(third["tools"], first["tools"]);
    assert_eq!(third["messages"][2], follow[2]);
    assert_eq!(third["messages"][3], follow[3]);
    assert_eq!(
        third["messages"][5],
        json!({"role": "user", "content": "When will order 1 arrive?"})
    );
    assert_eq!(roles(&t.env.doc("s")).len(), 6);
}

#[test]
fn two_calls_in_one_reply_run_and_return_in_call_order() {
    let t = Tools::new();
    t.new_session(&["--tools", &fixture("")]);
    t.server.push(openai_calls(&[
        ("call_a", "get_user_orders", r#"{"user_id": "user-1"}"#),
        ("call_b", "get_user_orders", r#"{"user_id": "user-2"}"#),
    ]));
    t.server
        .push(MockResponse::openai_stream(&["Both have two orders."]));
    let out = t.run(&["orders of user-1 and user-2?"]);
    assert_eq!(stdout(&out), "Both have two orders.\n", "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 2);
    let mut stdins: Vec<String> = t
        .calls()
        .iter()
        .map(|c| c["stdin"].as_str().unwrap().into())
        .collect();
    stdins.sort();
    assert_eq!(
        stdins,
        ["{\"user_id\":\"user-1\"}\n", "{\"user_id\":\"user-2\"}\n"]
    );
    let follow = &t.server.body(1)["messages"];
    assert_eq!(follow[2]["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(
        follow[3],
        json!({"role": "tool", "tool_call_id": "call_a", "content": orders("user-1")})
    );
    assert_eq!(
        follow[4],
        json!({"role": "tool", "tool_call_id": "call_b", "content": orders("user-2")})
    );
    // --tools DIR declared every tool file in it, in file-name order.
    let first = t.server.body(0);
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "confirm_orders",
            "fail_tool",
            "get_user_orders",
            "slow_tool"
        ]
    );
}

#[test]
fn invalid_arguments_are_not_run_and_go_back_as_an_error() {
    let t = Tools::new();
    t.new_session(&["--tool", &fixture("get_user_orders.yaml")]);
    t.server.push(openai_calls(&[
        ("call_1", "get_user_orders", r#"{"user": 123}"#),
        ("call_2", "no_such_tool", "{}"),
    ]));
    t.server.push(MockResponse::openai_stream(&["Which user?"]));
    let out = t.run(&[ASK]);
    assert_eq!(stdout(&out), "Which user?\n");
    assert!(t.calls().is_empty(), "the tool must not run");
    let result = &t.server.body(1)["messages"][3];
    let content = result["content"].as_str().unwrap();
    assert!(content.starts_with("invalid arguments: "), "{content}");
    assert!(
        content.contains("\"user_id\" is a required property"),
        "{content}"
    );
    assert!(stderr(&out).contains("→ error, "), "{}", stderr(&out));
    assert_eq!(t.env.doc("s")["messages"][2]["is_error"], true);
    assert_eq!(
        t.server.body(1)["messages"][4]["content"],
        "unknown tool 'no_such_tool' (available: get_user_orders)"
    );
}

#[test]
fn forks_keep_the_tools_and_imports_name_their_commands() {
    let t = Tools::new();
    t.new_session(&["--tool", &fixture("get_user_orders.yaml")]);
    t.agent()
        .args(["session", "fork", "s", "--id", "f"])
        .assert()
        .success();
    assert_eq!(t.env.doc("f")["tools"], t.env.doc("s")["tools"]);
    let command = t.env.doc("s")["tools"][0]["command"].clone();
    assert_eq!(command, json!([fixture("orders.py"), "--verbose"]));
    // `show` says what a turn of the session may run.
    let shown = stdout(&t.agent().args(["session", "show", "f"]).output().unwrap());
    let line = format!(
        "\n[tools]\nget_user_orders: {} --verbose\n",
        fixture("orders.py")
    );
    assert!(shown.contains(&line), "{shown}");

    let file = t.env.path().join("s.json");
    std::fs::write(&file, t.env.raw("s")).unwrap();
    t.agent().args(["session", "rm", "s"]).assert().success();
    let out = t
        .agent()
        .args(["session", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        stderr(&out),
        format!(
            "agent: note: session 's' declares tools that run local commands: get_user_orders ({} --verbose)\n",
            fixture("orders.py")
        )
    );
}

#[test]
fn a_failing_tool_is_an_error_result_with_stderrs_tail() {
    let t = Tools::new();
    t.new_session(&["--tool", &fixture("fail.json")]);
    t.server
        .push(openai_calls(&[("call_1", "fail_tool", "{}")]));
    t.server
        .push(MockResponse::openai_stream(&["The lookup failed."]));
    let out = t.run(&["try it"]);
    assert_eq!(stdout(&out), "The lookup failed.\n");
    let content = t.server.body(1)["messages"][3]["content"].clone();
    assert_eq!(
        content,
        "the tool failed with exit status 3; stderr: looking up the user\nno such user"
    );
    assert!(stderr(&out).contains("tool fail_tool {} → error, "));
    assert!(stderr(&out)
        .ends_with(": the tool failed with exit status 3; stderr: looking up the user\n"));
}

#[test]
fn a_tool_past_its_timeout_is_killed_with_its_whole_process_group() {
    let t = Tools::new();
    t.new_session(&["--tool", &fixture("slow.yml")]);
    t.server
        .push(openai_calls(&[("call_1", "slow_tool", "{}")]));
    t.server
        .push(MockResponse::openai_stream(&["It timed out."]));
    let start = std::time::Instant::now();
    let out = t.run(&["try it"]);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(stdout(&out), "It timed out.\n", "{}", stderr(&out));
    let content = t.server.body(1)["messages"][3]["content"].clone();
    assert_eq!(
        content,
        "timed out after 1s; the tool and every process it started were killed; stderr: started"
    );
    // The child the script started in the background would write this file after 2 s.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(!Path::new(&format!("{}.survivor", t.log.display())).exists());
}

#[test]
fn max_steps_reached_fails_the_turn_and_keeps_the_history() {
    let t = Tools::new();
    t.new_session(&["--tool", &fixture("get_user_orders.yaml")]);
    let before = t.env.doc("s");
    // --max-steps 1: the first request is the only one, so a tool call cannot be answered.
    t.server.push(openai_calls(&[ORDERS_CALL]));
    let out = t.run(&["--max-steps", "1", ASK]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("after 1 requests (raise --max-steps)"),
        "{}",
        stderr(&out)
    );
    assert!(t.calls().is_empty());
    // --max-steps 2: one tool round, then the model calls again and the turn fails.
    t.server.push(openai_calls(&[ORDERS_CALL]));
    t.server.push(openai_calls(&[(
        "call_2",
        "get_user_orders",
        r#"{"user_id": "user-9"}"#,
    )]));
    let out = t.run(&["--max-steps", "2", ASK]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(t.calls().len(), 1);
    let after = t.env.doc("s");
    assert_eq!(after["messages"], before["messages"]);
    assert_eq!(after["tools"], before["tools"]);
    assert_eq!(after["failed_turn"]["prompt"], ASK);
    assert_eq!(t.server.requests().len(), 3);
}

#[test]
fn the_tool_environment_has_no_provider_keys() {
    let t = Tools::new();
    t.env.write_config(&format!(
        "providers:\n  router: {{kind: openai, base_url: {}, api_key_env: ROUTER_KEY_VAR}}\n",
        t.server.url("/v1")
    ));
    t.server.push(openai_calls(&[ORDERS_CALL]));
    t.server.push(MockResponse::openai_stream(&["ok"]));
    t.agent()
        .args(["run", "--tool", &fixture("get_user_orders.yaml"), ASK])
        .env("ANTHROPIC_API_KEY", KEY)
        .env("GEMINI_API_KEY", KEY)
        .env("ROUTER_KEY_VAR", KEY)
        .env("KEEP_ME", "yes")
        .assert()
        .success()
        .stdout("ok\n");
    let env = &t.calls()[0]["env"];
    assert_eq!(env["KEEP_ME"], "yes");
    assert!(env.get("ROUTER_KEY_VAR").is_none());
    for (name, value) in env.as_object().unwrap() {
        assert!(!name.ends_with("_API_KEY"), "{name} leaked");
        assert_ne!(value, KEY, "{name} carries the key");
    }
    // `agent run` is in memory; the tool still sees its session id.
    assert!(env["AGENT_SESSION_ID"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
}

#[test]
fn bad_tool_files_are_usage_errors_before_any_request() {
    let t = Tools::new();
    let orders = fixture("get_user_orders.yaml");
    let cases: [(&[&str], &str); 6] = [
        (&["--tool", &fixture("bad/not_yaml.yaml")], "not_yaml.yaml"),
        (
            &["--tool", &fixture("bad/bad_schema.yaml")],
            "`parameters`: invalid JSON Schema",
        ),
        (
            &["--tool", &fixture("bad/shell.yaml")],
            "never runs a shell",
        ),
        (
            &["--tool", &fixture("bad/missing.yaml")],
            "no-such-program does not exist",
        ),
        (
            &["--tool", &orders, "--tool", &orders],
            "two tool files declare 'get_user_orders'",
        ),
        (
            &["--tools", &fixture("nope")],
            "cannot read tools directory",
        ),
    ];
    for (args, want) in cases {
        for cmd in [
            &["run"][..],
            &["session", "run", "s", "--create"],
            &["json", "--schema", "a str"],
        ] {
            let out = t.agent().args(cmd).args(args).arg("hi").output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        }
        t.agent().args(["session", "new"]).args(args).code(2);
    }
    assert!(t.server.requests().is_empty());
    assert!(!t.env.session_path("s").exists(), "no session was created");
}

#[test]
fn tool_test_runs_a_tool_by_hand() {
    let t = Tools::new();
    let file = fixture("get_user_orders.yaml");
    t.agent()
        .args(["tool", "test", &file, r#"{"user_id":"u1"}"#])
        .assert()
        .success()
        .stdout(orders("u1") + "\n");
    assert_eq!(t.calls()[0]["env"]["AGENT_SESSION_ID"], "tool-test");
    let out = t
        .agent()
        .args(["tool", "test", &file, r#"{"user":"u1"}"#])
        .code(1);
    assert!(stdout(&out).starts_with("invalid arguments: "));
    assert_eq!(t.calls().len(), 1, "invalid arguments are not run");
    let out = t
        .agent()
        .args(["tool", "test", &fixture("fail.json")])
        .code(1);
    assert!(stdout(&out).starts_with("the tool failed with exit status 3"));
    t.agent().args(["tool", "test", &file, "{nope"]).code(2);
}

/// A script that lost its executable bit (copied from a README, an archive) says how to fix it.
#[test]
fn a_script_without_its_executable_bit_says_chmod() {
    let t = Tools::new();
    let dir = t.env.path();
    std::fs::write(dir.join("t.sh"), "#!/bin/sh\necho ok\n").unwrap();
    std::fs::write(
        dir.join("t.yaml"),
        "name: t\ndescription: d\ncommand: [./t.sh]\n",
    )
    .unwrap();
    let out = t
        .agent()
        .args(["tool", "test"])
        .arg(dir.join("t.yaml"))
        .code(1);
    assert!(
        stdout(&out).contains("Permission denied")
            && stdout(&out).contains("(make it executable: chmod +x "),
        "{}",
        stdout(&out)
    );
}
