//! Output for people: coloured transcripts only on a terminal or with `--color always`, never
//! with NO_COLOR; Markdown transcripts; the `ls` table, `--ids`, `--limit`, `--sort`, `--search`.

use crate::util::*;

const ESC: &str = "\x1b[";

fn session_with_a_turn(env: &TestEnv, server: &MockServer, id: &str, prompt: &str) {
    server.push(MockResponse::openai_stream(&["Reply to ", prompt]));
    env.cmd()
        .args(["session", "new", "--id", id, "--system", "Sys."])
        .assert()
        .success();
    env.agent(server)
        .args(["session", "run", id, prompt])
        .assert()
        .success();
}

fn show(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> String {
    let mut cmd = env.cmd();
    cmd.args(["session", "show", "s"]).args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn colour_only_on_a_terminal_or_when_asked_and_never_with_no_color() {
    let env = TestEnv::new();
    let server = MockServer::start();
    session_with_a_turn(&env, &server, "s", "hello");

    let piped = show(&env, &[], &[]);
    assert!(!piped.contains(ESC), "{piped:?}");
    assert!(piped.contains("[user]") && piped.contains("Reply to hello"));

    let tty = show(&env, &[], &[("AGENT_TEST_TTY", "1")]);
    assert!(tty.contains(ESC), "{tty:?}");
    assert!(tty.contains("gpt-4o-mini"), "model per reply: {tty}");

    let forced = show(&env, &["--color", "always"], &[]);
    assert!(forced.contains(ESC));

    let no_color = show(&env, &[], &[("AGENT_TEST_TTY", "1"), ("NO_COLOR", "1")]);
    assert!(!no_color.contains(ESC), "{no_color:?}");
    let never = show(&env, &["--color", "never"], &[("AGENT_TEST_TTY", "1")]);
    assert!(!never.contains(ESC));
    // Same words either way: colour is the only difference.
    assert_eq!(no_color, never);
}

#[test]
fn markdown_and_json_formats() {
    let env = TestEnv::new();
    let server = MockServer::start();
    session_with_a_turn(&env, &server, "s", "hello");
    let md = show(&env, &["--format", "markdown"], &[]);
    assert!(md.starts_with("# hello\n"), "{md}");
    assert!(md.contains("## System\n\nSys.\n"), "{md}");
    assert!(md.contains("## User\n\nhello\n"), "{md}");
    assert!(
        md.contains("## Assistant (gpt-4o-mini-2024-07-18)\n\nReply to hello\n"),
        "{md}"
    );
    assert!(!md.contains(ESC));

    let json = show(&env, &["--format", "json"], &[]);
    let export = env.cmd().args(["session", "export", "s"]).output().unwrap();
    assert_eq!(json, stdout(&export));
}

#[test]
fn ls_table_on_a_terminal_and_plain_ids_for_scripts() {
    let env = TestEnv::new();
    let server = MockServer::start();
    session_with_a_turn(&env, &server, "alpha", "about rust");
    session_with_a_turn(&env, &server, "beta", "about go");
    env.set_times(
        "alpha",
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T00:00:01.000Z",
    );

    let out = env
        .cmd()
        .args(["session", "ls"])
        .env("AGENT_TEST_TTY", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID     UPDATED"), "{table}");
    assert!(
        lines[1].starts_with("beta ") && lines[1].contains("s ago"),
        "{table}"
    );
    // Aligned: every column starts where the header's does.
    let col = lines[0].find("MSGS").unwrap();
    assert!(
        lines[1..].iter().all(|l| l[..col + 4].ends_with("   2")),
        "{table}"
    );

    let ids = |args: &[&str]| {
        let out = env
            .cmd()
            .args(["session", "ls", "--ids"])
            .args(args)
            .output()
            .unwrap();
        stdout(&out)
    };
    assert_eq!(ids(&[]), "beta\nalpha\n");
    assert_eq!(ids(&["--limit", "1"]), "beta\n");
    assert_eq!(ids(&["--sort", "id"]), "alpha\nbeta\n");
    assert_eq!(ids(&["--sort", "created"]), "beta\nalpha\n");
    // Titles and message text, case-insensitively.
    assert_eq!(ids(&["--search", "RUST"]), "alpha\n");
    assert_eq!(ids(&["--search", "reply to about go"]), "beta\n");
    assert_eq!(ids(&["--search", "nothing like it"]), "");
}

#[test]
fn tool_traffic_folds_to_one_line_on_a_terminal() {
    let env = TestEnv::new();
    let long_result = format!("line one\n{}", "x".repeat(500));
    let doc = serde_json::json!({
        "version": 1, "id": "t", "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "messages": [
            {"role": "user", "content": "orders?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "name": "get_user_orders", "arguments": {"user_id": "user-123", "note": "y".repeat(200)}}
            ]},
            {"role": "tool", "content": long_result, "tool_call_id": "c1", "name": "get_user_orders"},
            {"role": "assistant", "content": "Two orders."}
        ]
    });
    env.cmd()
        .args(["session", "import", "-"])
        .write_stdin(doc.to_string())
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["session", "show", "t", "--color", "never"])
        .env("AGENT_TEST_TTY", "1")
        .output()
        .unwrap();
    let text = stdout(&out);
    let call = text
        .lines()
        .find(|l| l.starts_with("→ get_user_orders("))
        .unwrap();
    assert!(call.chars().count() < 120 && call.ends_with("…)"), "{call}");
    let result = text
        .lines()
        .find(|l| l.starts_with("← get_user_orders ok"))
        .unwrap();
    assert!(
        result.contains("509 bytes") && result.contains("line one…"),
        "{result}"
    );
    assert!(!text.contains(&"x".repeat(100)), "{text}");

    // Piped, the transcript keeps everything, for copying.
    let piped = env.cmd().args(["session", "show", "t"]).output().unwrap();
    assert!(stdout(&piped).contains(&"x".repeat(500)));
}

#[test]
fn since_filters_before_limit() {
    let env = TestEnv::new();
    let old = serde_json::json!({"version": 1, "id": "old", "created_at": "2020-01-01T00:00:00.000Z",
        "updated_at": "2020-01-01T00:00:00.000Z", "messages": []});
    env.cmd()
        .args(["session", "import", "-"])
        .write_stdin(old.to_string())
        .assert()
        .success();
    env.cmd()
        .args(["session", "new", "--id", "fresh"])
        .assert()
        .success();
    let out = env
        .cmd()
        .args([
            "session", "ls", "--ids", "--sort", "id", "--limit", "1", "--since", "1d",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "fresh\n", "{}", stderr(&out));
}
