//! The turn task: lock, reload, compact if asked, run the [`Exchange`], and save the whole turn
//! at once, or record it as the session's failed turn and save nothing to `messages`.
//!
//! The task owns everything a failure record needs (the lock, the document, the reply text so
//! far), so a cancellation, from the caller or a dropped stream, is recorded here, under the
//! lock it already holds. Only the model and tool phases are cancelled mid-way; saves are never
//! cut short.

use tokio::sync::{mpsc, oneshot};

use super::context::{self, ContextPolicy};
use super::exchange::Exchange;
use super::link::{Control, Msg, Outcome};
use super::lock::lock;
use super::request::{self, JsonSpec};
use super::spend::Spending;
use super::{Response, RunOptions};
use crate::agent::Notice;
use crate::document::{FailedTurn, SessionData};
use crate::limits::{MAX_PARTIAL_BYTES, MAX_PROMPT_BYTES};
use crate::store;
use crate::{Agent, Error, Oversized, Result};

/// Everything a turn needs, owned, so it can run as its own task.
pub(crate) struct Turn {
    agent: Agent,
    id: String,
    prompt: String,
    options: RunOptions,
    json: Option<JsonSpec>,
}

impl Turn {
    pub(crate) fn new(
        agent: &Agent,
        id: &str,
        prompt: String,
        options: RunOptions,
        json: Option<JsonSpec>,
    ) -> Self {
        Turn {
            agent: agent.clone(),
            id: id.to_string(),
            prompt,
            options,
            json,
        }
    }

    /// Run the turn, forwarding events to `tx`. The turn is saved only after the consumer read
    /// every event and answered [`Control::Commit`].
    pub(crate) async fn run(
        self,
        tx: mpsc::Sender<Msg>,
        control: oneshot::Receiver<Control>,
    ) -> Outcome {
        let sink = crate::notice::Sink::new(self.agent.notice_fn());
        crate::notice::scope(sink, self.guarded(tx, control)).await
    }

    async fn guarded(self, tx: mpsc::Sender<Msg>, control: oneshot::Receiver<Control>) -> Outcome {
        // A prompt too large for any model is refused before anything, and not recorded: a
        // failure record must never make the session too large to read back.
        if self.prompt.len() > MAX_PROMPT_BYTES {
            let e = Error::TooLarge {
                what: Oversized::Prompt,
                size: self.prompt.len() as u64,
                limit: MAX_PROMPT_BYTES as u64,
            };
            return Outcome {
                data: None,
                result: Err(e),
            };
        }
        // An attachment the provider cannot take is refused before anything, and not recorded.
        if let Err(e) = self
            .options
            .attachments
            .iter()
            .try_for_each(|a| self.agent.provider().check_attachment(a))
        {
            return Outcome {
                data: None,
                result: Err(e),
            };
        }
        // Even a turn cancelled at once waits for the lock: without it nothing can be recorded.
        let _lock = match lock(&self.agent, &self.id).await {
            Ok(guard) => guard,
            Err(e) => {
                return Outcome {
                    data: None,
                    result: Err(e),
                }
            }
        };
        let data = match store::load(self.agent.store(), &self.id).await {
            Ok(data) => data,
            Err(e) => {
                return Outcome {
                    data: None,
                    result: Err(e),
                }
            }
        };
        self.locked(data, tx, control).await
    }

    async fn locked(
        &self,
        mut data: SessionData,
        tx: mpsc::Sender<Msg>,
        mut control: oneshot::Receiver<Control>,
    ) -> Outcome {
        if let Err(e) = self.compact_if_needed(&mut data, &mut control).await {
            return self.fail(data, "", e).await;
        }
        let model = request::model(&self.agent, &self.options);
        let mut first = request::build(
            &self.agent,
            &data,
            &self.prompt,
            &self.options,
            self.json.as_ref(),
        );
        if let Err(e) = request::fit(&self.agent, &self.id, &self.options, &mut first) {
            return self.fail(data, "", e).await;
        }
        // The history's attachments (a PDF sent earlier, now to a provider that takes none)
        // are checked too, then their bytes read from the store for the request.
        if let Err(e) = request::check_attachments(&self.agent, &first) {
            return self.fail(data, "", e).await;
        }
        first.messages = match store::blobs::hydrate_async(self.agent.store(), first.messages).await
        {
            Ok(messages) => messages,
            Err(e) => return self.fail(data, "", e).await,
        };
        let spending = Spending::new(
            self.options.max_cost_usd,
            &self.id,
            data.budget_usd,
            super::Stats::of(&data).cost_usd,
        );
        let mut exchange = Exchange::new(
            &self.agent,
            &self.id,
            &self.options,
            self.json.as_ref(),
            &tx,
            first,
        )
        .with_spending(spending);
        let answered = cancellable(&mut control, exchange.run()).await;
        let (text, added) = exchange.into_parts();
        let response = match answered {
            Ok(response) => response,
            Err(e) => {
                return self
                    .fail(data, &text, context_error(e, &self.id, &model))
                    .await
            }
        };
        // Wait until the consumer has read every event; it may still cancel.
        let committed =
            tx.send(Msg::Ready).await.is_ok() && matches!(control.await, Ok(Control::Commit));
        if !committed {
            return self.fail(data, &text, Error::Interrupted).await;
        }
        // Nothing can cancel the turn now: the reply text kept for a failure record goes, so a
        // long reply is held twice at most.
        drop(text);
        self.save(data, added, response).await
    }

