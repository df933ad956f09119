//! `Lease`: a lock held in a shared database (SQLite row, Redis key) with an expiry, renewed by a
//! small thread while its guard lives and released by its owner on drop.

use std::collections::HashMap;
use std::sync::{mpsc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, Result};

/// Default lifetime of a lock that stops being renewed. A crashed holder blocks the session for
/// at most this long; a live holder renews at a third of it, so two missed renewals are survived.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(30);

/// A running renewal; dropping it stops the thread, then runs `release`.
pub(crate) struct Lease {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Lease {
    /// Call `renew` every `ttl / 3` until it returns false (lock lost, or the store is gone) or
    /// the lease is dropped. Renewal failures (a network blip) are retried on the next tick: the
    /// TTL leaves room for two of them.
    /// If the thread cannot start, the lock is released at once and the error returned: an
    /// unrenewed lock would expire under its holder.
    pub(crate) fn start(
        ttl: Duration,
        mut renew: impl FnMut() -> bool + Send + 'static,
        release: impl FnOnce() + Send + Sync + 'static,
    ) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<()>();
        let period = (ttl / 3).max(Duration::from_millis(10));
        let spawned = std::thread::Builder::new()
            .name("agent-lock-renew".into())
            .spawn(move || {
                // Any message or a closed channel means stop; only a timeout means renew.
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(period) {
                    if !renew() {
                        break;
                    }
                }
            });
        match spawned {
            Ok(thread) => Ok(Lease {
                stop: Some(tx),
                thread: Some(thread),
                release: Some(Box::new(release)),
            }),
            Err(e) => {
                release();
                Err(Error::io("cannot start the lock renewal thread", e))
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        // Joining first means no renewal can land after the release below.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

/// A poison-tolerant lock: a panic elsewhere must not wedge a store, whose database keeps its
/// own state consistent.
pub(crate) fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The owner tokens of the locks one store holds, so a save under a lock that was lost (taken
/// over after this process stalled past the TTL) fails instead of overwriting a newer turn.
#[derive(Debug, Default)]
pub(crate) struct Held(Mutex<HashMap<String, String>>);

impl Held {
    /// Our token for `id`'s lock, if we hold it.
    pub(crate) fn token(&self, id: &str) -> Option<String> {
        locked(&self.0).get(id).cloned()
    }

    pub(crate) fn insert(&self, id: &str, token: &str) {
        locked(&self.0).insert(id.to_string(), token.to_string());
    }

    /// Forget `id`'s lock on release, unless it is already a newer lock of ours.
    pub(crate) fn forget(&self, id: &str, token: &str) {
        let mut held = locked(&self.0);
        if held.get(id).is_some_and(|t| t == token) {
            held.remove(id);
        }
    }
}

/// A new owner token: where the holder runs (see [`here`]), its pid, and 128 random bits, so
/// two holders never share one.
pub(crate) fn token() -> String {
    format!(
        "{}/{}/{:016x}{:016x}",
        here(),
        std::process::id(),
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// This boot of this machine and this pid namespace: where a pid means the same process.
/// Empty when it cannot be told (not Linux), and then no holder is ever judged gone.
fn here() -> &'static str {
    static HERE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HERE.get_or_init(|| {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id");
        let pid_ns = std::fs::read_link("/proc/self/ns/pid");
        match (boot, pid_ns) {
            (Ok(boot), Ok(ns)) => format!("{}:{}", boot.trim(), ns.display())
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
                .collect(),
            _ => String::new(),
        }
    })
}

/// Whether the holder that wrote `owner` is known to be dead: it ran here (same boot, same pid
/// namespace: containers sharing a database file never judge each other) in another process,
/// and no process has its pid. Its lock can then be taken at once instead of after the TTL. A
/// holder elsewhere, or a token without a place, is left to expire.
pub(crate) fn holder_is_gone(owner: &str) -> bool {
    let mut parts = owner.splitn(3, '/');
    let (Some(place), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if place.is_empty() || place != here() || pid == std::process::id() || pid > i32::MAX as u32 {
        return false;
    }
    // Signal 0 checks existence only; EPERM means it exists under another user.
    let rc = unsafe { libc::kill(pid as i32, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Milliseconds since the Unix epoch (lock expiries compare wall clocks on one machine for SQLite).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The error for a save whose lock expired and went to another holder meanwhile.
pub(crate) fn lost_lock(id: &str, store: &str) -> Error {
    Error::Other(format!(
        "lost the turn lock of session '{id}' in {store} (this process stalled past the lock TTL \
         and another turn took it); nothing was saved"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_process_here_is_gone() {
        assert!(!holder_is_gone(&token()), "this process");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let alive = format!("{}/{}/00", here(), std::process::id());
        assert!(!holder_is_gone(&alive));
        child.wait().unwrap();
        assert!(
            holder_is_gone(&format!("{}/{pid}/00", here())),
            "exited and reaped"
        );
        assert!(
            !holder_is_gone(&format!("elsewhere/{pid}/00")),
            "another machine"
        );
        assert!(
            !holder_is_gone("0123456789abcdef0123456789abcdef"),
            "an old token"
        );
        assert!(!holder_is_gone(&format!("/{pid}/00")), "a place unknown");
    }
}
