//! Test harness: a scrubbed environment per test and an in-process HTTP server that speaks the
//! providers' real protocols (chunked SSE, slow streams, broken streams, error bodies).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};

#[allow(unused_imports)]
pub(crate) use crate::pg::PgServer;

/// The API key every test uses; no file or output may ever contain it.
pub const KEY: &str = "sk-test-SECRET-0123456789abcdef";

/// A temp HOME, XDG dirs and data dir, and an `agent` command with a scrubbed environment.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "config"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        TestEnv { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    pub fn session_path(&self, id: &str) -> PathBuf {
        self.data_dir().join("sessions").join(format!("{id}.json"))
    }

    /// The stored document of `id`.
    pub fn doc(&self, id: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.session_path(id)).unwrap()).unwrap()
    }

    /// The raw bytes of `id`'s file.
    pub fn raw(&self, id: &str) -> Vec<u8> {
        std::fs::read(self.session_path(id)).unwrap()
    }

    /// Give session `id` these creation and update times, so tests order sessions by their data
    /// instead of by sleeping. The file is replaced (a new inode), as a save does.
    pub fn set_times(&self, id: &str, created_at: &str, updated_at: &str) {
        let mut doc = self.doc(id);
        doc["created_at"] = json!(created_at);
        doc["updated_at"] = json!(updated_at);
        let tmp = self.session_path(id).with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        std::fs::rename(&tmp, self.session_path(id)).unwrap();
    }

    pub fn write_config(&self, yaml: &str) {
        let dir = self.path().join("config/agent");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.yaml"), yaml).unwrap();
    }

    /// `agent` with only what the test gives it: no AGENT_*, provider or XDG variables leak in.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("agent"));
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            let leaky = [
                "AGENT_",
                "OPENAI_",
                "ANTHROPIC_",
                "GEMINI_",
                "OLLAMA_",
                "XDG_",
            ]
            .iter()
            .any(|p| k.starts_with(p))
                || k == "NO_COLOR"
                || k == "REDIS_URL"
                || k.starts_with("PG");
            if leaky {
                cmd.env_remove(&k);
            }
        }
        cmd.env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("xdg-data"))
            .env("AGENT_DATA_DIR", self.data_dir())
            .env("OPENAI_API_KEY", KEY);
        cmd
    }

    /// [`Self::std_cmd`] as an assert_cmd command, with a timeout so a hang fails the test.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::from_std(self.std_cmd());
        cmd.timeout(Duration::from_secs(60));
        cmd
    }

    /// `agent` pointed at `server` as its OpenAI endpoint.
    pub fn agent(&self, server: &MockServer) -> Command {
        let mut cmd = self.cmd();
        cmd.env("OPENAI_BASE_URL", server.url("/v1"));
        cmd
    }

    /// [`Self::agent`] as a std command, for tests that signal or kill the process.
    pub fn spawnable(&self, server: &MockServer) -> std::process::Command {
        let mut cmd = self.std_cmd();
        cmd.env("OPENAI_BASE_URL", server.url("/v1"));
        cmd
    }

    /// Every file under the temp dir, for the "key never on disk" check.
    pub fn all_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), &mut out);
        out
    }
}

/// A recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One piece of a response body.
#[derive(Debug, Clone)]
pub enum Part {
    Bytes(Vec<u8>),
    Sleep(Duration),
    /// Close the connection now, mid-body (a broken stream).
    Close,
    /// The same bytes `times` times (a huge or endless body, without building it), each chunk
    /// after `pause`.
    Repeat {
        bytes: Vec<u8>,
        times: u64,
        pause: Duration,
    },
}

/// A scripted response.
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Part>,
}

impl MockResponse {
    pub fn new(status: u16, content_type: &str, parts: Vec<Part>) -> Self {
        MockResponse {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            parts,
        }
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self::new(
            status,
            "application/json",
            vec![Part::Bytes(body.to_string().into_bytes())],
        )
    }

    /// Raw SSE text, sent as one chunk per event.
    pub fn sse_events(events: &[String]) -> Self {
        Self::new(
            200,
            "text/event-stream",
            events
                .iter()
                .map(|e| Part::Bytes(e.clone().into_bytes()))
                .collect(),
        )
    }

