//! Processes a tool started that escaped its process group (`setsid`, a double fork). With
//! [`contain_escapes`] (the `agent` binary calls it) this process becomes a child subreaper
//! (Linux's `PR_SET_CHILD_SUBREAPER`), so such orphans are re-parented to it instead of to init;
//! when a tool call ends, every child of this process that agent did not start itself is one of
//! them, and is killed and reaped. Without it, or elsewhere than Linux, only the tool's process
//! group is killed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Whether [`contain_escapes`] was called.
static CONTAIN: AtomicBool = AtomicBool::new(false);

/// The children this process started and still waits for (tools running now, servers).
static OURS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

fn ours() -> std::sync::MutexGuard<'static, Option<HashSet<i32>>> {
    OURS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Make this process adopt what its tools leave behind, and kill it when each tool call ends
/// (Linux). Only for programs whose every child process is started by agent: any other child
/// would be taken for an orphan. Returns whether containment is on.
pub fn contain_escapes() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes integers and changes no memory.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        CONTAIN.store(rc == 0, Ordering::SeqCst);
    }
    CONTAIN.load(Ordering::SeqCst)
}

/// Spawn with `spawn` and note the child as one of ours, atomically with respect to
/// [`kill_adopted`], so a child just started is never taken for an orphan.
pub(crate) fn spawn<T>(
    spawn: impl FnOnce() -> std::io::Result<(T, Option<u32>)>,
) -> std::io::Result<T> {
    let mut set = ours();
    let (child, pid) = spawn()?;
    if let Some(pid) = pid {
        set.get_or_insert_with(HashSet::new).insert(pid as i32);
    }
    Ok(child)
}

/// A child started with [`spawn`] was reaped.
pub(crate) fn reaped(pid: i32) {
    if let Some(set) = ours().as_mut() {
        set.remove(&pid);
    }
}

/// Kill and reap every child of this process that it did not start: orphans a tool left.
/// Returns how many there were.
pub(crate) fn kill_adopted() -> usize {
    if !CONTAIN.load(Ordering::SeqCst) {
        return 0;
    }
    #[cfg(target_os = "linux")]
    {
        // Held throughout: no child is started while orphans are told from ours.
        let set = ours();
        let known = set.clone().unwrap_or_default();
        let mut killed = 0;
        for pid in children() {
            if known.contains(&pid) {
                continue;
            }
            // SAFETY: kill and waitpid on a pid that is our own child (so it cannot be reused
            // before we reap it); no memory is shared.
            unsafe {
                libc::kill(-pid, libc::SIGKILL); // its group, if it leads one
                libc::kill(pid, libc::SIGKILL);
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
            }
            killed += 1;
        }
        killed
    }
    #[cfg(not(target_os = "linux"))]
    0
}

/// This process's children, from `/proc/self/task/*/children`.
#[cfg(target_os = "linux")]
fn children() -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
