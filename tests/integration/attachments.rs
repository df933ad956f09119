//! Attachments (`-a`) and fragments (`-f`) through the real binary: each protocol's exact request
//! body, sniffing, refusals before any request, blobs stored once and collected, export/import.

use std::os::unix::fs::PermissionsExt;

use base64::Engine;
use serde_json::{json, Value};

use crate::providers::{agent, anthropic_events, gemini_events, ndjson, ok, ollama_lines};
use crate::util::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nimage";
const PDF: &[u8] = b"%PDF-1.4\nfake";
const TEXT: &str = "line one\nline two\n";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three files, written into the test's directory; their paths as strings.
fn files(env: &TestEnv) -> (String, String, String) {
    let at = |name: &str, bytes: &[u8]| {
        let p = env.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    (
        at("chart.png", PNG),
        at("contract.pdf", PDF),
        at("notes.txt", TEXT.as_bytes()),
    )
}

fn blobs(env: &TestEnv) -> Vec<String> {
    let dir = env.data_dir().join("blobs");
    match dir.exists() {
        true => file_names(&dir),
        false => Vec::new(),
    }
}

fn sha(bytes: &[u8]) -> String {
    agent::attachment::sha256_hex(bytes)
}

#[test]
fn anthropic_gets_image_document_and_text_blocks_in_order() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::sse_events(&anthropic_events(
        &["Seen."],
        9,
        2,
    )));
    let (png, pdf, txt) = files(&env);
    let out = agent(&env, &server)
        .args([
            "run",
            "-m",
            "claude-haiku-4-5",
            "-a",
            &txt,
            "-a",
            &png,
            "-a",
            &pdf,
        ])
        .arg("What are these?")
        .output()
        .unwrap();
    assert_eq!(ok(&out), "Seen.\n");
    assert_eq!(
        server.body(0)["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "[file: notes.txt]\nline one\nline two\n"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)}},
            {"type": "text", "text": "What are these?"},
        ]}])
    );
}

#[test]
fn openai_gets_image_url_and_file_parts_and_a_sniffed_png() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["ok"]));
    let (_, pdf, txt) = files(&env);
    // A PNG named .txt goes as an image: the bytes decide, not the name.
    let disguised = env.path().join("really.txt");
    std::fs::write(&disguised, PNG).unwrap();
    let out = env
        .agent(&server)
        .args([
            "run",
            "-a",
            disguised.to_str().unwrap(),
            "-a",
            &pdf,
            "-a",
            &txt,
            "Read",
        ])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "ok\n");
    assert_eq!(
        server.body(0)["messages"],
        json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", b64(PNG))}},
            {"type": "file", "file": {"filename": "contract.pdf",
                "file_data": format!("data:application/pdf;base64,{}", b64(PDF))}},
            {"type": "text", "text": "[file: notes.txt]\nline one\nline two\n"},
            {"type": "text", "text": "Read"},
        ]}])
    );
}

#[test]
fn gemini_gets_inline_data_parts() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::sse_events(&gemini_events(&["ok"], 3, 1)));
    let (png, pdf, txt) = files(&env);
    let out = agent(&env, &server)
        .args([
            "run",
            "-m",
            "gemini-2.5-flash",
            "-a",
            &png,
            "-a",
            &pdf,
            "-a",
            &txt,
            "Sum up",
        ])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "ok\n");
    assert_eq!(
        server.body(0)["contents"],
        json!([{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": b64(PNG)}},
            {"inlineData": {"mimeType": "application/pdf", "data": b64(PDF)}},
            {"text": "[file: notes.txt]\nline one\nline two\n"},
            {"text": "Sum up"},
        ]}])
    );
}

