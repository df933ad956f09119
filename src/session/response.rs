//! What a successful turn returns.

use serde_json::Value;

use crate::Usage;

/// The result of a successful turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The session the turn belongs to.
    pub session_id: String,
    /// The reply text.
    pub text: String,
    /// The reasoning the model showed during the turn (every step's, in order), if any.
    pub reasoning: Option<String>,
    /// Tokens used by every request of the turn, when the provider reported them.
    pub usage: Option<Usage>,
    /// The model that answered.
    pub model: Option<String>,
    /// Why the model stopped.
    pub finish_reason: Option<String>,
    /// The validated JSON value (structured turns).
    pub json: Option<Value>,
    /// Model requests made for the answer (more than 1 after JSON corrections).
    pub attempts: u32,
    /// What the turn cost in US dollars, when every model's price is known.
    pub cost_usd: Option<f64>,
}

/// The result of a structured turn: the typed output and the response it came from.
#[derive(Debug, Clone)]
pub struct JsonResponse<T> {
    /// The reply, deserialized.
    pub output: T,
    /// The reply as JSON.
    pub value: Value,
    /// The underlying response.
    pub response: Response,
}
