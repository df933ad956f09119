//! Tools: functions the model may call. A [`Tool`] pairs a declaration (name, description, JSON
//! Schema of the arguments) with a handler; closures and executables ([`ExecTool`]) are both
//! handlers.

mod exec;
mod orphans;
mod spec;

pub use exec::{ExecTool, OUTPUT_LIMIT, PROVIDER_KEY_VARS};
pub use orphans::contain_escapes;
pub(crate) use orphans::{kill_adopted, reaped, spawn as spawn_child};
pub(crate) use spec::check_process;
pub use spec::{ExecSpec, DEFAULT_TIMEOUT};

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::provider::ToolSpec;
use crate::ToolCall;

/// What a tool call produced: text for the model, or an error the model sees and can react to.
pub type ToolOutput = std::result::Result<String, String>;

/// Runs a tool call. Implemented for async closures via [`Tool::new`]; the CLI's executable tools
/// implement it directly.
pub trait ToolHandler: Send + Sync {
    /// Run the tool with validated arguments. `session_id` names the calling session.
    fn call<'a>(&'a self, arguments: Value, session_id: &'a str) -> BoxFuture<'a, ToolOutput>;

    /// A failure that ends the turn rather than going back to the model (what runs the tool
    /// is gone, as an MCP server that died mid-call): asked after each round that called the
    /// tool; `Some` fails the turn with that message, adding nothing to the history.
    fn fatal(&self) -> Option<String> {
        None
    }
}

/// A tool call waiting for permission to run (see [`crate::AgentBuilder::approve_tool`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolApproval {
    /// The calling session.
    pub session_id: String,
    /// The call, with arguments already validated against the tool's schema.
    pub call: ToolCall,
}

/// A tool the model may call.
#[derive(Clone)]
pub struct Tool {
    spec: ToolSpec,
    validator: Arc<jsonschema::Validator>,
    handler: Arc<dyn ToolHandler>,
    confirm: bool,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool").field("spec", &self.spec).finish()
    }
}

struct FnHandler<F>(F);

impl<F, Fut> ToolHandler for FnHandler<F>
where
    F: Fn(Value) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = ToolOutput> + Send + 'static,
{
    fn call<'a>(&'a self, arguments: Value, _session_id: &'a str) -> BoxFuture<'a, ToolOutput> {
        Box::pin((self.0)(arguments))
    }
}

impl Tool {
    /// A tool from its declaration and an async handler taking the JSON arguments.
    ///
    /// Fails when `parameters` is not a valid JSON Schema.
    pub fn new<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: F,
    ) -> crate::Result<Tool>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ToolOutput> + Send + 'static,
    {
        Self::with_handler(name, description, parameters, Arc::new(FnHandler(handler)))
    }

    /// A tool whose arguments arrive as a typed struct; its JSON Schema is derived with schemars.
    pub fn typed<A, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> crate::Result<Tool>
    where
        A: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ToolOutput> + Send + 'static,
    {
        let schema = crate::schema::schema_for::<A>();
        let handler = Arc::new(handler);
        Self::new(name, description, schema, move |args: Value| {
            let handler = handler.clone();
            async move {
                match serde_json::from_value::<A>(args) {
                    Ok(a) => handler(a).await,
                    Err(e) => Err(format!("invalid arguments: {e}")),
                }
            }
        })
    }

    /// A tool with any [`ToolHandler`].
    pub fn with_handler(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: Arc<dyn ToolHandler>,
    ) -> crate::Result<Tool> {
        let name = name.into();
        let validator = crate::schema::compile(&parameters)
            .map_err(|e| crate::Error::Usage(format!("tool '{name}': {e}")))?;
        Ok(Tool {
            spec: ToolSpec {
                name,
                description: description.into(),
                parameters,
            },
            validator: Arc::new(validator),
            handler,
            confirm: false,
        })
    }

    /// Whether each call must be approved first (by the agent's
    /// [`approve_tool`](crate::AgentBuilder::approve_tool) callback; refused without one).
    #[must_use]
    pub fn confirm(mut self, yes: bool) -> Tool {
        self.confirm = yes;
        self
    }

    /// True when calls need approval.
    pub fn needs_confirmation(&self) -> bool {
        self.confirm
    }

    /// Check the model's arguments against the schema: `Err` is the error result the model sees.
    pub fn check(&self, arguments: &Value) -> std::result::Result<(), String> {
        let errors = crate::schema::errors(&self.validator, arguments);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("invalid arguments: {}", errors.join("; ")))
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The declaration sent to providers.
    pub fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    /// Validate the model's arguments, then run the handler. Invalid arguments are not run:
    /// they come back as an error result so the model can correct itself.
    pub async fn invoke(&self, arguments: Value, session_id: &str) -> ToolOutput {
        self.check(&arguments)?;
        self.handler.call(arguments, session_id).await
    }

    /// The handler's [`ToolHandler::fatal`].
    pub(crate) fn fatal(&self) -> Option<String> {
        self.handler.fatal()
    }

    /// Run the handler on arguments that already passed [`Tool::check`].
    pub(crate) async fn call_checked(&self, arguments: Value, session_id: &str) -> ToolOutput {
        self.handler.call(arguments, session_id).await
    }
}
