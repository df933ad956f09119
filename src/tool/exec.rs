//! Running an executable tool: argv (never a shell), the arguments as one JSON line on stdin,
//! a scrubbed environment, capped output, and a timeout that kills the whole process group.

use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::spec::ExecSpec;
use super::{Tool, ToolHandler, ToolOutput};

/// Most stdout bytes passed to the model; the rest is read and dropped so the tool never blocks.
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// How much of stderr's end an error result carries.
const STDERR_TAIL: usize = 2048;

/// Variables never passed to a tool: the keys of the built-in providers. The CLI adds every
/// `api_key_env` of its configured providers.
pub const PROVIDER_KEY_VARS: &[&str] = &["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"];

/// A [`ToolHandler`] that runs an [`ExecSpec`]'s command.
///
/// The model's arguments reach the program only as JSON on stdin: nothing the model writes is
/// put in argv or seen by a shell. `AGENT_TOOL_NAME` and `AGENT_SESSION_ID` are set; provider
/// keys are removed. Exit 0 makes stdout the result (cut at [`OUTPUT_LIMIT`] bytes with a note);
/// any other exit, a signal or the timeout makes an error result with stderr's tail.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
/// use agent::{ExecSpec, ExecTool};
/// use serde_json::json;
/// let spec: ExecSpec = serde_json::from_value(json!({
///     "name": "shout",
///     "description": "Upper-cases a text",
///     "parameters": {"type": "object", "properties": {"text": {"type": "string"}}},
///     "command": ["tr", "a-z", "A-Z"],
/// }))
/// .unwrap();
/// let tool = ExecTool::new(spec).into_tool()?;
/// let out = tool.invoke(json!({"text": "hi"}), "session-1").await;
/// assert_eq!(out.unwrap(), "{\"TEXT\":\"HI\"}\n");
/// assert!(tool.invoke(json!({"text": 1}), "session-1").await.is_err()); // not run
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ExecTool {
    spec: ExecSpec,
    scrub: Vec<String>,
}

impl ExecTool {
    /// A handler for `spec` that removes [`PROVIDER_KEY_VARS`] from the tool's environment.
    pub fn new(spec: ExecSpec) -> Self {
        ExecTool {
            spec,
            scrub: PROVIDER_KEY_VARS.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Also remove these variables from the tool's environment.
    #[must_use]
    pub fn scrub_env<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scrub.extend(names.into_iter().map(Into::into));
        self
    }

    /// The definition.
    pub fn spec(&self) -> &ExecSpec {
        &self.spec
    }

    /// The [`Tool`] the model sees, asking for confirmation when the spec says `confirm`.
    pub fn into_tool(self) -> crate::Result<Tool> {
        self.spec
            .check()
            .map_err(|e| crate::Error::Usage(format!("tool '{}': {e}", self.spec.name)))?;
        let name = self.spec.name.clone();
        let description = self.spec.description.clone();
        let parameters = self.spec.parameters.clone();
        let confirm = self.spec.confirm;
        Ok(Tool::with_handler(name, description, parameters, Arc::new(self))?.confirm(confirm))
    }

    async fn run(&self, arguments: Value, session_id: &str) -> ToolOutput {
        let spec = &self.spec;
        let mut cmd = tokio::process::Command::new(&spec.command[0]);
        cmd.args(&spec.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout can stop everything it started.
            .process_group(0);
        for name in &self.scrub {
            cmd.env_remove(name);
        }
        cmd.envs(&spec.env)
            .env("AGENT_TOOL_NAME", &spec.name)
            .env("AGENT_SESSION_ID", session_id);
        let mut child = super::spawn_child(|| {
            let child = cmd.spawn()?;
            let pid = child.id();
            Ok((child, pid))
        })
        .map_err(|e| {
            let program = &spec.command[0];
            // The usual cause: a script copied or checked out without its executable bit.
            let hint = match e.kind() {
                std::io::ErrorKind::PermissionDenied => format!(
                    " (make it executable: chmod +x {program}; or name its interpreter first in command:)"
                ),
                _ => String::new(),
            };
            format!("cannot run {program}: {e}{hint}")
        })?;
        let pid = child.id();
        let group = Group(AtomicI32::new(child.id().map_or(0, |id| id as i32)));
        let mut stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let mut out = Captured::default();
        let mut err = Captured::default();
        let mut input = serde_json::to_vec(&arguments).expect("JSON values serialize");
        input.push(b'\n');

        let work = async {
            let write = async {
                if let Some(mut pipe) = stdin.take() {
                    // A tool that exits without reading its stdin is not an error.
                    let _ = pipe.write_all(&input).await;
                }
            };
            let wait = async {
                let status = child.wait().await;
                if let Some(pid) = pid {
                    super::reaped(pid as i32);
                }
                // The program is done: stop anything it left behind, which would otherwise
                // hold the pipes open (and outlive the call), in its group or escaped from it.
                group.kill();
                let _ = tokio::task::spawn_blocking(super::kill_adopted).await;
                status
            };
            let ((), status, (), ()) = tokio::join!(
                write,
                wait,
                out.read_head(stdout.as_mut()),
                err.read_tail(stderr.as_mut())
            );
            status
        };
        let limit = Duration::try_from_secs_f64(spec.timeout).unwrap_or(Duration::MAX);
        let finished = tokio::time::timeout(limit, work).await;
        let status = match finished {
            Ok(status) => status.map_err(|e| format!("waiting for {}: {e}", spec.name))?,
            Err(_) => {
                group.kill();
                let _ = child.wait().await;
                if let Some(pid) = pid {
                    super::reaped(pid as i32);
                }
                let _ = tokio::task::spawn_blocking(super::kill_adopted).await;
                return Err(with_tail(
                    format!(
                        "timed out after {}s; the tool and every process it started were killed",
                        spec.timeout
                    ),
                    &err,
                ));
            }
        };
        if !status.success() {
            return Err(with_tail(describe(status), &err));
        }
        Ok(out.result())
    }
}

impl ToolHandler for ExecTool {
    fn call<'a>(&'a self, arguments: Value, session_id: &'a str) -> BoxFuture<'a, ToolOutput> {
        Box::pin(self.run(arguments, session_id))
    }
}

/// The tool's process group; killed once, when the call ends or is cancelled (a dropped turn).
struct Group(AtomicI32);

impl Group {
    fn kill(&self) {
        let pgid = self.0.swap(0, Ordering::Relaxed);
        if pgid > 0 {
            // SAFETY: killpg has no memory effects. The group id is the child's pid, which
            // cannot be reused while the child is unreaped or any member of its group lives.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
        // A call dropped midway (a cancelled turn) leaves no escaped process behind either.
        super::kill_adopted();
    }
}

/// What a pipe delivered: the kept bytes and how many arrived in all.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    total: usize,
}

impl Captured {
    /// Keep the first [`OUTPUT_LIMIT`] bytes, count the rest.
    async fn read_head(&mut self, pipe: Option<&mut (impl AsyncRead + Unpin)>) {
        let Some(pipe) = pipe else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let room = OUTPUT_LIMIT.saturating_sub(self.bytes.len()).min(n);
            self.bytes.extend_from_slice(&buf[..room]);
            self.total += n;
        }
    }

    /// Keep the last [`STDERR_TAIL`] bytes.
    async fn read_tail(&mut self, pipe: Option<&mut (impl AsyncRead + Unpin)>) {
        let Some(pipe) = pipe else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            self.bytes.extend_from_slice(&buf[..n]);
            self.total += n;
            if self.bytes.len() > 2 * STDERR_TAIL {
                self.bytes.drain(..self.bytes.len() - STDERR_TAIL);
            }
        }
    }

