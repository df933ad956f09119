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

use crate::agent::{Notice, NoticeFn};

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
