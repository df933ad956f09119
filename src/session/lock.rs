//! Waiting for a session's turn lock, with the agent's notice when another turn holds it.

use crate::agent::Notice;
use crate::store::{self, StoreLock};
use crate::{Agent, Result};

/// Take `id`'s lock in the agent's store, telling the agent's notice callback if it has to wait.
pub(crate) async fn lock(agent: &Agent, id: &str) -> Result<StoreLock> {
    let notify = agent.clone();
    let waiting = id.to_string();
    store::acquire(agent.store(), id, agent.lock_timeout(), &mut move || {
        notify.notify(&Notice::WaitingForLock {
            id: waiting.clone(),
        })
    })
    .await
}
