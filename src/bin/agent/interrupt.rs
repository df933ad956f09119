//! Ctrl-C and SIGTERM, handled from the first instant. While a turn runs, the first signal asks
//! it to stop and record itself (the prompt and any partial reply, for a retry); a second one,
//! while anything still waits, ends the process at once with 130. With no turn running there
//! is nothing to record, and the first signal ends the process with 130.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Turns running now: signals are theirs to handle while this is above zero.
static TURNS: AtomicUsize = AtomicUsize::new(0);
/// Signals received since the last turn that handled one ended.
static SEEN: AtomicU32 = AtomicU32::new(0);

/// The exit status of an interrupted run (128 + SIGINT), for both signals as documented.
pub(crate) const EXIT: i32 = 130;

/// Signals received while a turn held them, for that turn to see.
#[derive(Clone)]
pub(crate) struct Interrupts {
    count: watch::Receiver<u32>,
}

/// Take over SIGINT and SIGTERM. Must run inside the runtime, before anything that can be
/// interrupted.
pub(crate) fn install() -> std::io::Result<Interrupts> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (tx, rx) = watch::channel(0u32);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let seen = SEEN.fetch_add(1, Ordering::SeqCst) + 1;
            if TURNS.load(Ordering::SeqCst) == 0 || seen >= 2 {
                // Nothing left to record, or the user insists: stdout is flushed per write, and
                // locks die with the process. MCP servers are killed, not left running.
                agent::mcp::kill_all();
                std::process::exit(EXIT);
            }
            tx.send_modify(|n| *n += 1);
        }
    });
    Ok(Interrupts { count: rx })
}

impl Interrupts {
    /// Handle signals for a turn until the guard drops: the first becomes [`Self::wait`]'s.
    pub(crate) fn hold(&mut self) -> Held {
        TURNS.fetch_add(1, Ordering::SeqCst);
        self.count.mark_unchanged();
        Held
    }

    /// A signal arrived since [`Self::hold`] (or is already pending).
    pub(crate) fn pending(&self) -> bool {
        self.count.has_changed().unwrap_or(false)
    }

    /// Wait for the next signal while a turn holds them.
    pub(crate) async fn wait(&mut self) {
        if self.count.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// While alive, signals go to the turn that holds them.
pub(crate) struct Held;

impl Drop for Held {
    fn drop(&mut self) {
        // The turn has handled its signal: the next turn (of a chat) starts afresh.
        if TURNS.fetch_sub(1, Ordering::SeqCst) == 1 {
            SEEN.store(0, Ordering::SeqCst);
        }
    }
}
