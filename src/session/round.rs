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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::provider::Scripted;
    use crate::{Agent, Tool};

    fn guarded() -> Tool {
        Tool::new(
            "wipe",
            "Needs a yes.",
            json!({"type": "object"}),
            |_| async { Ok("wiped".to_string()) },
        )
        .unwrap()
        .confirm(true)
    }

    async fn result_of(agent: &Agent) -> (bool, String) {
        let mut session = agent.session().await.unwrap();
        session.run("go").await.unwrap();
        let result = &session.messages()[2];
        (result.is_error, result.content.clone())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn confirmation_goes_through_the_approval_hook() {
        let model = Scripted::new();
        let agent = Agent::builder()
            .provider_impl(model.clone())
            .tools([guarded()])
            .build()
            .unwrap();
        let script = || {
            model.clone().tool_call("wipe", json!({})).reply("done");
        };
        script();
        let (err, text) = result_of(&agent).await;
        assert!(err && text.contains("needs confirmation"), "{text}");

        let no = agent
            .to_builder()
            .approve_tool(|req| Box::pin(async move { Err(format!("not {}", req.call.name)) }))
            .build()
            .unwrap();
        script();
        assert_eq!(result_of(&no).await, (true, "not wipe".to_string()));

        let yes = agent
            .to_builder()
            .approve_tool(|_| Box::pin(async { Ok(()) }))
            .build()
            .unwrap();
        script();
        assert_eq!(result_of(&yes).await, (false, "wiped".to_string()));
    }
}