#[test]
fn ollama_gets_images_and_refuses_a_pdf_before_any_request() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(ndjson(&ollama_lines(&["ok"], 3, 1)));
    let (png, pdf, txt) = files(&env);
    let out = agent(&env, &server)
        .args([
            "run",
            "--provider",
            "ollama",
            "-m",
            "llava",
            "-a",
            &txt,
            "-a",
            &png,
            "Look",
        ])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "ok\n");
    assert_eq!(
        server.body(0)["messages"],
        json!([{"role": "user", "content": "[file: notes.txt]\nline one\nline two\n\n\nLook",
                "images": [b64(PNG)]}])
    );
    let out = agent(&env, &server)
        .args([
            "run",
            "--provider",
            "ollama",
            "-m",
            "llava",
            "-a",
            &pdf,
            "Read",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "agent: error: provider 'ollama' (ollama) cannot take pdf attachments: contract.pdf is application/pdf\n"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn refusals_come_before_any_request_and_store_nothing() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let id = new_session(&env, &["-m", "claude-haiku-4-5"]);
    let big = env.path().join("big.png");
    let mut bytes = PNG.to_vec();
    bytes.resize(4 << 20, 0);
    std::fs::write(&big, &bytes).unwrap();
    let before = env.doc(&id);
    let out = agent(&env, &server)
        .args(["session", "run", &id, "-a", big.to_str().unwrap(), "Look"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "agent: error: attachment big.png is 4.2 MB, over anthropic's limit of 3.9 MB for image attachments\n"
    );
    let bin = env.path().join("blob.bin");
    std::fs::write(&bin, [0u8, 1, 2, 3]).unwrap();
    let out = agent(&env, &server)
        .args(["session", "run", &id, "-a", bin.to_str().unwrap(), "Look"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("blob.bin: unsupported attachment type"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 0);
    assert_eq!(env.doc(&id), before);
    assert!(blobs(&env).is_empty());
}

#[test]
fn blobs_are_stored_once_shared_by_forks_and_collected_with_the_last_session() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::openai_stream(&["ok"]));
    let (png, _, _) = files(&env);
    let id = new_session(&env, &[]);
    for _ in 0..2 {
        let out = env
            .agent(&server)
            .args(["session", "run", &id, "-a", &png, "again"])
            .output()
            .unwrap();
        ok(&out);
    }
    assert_eq!(blobs(&env), vec![sha(PNG)]);
    let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(env.data_dir().join("blobs").join(sha(PNG))), 0o600);
    assert_eq!(mode(env.data_dir().join("blobs")), 0o700);
    let stored = &env.doc(&id)["messages"][0]["attachments"];
    assert_eq!(
        stored,
        &json!([{"sha256": sha(PNG), "media_type": "image/png", "name": "chart.png", "size": PNG.len()}])
    );
    // The second turn re-sent the first image from the store, then its own.
    let second = &server.body(1)["messages"];
    assert_eq!(second[0]["content"][0], second[2]["content"][0]);

    let out = env.cmd().args(["session", "fork", &id]).output().unwrap();
    let fork = ok(&out).trim().to_string();
    env.cmd().args(["session", "rm", &id]).assert().success();
    assert_eq!(blobs(&env), vec![sha(PNG)]);
    let out = env.cmd().args(["session", "show", &fork]).output().unwrap();
    assert!(ok(&out).contains("[image: chart.png, image/png, 13 B]\nagain\n"));
    let out = env.cmd().args(["session", "rm", &fork]).output().unwrap();
    assert_eq!(
        stderr(&out),
        format!("agent: removed session {fork}\nagent: removed 1 attachment(s) no session refers to any more\n")
    );
    assert!(blobs(&env).is_empty());
}

#[test]
fn a_failed_turn_stores_no_blob() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_error(
        400,
        "bad image",
        "invalid_request_error",
    ));
    let (png, _, _) = files(&env);
    let id = new_session(&env, &[]);
    let out = env
        .agent(&server)
        .args(["session", "run", &id, "-a", &png, "look"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = env.doc(&id);
    assert_eq!(doc["messages"], json!([]));
    assert_eq!(doc["failed_turn"]["prompt"], "look");
    assert!(blobs(&env).is_empty());
}

#[test]
fn export_embeds_the_bytes_and_import_restores_them_elsewhere() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::openai_stream(&["ok"]));
    let (_, pdf, _) = files(&env);
    let id = new_session(&env, &[]);
    ok(&env
        .agent(&server)
        .args(["session", "run", &id, "-a", &pdf, "read"])
        .output()
        .unwrap());
    let out = env.cmd().args(["session", "export", &id]).output().unwrap();
    let exported: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(exported["blobs"], json!({sha(PDF): b64(PDF)}));

    let other = TestEnv::new();
    other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(serde_json::to_vec(&exported).unwrap())
        .assert()
        .success();
    assert_eq!(blobs(&other), vec![sha(PDF)]);
    assert_eq!(other.doc(&id)["messages"], env.doc(&id)["messages"]);
    ok(&other
        .agent(&server)
        .args(["session", "run", &id, "and?"])
        .output()
        .unwrap());
    let sent = server.requests().last().unwrap().json();
    assert_eq!(sent["messages"][0], server.body(0)["messages"][0]);
}

