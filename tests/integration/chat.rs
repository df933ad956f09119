//! `agent chat` / `agent session chat`: scripted through stdin, and typed on a pseudo-terminal.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

#[test]
fn piped_lines_are_turns_and_the_second_sees_the_first() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Hello", "!"]));
    server.push(MockResponse::openai_stream(&["You said hi."]));
    env.cmd()
        .args(["session", "new", "--id", "s"])
        .assert()
        .success();
    // One turn per line with --lines; the replies are told apart by an empty line.
    env.agent(&server)
        .args(["session", "chat", "s", "--lines"])
        .write_stdin("hi\nwhat did I say?\n")
        .assert()
        .success()
        .stdout("Hello!\n\nYou said hi.\n");
    assert_eq!(
        contents(&server.body(1)["messages"]),
        ["hi", "Hello!", "what did I say?"]
    );
    assert_eq!(env.doc("s")["messages"].as_array().unwrap().len(), 4);
}

#[test]
fn piped_text_is_one_message_and_create_makes_the_session() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Noted."]));
    env.agent(&server)
        .args(["session", "chat", "notes", "--create", "-s", "Be brief."])
        .write_stdin("# Notes\n\nline one\nline two\n")
        .assert()
        .success()
        .stdout("Noted.\n");
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        contents(&server.body(0)["messages"]),
        ["Be brief.", "# Notes\n\nline one\nline two"]
    );
    assert_eq!(env.doc("notes")["messages"].as_array().unwrap().len(), 2);
}

#[test]
fn piped_multi_line_prompts_and_commands() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.fallback(MockResponse::openai_stream(&["ok"]));
    env.cmd()
        .args(["session", "new", "--id", "s"])
        .assert()
        .success();
    let script = "one \\\ntwo\n\"\"\"\nthree\n\nfour\n\"\"\"\n!fork f2\nafter fork\n";
    env.agent(&server)
        .args(["session", "chat", "s", "--lines"])
        .write_stdin(script)
        .assert()
        .success();
    assert_eq!(contents(&server.body(0)["messages"]), ["one \ntwo"]);
    assert_eq!(
        contents(&server.body(1)["messages"]).last().unwrap(),
        "three\n\nfour"
    );
    // After !fork the chat continues in the fork; the source stays as it was.
    assert_eq!(env.doc("s")["messages"].as_array().unwrap().len(), 4);
    assert_eq!(env.doc("f2")["messages"].as_array().unwrap().len(), 6);

    env.agent(&server)
        .args(["session", "chat", "s", "--lines"])
        .write_stdin("!nonsense\n")
        .code(2);
}

#[test]
fn chat_creates_a_session_and_names_it_on_stderr() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Hi."]));
    let out = env
        .agent(&server)
        .args(["chat", "-s", "Be brief."])
        .write_stdin("hello\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Hi.\n");
    let id = stderr(&out)
        .lines()
        .find_map(|l| l.strip_prefix("agent: session "))
        .expect("the id on stderr")
        .trim()
        .to_string();
    let doc = env.doc(&id);
    assert_eq!(doc["system"], "Be brief.");
    assert_eq!(doc["title"], "hello");
}

/// A chat on a real terminal: util-linux `script` runs it on a pseudo-terminal and forwards
/// what the test types. `None` when `script` is not installed.
struct Pty {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
}

impl Pty {
    fn spawn(env: &TestEnv, server: &MockServer, args: &str) -> Option<Pty> {
        let agent = assert_cmd::cargo::cargo_bin!("agent");
        // `exec`: agent alone in the terminal's foreground group, so Ctrl-C reaches only
        // it. Under a forking `sh -c`, the shell would get the SIGINT too and exit 130.
        Self::spawn_shell(env, server, &format!("exec {} {args}", agent.display()))
    }

    /// Run the shell command line `inner` on the terminal.
    fn spawn_shell(env: &TestEnv, server: &MockServer, inner: &str) -> Option<Pty> {
        if !require(
            "script",
            "apt-get install -y bsdutils (util-linux's script)",
        ) {
            return None;
        }
        let mut script = std::process::Command::new("script");
        script.args(["-qefc", inner, "/dev/null"]);
        // The same scrubbed environment as every other test.
        for (k, v) in env.spawnable(server).get_envs() {
            match v {
                Some(v) => script.env(k, v),
                None => script.env_remove(k),
            };
        }
        // script runs `$SHELL -c`: the same shell wherever the suite runs.
        let mut child = script
            .env("SHELL", "/bin/sh")
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        Some(Pty { child, stdin })
    }

    fn type_(&mut self, keys: &[u8]) {
        // A chat that already ended shows why in `finish`, not as a broken pipe here.
        let stdin = self.stdin.as_mut().unwrap();
        let _ = stdin.write_all(keys).and_then(|()| stdin.flush());
    }

