//! Reasoning effort and prompt-cache lifetime, provider-neutral, and how each wire protocol
//! spells them. The request builders call these functions; the tables live here alone.

use std::fmt;

use serde_json::{json, Map, Value};

/// How hard a model should reason before it answers (`--reasoning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effort {
    /// No reasoning (models that cannot turn it off answer with their own error).
    None,
    /// The least a reasoning model does.
    Minimal,
    /// Some.
    Low,
    /// The usual default of reasoning models.
    Medium,
    /// The most.
    High,
}

impl Effort {
    /// The name as the CLI, the config and OpenAI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
        }
    }

    /// Anthropic's thinking budget for this effort, in tokens. The API's minimum is 1,024 and
    /// the budget must stay below `max_tokens`
    /// (<https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking>); the steps
    /// keep `high` plus the default reply room under the 32,000-token output cap of the
    /// smallest current model.
    pub fn anthropic_budget(self) -> u32 {
        match self {
            Effort::None => 0,
            Effort::Minimal => 1024,
            Effort::Low => 4096,
            Effort::Medium => 12288,
            Effort::High => 24576,
        }
    }

    /// Gemini 2.5's `thinkingBudget` for this effort (0 turns thinking off on Flash; Pro
    /// answers 400, its own error), the same steps as Anthropic's.
    fn gemini_budget(self) -> u32 {
        self.anthropic_budget()
    }
}

impl fmt::Display for Effort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Effort {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "none" => Effort::None,
            "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            other => {
                return Err(crate::Error::usage(format!(
                "invalid reasoning effort '{other}' (expected none, minimal, low, medium or high)"
            )))
            }
        })
    }
}

/// Reasoning asked of one request: an effort, and optionally an exact token budget
/// (`--thinking-budget`, for the protocols that take one: Anthropic, Gemini 2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reasoning {
    /// The effort.
    pub effort: Effort,
    /// A budget in tokens that overrides the effort's.
    pub budget: Option<u32>,
}

impl Reasoning {
    /// Reasoning at `effort`, the budget its table gives.
    pub fn effort(effort: Effort) -> Self {
        Reasoning {
            effort,
            budget: None,
        }
    }

    /// Anthropic's budget, `None` when thinking is off.
    pub(crate) fn thinking_budget(&self) -> Option<u32> {
        if self.effort == Effort::None {
            return None;
        }
        Some(self.budget.unwrap_or(self.effort.anthropic_budget()))
    }
}

/// How long Anthropic keeps a cached prefix (`--cache-ttl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheTtl {
    /// Five minutes, refreshed by every read (writes bill at 1.25x input).
    #[default]
    FiveMinutes,
    /// One hour (writes bill at 2x input).
    OneHour,
}

impl std::str::FromStr for CacheTtl {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "5m" => Ok(CacheTtl::FiveMinutes),
            "1h" => Ok(CacheTtl::OneHour),
            other => Err(crate::Error::usage(format!(
                "invalid cache lifetime '{other}' (expected 5m or 1h)"
            ))),
        }
    }
}

/// Anthropic: `thinking: {type: enabled, budget_tokens}` or `{type: disabled}`, and the
/// `max_tokens` to send with it, which must exceed the budget
/// (<https://docs.anthropic.com/en/api/messages>, `thinking`). A `--max-tokens` at or under
/// the budget is taken as the reply's own room on top of it; without one the reply gets the
/// default room on top.
pub(crate) fn anthropic_thinking(
    reasoning: &Reasoning,
    max_tokens: Option<u32>,
    default_max: u32,
) -> (Value, u32) {
    match reasoning.thinking_budget() {
        None => (
            json!({"type": "disabled"}),
            max_tokens.unwrap_or(default_max),
        ),
        Some(budget) => {
            let max = match max_tokens {
                Some(m) if m > budget => m,
                Some(m) => budget.saturating_add(m),
                None => budget.saturating_add(default_max),
            };
            (json!({"type": "enabled", "budget_tokens": budget}), max)
        }
    }
}

/// OpenAI Chat Completions: `reasoning_effort` takes the effort's name
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort>).
pub(crate) fn chat_effort(reasoning: &Reasoning) -> Value {
    json!(reasoning.effort.as_str())
}

/// OpenAI Responses: `reasoning: {effort, summary: "auto"}`, the summary so there is reasoning
/// to show (<https://platform.openai.com/docs/api-reference/responses/create#responses-create-reasoning>).
pub(crate) fn responses_reasoning(reasoning: &Reasoning) -> Value {
    if reasoning.effort == Effort::None {
        return json!({"effort": "none"});
    }
    json!({"effort": reasoning.effort.as_str(), "summary": "auto"})
}