#[test]
fn store_check_reports_missing_and_orphaned_blobs() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::openai_stream(&["ok"]));
    let (png, _, _) = files(&env);
    let id = new_session(&env, &[]);
    ok(&env
        .agent(&server)
        .args(["session", "run", &id, "-a", &png, "x"])
        .output()
        .unwrap());
    let blob = env.data_dir().join("blobs").join(sha(PNG));
    let orphan = env.data_dir().join("blobs").join(sha(b"other"));
    std::fs::rename(&blob, &orphan).unwrap();
    let out = env.cmd().args(["store", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let dir = env.data_dir().display().to_string();
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "'{id}' in {dir}: attachment {} is missing\n",
            sha(PNG)
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "attachment {} in {dir}: no session refers to it",
            sha(b"other")
        )),
        "{err}"
    );
    // A turn that needs the missing blob fails before any request, naming it.
    let before = server.requests().len();
    let out = env
        .agent(&server)
        .args(["session", "run", &id, "more"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("is missing from"), "{}", stderr(&out));
    assert_eq!(server.requests().len(), before);
}

#[test]
fn stdin_bytes_attach_and_the_prompt_comes_from_the_arguments() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["ok"]));
    let out = env
        .agent(&server)
        .args(["run", "-a", "-", "what is it?"])
        .write_stdin(PDF)
        .output()
        .unwrap();
    assert_eq!(ok(&out), "ok\n");
    assert_eq!(
        server.body(0)["messages"][0]["content"],
        json!([
            {"type": "file", "file": {"filename": "stdin",
                "file_data": format!("data:application/pdf;base64,{}", b64(PDF))}},
            {"type": "text", "text": "what is it?"},
        ])
    );
}

#[test]
fn fragments_go_before_the_arguments_and_binary_is_refused() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_stream(&["ok"]));
    let (png, _, txt) = files(&env);
    let out = env
        .agent(&server)
        .current_dir(env.path())
        .args(["run", "-f", "notes.txt", "why?"])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "ok\n");
    assert_eq!(
        server.body(0)["messages"][0]["content"],
        "[file: notes.txt]\nline one\nline two\n\nwhy?"
    );
    let out = env
        .agent(&server)
        .args(["run", "-f", &png, "why?"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!("agent: error: fragment {png} is not text: send it with -a {png}\n")
    );
    let _ = txt;
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_library_attaches_from_a_path_and_from_bytes() {
    use agent::provider::Scripted;
    use agent::{Agent, Attachment, MemoryStore, RunOptions, SessionStore};
    let env = TestEnv::new();
    let (png, _, _) = files(&env);
    let model = Scripted::new().reply("a chart").reply("still a chart");
    let store = MemoryStore::new();
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .store(store.clone())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut session = rt.block_on(agent.session()).unwrap();
    let image = Attachment::from_path(&png).unwrap();
    assert_eq!((image.media_type.as_str(), image.size), ("image/png", 13));
    let pdf = Attachment::from_bytes(PDF.to_vec(), Some("application/pdf")).unwrap();
    let options = RunOptions::default().attach(image).attach(pdf);
    rt.block_on(session.run_with("What is it?", options))
        .unwrap();
    rt.block_on(session.run("And now?")).unwrap();
    let sent = &model.requests()[1].messages[0];
    let kinds: Vec<(&str, Option<usize>)> = sent
        .attachments
        .iter()
        .map(|a| (a.media_type.as_str(), a.data().map(|d| d.len())))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("image/png", Some(13)),
            ("application/pdf", Some(PDF.len()))
        ]
    );
    let mut stored = store.list_blobs().unwrap();
    stored.sort();
    let mut want = vec![sha(PNG), sha(PDF)];
    want.sort();
    assert_eq!(stored, want);
}