    /// Save the finished turn: its messages, a title if the session had none, and no failure
    /// record of the prompt it answered.
    async fn save(
        &self,
        mut data: SessionData,
        added: Vec<crate::Message>,
        mut response: Response,
    ) -> Outcome {
        response.text = added.last().map(|m| m.content.clone()).unwrap_or_default();
        if data
            .failed_turn
            .as_ref()
            .is_some_and(|f| f.prompt == self.prompt)
        {
            data.failed_turn = None;
        }
        data.messages.extend(added);
        if data.title.is_none() {
            let from = self.options.title.as_deref().unwrap_or(&self.prompt);
            data.title = request::title_from(from);
        }
        data.touch();
        // The new attachments' bytes first: a document never refers to a blob not yet stored,
        // and no garbage collection runs between the two saves.
        let timeout = self.agent.lock_timeout();
        match store::blobs::save_with_blobs(self.agent.store(), data, timeout).await {
            Ok(data) => Outcome {
                data: Some(data),
                result: Ok(response),
            },
            Err(e) => Outcome {
                data: None,
                result: Err(e),
            },
        }
    }

    /// Record the failed turn (outside `messages`) so a retry can send it again. The partial
    /// reply is kept up to [`MAX_PARTIAL_BYTES`], with a note of what was cut.
    async fn fail(&self, mut data: SessionData, partial: &str, error: Error) -> Outcome {
        // Replaying, a request nobody recorded is the test's failure, not the session's: the
        // document stays as it was.
        if matches!(error, Error::NotRecorded { .. }) {
            return Outcome {
                data: None,
                result: Err(error),
            };
        }
        data.failed_turn = Some(FailedTurn {
            prompt: self.prompt.clone(),
            partial: capped(partial),
            error: error.line(),
            at: crate::time::now(),
        });
        match store::save(self.agent.store(), data).await {
            Ok(data) => Outcome {
                data: Some(data),
                result: Err(error),
            },
            Err(save) => Outcome {
                data: None,
                result: Err(Error::Other(format!(
                    "{} (and recording the failed turn failed: {})",
                    error.line(),
                    save.line()
                ))),
            },
        }
    }

    /// Before the turn: compact when the history is over `auto_compact`, or over the model's
    /// window with [`ContextPolicy::Compact`]. The compaction is saved as soon as it is made:
    /// the summary was paid for, so a turn that fails afterwards, however it fails, keeps it.
    async fn compact_if_needed(
        &self,
        data: &mut SessionData,
        control: &mut oneshot::Receiver<Control>,
    ) -> Result<()> {
        let estimate =
            context::estimate_request(context::system_prompt(data).as_deref(), &data.messages)
                + context::estimate_text(&self.prompt);
        let model = request::model(&self.agent, &self.options);
        let window = self.agent.prices().context_window(&model);
        let over_window =
            self.options.context == ContextPolicy::Compact && window.is_some_and(|w| estimate > w);
        let over_threshold = self.options.auto_compact.is_some_and(|t| estimate > t);
        if !(over_window || over_threshold) {
            return Ok(());
        }
        let options = context::CompactOptions::default();
        let summarized =
            cancellable(control, context::summarize(&self.agent, data, &options)).await?;
        let Some(summary) = summarized else {
            return Ok(());
        };
        let replaced = summary.apply(data);
        data.touch();
        // A copy is saved, so a failed save leaves the document here to record the failure on.
        // Compactions are rare and each costs a model call over the whole history anyway.
        *data = store::save(self.agent.store(), data.clone()).await?;
        self.agent.notify(&Notice::Compacted {
            id: self.id.clone(),
            replaced,
        });
        Ok(())
    }
}

/// At most [`MAX_PARTIAL_BYTES`] of a partial reply, cut at a character boundary, with a note.
fn capped(partial: &str) -> String {
    if partial.len() <= MAX_PARTIAL_BYTES {
        return partial.to_string();
    }
    let mut end = MAX_PARTIAL_BYTES;
    while !partial.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[partial reply cut: {} more bytes were not kept]",
        &partial[..end],
        partial.len() - end
    )
}

/// Run `work` unless the consumer cancels first (or goes away): then it is dropped where it
/// stands, which closes its connection and kills its tools.
async fn cancellable<T>(
    control: &mut oneshot::Receiver<Control>,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        biased;
        // Before the answer is ready the only message is a cancel; a dropped sender is one too.
        _ = control => Err(Error::Interrupted),
        result = work => result,
    }
}

/// A provider's own "context too long" error becomes the same error as ours.
fn context_error(e: Error, id: &str, model: &str) -> Error {
    match e {
        Error::Provider(pe) if pe.is_context_overflow() => Error::ContextOverflow {
            id: id.to_string(),
            model: model.to_string(),
            estimate: None,
            window: None,
            provider: Some(Box::new(pe)),
        },
        other => other,
    }
}