/// Whether an OpenAI model reasons (o-series, gpt-5 and later, not the `-chat` variants):
/// only those accept `include: ["reasoning.encrypted_content"]`; others answer 400 "Encrypted
/// content is not supported with this model" (reported in
/// github.com/ShishirPatil/gorilla/issues/1148 for gpt-4o).
pub(crate) fn openai_reasons(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    let family = ["o1", "o3", "o4", "gpt-5", "gpt-6"]
        .iter()
        .any(|p| m.starts_with(p));
    family && !m.contains("-chat")
}

/// Gemini: `generationConfig.thinkingConfig`. Gemini 2.5 takes a `thinkingBudget` (0 is off);
/// Gemini 3 and later a `thinkingLevel` (the two together are a 400); `includeThoughts: true`
/// returns thought summaries (<https://ai.google.dev/gemini-api/docs/thinking>).
pub(crate) fn gemini_thinking(reasoning: &Reasoning, model: &str) -> Value {
    let model = model.strip_prefix("models/").unwrap_or(model);
    let budgeted = model.starts_with("gemini-2") || reasoning.budget.is_some();
    let mut config = Map::new();
    if reasoning.effort == Effort::None {
        if budgeted || model.starts_with("gemini-2") {
            config.insert("thinkingBudget".into(), json!(0));
        } else {
            config.insert("thinkingLevel".into(), json!("minimal"));
        }
        return Value::Object(config);
    }
    if budgeted {
        let budget = reasoning.budget.unwrap_or(reasoning.effort.gemini_budget());
        config.insert("thinkingBudget".into(), json!(budget));
    } else {
        config.insert("thinkingLevel".into(), json!(reasoning.effort.as_str()));
    }
    config.insert("includeThoughts".into(), json!(true));
    Value::Object(config)
}

/// Ollama: `think` is `true`/`false`, or for gpt-oss a level (`low`, `medium`, `high`), which
/// that model needs because it cannot turn reasoning off
/// (<https://docs.ollama.com/capabilities/thinking>).
pub(crate) fn ollama_think(reasoning: &Reasoning, model: &str) -> Value {
    match reasoning.effort {
        Effort::None => json!(false),
        effort if model.starts_with("gpt-oss") => match effort {
            Effort::Minimal | Effort::Low => json!("low"),
            Effort::Medium => json!("medium"),
            _ => json!("high"),
        },
        _ => json!(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_budget_and_room() {
        let r = Reasoning::effort(Effort::Low);
        assert_eq!(
            anthropic_thinking(&r, None, 4096),
            (json!({"type": "enabled", "budget_tokens": 4096}), 8192)
        );
        assert_eq!(anthropic_thinking(&r, Some(10_000), 4096).1, 10_000);
        assert_eq!(anthropic_thinking(&r, Some(500), 4096).1, 4596);
        let exact = Reasoning {
            effort: Effort::High,
            budget: Some(2000),
        };
        assert_eq!(
            anthropic_thinking(&exact, None, 4096).0["budget_tokens"],
            2000
        );
        let off = Reasoning::effort(Effort::None);
        assert_eq!(
            anthropic_thinking(&off, None, 4096),
            (json!({"type": "disabled"}), 4096)
        );
    }

    #[test]
    fn gemini_levels_and_budgets() {
        let r = Reasoning::effort(Effort::High);
        assert_eq!(
            gemini_thinking(&r, "gemini-3-pro-preview"),
            json!({"thinkingLevel": "high", "includeThoughts": true})
        );
        assert_eq!(
            gemini_thinking(&r, "gemini-2.5-flash"),
            json!({"thinkingBudget": 24576, "includeThoughts": true})
        );
        let off = Reasoning::effort(Effort::None);
        assert_eq!(
            gemini_thinking(&off, "gemini-2.5-flash"),
            json!({"thinkingBudget": 0})
        );
    }

    #[test]
    fn which_openai_models_reason() {
        assert!(openai_reasons("gpt-5-mini"));
        assert!(openai_reasons("o4-mini"));
        assert!(openai_reasons("openai/gpt-5.1"));
        assert!(!openai_reasons("gpt-4o-mini"));
        assert!(!openai_reasons("gpt-5-chat-latest"));
    }

    #[test]
    fn ollama_think_values() {
        let r = Reasoning::effort(Effort::Minimal);
        assert_eq!(ollama_think(&r, "qwen3"), json!(true));
        assert_eq!(ollama_think(&r, "gpt-oss:20b"), json!("low"));
        assert_eq!(
            ollama_think(&Reasoning::effort(Effort::None), "qwen3"),
            json!(false)
        );
        assert!("max".parse::<Effort>().is_err());
    }
}
