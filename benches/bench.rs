//! `cargo bench`: every speed claim of the README, each next to its reference, measured in one
//! run against the release build and a mock provider on 127.0.0.1.

// The report is this program's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/integration/pg.rs"]
#[allow(unreachable_pub)]
mod pg;
#[path = "../tests/integration/util.rs"]
#[allow(unreachable_pub)]
mod util;

#[path = "sections/caching.rs"]
mod caching;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent::store::{load_data, save_data};
use agent::SessionData;
use agent::{DirStore, Message};
use util::{MockResponse, MockServer, TestEnv};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Run `cmd` `n` times (after one warm-up) and return the median wall time.
fn time_cmd(n: usize, mut make: impl FnMut() -> Command) -> Duration {
    let mut runs = Vec::with_capacity(n);
    for i in 0..=n {
        let mut cmd = make();
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        let start = Instant::now();
        let status = cmd.status().expect("spawn");
        let took = start.elapsed();
        assert!(status.success(), "{cmd:?} failed");
        if i > 0 {
            runs.push(took);
        }
    }
    median(runs)
}

/// Run `cmd` to its end: its wall time and its resource usage (wait4 reports exactly this
/// child's).
fn run_child(mut cmd: Command) -> (Duration, libc::rusage) {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = start.elapsed();
    assert!(rc == pid && status == 0, "{cmd:?} failed");
    std::mem::forget(child);
    (took, usage)
}

/// Median wall and CPU (user + system) time of `n` runs after a warm-up: CPU is what the
/// command itself costs; wall adds the disk's fsync.
fn time_cpu(n: usize, mut make: impl FnMut() -> Command) -> (Duration, Duration) {
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for i in 0..=n {
        let (wall, usage) = run_child(make());
        if i > 0 {
            walls.push(wall);
            cpus.push(tv(usage.ru_utime) + tv(usage.ru_stime));
        }
    }
    (median(walls), median(cpus))
}

/// Wall time and peak RSS (KiB) of one run.
fn run_with_rss(cmd: Command) -> (Duration, i64) {
    let (took, usage) = run_child(cmd);
    (took, usage.ru_maxrss)
}

fn agent(env: &TestEnv, server: Option<&MockServer>) -> Command {
    match server {
        Some(s) => env.spawnable(s),
        None => env.std_cmd(),
    }
}

fn startup() {
    println!("\n## Startup (median of 50)\n");
    println!("| command | time |\n|---|---|");
    let env = TestEnv::new();
    let rows = [
        ("true", time_cmd(50, || Command::new("true"))),
        (
            "curl --version",
            time_cmd(50, || {
                let mut c = Command::new("curl");
                c.arg("--version");
                c
            }),
        ),
        (
            "agent --version",
            time_cmd(50, || {
                let mut c = agent(&env, None);
                c.arg("--version");
                c
            }),
        ),
        (
            "agent session ls (empty store)",
            time_cmd(50, || {
                let mut c = agent(&env, None);
                c.args(["session", "ls"]);
                c
            }),
        ),
    ];
    for (name, t) in rows {
        println!("| `{name}` | {} |", ms(t));
    }
}

fn turn_overhead() {
    println!("\n## A complete turn vs curl (median of 30)\n");
    let env = TestEnv::new();
    let server = MockServer::start();
    server.fallback(MockResponse::openai_stream(&["Hello", " there", "."]));
    let out = agent(&env, None)
        .args(["session", "new", "--id", "b", "--system", "Be brief."])
        .output()
        .unwrap();
    assert!(out.status.success());
    let body = serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "stream": true, "stream_options": {"include_usage": true},
    })
    .to_string();
    let url = server.url("/v1/chat/completions");
    let curl = time_cmd(30, || {
        let mut c = Command::new("curl");
        c.args([
            "-sN",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-H",
            "authorization: Bearer x",
            "--data-binary",
            &body,
            &url,
        ]);
        c
    });
    let turn = time_cmd(30, || {
        let mut c = agent(&env, Some(&server));
        c.args(["session", "run", "b", "hi"]);
        c
    });
    println!("| what | time |\n|---|---|");
    println!(
        "| `curl` posting the same body to the same server | {} |",
        ms(curl)
    );
    println!(
        "| `agent session run` (load, lock, request, stream, save with fsync) | {} |",
        ms(turn)
    );
    let overhead = turn.as_secs_f64() - curl.as_secs_f64();
    println!(
        "| overhead (negative: faster than curl) | {:+.2} ms |",
        overhead * 1000.0
    );
}

