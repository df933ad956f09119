//! Templates (`--template`, `-p`) and `agent template`: the exact request a template makes,
//! its parameters and stdin, flags that win over it, and refusals that name what is wrong.

use serde_json::{json, Value};

use crate::util::*;

const REVIEW: &str = "\
system: You review code.
prompt: |-
  Review this diff for $focus:
  $input
model: gpt-4o-mini
temperature: 0.2
max_tokens: 300
";

fn with_template(env: &TestEnv, name: &str, yaml: &str) {
    let dir = env.path().join("config/agent/templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
}

#[test]
fn a_piped_diff_fills_the_template() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["Looks safe."]));
    with_template(&env, "review", REVIEW);
    let out = env
        .agent(&server)
        .args(["run", "--template", "review", "-p", "focus", "security"])
        .write_stdin("+ let x = 1;\n")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Looks safe.\n", "{}", stderr(&out));
    let body = server.body(0);
    assert_eq!(
        (&body["model"], &body["temperature"], &body["max_tokens"]),
        (&json!("gpt-4o-mini"), &json!(0.2), &json!(300))
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You review code."},
            {"role": "user", "content": "Review this diff for security:\n+ let x = 1;"},
        ])
    );
}

#[test]
fn flags_win_and_arguments_are_the_input() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["ok"]));
    with_template(&env, "review", REVIEW);
    let path = env.path().join("config/agent/templates/review.yaml");
    let out = env
        .agent(&server)
        .args([
            "run",
            "-n",
            "--template",
            path.to_str().unwrap(),
            "-p",
            "focus",
            "speed",
        ])
        .args([
            "-m",
            "gpt-4o",
            "-t",
            "0.9",
            "-s",
            "Be blunt.",
            "fn main() {}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let body = server.body(0);
    assert_eq!(
        (&body["model"], &body["temperature"]),
        (&json!("gpt-4o"), &json!(0.9))
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Be blunt."},
            {"role": "user", "content": "Review this diff for speed:\nfn main() {}"},
        ])
    );
}

#[test]
fn missing_parameters_and_unknown_keys_are_named_before_any_request() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    with_template(&env, "review", REVIEW);
    with_template(&env, "typo", "prompt: hi\nmodle: gpt-4o\n");
    let out = env
        .agent(&server)
        .args(["run", "-n", "--template", "review", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "agent: error: template review: missing parameter(s) focus (give each with -p NAME VALUE)\n"
    );
    let out = env
        .agent(&server)
        .args(["run", "-n", "--template", "typo", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown field `modle`"),
        "{}",
        stderr(&out)
    );
    let out = env
        .agent(&server)
        .args(["run", "-n", "--template", "nope", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("agent: error: no template 'nope' (looked for "),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn session_new_stores_the_templates_system_and_model() {
    let env = TestEnv::new();
    with_template(&env, "review", REVIEW);
    let out = env
        .cmd()
        .args(["session", "new", "--id", "r", "--template", "review"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = env.doc("r");
    assert_eq!(
        (&doc["system"], &doc["model"]),
        (&json!("You review code."), &json!("gpt-4o-mini"))
    );
}

#[test]
fn json_takes_the_templates_schema() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["{\"ok\":true}"]));
    with_template(&env, "check", "prompt: Is $input fine?\nschema: ok bool\n");
    let out = env
        .agent(&server)
        .args(["json", "-n", "--template", "check", "this"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "{\"ok\":true}\n", "stderr: {}", stderr(&out));
    let body = server.body(0);
    assert_eq!(body["messages"][0]["content"], "Is this fine?");
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["properties"]["ok"],
        json!({"type": "boolean"})
    );
}

#[test]
fn template_ls_show_and_path() {
    let env = TestEnv::new();
    with_template(&env, "review", REVIEW);
    with_template(&env, "check", "prompt: Is $input fine?\n");
    let out = env.cmd().args(["template", "ls"]).output().unwrap();
    assert_eq!(stdout(&out), "check\nreview\n");
    let out = env
        .cmd()
        .args(["template", "ls", "--json"])
        .output()
        .unwrap();
    let first: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(
        (&first["name"], &first["template"]),
        (&json!("check"), &json!({"prompt": "Is $input fine?"}))
    );
    let out = env
        .cmd()
        .args(["template", "show", "review"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), REVIEW);
    let out = env
        .cmd()
        .args(["template", "path", "review"])
        .output()
        .unwrap();
    let want = env.path().join("config/agent/templates/review.yaml");
    assert_eq!(stdout(&out), format!("{}\n", want.display()));
}

#[test]
fn a_templates_reasoning_is_sent_unless_a_flag_says_otherwise() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["a"]));
    server.push(MockResponse::openai_stream(&["b"]));
    with_template(
        &env,
        "think",
        "prompt: $input\nmodel: o4-mini\nreasoning: high\n",
    );
    for extra in [&[][..], &["--reasoning", "low"][..]] {
        env.agent(&server)
            .args(["run", "-n", "--template", "think"])
            .args(extra)
            .arg("why?")
            .assert()
            .success();
    }
    // Chat Completions (the mock is not OpenAI's own URL): `reasoning_effort`.
    assert_eq!(server.body(0)["reasoning_effort"], "high");
    assert_eq!(server.body(1)["reasoning_effort"], "low");
    // A value --reasoning would refuse is refused from a template too, before any request.
    with_template(&env, "bad", "prompt: $input\nreasoning: lots\n");
    let out = env
        .agent(&server)
        .args(["run", "-n", "--template", "bad", "hi"])
        .code(2);
    assert!(
        stderr(&out).contains(
            "template key `reasoning` must be one of none, minimal, low, medium, high, not lots"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 2);
}
