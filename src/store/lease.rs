//! `Lease`: a lock held in a shared database (SQLite row, Redis key) with an expiry, renewed by a
//! small thread while its guard lives and released by its owner on drop.

use std::sync::mpsc;
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

/// A random owner token: 128 bits, so two holders never share one.
pub(crate) fn token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
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
