//! A stdio server's process: started as argv in its own process group with a scrubbed
//! environment, its stderr kept (and passed on), stopped with a grace period; and the words
//! an error message adds about it (how it exited, the end of its stderr).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::groups;
use super::spec::McpSpec;
use crate::{Error, Result};

/// Called with each line a stdio server writes on its stderr (the CLI shows them with `-v`).
pub type StderrSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// How long a stopping stdio server has, after its stdin is closed, before its process group
/// is killed.
pub const GRACE: Duration = Duration::from_millis(500);

/// How much of a stdio server's stderr an error message carries.
const STDERR_TAIL: usize = 1024;

/// A stdio server's process: its pid (also its process group) and what it said on stderr.
pub(crate) struct Process {
    pub(crate) child: tokio::sync::Mutex<Option<tokio::process::Child>>,
    pub(crate) pid: i32,
    tail: Arc<Mutex<String>>,
    status: Mutex<Option<std::process::ExitStatus>>,
    /// The task reading stderr, ending when the pipe closes.
    reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How the process ended, if it has or does within a moment.
pub(crate) async fn exit_of(process: &Process) -> Option<std::process::ExitStatus> {
    if let Some(status) = *process.status.lock().unwrap_or_else(|e| e.into_inner()) {
        return Some(status);
    }
    let mut guard = process.child.lock().await;
    let child = guard.as_mut()?;
    let status = tokio::time::timeout(Duration::from_millis(200), child.wait())
        .await
        .ok()?
        .ok()?;
    *process.status.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
    Some(status)
}

/// Let the stderr reader reach the end of the pipe (a stopped server's last words).
pub(crate) async fn settle(process: &Process) {
    let reader = process
        .reader
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(reader) = reader {
        let _ = tokio::time::timeout(Duration::from_millis(300), reader).await;
    }
}

/// The message with the stderr's tail, read to its end.
pub(crate) async fn with_stderr(msg: String, process: &Process) -> String {
    settle(process).await;
    with_tail(msg, process)
}

pub(crate) fn with_tail(msg: String, process: &Process) -> String {
    let tail = process.tail.lock().unwrap_or_else(|e| e.into_inner());
    let tail: Vec<&str> = tail
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = tail.join(" / ");
    if tail.is_empty() {
        msg
    } else {
        format!("{msg}; stderr: {tail}")
    }
}

/// The message, with how the process ended when it has, and its stderr's tail (read to its
/// end first, briefly, when the process is gone).
pub(crate) async fn with_exit(msg: String, process: &Process) -> String {
    settle(process).await;
    exit_of(process).await;
    let stored = *process.status.lock().unwrap_or_else(|e| e.into_inner());
    let status = stored.or_else(|| {
        process
            .child
            .try_lock()
            .ok()
            .and_then(|mut c| c.as_mut().and_then(|c| c.try_wait().ok().flatten()))
    });
    let msg = match status {
        Some(status) => format!("{msg} (the server exited: {status})"),
        None => msg,
    };
    if msg.contains("; stderr: ") {
        msg
    } else {
        with_tail(msg, process)
    }
}

/// Start a stdio server: argv (never a shell), its own process group, provider keys and
/// credentials removed and `env:` applied after; stderr kept (and passed on, with `-v`).
pub(crate) fn spawn(
    spec: &McpSpec,
    scrub: &[String],
    sink: Option<&StderrSink>,
) -> Result<(
    Process,
    tokio::process::ChildStdout,
    tokio::process::ChildStdin,
)> {
    let mut cmd = tokio::process::Command::new(&spec.command[0]);
    cmd.args(&spec.command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for name in scrub {
        cmd.env_remove(name);
    }
    cmd.envs(&spec.env);
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = crate::tool::spawn_child(|| {
        let child = cmd.spawn()?;
        let pid = child.id();
        if let Some(pid) = pid {
            groups::add(pid as i32);
        }
        Ok((child, pid))
    })
    .map_err(|e| {
        Error::Usage(format!(
            "MCP server '{}' failed to start: cannot run {}: {e}",
            spec.name, spec.command[0]
        ))
    })?;
    let pid = child.id().map_or(0, |p| p as i32);
    let stdout = child.stdout.take().expect("piped");
    let stdin = child.stdin.take().expect("piped");
    let tail = Arc::new(Mutex::new(String::new()));
    let mut reader = None;
    if let Some(stderr) = child.stderr.take() {
        let (tail, sink, name) = (tail.clone(), sink.cloned(), spec.name.clone());
        reader = Some(tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(sink) = &sink {
                    sink(&name, &line);
                }
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                t.push_str(&line);
                t.push('\n');
                if t.len() > 2 * STDERR_TAIL {
                    let mut cut = t.len() - STDERR_TAIL;
                    while !t.is_char_boundary(cut) {
                        cut += 1;
                    }
                    t.drain(..cut);
                }
            }
        }));
    }
    let process = Process {
        child: tokio::sync::Mutex::new(Some(child)),
        pid,
        tail,
        status: Mutex::new(None),
        reader: Mutex::new(reader),
    };
    Ok((process, stdout, stdin))
}

/// Wait up to [`GRACE`] for the server to exit (its stdin is closed), then kill its group.
pub(crate) async fn stop(process: &Process) {
    let mut guard = process.child.lock().await;
    if let Some(mut child) = guard.take() {
        // Without a pipe to read, a server exits: give it the chance to clean up.
        drop(child.stdin.take());
        let status = match tokio::time::timeout(GRACE, child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                groups::kill(process.pid);
                child.wait().await.ok()
            }
        };
        *process.status.lock().unwrap_or_else(|e| e.into_inner()) = status;
        crate::tool::reaped(process.pid);
        // Anything it started in its group goes too.
        groups::kill(process.pid);
        groups::remove(process.pid);
    }
}
