//! `--record`, `--replay`, `--replay-or-record`: exchanges recorded against the mock replay
//! with the mock gone and no key, byte for byte; a request nobody recorded is exit 8 and
//! touches nothing; a cassette holds no key.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::tools::{fixture, openai_calls};
use crate::util::*;

const ASK: &str = "I'm user-123, what are my recent orders?";
const CALL: (&str, &str, &str) = ("call_1", "get_user_orders", r#"{"user_id": "user-123"}"#);

/// A session `s` with the orders tool, made the same way in every env.
fn session(env: &TestEnv) {
    env.cmd()
        .args(["session", "new", "--id", "s", "--system", "Be brief."])
        .args(["--tool", &fixture("get_user_orders.yaml")])
        .passes();
}

/// `agent` with no server and no key: only the cassette can answer.
fn offline(env: &TestEnv) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.env_remove("OPENAI_API_KEY")
        .env("TOOL_LOG", env.path().join("tool.log"));
    cmd
}

/// The document without what differs between any two runs: times.
fn stable(mut doc: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !k.ends_with("_at") && k != "at");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut doc);
    doc
}

fn files(dir: &Path) -> Vec<String> {
    let mut names = file_names(dir);
    names.sort();
    names
}

/// Record a tool loop and a corrected structured turn in one env; return the cassette
/// directory, both stdouts and the session document.
fn record(env: &TestEnv, dir: &Path) -> (Vec<String>, Value) {
    let server = MockServer::start();
    session(env);
    server.push(openai_calls(&[CALL]));
    server.push(MockResponse::openai_stream(&["You have ", "two orders."]));
    server.push(MockResponse::openai_stream(&[r#"{"n": "two"}"#]));
    server.push(MockResponse::openai_stream(&[r#"{"n": 2}"#]));
    let rec = dir.to_str().unwrap();
    let mut outs = Vec::new();
    let out = env
        .agent(&server)
        .env("TOOL_LOG", env.path().join("tool.log"))
        .args(["session", "run", "s", "--record", rec, ASK])
        .passes();
    outs.push(stdout(&out));
    let out = env
        .agent(&server)
        .env("AGENT_RECORD", rec)
        .args(["session", "json", "s", "--schema", "n int", "How many?"])
        .passes();
    outs.push(stdout(&out));
    assert_eq!(server.requests().len(), 4);
    (outs, env.doc("s"))
}

#[test]
fn a_replay_reproduces_stdout_and_the_session_without_network_or_key() {
    let recorded = TestEnv::new();
    let dir: PathBuf = recorded.path().join("cassettes");
    let (outs, doc) = record(&recorded, &dir);
    assert_eq!(outs, ["You have two orders.\n", "{\"n\":2}\n"]);
    // One file per request: two steps of the tool loop, two attempts of the structured turn.
    assert_eq!(files(&dir).len(), 4);

    let env = TestEnv::new();
    session(&env);
    let replay = dir.to_str().unwrap();
    let out = offline(&env)
        .args(["session", "run", "s", "--replay", replay, ASK])
        .passes();
    assert_eq!(stdout(&out), outs[0]);
    let out = offline(&env)
        .env("AGENT_REPLAY", replay)
        .args(["session", "json", "s", "--schema", "n int", "How many?"])
        .passes();
    assert_eq!(stdout(&out), outs[1]);
    assert_eq!(stable(env.doc("s")), stable(doc));
    // The tool really ran again: a replay reproduces the loop, not only its text.
    let log = std::fs::read_to_string(env.path().join("tool.log")).unwrap();
    assert_eq!(log.lines().count(), 1);

    // Nothing a cassette holds is a secret.
    for name in files(&dir) {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        assert!(
            !text.contains(KEY) && !text.to_lowercase().contains("authorization"),
            "{name}"
        );
        let file: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(format!("{}.json", file["hash"].as_str().unwrap()), name);
        assert_eq!(file["request"]["path"], "/chat/completions");
    }
}

#[test]
fn an_unrecorded_request_is_exit_8_and_leaves_the_session_as_it_was() {
    let recorded = TestEnv::new();
    let dir = recorded.path().join("cassettes");
    record(&recorded, &dir);
    let env = TestEnv::new();
    session(&env);
    let before = env.raw("s");
    let out = offline(&env)
        .args(["session", "run", "s", "--replay", dir.to_str().unwrap()])
        .args(["--format", "json", "What are my orders?"])
        .code(8);
    let err = stderr(&out);
    assert!(
        err.starts_with("agent: error: no recorded exchange for this request (hash ")
            && err.contains("; the closest recorded is ")
            && err.ends_with(", which differs at /body/messages/1/content\n"),
        "{err}"
    );
    let object: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(object["exit_code"], 8);
    assert_eq!(object["error"]["kind"], "not_recorded");
    assert_eq!(object["error"]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(env.raw("s"), before);
}

#[test]
fn replay_or_record_sends_and_saves_only_what_is_missing() {
    let recorded = TestEnv::new();
    let dir = recorded.path().join("cassettes");
    record(&recorded, &dir);
    let before = files(&dir);

    let env = TestEnv::new();
    session(&env);
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Both shipped."]));
    let both = dir.to_str().unwrap();
    let run = |prompt: &str| {
        env.agent(&server)
            .env("TOOL_LOG", env.path().join("tool.log"))
            .args(["session", "run", "s", "--replay-or-record", both, prompt])
            .passes()
    };
    assert_eq!(stdout(&run(ASK)), "You have two orders.\n");
    assert_eq!(server.requests().len(), 0);
    assert_eq!(stdout(&run("And the mouse?")), "Both shipped.\n");
    assert_eq!(server.requests().len(), 1);
    let after = files(&dir);
    assert_eq!(after.len(), before.len() + 1);
    assert!(before.iter().all(|f| after.contains(f)));

    // Two variables at once are a usage error.
    env.cmd()
        .env("AGENT_RECORD", both)
        .env("AGENT_REPLAY", both)
        .args(["run", "hi"])
        .code(2);
}

#[test]
fn every_provider_replays_streamed_and_whole_replies() {
    use crate::providers::{agent, anthropic_events, gemini_events, ndjson, ollama_lines};
    let recorded = TestEnv::new();
    let dir = recorded.path().join("cassettes");
    let rec = dir.to_str().unwrap();
    let server = MockServer::start();
    let cases: [(&str, &str, MockResponse); 4] = [
        (
            "anthropic",
            "claude-haiku-4-5",
            MockResponse::sse_events(&anthropic_events(&["Bonjour", " !"], 3, 2)),
        ),
        (
            "gemini",
            "gemini-2.5-flash",
            MockResponse::sse_events(&gemini_events(&["Hallo", "!"], 3, 2)),
        ),
        (
            "ollama",
            "llama3.2",
            ndjson(&ollama_lines(&["Hola", "!"], 3, 2)),
        ),
        ("openai", "gpt-4o-mini", MockResponse::openai_json("Ciao!")),
    ];
    let mut expected = Vec::new();
    for (provider, model, reply) in cases {
        server.push(reply);
        let stream = if provider == "openai" {
            "--no-stream"
        } else {
            "--usage"
        };
        let args = [
            "run",
            "--provider",
            provider,
            "-m",
            model,
            stream,
            "--format",
            "jsonl",
            "hi",
        ];
        let out = agent(&recorded, &server)
            .args(args)
            .args(["--record", rec])
            .passes();
        expected.push((args, stdout(&out)));
    }
    drop(server);
    let env = TestEnv::new();
    for (args, out) in expected {
        let mut cmd = env.cmd();
        for var in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"] {
            cmd.env_remove(var);
        }
        let replayed = cmd.args(args).args(["--replay", rec]).passes();
        // jsonl names the in-memory session, whose id is new each run.
        let strip = |s: &str| -> Vec<Value> {
            s.lines()
                .map(|l| {
                    let mut v: Value = serde_json::from_str(l).unwrap();
                    v.as_object_mut().unwrap().remove("session_id");
                    v
                })
                .collect()
        };
        assert_eq!(strip(&stdout(&replayed)), strip(&out), "{args:?}");
        assert!(strip(&out).len() >= 3, "{out}");
    }
    let kinds: Vec<String> = files(&dir)
        .iter()
        .map(|f| {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
            format!(
                "{} {}",
                v["request"]["kind"].as_str().unwrap(),
                v["request"]["path"].as_str().unwrap()
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        kinds,
        [
            "anthropic /v1/messages",
            "gemini /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            "ollama /api/chat",
            "openai /chat/completions",
        ]
    );
}

#[test]
fn the_library_records_and_replays_through_the_agent_builder() {
    use agent::provider::{Cassette, Scripted};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let live = Scripted::new().reply("Recorded answer.");
    let recorder = agent::Agent::builder()
        .provider_impl(live.clone())
        .cassette(Cassette::record(dir.path()))
        .build()
        .unwrap();
    let mut s = rt.block_on(recorder.session()).unwrap();
    assert_eq!(rt.block_on(s.run("hi")).unwrap().text, "Recorded answer.");
    assert_eq!(live.requests().len(), 1);

    // A provider that would fail every request: the cassette answers instead.
    let dead = Scripted::new().fail("must not be asked");
    let replayer = agent::Agent::builder()
        .provider_impl(dead.clone())
        .cassette(Cassette::replay(dir.path()))
        .build()
        .unwrap();
    let mut s = rt.block_on(replayer.session()).unwrap();
    assert_eq!(rt.block_on(s.run("hi")).unwrap().text, "Recorded answer.");
    assert_eq!(dead.requests().len(), 0);
    let err = rt.block_on(s.run("something else")).unwrap_err();
    assert!(matches!(err, agent::Error::NotRecorded { .. }), "{err}");
    assert_eq!(s.messages().len(), 2);
}