/// A server streaming `n` OpenAI deltas, generated as they are sent: the benchmark process
/// must stay small, because a child spawned from it inherits its peak RSS until `exec`.
fn delta_server(n: usize) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        reader.read_exact(&mut vec![0; len]).unwrap();
        let mut out = std::io::BufWriter::new(conn);
        out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n").unwrap();
        let mut chunk = |text: String| {
            write!(out, "{:x}\r\n{text}\r\n", text.len()).unwrap();
        };
        for i in 0..n {
            chunk(format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w{i} \"}}}}]}}\n\n"
            ));
        }
        chunk(
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                .into(),
        );
        chunk("data: [DONE]\n\n".into());
        out.write_all(b"0\r\n\r\n").unwrap();
        out.flush().unwrap();
    });
    url
}

fn streaming() {
    println!("\n## Streaming a long reply to /dev/null\n");
    println!(
        "| command | deltas | reply size | time | deltas/s | peak RSS |\n|---|---|---|---|---|---|"
    );
    // `run` keeps the turn in memory; `session run` also saves it, fsynced, to a file.
    for stored in [false, true] {
        for n in [1_000usize, 100_000, 1_000_000] {
            let env = TestEnv::new();
            let mut c = agent(&env, None);
            if stored {
                let mut new = agent(&env, None);
                let out = new.args(["session", "new", "--id", "s"]).output().unwrap();
                assert!(out.status.success());
                c.args(["session", "run", "s", "go"]);
            } else {
                c.args(["run", "go"]);
            }
            c.env("OPENAI_BASE_URL", delta_server(n));
            let reply_bytes: usize = (0..n).map(|i| format!("w{i} ").len()).sum();
            let (took, rss) = run_with_rss(c);
            println!(
                "| {} | {n} | {:.1} MiB | {} | {:.0} | {:.1} MiB |",
                if stored { "session run" } else { "run" },
                reply_bytes as f64 / 1048576.0,
                ms(took),
                n as f64 / took.as_secs_f64(),
                rss as f64 / 1024.0
            );
        }
    }
}

fn big_session(n: usize) -> SessionData {
    let mut data = SessionData::new("big");
    data.system = Some("You are a helpful assistant.".into());
    for i in 0..n {
        let text = format!("Message {i}: the quick brown fox jumps over the lazy dog, twice over, to make a realistic turn of text.");
        data.messages.push(if i % 2 == 0 {
            Message::user(text)
        } else {
            Message::assistant(text)
        });
    }
    data
}

fn load_save() {
    println!("\n## Load + save a session (DirStore, save with fsync; median of 5)\n");
    println!("| messages | file size | load | save | load + save |\n|---|---|---|---|---|");
    for n in [100usize, 1_000, 10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        save_data(&store, &big_session(n)).unwrap();
        let size = std::fs::metadata(store.path("big")).unwrap().len();
        let (mut loads, mut saves) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let data = load_data(&store, "big").unwrap();
            loads.push(t.elapsed());
            let t = Instant::now();
            save_data(&store, &data).unwrap();
            saves.push(t.elapsed());
        }
        let (l, s) = (median(loads), median(saves));
        println!(
            "| {n} | {:.1} MiB | {} | {} | {} |",
            size as f64 / 1048576.0,
            ms(l),
            ms(s),
            ms(l + s)
        );
    }
}

/// A session of `n` messages of `bytes` bytes of text each, stored under `id` in `env`.
fn stored_session(env: &TestEnv, id: &str, n: usize, bytes: usize) -> u64 {
    let store = DirStore::new(env.data_dir());
    let mut data = SessionData::new(id);
    let text = "lorem ipsum dolor sit amet ".repeat(bytes / 27 + 1);
    for i in 0..n {
        let body = format!("{i} {}", &text[..bytes]);
        data.messages.push(if i % 2 == 0 {
            Message::user(body)
        } else {
            Message::assistant(body)
        });
    }
    save_data(&store, &data).unwrap();
    std::fs::metadata(store.path(id)).unwrap().len()
}