#[test]
fn a_dry_run_shows_the_historys_attachments_and_chat_attaches_with_the_next_message() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::openai_stream(&["ok"]));
    let (png, _, txt) = files(&env);
    let id = new_session(&env, &[]);
    let script = format!("!attach {png}\nwhat is it?\nand now?\n");
    let out = env
        .agent(&server)
        .args(["session", "chat", &id, "--lines", "-a", &txt])
        .write_stdin(script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[image: chart.png, image/png, 13 B]: sent with your next message")
    );
    let first = &server.body(0)["messages"][0]["content"];
    assert_eq!(first[0]["text"], "[file: notes.txt]\nline one\nline two\n");
    assert_eq!(first[1]["type"], "image_url");
    assert_eq!(server.body(1)["messages"][2]["content"], "and now?");

    let out = env
        .agent(&server)
        .args(["session", "run", &id, "--dry-run", "more"])
        .output()
        .unwrap();
    let body: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(body["messages"][0], server.body(0)["messages"][0]);
}

#[test]
fn a_killed_turn_stores_no_blob() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(
        MockResponse::openai_stream(&["chunk "; 100]).slow(std::time::Duration::from_millis(30)),
    );
    let (png, _, _) = files(&env);
    let id = new_session(&env, &[]);
    let before = env.doc(&id);
    for sig in ["INT", "KILL"] {
        let mut child = env
            .spawnable(&server)
            .args(["session", "run", &id, "-a", &png, "long story"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut first = [0u8; 6];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        signal(child.id(), sig);
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success());
        assert_eq!(env.doc(&id)["messages"], before["messages"], "{sig}");
        assert!(blobs(&env).is_empty(), "{sig}: {:?}", blobs(&env));
        server.push(
            MockResponse::openai_stream(&["chunk "; 100])
                .slow(std::time::Duration::from_millis(30)),
        );
    }
}

#[test]
fn a_retry_sends_the_files_given_again() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_error(
        400,
        "try later",
        "invalid_request_error",
    ));
    server.push(MockResponse::openai_stream(&["ok"]));
    let (png, _, _) = files(&env);
    let id = new_session(&env, &[]);
    let out = env
        .agent(&server)
        .args(["session", "run", &id, "-a", &png, "look"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = env
        .agent(&server)
        .args(["session", "retry", &id, "-a", &png])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "ok\n");
    assert_eq!(server.body(1)["messages"], server.body(0)["messages"]);
    assert_eq!(blobs(&env), vec![sha(PNG)]);
}

#[test]
fn the_responses_api_gets_input_image_and_input_file() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_error(418, "stop here", "test"));
    let (png, pdf, txt) = files(&env);
    let out = env
        .agent(&server)
        .args([
            "run",
            "--api",
            "responses",
            "--dry-run",
            "-a",
            &png,
            "-a",
            &pdf,
            "-a",
            &txt,
            "Read",
        ])
        .output()
        .unwrap();
    let body: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(
        body["input"],
        json!([{"role": "user", "content": [
            {"type": "input_image", "image_url": format!("data:image/png;base64,{}", b64(PNG))},
            {"type": "input_file", "filename": "contract.pdf",
                "file_data": format!("data:application/pdf;base64,{}", b64(PDF))},
            {"type": "input_text", "text": "[file: notes.txt]\nline one\nline two\n"},
            {"type": "input_text", "text": "Read"},
        ]}])
    );
    assert_eq!(server.requests().len(), 0);
}