    /// An OpenAI chat completion stream of `deltas`, with role chunk, finish, usage and [DONE].
    pub fn openai_stream(deltas: &[&str]) -> Self {
        Self::sse_events(&openai_events(
            deltas,
            "stop",
            Some((11, deltas.len() as u64)),
        ))
    }

    /// An OpenAI non-streaming completion.
    pub fn openai_json(text: &str) -> Self {
        Self::json(
            200,
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
            }),
        )
    }

    /// An OpenAI error body.
    pub fn openai_error(status: u16, message: &str, kind: &str) -> Self {
        Self::json(
            status,
            json!({"error": {"message": message, "type": kind, "param": null, "code": kind}}),
        )
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// Sleep `d` before every part.
    pub fn slow(mut self, d: Duration) -> Self {
        self.parts = self
            .parts
            .into_iter()
            .flat_map(|p| [Part::Sleep(d), p])
            .collect();
        self
    }

    /// Keep the first `n` parts, then drop the connection.
    pub fn break_after(mut self, n: usize) -> Self {
        self.parts.truncate(n);
        self.parts.push(Part::Close);
        self
    }
}

/// OpenAI `chat.completion.chunk` events for `deltas`.
pub fn openai_events(deltas: &[&str], finish: &str, usage: Option<(u64, u64)>) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                   "model": "gpt-4o-mini-2024-07-18",
                   "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
                   "usage": null})
        )
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for d in deltas {
        out.push(chunk(json!({"content": d}), Value::Null));
    }
    out.push(chunk(json!({}), json!(finish)));
    if let Some((input, output)) = usage {
        out.push(format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                   "model": "gpt-4o-mini-2024-07-18", "choices": [],
                   "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output}})
        ));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// Computes a response from the request, for servers that answer whatever they are asked.
pub type Responder = Arc<dyn Fn(&Recorded) -> MockResponse + Send + Sync>;

#[derive(Default)]
struct State {
    queue: VecDeque<MockResponse>,
    fallback: Option<MockResponse>,
    responder: Option<Responder>,
    requests: Vec<Recorded>,
}