/// The release binary as a whole process on large sessions: `session add` (load, lock, append,
/// save with fsync) on a 10,000-message session of 5 MB, and `--context trim` computing which
/// messages to leave out of a 100,000-message one (with `--dry-run`: no request).
fn large() {
    println!("\n## Large sessions, whole process (median of 5)\n");
    println!("| what | session | wall | CPU |\n|---|---|---|---|");
    let env = TestEnv::new();
    let size = stored_session(&env, "big", 10_000, 480);
    let (wall, cpu) = time_cpu(9, || {
        let mut c = agent(&env, None);
        c.args(["session", "add", "big", "--role", "user", "one more"]);
        c
    });
    println!(
        "| `session add` | 10,000 messages, {:.1} MB | {} | {} |",
        size as f64 / 1e6,
        ms(wall),
        ms(cpu)
    );
    let size = stored_session(&env, "huge", 100_000, 100);
    env.write_config("context_windows:\n  gpt-4o-mini: 2000\n");
    let server = MockServer::start();
    let (wall, cpu) = time_cpu(5, || {
        let mut c = agent(&env, Some(&server));
        c.args([
            "-q",
            "session",
            "run",
            "huge",
            "--dry-run",
            "--context",
            "trim",
            "hi",
        ]);
        c
    });
    println!(
        "| `--context trim --dry-run` | 100,000 messages, {:.1} MB | {} | {} |",
        size as f64 / 1e6,
        ms(wall),
        ms(cpu)
    );
}

