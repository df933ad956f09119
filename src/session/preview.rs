//! `Session::preview_request`: the request a turn would send, for `--dry-run`, built by the turn
//! engine's own functions so a preview cannot drift from a real turn.

use serde_json::Value;

use super::{request, ContextPolicy, RunOptions, Session};
use crate::Result;

impl Session {
    /// The provider-neutral request the next turn with `prompt` would send first, built by the
    /// turn engine's own code (system prompt with any compacted summary, context-window trimming
    /// or its "too large" error); `json_schema` makes it a structured turn. Nothing is sent or saved
    /// (`--dry-run`: pass it to [`crate::provider::Provider::request_body`] for the exact body).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
    /// use agent::{provider::Scripted, Agent, RunOptions, SessionOptions};
    ///
    /// let model = Scripted::new().reply("Hi Bob.");
    /// let agent = Agent::builder().provider_impl(model.clone()).build()?;
    /// let mut session = agent.session_with(SessionOptions::new().system("Be brief.")).await?;
    /// session.run("I am Bob").await?;
    ///
    /// let preview = session.preview_request("Who am I?", &RunOptions::default(), None)?;
    /// assert_eq!(preview.messages.len(), 3); // the history, then the new prompt
    /// assert_eq!(model.requests().len(), 1); // nothing was sent
    ///
    /// session.run("Who am I?").await?;
    /// let mut sent = model.requests()[1].clone();
    /// // Exactly what the turn then sent, but for the new message's time, taken as it starts.
    /// sent.messages[2].created_at = preview.messages[2].created_at.clone();
    /// assert_eq!(sent, preview);
    /// # Ok(()) }
    /// ```
    pub fn preview_request(
        &self,
        prompt: &str,
        options: &RunOptions,
        json_schema: Option<&Value>,
    ) -> Result<crate::provider::Request> {
        let spec = json_schema.map(|s| request::json_spec(s, 0)).transpose()?;
        let mut request = request::build(&self.agent, &self.data, prompt, options, spec.as_ref());
        request::check_attachments(&self.agent, &request)?;
        // What the agent's store has; a caller previewing from another store loads the rest
        // ([`crate::store::load_attachments`]), else they show as notes.
        crate::store::blobs::hydrate_available(&**self.agent.store(), &mut request.messages)?;
        // A turn that would compact first makes a model call to do it, which a preview cannot:
        // it shows the history as stored. Trimming and "too large" apply as in a turn.
        if options.context != ContextPolicy::Compact {
            request::fit(&self.agent, &self.data.id, options, &mut request)?;
        }
        Ok(request)
    }
}
