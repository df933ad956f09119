//! One tool round of a turn: check each call, ask for approval where needed (one call at a
//! time, in call order, since a person may be answering), then run the approved calls
//! concurrently. Results come back in call order.

use std::time::{Duration, Instant};

use crate::tool::{ToolApproval, ToolOutput};
use crate::{Agent, Tool, ToolCall};

/// What one call produced and how long it ran.
pub(crate) struct Outcome {
    pub(crate) output: ToolOutput,
    pub(crate) elapsed: Duration,
}

pub(crate) async fn run_round(
    agent: &Agent,
    tools: &[Tool],
    calls: &[ToolCall],
    session_id: &str,
) -> Vec<Outcome> {
    let mut ready = Vec::with_capacity(calls.len());
    for call in calls {
        let checked = match tools.iter().find(|t| t.name() == call.name) {
            None => Err(format!(
                "unknown tool '{}' (available: {})",
                call.name,
                tools.iter().map(Tool::name).collect::<Vec<_>>().join(", ")
            )),
            Some(tool) => match tool.check(&call.arguments) {
                // Invalid arguments are never run, nor shown to a person for approval.
                Err(e) => Err(e),
                Ok(()) if tool.needs_confirmation() => {
                    let request = ToolApproval {
                        session_id: session_id.to_string(),
                        call: call.clone(),
                    };
                    agent.approve(request).await.map(|()| tool)
                }
                Ok(()) => Ok(tool),
            },
        };
        ready.push(checked);
    }
    let runs = calls.iter().zip(ready).map(|(call, ready)| async move {
        let start = Instant::now();
        let output = match ready {
            Ok(tool) => tool.call_checked(call.arguments.clone(), session_id).await,
            Err(e) => Err(e),
        };
        Outcome {
            output,
            elapsed: start.elapsed(),
        }
    });
    futures_util::future::join_all(runs).await
}