fn fill_dir(dir: &Path, n: usize) {
    let sessions = dir.join("sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let mut data = big_session(6);
    for i in 0..n {
        data.id = format!("s{i:06}");
        data.title = Some(format!("Session {i}"));
        // Plain writes: the fixture needs files, not durability.
        std::fs::write(
            sessions.join(format!("{}.json", data.id)),
            serde_json::to_vec_pretty(&data).unwrap(),
        )
        .unwrap();
    }
}

/// Documents for the `ls` fixtures: six short messages each.
fn fixture_docs(n: usize) -> impl Iterator<Item = SessionData> {
    let base = big_session(6);
    (0..n).map(move |i| {
        let mut d = base.clone();
        d.id = format!("s{i:06}");
        d.title = Some(format!("Session {i}"));
        d.updated_at = format!("2026-01-01T00:00:{:02}.{:03}Z", (i / 1000) % 60, i % 1000);
        d
    })
}

/// Straight into the table in one transaction: the fixture needs rows, not 100,000 fsyncs.
fn fill_sqlite(path: &Path, n: usize) {
    drop(agent::SqliteStore::open(path).unwrap()); // creates the schema
    let mut db = rusqlite::Connection::open(path).unwrap();
    let tx = db.transaction().unwrap();
    for d in fixture_docs(n) {
        let s = agent::document::SessionSummary::of(&d);
        tx.execute(
            "INSERT INTO sessions (id, doc, title, created_at, updated_at, provider, model, message_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![d.id, serde_json::to_string(&d.to_value()).unwrap(), s.title, s.created_at, s.updated_at, s.provider, s.model, s.message_count as i64],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn ls() {
    println!(
        "\n## `agent session ls` (median of 5; cold = the dir store's listing cache removed)\n"
    );
    println!("| store | sessions | time |\n|---|---|---|");
    let ls_cmd = |env: &TestEnv, store: Option<&str>| {
        let mut c = agent(env, None);
        if let Some(s) = store {
            c.args(["--store", s]);
        }
        c.args(["session", "ls"]);
        c
    };
    let redis = util::RedisServer::start();
    for (i, n) in [10_000usize, 100_000].into_iter().enumerate() {
        let env = TestEnv::new();
        fill_dir(&env.data_dir(), n);
        let cache = env.data_dir().join("ls-cache.json");
        let cold = time_cmd(5, || {
            let _ = std::fs::remove_file(&cache);
            ls_cmd(&env, None)
        });
        println!("| dir (cold) | {n} | {} |", ms(cold));
        println!("| dir | {n} | {} |", ms(time_cmd(5, || ls_cmd(&env, None))));

        let db = env.path().join("s.db");
        fill_sqlite(&db, n);
        let url = format!("sqlite:{}", db.display());
        println!(
            "| sqlite | {n} | {} |",
            ms(time_cmd(5, || ls_cmd(&env, Some(&url))))
        );

        let url = redis.url().replace("/0", &format!("/{i}"));
        let store = agent::RedisStore::open(&url).unwrap();
        for d in fixture_docs(n) {
            agent::SessionStore::save(&store, &d.id, &d.to_value()).unwrap();
        }
        println!(
            "| redis | {n} | {} |",
            ms(time_cmd(5, || ls_cmd(&env, Some(&url))))
        );

        if n > 10_000 {
            continue; // PostgreSQL: 10,000 sessions (filling 100,000 one save at a time is slow)
        }
        let url = pg::PgServer::shared().fresh_url();
        let store = agent::PostgresStore::open(&url).unwrap();
        for d in fixture_docs(n) {
            agent::SessionStore::save(&store, &d.id, &d.to_value()).unwrap();
        }
        println!(
            "| postgres | {n} | {} |",
            ms(time_cmd(5, || ls_cmd(&env, Some(&url))))
        );
        // Encrypted, with titles, providers and models sealed in the index.
        let key = agent::EncryptionKey::generate_base64().unwrap();
        let base = pg::PgServer::shared().fresh_url();
        let sealed = format!("{base}&encrypt=env:BENCH_KEY");
        let store = agent::PostgresStore::open(&base)
            .unwrap()
            .encryption(agent::EncryptionKey::from_base64(&key).unwrap());
        for d in fixture_docs(n) {
            agent::SessionStore::save(&store, &d.id, &d.to_value()).unwrap();
        }
        let t = time_cmd(5, || {
            let mut c = ls_cmd(&env, Some(&sealed));
            c.env("BENCH_KEY", &key);
            c
        });
        println!("| postgres, encrypted | {n} | {} |", ms(t));
    }
}

/// A turn of a 10,000-message session, encrypted or not, as the whole process a user runs:
/// load (and open), lock, request, stream, save (and seal) with fsync.
fn crypt() {
    println!("\n## A turn of a 10,000-message session, encrypted or not (median of 15)\n");
    println!("| store | plain | `?encrypt` | difference |\n|---|---|---|---|");
    let server = MockServer::start();
    server.fallback(MockResponse::openai_stream(&["Hello", " there", "."]));
    let key = agent::EncryptionKey::generate_base64().unwrap();
    let turn = |env: &TestEnv, url: &str| {
        time_cmd(15, || {
            let mut c = agent(env, Some(&server));
            c.env("AGENT_STORE_KEY", &key)
                .args(["--store", url, "session", "run", "big", "hi"]);
            c
        })
    };
    let data = big_session(10_000);
    let env = TestEnv::new();
    // 10,000 messages are more than the model's window: the turn must still send them all.
    env.write_config("context_windows:\n  gpt-4o-mini: 100000000\n");
    let plain = format!("dir:{}", env.path().join("plain").display());
    save_data(&DirStore::new(env.path().join("plain")), &data).unwrap();
    let sealed = format!("dir:{}?encrypt", env.path().join("sealed").display());
    let store = DirStore::new(env.path().join("sealed"))
        .encryption(agent::EncryptionKey::from_base64(&key).unwrap());
    save_data(&store, &data).unwrap();
    let (p, e) = (turn(&env, &plain), turn(&env, &sealed));
    println!(
        "| dir | {} | {} | {:+.2} ms |",
        ms(p),
        ms(e),
        (e.as_secs_f64() - p.as_secs_f64()) * 1000.0
    );
    let plain = pg::PgServer::shared().fresh_url();
    let sealed = format!("{}&encrypt", pg::PgServer::shared().fresh_url());
    for url in [&plain, &sealed] {
        let store = agent::store::open(&url.replace("&encrypt", "")).unwrap();
        let store: std::sync::Arc<dyn agent::SessionStore> = match url.contains("encrypt") {
            true => std::sync::Arc::new(
                agent::PostgresStore::open(&url.replace("&encrypt", ""))
                    .unwrap()
                    .encryption(agent::EncryptionKey::from_base64(&key).unwrap()),
            ),
            false => store,
        };
        save_data(&*store, &data).unwrap();
    }
    let (p, e) = (turn(&env, &plain), turn(&env, &sealed));
    println!(
        "| postgres | {} | {} | {:+.2} ms |",
        ms(p),
        ms(e),
        (e.as_secs_f64() - p.as_secs_f64()) * 1000.0
    );
}

/// One TAB of `agent session show <TAB>`: the completion scripts run exactly this (bash's
/// protocol), and the budget is 50 ms with 10,000 sessions.
fn completion() {
    println!("\n## Completing session ids (`agent session show <TAB>`, bash; median of 20)\n");
    println!("| sessions | time | budget |\n|---|---|---|");
    for n in [1_000usize, 10_000] {
        let env = TestEnv::new();
        fill_dir(&env.data_dir(), n);
        let t = time_cmd(20, || {
            let mut c = agent(&env, None);
            c.env("AGENT_COMPLETE", "bash")
                .env("_CLAP_IFS", "\x0b")
                .env("_CLAP_COMPLETE_INDEX", "3")
                .args(["--", "agent", "session", "show", ""]);
            c
        });
        println!("| {n} | {} | 50 ms |", ms(t));
    }
}

fn json_validation() {
    println!("\n## JSON validation (library; median of 5)\n");
    // 300 typed, described properties and a 1 MiB reply with arrays of objects.
    let mut props = serde_json::Map::new();
    for i in 0..300 {
        props.insert(format!("f{i}"), serde_json::json!({"type": "array", "items": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string", "maxLength": 64}}, "required": ["a", "b"]}}));
    }
    let schema = serde_json::json!({"type": "object", "properties": props, "required": props.keys().collect::<Vec<_>>()});
    let mut reply = serde_json::Map::new();
    for i in 0..300 {
        let items: Vec<_> = (0..100)
            .map(|j| serde_json::json!({"a": j, "b": "lorem ipsum dolor"}))
            .collect();
        reply.insert(format!("f{i}"), serde_json::Value::Array(items));
    }
    let reply_text = serde_json::Value::Object(reply).to_string();
    let (mut compiles, mut checks) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let v = agent::schema::compile(&schema).unwrap();
        compiles.push(t.elapsed());
        let t = Instant::now();
        let value: serde_json::Value = serde_json::from_str(&reply_text).unwrap();
        assert!(agent::schema::errors(&v, &value).is_empty());
        checks.push(t.elapsed());
    }
    println!("| what | time |\n|---|---|");
    println!(
        "| compile a 300-property schema | {} |",
        ms(median(compiles))
    );
    println!(
        "| parse + validate a {:.1} MiB reply | {} |",
        reply_text.len() as f64 / 1048576.0,
        ms(median(checks))
    );
}

fn main() {
    // `cargo bench` passes `--bench`; an optional filter picks sections.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    println!(
        "# agent benchmarks ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if want("startup") {
        startup();
    }
    if want("turn") {
        turn_overhead();
    }
    if want("stream") {
        streaming();
    }
    if want("load") {
        load_save();
    }
    if want("large") {
        large();
    }
    if want("ls") {
        ls();
    }
    if want("json") {
        json_validation();
    }
    if want("crypt") {
        crypt();
    }
    if want("complet") {
        completion();
    }
    if want("caching") {
        caching::caching();
    }
    if want("attach") {
        attachments();
    }
}

/// A 5 MB image sent once, then 20 turns: the document holds a reference, so its size and the
/// bytes each turn writes grow with the new messages only; the image is written once.
fn attachments() {
    println!("\n## A 5 MB image over 20 turns (directory store)\n");
    let env = TestEnv::new();
    let server = MockServer::start();
    server.fallback(MockResponse::openai_stream(&["Noted."]));
    let image = env.path().join("big.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..5_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    std::fs::write(&image, &bytes).unwrap();
    let out = agent(&env, None)
        .args(["session", "new", "--id", "img"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc = env.data_dir().join("sessions/img.json");
    let blobs = env.data_dir().join("blobs");
    let dir_bytes = |d: &Path| -> u64 {
        std::fs::read_dir(d)
            .map(|r| r.flatten().map(|e| e.metadata().unwrap().len()).sum())
            .unwrap_or(0)
    };
    println!("| turn | document bytes | blob bytes stored | written this turn | time |");
    println!("|---|---|---|---|---|");
    let (mut last_doc, mut last_blobs) = (0, 0);
    for turn in 1..=20 {
        let mut c = agent(&env, Some(&server));
        c.args(["session", "run", "img"]);
        if turn == 1 {
            c.args(["-a", image.to_str().unwrap()]);
        }
        c.arg(format!("turn {turn}: what changed?"));
        let start = Instant::now();
        let out = c.output().unwrap();
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (d, b) = (std::fs::metadata(&doc).unwrap().len(), dir_bytes(&blobs));
        // The directory store rewrites the whole document each turn (atomically); a blob is
        // written once, by the turn that sent it.
        let written = d + (b - last_blobs);
        if turn <= 3 || turn % 5 == 0 {
            println!(
                "| {turn} | {d} (+{}) | {b} | {written} | {} |",
                d - last_doc,
                ms(took)
            );
        }
        (last_doc, last_blobs) = (d, b);
    }
}
