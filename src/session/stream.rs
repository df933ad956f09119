//! `TurnStream`: a turn in progress as a stream of events, saved only once read to the end.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::turn::{self, Msg};
use super::{Response, Session};
use crate::document::SessionData;
use crate::provider::Event;
use crate::{store, Error, Result};

/// A turn in progress: a [`Stream`] of [`Event`]s ending with `Event::Done`.
///
/// The session is saved before `Done` arrives. Dropping the stream early cancels the turn
/// and saves nothing; [`TurnStream::cancel`] also records the prompt for `retry`.
pub struct TurnStream<'s> {
    session: &'s mut Session,
    prompt: String,
    rx: mpsc::Receiver<Msg>,
    rx_open: bool,
    commit: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(SessionData, Response)>>>,
    /// The reply text so far, written by the turn task.
    partial: Arc<std::sync::Mutex<String>>,
    /// The final `Done`, yielded once the turn is saved.
    done: Option<Event>,
    response: Option<Response>,
}

impl<'s> TurnStream<'s> {
    pub(super) fn new(
        session: &'s mut Session,
        prompt: String,
        rx: mpsc::Receiver<Msg>,
        commit: oneshot::Sender<()>,
        task: JoinHandle<Result<(SessionData, Response)>>,
        partial: Arc<std::sync::Mutex<String>>,
    ) -> Self {
        TurnStream {
            session,
            prompt,
            rx,
            rx_open: true,
            commit: Some(commit),
            task: Some(task),
            partial,
            done: None,
            response: None,
        }
    }

    /// The response, once the stream has ended successfully.
    pub fn response(&self) -> Option<&Response> {
        self.response.as_ref()
    }

    /// The response, once the stream has ended successfully, without a copy of its text.
    pub fn into_response(mut self) -> Option<Response> {
        self.response.take()
    }

    /// Read the stream to the end and return the response.
    pub async fn finish(mut self) -> Result<Response> {
        use futures_util::StreamExt;
        while let Some(event) = self.next().await {
            event?;
        }
        self.response.take().ok_or(Error::Interrupted)
    }

    /// Stop the turn (Ctrl-C): nothing is added to the history, and the prompt with any partial
    /// reply is recorded as the session's failed turn for `retry`.
    pub async fn cancel(mut self) -> Result<()> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        task.abort();
        if let Ok(Ok((data, response))) = task.await {
            // It finished before the abort landed: the turn is saved, nothing to record.
            self.session.data = data;
            self.response = Some(response);
            return Ok(());
        }
        let agent = self.session.agent.clone();
        let id = self.session.data.id.clone();
        let _lock = turn::lock(&agent, &id).await?;
        let mut data = store::load_data(&**agent.store(), &id)?;
        turn::record_failure(
            &agent,
            &mut data,
            &self.prompt,
            &self.partial.lock().unwrap().clone(),
            &Error::Interrupted,
        )?;
        self.session.data = data;
        Ok(())
    }
}

impl Stream for TurnStream<'_> {
    type Item = Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(done) = this.done.take() {
                return Poll::Ready(Some(Ok(done)));
            }
            let Some(task) = this.task.as_mut() else {
                return Poll::Ready(None);
            };
            if this.rx_open {
                match this.rx.poll_recv(cx) {
                    Poll::Ready(Some(Msg::Event(event))) => return Poll::Ready(Some(Ok(event))),
                    Poll::Ready(Some(Msg::Ready)) => {
                        // Every event was read: let the turn save.
                        if let Some(commit) = this.commit.take() {
                            let _ = commit.send(());
                        }
                        continue;
                    }
                    Poll::Ready(None) => this.rx_open = false,
                    Poll::Pending => return Poll::Pending,
                }
            }
            let joined = match Pin::new(task).poll(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            this.task = None;
            match joined {
                Ok(Ok((data, response))) => {
                    this.session.data = data;
                    this.done = Some(Event::Done {
                        finish_reason: response.finish_reason.clone(),
                        model: response.model.clone(),
                    });
                    this.response = Some(response);
                }
                Ok(Err(e)) => {
                    // The failure was recorded in the store; keep the in-memory copy in step.
                    let _ = this.session.refresh();
                    return Poll::Ready(Some(Err(e)));
                }
                Err(e) => {
                    return Poll::Ready(Some(Err(Error::Other(format!("turn task failed: {e}")))))
                }
            }
        }
    }
}

impl Drop for TurnStream<'_> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
