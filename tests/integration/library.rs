//! The library API against the specification's examples: requests sent and resulting history.

use agent::provider::Scripted;
use agent::{
    Agent, DirStore, Error, Event, Message, Role, Session, SessionOptions, StreamExt, Tool,
};
use serde_json::{json, Value};

use crate::util::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn texts(messages: &[Message]) -> Vec<(Role, String)> {
    messages
        .iter()
        .map(|m| (m.role, m.content.clone()))
        .collect()
}

#[test]
fn basic_multi_turn_over_the_openai_protocol() {
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Hi Alice."]));
    server.push(MockResponse::openai_stream(&["Noted."]));
    server.push(MockResponse::openai_stream(&[
        "You are Alice, a software engineer.",
    ]));
    let agent = Agent::builder()
        .provider("openai")
        .model("gpt-4o")
        .base_url(server.url("/v1"))
        .api_key(agent::provider::ApiKey::new(KEY))
        .build()
        .unwrap();
    rt().block_on(async {
        let mut session = agent.session().await.unwrap();
        session.run("My name is Alice").await.unwrap();
        session.run("I'm a software engineer").await.unwrap();
        let response = session.run("What do you know about me?").await.unwrap();
        assert_eq!(response.text, "You are Alice, a software engineer.");
        assert_eq!(response.usage.unwrap().input_tokens, 11);
        assert_eq!(session.messages().len(), 6);
    });
    let last = server.body(2);
    assert_eq!(last["model"], "gpt-4o");
    assert_eq!(
        last["messages"],
        json!([
            {"role": "user", "content": "My name is Alice"},
            {"role": "assistant", "content": "Hi Alice."},
            {"role": "user", "content": "I'm a software engineer"},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "What do you know about me?"},
        ])
    );
}

#[test]
fn custom_id_system_prompt_and_history() {
    let model = Scripted::new();
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .build()
        .unwrap();
    let session =
        agent::block_on(agent.session_with(SessionOptions::new().session_id("user-123-conv-456")))
            .unwrap();
    assert_eq!(session.session_id(), "user-123-conv-456");
    assert!(matches!(
        agent::block_on(agent.session_with(SessionOptions::new().session_id("user-123-conv-456"))),
        Err(Error::SessionExists { .. })
    ));
    assert!(matches!(
        agent::block_on(agent.session_with(SessionOptions::new().session_id("../x"))),
        Err(Error::Usage(_))
    ));

    let history = [
        Message::user("What's the capital of France?"),
        Message::assistant("The capital of France is Paris."),
    ];
    let mut s = agent::block_on(
        agent.session_with(SessionOptions::new().system("Be terse.").messages(history)),
    )
    .unwrap();
    rt().block_on(s.run("What about Germany?")).unwrap();
    let req = &model.requests()[0];
    assert_eq!(req.system.as_deref(), Some("Be terse."));
    assert_eq!(
        texts(&req.messages),
        vec![
            (Role::User, "What's the capital of France?".into()),
            (Role::Assistant, "The capital of France is Paris.".into()),
            (Role::User, "What about Germany?".into()),
        ]
    );
}

