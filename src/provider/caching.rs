//! Prompt caching breakpoints for Anthropic, placed by the agent itself
//! (<https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>): at most 4 per
//! request; this places 3, on the last tool, on the system prompt and on the last block of the
//! last message (which moves forward every turn, so each turn reads the prefix the last one
//! wrote and extends it). Thinking blocks cannot carry `cache_control`, so a breakpoint that
//! would land on one goes to the block before it. Nothing else in the body changes, so the
//! bytes before each breakpoint are the same from turn to turn.

use serde_json::{json, Map, Value};

use super::CacheTtl;

/// The beta flag the 1-hour lifetime needs (prompt-caching docs, "1-hour cache duration").
const EXTENDED_TTL_BETA: &str = "extended-cache-ttl-2025-04-11";

/// `{type: ephemeral}`, with `ttl: "1h"` for the hour.
fn control(ttl: CacheTtl) -> Value {
    match ttl {
        CacheTtl::FiveMinutes => json!({"type": "ephemeral"}),
        CacheTtl::OneHour => json!({"type": "ephemeral", "ttl": "1h"}),
    }
}

/// The request headers a lifetime needs.
pub(crate) fn anthropic_beta(ttl: Option<CacheTtl>) -> &'static [(&'static str, &'static str)] {
    match ttl {
        Some(CacheTtl::OneHour) => &[("anthropic-beta", EXTENDED_TTL_BETA)],
        _ => &[],
    }
}

/// Put the breakpoints on a Messages request body.
pub(crate) fn anthropic_breakpoints(body: &mut Map<String, Value>, ttl: CacheTtl) {
    let mark = control(ttl);
    if let Some(tool) = body
        .get_mut("tools")
        .and_then(Value::as_array_mut)
        .and_then(|t| t.last_mut())
    {
        tool["cache_control"] = mark.clone();
    }
    // The system prompt as one text block, which can carry the mark.
    if let Some(Value::String(system)) = body.get("system") {
        let block = json!([{"type": "text", "text": system, "cache_control": mark.clone()}]);
        body.insert("system".into(), block);
    }
    let last = body
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .and_then(|m| m.last_mut())
        .and_then(|m| m["content"].as_array_mut());
    if let Some(block) = last.and_then(|blocks| {
        blocks
            .iter_mut()
            .rev()
            .find(|b| !matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking")))
    }) {
        block["cache_control"] = mark;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_breakpoints_never_on_thinking() {
        let mut body = json!({
            "system": "be brief",
            "tools": [{"name": "a"}, {"name": "b"}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "x"},
                    {"type": "thinking", "thinking": "t", "signature": "s"}
                ]}
            ]
        });
        anthropic_breakpoints(body.as_object_mut().unwrap(), CacheTtl::OneHour);
        let mark = json!({"type": "ephemeral", "ttl": "1h"});
        assert_eq!(body["tools"][1]["cache_control"], mark);
        assert!(body["tools"][0].get("cache_control").is_none());
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "be brief", "cache_control": mark}])
        );
        assert_eq!(body["messages"][1]["content"][0]["cache_control"], mark);
        assert!(body["messages"][1]["content"][1]
            .get("cache_control")
            .is_none());
        assert!(body["messages"][0]["content"][0]
            .get("cache_control")
            .is_none());
        assert_eq!(anthropic_beta(Some(CacheTtl::OneHour)).len(), 1);
        assert!(anthropic_beta(Some(CacheTtl::FiveMinutes)).is_empty());
    }
}
