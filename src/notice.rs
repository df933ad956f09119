//! The notice channel of a turn: what the library tells a person while a turn runs (a retry, a
//! lock wait, a rejected structured attempt), delivered twice. At once to the agent's
//! [`crate::AgentBuilder::on_notice`] callback, so a line on stderr appears before the wait it
//! announces; and in order in the turn's event stream as [`crate::Event::Notice`], so a program
//! reading the stream sees it between the events it came between.
//!
//! Code deep in a turn (the HTTP transport) knows no agent: it calls [`emit`], which reaches the
//! sink the turn task installed with [`scope`]. Outside a turn (`agent models`) a notice reaches
//! no stream.

use std::sync::{Arc, Mutex};

/// Something worth telling a person while a turn runs (the CLI prints these on stderr). Each
/// reaches the [`crate::AgentBuilder::on_notice`] callback when it happens, and the turn's stream as an
/// [`crate::Event::Notice`] in order with its other events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Notice {
    /// Another process holds the session's turn lock; this turn waits.
    WaitingForLock {
        /// The session id.
        id: String,
    },
    /// The request did not fit the model's context window: the oldest messages were left out
    /// of it (they stay in the session).
    Trimmed {
        /// The session id.
        id: String,
        /// How many messages were left out.
        dropped: usize,
    },
    /// History was compacted into a summary before the turn.
    Compacted {
        /// The session id.
        id: String,
        /// How many messages the summary replaced.
        replaced: usize,
    },
    /// A request failed before any reply byte with an error a retry may cure (a refused
    /// connection, 408, 429, 5xx): it is sent again after `delay_ms`.
    Retrying {
        /// The provider's name.
        provider: String,
        /// The HTTP status, when the failure had one.
        status: Option<u16>,
        /// The failure, one line.
        error: String,
        /// How long this client waits before sending again, in milliseconds.
        delay_ms: u64,
        /// Which retry this is, from 1.
        attempt: u32,
        /// How many retries are allowed.
        retries: u32,
    },
    /// A request failed in a way retries could not cure (overloaded, 429 or 5xx after the
    /// retries, no connection): the same request goes to the next fallback model.
    FallingBack {
        /// The provider that failed.
        from_provider: String,
        /// The model that failed.
        from_model: String,
        /// The provider asked next.
        to_provider: String,
        /// The model asked next.
        to_model: String,
        /// The failure, one line.
        error: String,
    },
    /// A structured reply did not match the schema: a correction turn asks again.
    Rejected {
        /// The attempt that was rejected, from 1.
        attempt: u32,
        /// What did not validate, one problem each.
        errors: Vec<String>,
        /// How many correction turns are allowed.
        retries: u32,
    },
}

pub(crate) type NoticeFn = dyn Fn(&Notice) + Send + Sync;

tokio::task_local! {
    static SINK: Sink;
}

/// Where a turn's notices go: the agent's callback, and a queue the turn drains into its stream.
#[derive(Clone)]
pub(crate) struct Sink {
    callback: Option<Arc<NoticeFn>>,
    pending: Arc<Mutex<Vec<Notice>>>,
}

impl Sink {
    pub(crate) fn new(callback: Option<Arc<NoticeFn>>) -> Self {
        Sink {
            callback,
            pending: Arc::default(),
        }
    }

    fn emit(&self, notice: Notice) {
        if let Some(f) = &self.callback {
            f(&notice);
        }
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(notice);
    }
}

/// Run `work` with `sink` receiving every notice emitted inside it.
pub(crate) async fn scope<F: std::future::Future>(sink: Sink, work: F) -> F::Output {
    SINK.scope(sink, work).await
}

/// Tell the running turn's sink; false when no turn runs this task (the caller then tells the
/// agent's callback itself, or nobody).
pub(crate) fn emit(notice: Notice) -> bool {
    SINK.try_with(move |s| s.emit(notice)).is_ok()
}

/// The notices emitted since the last drain, oldest first.
pub(crate) fn drain() -> Vec<Notice> {
    SINK.try_with(|s| std::mem::take(&mut *s.pending.lock().unwrap_or_else(|e| e.into_inner())))
        .unwrap_or_default()
}