/// An HTTP/1.1 server on 127.0.0.1 answering from a script, one connection per request.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl MockServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state: Arc<Mutex<State>> = Arc::default();
        let st = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                thread::spawn(move || {
                    let _ = serve(conn, &st);
                });
            }
        });
        MockServer { addr, state }
    }

    /// Queue a response (answered in order).
    pub fn push(&self, r: MockResponse) -> &Self {
        self.state.lock().unwrap().queue.push_back(r);
        self
    }

    /// Answer with what `f` makes of each request whenever the queue is empty.
    pub fn respond_with(&self, f: Responder) -> &Self {
        self.state.lock().unwrap().responder = Some(f);
        self
    }

    /// Answer with `r` whenever the queue is empty.
    pub fn fallback(&self, r: MockResponse) -> &Self {
        self.state.lock().unwrap().fallback = Some(r);
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The JSON body of request `i`.
    pub fn body(&self, i: usize) -> Value {
        self.requests()[i].json()
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let response = {
        let mut st = state.lock().unwrap();
        let request = Recorded {
            method,
            path,
            headers,
            body,
        };
        let response = st.queue.pop_front().or_else(|| match &st.responder {
            Some(f) => Some(f(&request)),
            None => st.fallback.clone(),
        });
        st.requests.push(request);
        response
    };
    let response = response.unwrap_or_else(|| {
        MockResponse::json(500, json!({"error": {"message": "mock server: no response scripted", "type": "server_error"}}))
    });
    let mut out = conn;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
    out.write_all(head.as_bytes())?;
    out.flush()?;
    for part in response.parts {
        match part {
            Part::Bytes(b) => {
                if b.is_empty() {
                    continue;
                }
                out.write_all(format!("{:x}\r\n", b.len()).as_bytes())?;
                out.write_all(&b)?;
                out.write_all(b"\r\n")?;
                out.flush()?;
            }
            Part::Sleep(d) => thread::sleep(d),
            Part::Close => {
                out.shutdown(Shutdown::Both)?;
                return Ok(());
            }
            Part::Repeat {
                bytes,
                times,
                pause,
            } => {
                let head = format!("{:x}\r\n", bytes.len());
                for _ in 0..times {
                    if !pause.is_zero() {
                        thread::sleep(pause);
                    }
                    // The client hanging up ends the body (and this thread).
                    out.write_all(head.as_bytes())?;
                    out.write_all(&bytes)?;
                    out.write_all(b"\r\n")?;
                    if !pause.is_zero() {
                        out.flush()?;
                    }
                }
            }
        }
    }
    out.write_all(b"0\r\n\r\n")?;
    out.flush()?;
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// `agent session new ARGS...`, asserting success; the printed id.
pub fn new_session(env: &TestEnv, args: &[&str]) -> String {
    let out = env
        .cmd()
        .args(["session", "new"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// The `content` of every message in a JSON array (a request's or a document's `messages`).
pub fn contents(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

/// Stdout of a finished command as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Stderr of a finished command as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A private `redis-server` on a free 127.0.0.1 port, without persistence, killed on drop.
///
/// The Redis store tests never skip: without the server they fail and say how to install it.
pub(crate) struct RedisServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

/// A free 127.0.0.1 port (free when asked; the server's bind may still lose a race).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// With extra `redis-server` arguments (TLS, a password).
    pub(crate) fn start_with(extra: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Another test may take the port between our probe and the server's bind: try again.
        for _ in 0..10 {
            let port = free_port();
            let spawned = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(extra)
                .arg("--dir")
                .arg(dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                    "redis-server is not installed; the Redis store tests need it: \
                     apt-get install -y redis-server"
                ),
                Err(e) => panic!("cannot start redis-server: {e}"),
            };
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if child.try_wait().unwrap().is_some() {
                    break; // exited: most likely the port was taken
                }
                if redis_ping(port) {
                    return RedisServer {
                        child,
                        port,
                        _dir: dir,
                    };
                }
                thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start on a free 127.0.0.1 port");
    }

    /// `redis://127.0.0.1:PORT/0`
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_ping(port: u16) -> bool {
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
    // Any reply will do: with a password set it is `-NOAUTH …` rather than `+PONG`.
    let mut reply = [0u8; 1];
    conn.write_all(b"PING\r\n").is_ok() && conn.read_exact(&mut reply).is_ok()
}

/// Run `cmds` at once and wait for all of them.
pub(crate) fn run_all(cmds: Vec<std::process::Command>) -> Vec<std::process::Output> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// The same command as a `std::process::Command`, to run several at once with [`run_all`].
pub(crate) fn to_std(cmd: &Command) -> std::process::Command {
    let mut out = std::process::Command::new(cmd.get_program());
    out.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => out.env(k, v),
            None => out.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        out.current_dir(dir);
    }
    out
}

/// `(role, content)` of every message of a document.
pub fn roles_and_contents(doc: &Value) -> Vec<(String, String)> {
    doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Owned pairs, to compare with [`roles_and_contents`].
pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// One-line expectations on how a command ends.
pub trait Expect {
    /// Run to the end and expect exit code `code` (the stderr is shown when it differs); the
    /// output, for checks on stdout and stderr.
    fn code(&mut self, code: i32) -> std::process::Output;
    /// Run to the end and expect success.
    fn passes(&mut self) -> std::process::Output {
        self.code(0)
    }
}

impl Expect for Command {
    fn code(&mut self, code: i32) -> std::process::Output {
        let out = self.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "exit status of {:?}\nstderr: {}",
            self.get_args().collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `tool` for a test that needs it: a missing one fails the test with how to install it, or,
/// with `AGENT_TEST_ALLOW_SKIP=1`, skips it saying so (then this returns false).
pub fn require(tool: &str, install: &str) -> bool {
    if have(tool) {
        return true;
    }
    let allowed = std::env::var_os("AGENT_TEST_ALLOW_SKIP").is_some_and(|v| v == "1");
    assert!(
        allowed,
        "{tool} is not installed and this test needs it: {install} (.ci/run installs it; \
         AGENT_TEST_ALLOW_SKIP=1 skips such tests instead)"
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipped: {tool} is not installed (AGENT_TEST_ALLOW_SKIP=1)");
    }
    false
}

/// Send `signal` (`INT`, `TERM`, `KILL`) to a process.
pub fn signal(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The names of the files in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Whole days from the RFC 3339 time `at` to now.
pub fn days_since(at: &str) -> u64 {
    let at = humantime::parse_rfc3339(at).unwrap();
    std::time::SystemTime::now()
        .duration_since(at)
        .unwrap()
        .as_secs()
        / 86_400
}
