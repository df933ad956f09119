//! `TurnStream`: a turn in progress as a stream of events, saved only once read to the end.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::link::{Control, Msg, Outcome};
use super::turn::Turn;
use super::Response;
use crate::document::SessionData;
use crate::provider::Event;
use crate::{Error, Result};

/// A turn in progress: a [`Stream`] of [`Event`]s ending with `Event::Done`.
///
/// The session is saved before `Done` arrives. [`TurnStream::cancel`] stops the turn and waits
/// until it is recorded as the session's failed turn (the prompt and any partial reply, kept
/// for a retry); dropping the stream early does the same without waiting. Either way nothing is
/// added to the history. Needs a Tokio runtime: the turn runs as a task of its own.
pub struct TurnStream<'s> {
    /// The session's copy of its document, brought up to date when the turn ends.
    data: &'s mut SessionData,
    rx: mpsc::Receiver<Msg>,
    rx_open: bool,
    control: Option<oneshot::Sender<Control>>,
    task: Option<JoinHandle<Outcome>>,
    /// The final `Done`, yielded once the turn is saved.
    done: Option<Event>,
    response: Option<Response>,
}

impl<'s> TurnStream<'s> {
    /// Start `turn` as its own task.
    pub(super) fn start(data: &'s mut SessionData, turn: Turn) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let (control, controlled) = oneshot::channel();
        let task = tokio::spawn(turn.run(tx, controlled));
        TurnStream {
            data,
            rx,
            rx_open: true,
            control: Some(control),
            task: Some(task),
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

    /// Stop the turn (Ctrl-C) and wait until it is recorded as the session's failed turn.
    /// Nothing is added to the history. A turn that had already finished stays saved, and its
    /// response is then available from [`TurnStream::response`].
    pub async fn cancel(mut self) -> Result<()> {
        if let Some(control) = self.control.take() {
            let _ = control.send(Control::Cancel);
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        let outcome = task
            .await
            .map_err(|e| Error::Other(format!("turn task failed: {e}")))?;
        if let Some(data) = outcome.data {
            *self.data = data;
        }
        match outcome.result {
            Ok(response) => {
                self.response = Some(response);
                Ok(())
            }
            Err(Error::Interrupted) => Ok(()),
            Err(e) => Err(e),
        }
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
                        if let Some(control) = this.control.take() {
                            let _ = control.send(Control::Commit);
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
            let outcome = match joined {
                Ok(outcome) => outcome,
                Err(e) => {
                    return Poll::Ready(Some(Err(Error::Other(format!("turn task failed: {e}")))))
                }
            };
            if let Some(data) = outcome.data {
                *this.data = data;
            }
            match outcome.result {
                Ok(response) => {
                    this.done = Some(Event::Done {
                        finish_reason: response.finish_reason.clone(),
                        model: response.model.clone(),
                    });
                    this.response = Some(response);
                }
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}
