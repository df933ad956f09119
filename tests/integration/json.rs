//! `agent json`: the schema in the request, exact JSON on stdout, corrections, exit 4.

use serde_json::{json, Value};

use crate::util::*;

fn reply(text: &str) -> MockResponse {
    MockResponse::openai_stream(&[text])
}

#[test]
fn a_valid_reply_prints_exactly_that_json() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(reply(r#"{"name": "Ada",  "age": 36}"#));
    env.agent(&server)
        .args(["json", "--schema", "name, age int", "Extract the person"])
        .write_stdin("Ada Lovelace, 36, wrote the first program.")
        .assert()
        .success()
        .stdout("{\"name\":\"Ada\",\"age\":36}\n");
    let body = server.body(0);
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "response", "strict": true, "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": false,
        }}})
    );
    assert_eq!(
        body["messages"][0]["content"],
        "Ada Lovelace, 36, wrote the first program.\n\nExtract the person"
    );
    assert!(!env.data_dir().exists(), "one-shot json saves nothing");
}

#[test]
fn an_invalid_reply_gets_a_correction_turn() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(reply(r#"{"name": "Ada", "age": "thirty-six"}"#));
    server.push(reply(r#"{"name": "Ada", "age": 36}"#));
    let schema = env.path().join("person.json");
    std::fs::write(&schema, r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}"#).unwrap();
    env.agent(&server)
        .args(["json", "--schema", schema.to_str().unwrap(), "Who?"])
        .assert()
        .success()
        .stdout("{\"name\":\"Ada\",\"age\":36}\n");
    assert_eq!(
        server.body(0)["response_format"]["json_schema"]["strict"],
        false
    );
    let second = server.body(1);
    let msgs = second["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        msgs[1],
        json!({"role": "assistant", "content": r#"{"name": "Ada", "age": "thirty-six"}"#})
    );
    let correction = msgs[2]["content"].as_str().unwrap();
    assert!(
        correction.contains("/age") && correction.contains("integer"),
        "{correction}"
    );
}

#[test]
fn three_invalid_replies_exit_4_with_empty_stdout_and_the_reply_saved() {
    let env = TestEnv::new();
    let server = MockServer::start();
    for _ in 0..3 {
        server.push(reply("not json at all"));
    }
    let saved = env.path().join("last.txt");
    let out = env
        .agent(&server)
        .args([
            "json",
            "--schema",
            "{\"type\":\"object\",\"required\":[\"x\"]}",
            "--save-invalid",
        ])
        .arg(&saved)
        .arg("go")
        .code(4);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.contains("not valid JSON") && err.contains(&saved.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "not json at all");
    assert_eq!(server.requests().len(), 3);

    // Without --save-invalid the reply lands in the data dir.
    for _ in 0..2 {
        server.push(reply("[]"));
    }
    let out = env
        .agent(&server)
        .args(["json", "--schema", "x str", "--schema-retries", "1", "go"])
        .code(4);
    assert!(
        stderr(&out).contains("/: ") && stderr(&out).contains("invalid/"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(env.data_dir().join("invalid"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn session_json_appends_two_messages_only_on_success() {
    let env = TestEnv::new();
    let server = MockServer::start();
    env.cmd()
        .args(["session", "new", "--id", "s"])
        .assert()
        .success();
    server.push(reply(r#"{"ok": true}"#));
    env.agent(&server)
        .args(["session", "json", "s", "--schema", "ok bool", "check"])
        .assert()
        .success()
        .stdout("{\"ok\":true}\n");
    let doc = env.doc("s");
    let msgs = doc["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        (msgs[0]["content"].clone(), msgs[1]["content"].clone()),
        (json!("check"), json!(r#"{"ok": true}"#))
    );
    for _ in 0..3 {
        server.push(reply(r#"{"ok": "yes"}"#));
    }
    env.agent(&server)
        .args(["json", "--session", "s", "--schema", "ok bool", "again"])
        .code(4);
    let doc = env.doc("s");
    assert_eq!(doc["messages"].as_array().unwrap().len(), 2);
    assert_eq!(doc["failed_turn"]["prompt"], "again");
    // The next request of the session carries none of the correction turns.
    server.push(reply(r#"{"ok": false}"#));
    env.agent(&server)
        .args(["session", "json", "s", "--schema", "ok bool", "third"])
        .assert()
        .success();
    assert_eq!(
        server.requests().last().unwrap().json()["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn an_invalid_schema_is_a_usage_error_and_sends_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    for schema in [
        r#"{"type": 12}"#,
        "age integerish",
        "missing/schema.json",
        "{not json",
    ] {
        let out = env
            .agent(&server)
            .args(["json", "--schema", schema, "hi"])
            .code(2);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
    assert!(server.requests().is_empty());
}

#[test]
fn yaml_schemas_multi_and_jsonl() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let yaml = env.path().join("person.yaml");
    std::fs::write(&yaml, "type: object\nproperties:\n  name: {type: string}\nrequired: [name]\nadditionalProperties: false\n").unwrap();
    server.push(reply(r#"{"items": [{"name": "Ada"}, {"name": "Grace"}]}"#));
    env.agent(&server)
        .args([
            "json",
            "--schema",
            yaml.to_str().unwrap(),
            "--multi",
            "--jsonl",
            "people",
        ])
        .assert()
        .success()
        .stdout("{\"name\":\"Ada\"}\n{\"name\":\"Grace\"}\n");
    let schema = &server.body(0)["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["properties"]["items"]["items"]["required"],
        json!(["name"])
    );
    assert_eq!(
        server.body(0)["response_format"]["json_schema"]["strict"],
        true
    );

    server.push(reply(r#"{"name": "Ada"}"#));
    let out = env
        .agent(&server)
        .args(["json", "--schema", "-", "--pretty", "-u", "who"])
        .write_stdin("name")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "{\n  \"name\": \"Ada\"\n}\n");
    assert!(
        stderr(&out).contains("tokens 11 in, 1 out"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.body(1)["messages"][0]["content"], "who");
}

#[test]
fn jsonl_format_streams_progress_and_ends_with_the_value() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["{\"a\":", "1}"]));
    let out = env
        .agent(&server)
        .args(["json", "--schema", "a int", "--format", "jsonl", "go"])
        .output()
        .unwrap();
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        json!({"type": "text_delta", "text": "{\"a\":", "attempt": 1})
    );
    let done = lines.last().unwrap();
    assert_eq!(
        (done["type"].clone(), done["json"].clone()),
        (json!("done"), json!({"a": 1}))
    );
}