    /// Stdout as the result text, with a note when it was cut.
    fn result(&self) -> String {
        let mut text = lossy_prefix(&self.bytes);
        if self.total > self.bytes.len() {
            text.push_str(&format!(
                "\n[output truncated: the tool wrote {} bytes; only the first {} are shown]",
                self.total,
                self.bytes.len()
            ));
        }
        text
    }

    fn tail(&self) -> String {
        let start = self.bytes.len().saturating_sub(STDERR_TAIL);
        let mut tail = &self.bytes[start..];
        // Don't start mid-character.
        while let Some((&b, rest)) = tail.split_first() {
            if b & 0xC0 != 0x80 {
                break;
            }
            tail = rest;
        }
        String::from_utf8_lossy(tail).trim().to_string()
    }
}

/// Text of bytes cut at a limit: a character split by the cut is dropped, not mangled.
fn lossy_prefix(bytes: &[u8]) -> String {
    let end = match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        _ => bytes.len(),
    };
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("the tool failed with exit status {code}"),
        (None, Some(sig)) => format!("the tool was killed by signal {sig}"),
        _ => format!("the tool failed ({status})"),
    }
}

fn with_tail(message: String, stderr: &Captured) -> String {
    let tail = stderr.tail();
    if tail.is_empty() {
        message
    } else {
        format!("{message}; stderr: {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sh(script: &str, timeout: f64) -> ExecTool {
        ExecTool::new(ExecSpec {
            name: "t".into(),
            description: String::new(),
            parameters: json!({"type": "object"}),
            command: vec!["/bin/sh".into(), "-c".into(), script.into()],
            timeout,
            confirm: false,
            env: [("EXTRA".to_string(), "1".to_string())].into(),
            extra: Default::default(),
        })
    }

    fn run(tool: &ExecTool, args: Value) -> ToolOutput {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(tool.run(args, "s1"))
    }

    #[test]
    fn stdin_env_and_stdout() {
        let tool = sh(
            "read line; echo \"$line $AGENT_TOOL_NAME $AGENT_SESSION_ID $EXTRA\"",
            5.0,
        );
        assert_eq!(run(&tool, json!({"a": 1})).unwrap(), "{\"a\":1} t s1 1\n");
    }

    #[test]
    fn long_output_is_cut_with_a_note() {
        let tool = sh("head -c 100000 /dev/zero | tr '\\0' x", 5.0);
        let out = run(&tool, json!({})).unwrap();
        assert!(out.starts_with(&"x".repeat(OUTPUT_LIMIT)));
        assert!(out.ends_with("wrote 100000 bytes; only the first 65536 are shown]"));
    }

    #[test]
    fn failures_carry_stderrs_tail() {
        let err = run(&sh("echo nope >&2; exit 3", 5.0), json!({})).unwrap_err();
        assert_eq!(err, "the tool failed with exit status 3; stderr: nope");
        let err = run(&sh("echo slow >&2; sleep 5", 0.2), json!({})).unwrap_err();
        assert!(err.starts_with("timed out after 0.2s"), "{err}");
        assert!(err.ends_with("stderr: slow"), "{err}");
    }

    #[test]
    fn a_cut_character_is_dropped() {
        assert_eq!(lossy_prefix("aé".as_bytes()[..2].as_ref()), "a");
    }
}
