//! The process groups of the stdio servers running now, so that every exit path (the end of a
//! command, an error, Ctrl-C's `process::exit`) can kill them: [`kill_all`].

use std::sync::Mutex;

static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<i32>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn add(pgid: i32) {
    live().push(pgid);
}

pub(crate) fn remove(pgid: i32) {
    live().retain(|&p| p != pgid);
}

/// SIGKILL one server's process group.
pub(crate) fn kill(pgid: i32) {
    if pgid > 0 {
        // SAFETY: killpg has no memory effects; the group id is our child's pid, not reused
        // while the child is unreaped.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// Kill every stdio server still running, at once (for exits that cannot wait for
/// [`McpServer::shutdown`](super::McpServer::shutdown)). Safe to call from any thread.
pub fn kill_all() {
    for pgid in live().drain(..) {
        kill(pgid);
    }
}
