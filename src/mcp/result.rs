//! A `tools/call` result as the model's tool result: text content joined, `isError` an error
//! result, images and other binary content described in one line, structured content as JSON
//! text; cut at [`OUTPUT_LIMIT`](crate::tool::OUTPUT_LIMIT) bytes like an executable's output.
//! Content types: <https://modelcontextprotocol.io/specification/2025-11-25/server/tools#tool-result>

use serde_json::Value;

use crate::tool::{ToolOutput, OUTPUT_LIMIT};

/// The tool result for a `CallToolResult` (as JSON).
pub(crate) fn output(result: &Value) -> ToolOutput {
    let mut parts: Vec<String> = Vec::new();
    for block in result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        parts.push(describe(block));
    }
    let mut text = parts.join("\n");
    if let Some(structured) = result.get("structuredContent") {
        let json = structured.to_string();
        // Servers should also send it as text: then it is there once.
        if !parts.iter().any(|p| {
            p.trim() == json || serde_json::from_str::<Value>(p).ok().as_ref() == Some(structured)
        }) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&json);
        }
    }
    let text = bounded(text);
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        Err(text)
    } else {
        Ok(text)
    }
}

/// One content block: its text, or a line saying what it is.
fn describe(block: &Value) -> String {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    let str_of = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" => str_of("text").to_string(),
        "image" | "audio" => {
            let data = str_of("data");
            let padding = data.bytes().rev().take_while(|&b| b == b'=').count();
            let bytes = (data.len() / 4 * 3).saturating_sub(padding);
            format!(
                "[{kind}: {}, about {bytes} bytes, not shown]",
                str_of("mimeType")
            )
        }
        "resource" => {
            let resource = block.get("resource").unwrap_or(&Value::Null);
            match resource.get("text").and_then(Value::as_str) {
                Some(text) => text.to_string(),
                None => format!(
                    "[resource: {}, binary, not shown]",
                    resource.get("uri").and_then(Value::as_str).unwrap_or("")
                ),
            }
        }
        "resource_link" => format!("[resource link: {} {}]", str_of("name"), str_of("uri")),
        other => format!("[{other} content, not shown]"),
    }
}

fn bounded(text: String) -> String {
    if text.len() <= OUTPUT_LIMIT {
        return text;
    }
    let mut cut = OUTPUT_LIMIT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n[output truncated: the server sent {} bytes; only the first {cut} are shown]",
        &text[..cut],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_errors_images_and_structure() {
        let r = json!({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]});
        assert_eq!(output(&r).unwrap(), "a\nb");
        let r = json!({"content": [{"type": "text", "text": "no"}], "isError": true});
        assert_eq!(output(&r).unwrap_err(), "no");
        let r = json!({"content": [{"type": "image", "data": "AAAA", "mimeType": "image/png"}]});
        assert_eq!(
            output(&r).unwrap(),
            "[image: image/png, about 3 bytes, not shown]"
        );
        let r = json!({"content": [], "structuredContent": {"t": 1}});
        assert_eq!(output(&r).unwrap(), "{\"t\":1}");
        let r = json!({"content": [{"type": "text", "text": "{\"t\": 1}"}], "structuredContent": {"t": 1}});
        assert_eq!(output(&r).unwrap(), "{\"t\": 1}");
    }

    #[test]
    fn long_results_are_cut_with_a_note() {
        let r = json!({"content": [{"type": "text", "text": "x".repeat(OUTPUT_LIMIT + 10)}]});
        let out = output(&r).unwrap();
        assert!(out.ends_with("the server sent 65546 bytes; only the first 65536 are shown]"));
    }
}