    /// Ctrl-D, then everything the terminal showed.
    fn finish(mut self) -> String {
        self.type_(b"\x04");
        drop(self.stdin.take());
        let out = self.child.wait_with_output().unwrap();
        let screen = stdout(&out);
        assert!(
            out.status.success(),
            "{}; the terminal showed:\n{screen}{}",
            out.status,
            stderr(&out)
        );
        screen
    }
}

impl Pty {
    /// Poll until `check` holds for the stored document of `id`, as a person waits for a
    /// reply; on a timeout, fail showing the terminal.
    fn wait(&mut self, env: &TestEnv, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
        for _ in 0..200 {
            let doc = std::fs::read(env.session_path(id))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            if doc.as_ref().is_some_and(&check) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        drop(self.stdin.take());
        let out = std::mem::replace(
            &mut self.child,
            std::process::Command::new("true").spawn().unwrap(),
        )
        .wait_with_output()
        .unwrap();
        panic!(
            "timed out waiting for {what}; the terminal showed:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

fn message_count(doc: &Value) -> usize {
    doc["messages"].as_array().map_or(0, Vec::len)
}

#[test]
fn typed_on_a_pseudo_terminal() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["first reply"]));
    server.push(MockResponse::openai_stream(&["second reply"]));
    env.cmd()
        .args(["session", "new", "--id", "p"])
        .assert()
        .success();
    let Some(mut pty) = Pty::spawn(&env, &server, "session chat p") else {
        return;
    };
    pty.type_(b"hi there\r");
    pty.wait(&env, "p", "the first reply", |d| message_count(d) == 2);
    // A person types the next line after the prompt is back: keys typed ahead of rustyline's
    // return can be dropped with its buffer.
    pty.type_(b"and \\\r");
    std::thread::sleep(Duration::from_millis(500));
    pty.type_(b"again\r");
    pty.wait(&env, "p", "the second reply", |d| message_count(d) == 4);
    let screen = pty.finish();
    assert!(
        screen.contains("first reply") && screen.contains("second reply"),
        "{screen}"
    );
    assert_eq!(
        contents(&server.body(1)["messages"]),
        ["hi there", "first reply", "and \nagain"]
    );
}

#[test]
fn every_line_typed_ahead_or_pasted_arrives_in_order() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["r1"]));
    server.push(MockResponse::openai_stream(&["r2"]));
    server.push(MockResponse::openai_stream(&["r3"]));
    env.cmd()
        .args(["session", "new", "--id", "t"])
        .assert()
        .success();
    let Some(mut pty) = Pty::spawn(&env, &server, "session chat t") else {
        return;
    };
    // Typed faster than the replies come, and a paste without bracketed-paste markers of a
    // """ block: one write, every line at once.
    pty.type_(b"p1\rp2\r\"\"\"\rline a\rline b\r\"\"\"\r");
    pty.wait(&env, "t", "three replies", |d| message_count(d) == 6);
    pty.finish();
    let doc = env.doc("t");
    assert_eq!(
        contents(&doc["messages"]),
        ["p1", "r1", "p2", "r2", "line a\nline b", "r3"]
    );
}

#[test]
fn ctrl_c_stops_the_reply_and_the_chat_goes_on() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let slow: Vec<&str> = vec!["tick "; 40];
    server.push(MockResponse::openai_stream(&slow).slow(Duration::from_millis(100)));
    server.push(MockResponse::openai_stream(&["after"]));
    env.cmd()
        .args(["session", "new", "--id", "c"])
        .assert()
        .success();
    let Some(mut pty) = Pty::spawn(&env, &server, "session chat c") else {
        return;
    };
    pty.type_(b"long one\r");
    for _ in 0..100 {
        if !server.requests().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    pty.type_(b"\x03");
    pty.wait(&env, "c", "the cancelled turn", |d| {
        d["failed_turn"].is_object()
    });
    pty.type_(b"next\r");
    pty.wait(&env, "c", "the reply after Ctrl-C", |d| {
        message_count(d) == 2
    });
    pty.finish();
    // The stopped turn is not in the history the next request carries.
    assert_eq!(contents(&server.body(1)["messages"]), ["next"]);
    assert_eq!(env.doc("c")["failed_turn"]["prompt"], "long one");
}

#[test]
fn piped_input_then_typing_on_the_terminal() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["read it"]));
    server.push(MockResponse::openai_stream(&["typed"]));
    env.cmd()
        .args(["session", "new", "--id", "t"])
        .assert()
        .success();
    let agent = assert_cmd::cargo::cargo_bin!("agent");
    let line = format!(
        "printf 'from the pipe\\n' | {} session chat t",
        agent.display()
    );
    let Some(mut pty) = Pty::spawn_shell(&env, &server, &line) else {
        return;
    };
    pty.wait(&env, "t", "the piped turn", |d| message_count(d) == 2);
    pty.type_(b"from the keyboard\r");
    pty.wait(&env, "t", "the typed turn", |d| message_count(d) == 4);
    pty.finish();
    assert_eq!(
        contents(&server.body(1)["messages"]),
        ["from the pipe", "read it", "from the keyboard"]
    );
}
