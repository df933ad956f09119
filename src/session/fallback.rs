//! Fallback models: when a request fails before any reply byte with an error that retries
//! could not cure (429 or 5xx after the transport's retries, 529 overloaded, a refused
//! connection), the same request goes to the agent's next fallback model
//! ([`crate::AgentBuilder::fallback`]), with a notice. Errors another model would not fix (400,
//! 401, 403, a timeout that may have been billed) fail the request as they are.

use std::sync::Arc;

use crate::agent::Notice;
use crate::error::ProviderError;
use crate::provider::{EventStream, Provider, Request};
use crate::{Agent, Error, Result};

/// Whether another model may answer where this one failed.
fn worth_falling_back(e: &ProviderError) -> bool {
    !e.timed_out && (e.retryable || e.status == Some(529))
}

/// Send `request` down the agent's chain (its provider, then each fallback), starting at
/// `*at`; `*at` is left at the one that answered, so the turn's later requests start there.
/// Returns the provider and the model that answered, and its events.
pub(crate) async fn open(
    agent: &Agent,
    request: &mut Request,
    at: &mut usize,
) -> Result<(Arc<dyn Provider>, String, EventStream)> {
    let primary = request.model.clone();
    let link = |i: usize| -> (Arc<dyn Provider>, String) {
        match i {
            0 => (agent.provider().clone(), primary.clone()),
            n => agent.fallbacks()[n - 1].clone(),
        }
    };
    loop {
        let (provider, model) = link(*at);
        // The same request, to another model: only the model field changes.
        request.model = model.clone();
        let sent = provider.stream(request).await;
        request.model = primary.clone();
        match sent {
            Ok(stream) => return Ok((provider, model, stream)),
            Err(Error::Provider(e)) if worth_falling_back(&e) && *at < agent.fallbacks().len() => {
                *at += 1;
                let (next, next_model) = link(*at);
                agent.notify(&Notice::FallingBack {
                    from_provider: provider.name().to_string(),
                    from_model: model,
                    to_provider: next.name().to_string(),
                    to_model: next_model,
                    error: e.to_string(),
                });
            }
            Err(e) => return Err(e),
        }
    }
}