#[test]
fn fork_diverges_and_the_original_is_unchanged() {
    let model = Scripted::new();
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .build()
        .unwrap();
    rt().block_on(async {
        let mut session = agent.session().await.unwrap();
        session.run("We're planning a trip to Japan").await.unwrap();
        session
            .run("I want to visit Tokyo and Kyoto")
            .await
            .unwrap();
        let mut alt = session.fork(Some("alternative-plan")).await.unwrap();
        alt.run("Actually, let's focus on Osaka instead")
            .await
            .unwrap();
        session.run("What cities are we visiting?").await.unwrap();
        alt.run("What cities are we visiting?").await.unwrap();
        assert_eq!(
            alt.data().forked_from.as_ref().unwrap().id,
            session.session_id()
        );
    });
    let reqs = model.requests();
    let joined = |i: usize| {
        reqs[i]
            .messages
            .iter()
            .map(|m| m.content.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Requests 3 and 4: the original's and the fork's "What cities" turns.
    assert!(joined(3).contains("Tokyo and Kyoto") && !joined(3).contains("Osaka"));
    assert!(joined(4).contains("Osaka") && joined(4).contains("Tokyo and Kyoto"));
}

#[test]
fn a_stream_updates_history_only_when_complete() {
    let model = Scripted::new().reply("one two three four").reply("again");
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .build()
        .unwrap();
    rt().block_on(async {
        let mut session = agent.session().await.unwrap();
        {
            let mut stream = session.stream("Write a story");
            let first = stream.next().await.unwrap().unwrap();
            assert_eq!(
                first,
                Event::TextDelta {
                    text: "one ".into()
                }
            );
        } // dropped early
        assert!(session.messages().is_empty());
        session.refresh().await.unwrap();
        assert!(session.messages().is_empty());
        let mut events = Vec::new();
        let mut stream = session.stream("Write a story");
        while let Some(e) = stream.next().await {
            events.push(e.unwrap());
        }
        assert!(matches!(events.last(), Some(Event::Done { .. })));
        drop(stream);
        assert_eq!(
            texts(&session.messages()),
            vec![
                (Role::User, "Write a story".into()),
                (Role::Assistant, "again".into())
            ]
        );
    });
}

#[test]
fn a_failed_run_leaves_history_unchanged() {
    let model = Scripted::new()
        .reply("fine")
        .fail("overloaded_error: try later");
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .build()
        .unwrap();
    let mut session = agent::block_on(agent.session()).unwrap();
    session.run_blocking("first").unwrap();
    let err = session.run_blocking("second").unwrap_err();
    assert!(matches!(err, Error::Provider(_)), "{err:?}");
    assert_eq!(session.messages().len(), 2);
    assert_eq!(
        session.data().failed_turn.as_ref().unwrap().prompt,
        "second"
    );
}

#[test]
fn json_validates_and_corrects_without_storing_the_correction() {
    let model = Scripted::new()
        .reply(r#"{"name": "Ada"}"#)
        .reply(r#"{"name": "Ada", "age": 36}"#);
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .build()
        .unwrap();
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Person {
        name: String,
        age: u32,
    }
    let mut session = agent::block_on(agent.session()).unwrap();
    let resp = rt()
        .block_on(session.json::<Person>("Who wrote the first program?"))
        .unwrap();
    assert_eq!((resp.output.name.as_str(), resp.output.age), ("Ada", 36));
    assert_eq!(resp.response.attempts, 2);
    let second = &model.requests()[1];
    let correction = &second.messages.last().unwrap().content;
    assert!(
        correction.contains("age") && correction.contains("required"),
        "{correction}"
    );
    assert_eq!(
        texts(&session.messages()),
        vec![
            (Role::User, "Who wrote the first program?".into()),
            (Role::Assistant, r#"{"name": "Ada", "age": 36}"#.into())
        ]
    );
    let schema = &model.requests()[0].json.clone().unwrap().schema;
    assert_eq!(schema["required"], json!(["name", "age"]));
}

#[test]
fn json_gives_up_after_the_retries() {
    let model = Scripted::new().reply("nope").reply("{}").reply("[]");
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .build()
        .unwrap();
    let mut session = agent::block_on(agent.session()).unwrap();
    let schema = json!({"type": "object", "required": ["a"]});
    let err = rt()
        .block_on(session.json_value("x", &schema, Default::default(), 2))
        .unwrap_err();
    match err {
        Error::Validation { message, raw } => {
            assert!(message.contains("3 attempt"), "{message}");
            assert_eq!(raw, "[]");
        }
        other => panic!("{other:?}"),
    }
    assert!(session.messages().is_empty());
    assert_eq!(model.requests().len(), 3);
}

#[test]
fn serialization_is_the_cli_document() {
    let env = TestEnv::new();
    let agent = Agent::builder()
        .provider_impl(Scripted::new())
        .store(DirStore::new(env.data_dir()))
        .build()
        .unwrap();
    let mut session =
        agent::block_on(agent.session_with(SessionOptions::new().session_id("doc"))).unwrap();
    session.run_blocking("hello").unwrap();
    assert_eq!(session.to_value(), env.doc("doc"));
    // The CLI reads what the library wrote.
    let out = env.cmd().args(["session", "show", "doc"]).output().unwrap();
    assert!(stdout(&out).contains("You said: hello"));

    let other = Agent::builder()
        .provider_impl(Scripted::new())
        .build()
        .unwrap();
    let mut restored = agent::block_on(Session::from_value(env.doc("doc"), &other)).unwrap();
    restored.run_blocking("Where were we?").unwrap();
    assert_eq!(restored.messages().len(), 4);
    assert_eq!(
        env.doc("doc")["messages"].as_array().unwrap().len(),
        2,
        "the file is untouched"
    );
}

#[test]
fn tools_run_and_are_remembered_in_the_next_turn() {
    let model = Scripted::new()
        .tool_call("get_user_orders", json!({"user_id": "user-123"}))
        .reply("Two orders.")
        .tool_call("get_user_orders", json!({"user_id": 7}))
        .reply("Sorry.");
    let tool = Tool::new(
        "get_user_orders",
        "Get orders for a user.",
        json!({"type": "object", "properties": {"user_id": {"type": "string"}}, "required": ["user_id"]}),
        |args: Value| async move { Ok(json!([{"id": "1", "for": args["user_id"]}]).to_string()) },
    )
    .unwrap();
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .tools([tool])
        .build()
        .unwrap();
    let mut session = agent::block_on(agent.session()).unwrap();
    session
        .run_blocking("I'm user-123, what are my recent orders?")
        .unwrap();
    let msgs = session.messages();
    assert_eq!(msgs.len(), 4);
    assert_eq!(msgs[1].tool_calls[0].name, "get_user_orders");
    assert_eq!(
        (msgs[2].role, msgs[2].content.as_str()),
        (Role::Tool, r#"[{"id":"1","for":"user-123"}]"#)
    );
    // Invalid arguments are not run; the model sees why.
    session.run_blocking("And user 7?").unwrap();
    let msgs = session.messages();
    assert!(
        msgs[6].is_error && msgs[6].content.contains("invalid arguments"),
        "{:?}",
        msgs[6]
    );
    let reqs = model.requests();
    assert_eq!(reqs[1].messages.len(), 3);
    assert!(reqs[2]
        .messages
        .iter()
        .any(|m| m.content.contains("user-123")));
    assert_eq!(reqs[0].tools[0].name, "get_user_orders");
}

#[test]
fn two_handles_on_one_stored_session_both_get_recorded() {
    let env = TestEnv::new();
    let agent = Agent::builder()
        .provider_impl(Scripted::new())
        .store(DirStore::new(env.data_dir()))
        .build()
        .unwrap();
    let a =
        agent::block_on(agent.session_with(SessionOptions::new().session_id("shared"))).unwrap();
    let mut b = agent::block_on(agent.load_session("shared")).unwrap();
    let mut a = a;
    rt().block_on(async {
        let (ra, rb) = tokio::join!(async { a.run("from a").await }, async {
            b.run("from b").await
        },);
        ra.unwrap();
        rb.unwrap();
    });
    let doc = env.doc("shared");
    let contents: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents.len(), 4);
    assert!(
        contents == ["from a", "You said: from a", "from b", "You said: from b"]
            || contents == ["from b", "You said: from b", "from a", "You said: from a"],
        "{contents:?}"
    );
}

#[test]
fn a_failing_store_is_an_error_not_a_panic() {
    struct Broken;
    impl agent::SessionStore for Broken {
        fn save(&self, _: &str, _: &Value) -> agent::Result<()> {
            Err(Error::io(
                "cannot save",
                std::io::Error::other("disk on fire"),
            ))
        }
        fn load(&self, _: &str) -> agent::Result<Option<Value>> {
            Ok(None)
        }
        fn delete(&self, _: &str) -> agent::Result<bool> {
            Ok(false)
        }
        fn list_sessions(&self) -> agent::Result<Vec<String>> {
            Ok(Vec::new())
        }
    }
    let agent = Agent::builder()
        .provider_impl(Scripted::new())
        .store(Broken)
        .build()
        .unwrap();
    let err = agent::block_on(agent.session()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    // The cause is the error's source, printed once by whoever walks the chain.
    assert_eq!(err.to_string(), "cannot save");
    assert_eq!(err.line(), "cannot save: disk on fire");
}
