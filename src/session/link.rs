//! What a turn task and its stream say to each other.

use super::Response;
use crate::document::SessionData;
use crate::provider::Event;
use crate::Result;

/// What the turn task tells its stream: an event, or "the answer is complete: may I save?".
pub(crate) enum Msg {
    Event(Event),
    Ready,
}

/// What the stream tells the task. A dropped sender means [`Control::Cancel`].
#[derive(Debug)]
pub(crate) enum Control {
    /// Every event was read: save the turn.
    Commit,
    /// Stop, and record the turn as failed.
    Cancel,
}

/// How a turn ended, with the document as it now stands in the store (when it was read).
pub(crate) struct Outcome {
    pub(crate) data: Option<SessionData>,
    pub(crate) result: Result<Response>,
}
