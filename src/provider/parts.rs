//! Attachments on the wire: each protocol's native form for images, PDFs and text files, and
//! what each provider accepts (types and sizes), checked before any request.
//!
//! The attachments of a user message go first, in the order given, then its text: Anthropic
//! advises images before text (<https://docs.anthropic.com/en/docs/build-with-claude/vision>,
//! "Claude works best when images come before text"), and one order for every protocol keeps a
//! conversation the same when it moves between providers.

use serde_json::{json, Value};

use crate::{Attachment, AttachmentKind, Error, Message, Result};

const MB: u64 = 1 << 20;

/// A text attachment as the model reads it: its name, then its text.
pub(crate) fn text_part(a: &Attachment) -> String {
    format!(
        "[file: {}]\n{}",
        a.display_name(),
        a.text().unwrap_or_default()
    )
}

/// What goes instead of an attachment whose bytes are not loaded (a summary request), so the
/// model still knows something was there.
fn missing(a: &Attachment) -> String {
    format!(
        "[attachment {} ({}) not loaded]",
        a.display_name(),
        a.media_type
    )
}

/// The bytes as a `data:` URL (OpenAI `image_url.url` and `file.file_data`).
fn data_url(a: &Attachment, b64: &str) -> String {
    format!("data:{};base64,{b64}", a.media_type)
}

/// Anthropic Messages content blocks for the attachments of `m`: `image` and `document` blocks
/// with a base64 source (<https://docs.anthropic.com/en/docs/build-with-claude/vision>,
/// <https://docs.anthropic.com/en/docs/build-with-claude/pdf-support>), text files as `text`.
pub(crate) fn anthropic(m: &Message) -> Vec<Value> {
    m.attachments
        .iter()
        .map(|a| match (a.kind(), a.base64()) {
            (Some(AttachmentKind::Text), Some(_)) => json!({"type": "text", "text": text_part(a)}),
            (Some(AttachmentKind::Image), Some(data)) => json!({"type": "image", "source": {
                "type": "base64", "media_type": a.media_type, "data": data}}),
            (Some(AttachmentKind::Pdf), Some(data)) => json!({"type": "document", "source": {
                "type": "base64", "media_type": a.media_type, "data": data}}),
            _ => json!({"type": "text", "text": missing(a)}),
        })
        .collect()
}

/// An OpenAI Chat Completions user message's `content`: the plain string without attachments,
/// else an array of parts: `image_url` with a data URL
/// (<https://developers.openai.com/api/docs/guides/images-vision>), `file` with `filename` and
/// `file_data` for PDFs (<https://developers.openai.com/api/docs/guides/file-inputs>: Chat
/// Completions takes only PDFs as files), and text files as `text` parts, as that page advises.
pub(crate) fn openai_content(m: &Message) -> Value {
    if m.attachments.is_empty() {
        return json!(m.content);
    }
    let mut parts: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| match (a.kind(), a.base64()) {
            (Some(AttachmentKind::Text), Some(_)) => json!({"type": "text", "text": text_part(a)}),
            (Some(AttachmentKind::Image), Some(b64)) => {
                json!({"type": "image_url", "image_url": {"url": data_url(a, &b64)}})
            }
            (Some(AttachmentKind::Pdf), Some(b64)) => json!({"type": "file", "file": {
                "filename": a.display_name(), "file_data": data_url(a, &b64)}}),
            _ => json!({"type": "text", "text": missing(a)}),
        })
        .collect();
    if !m.content.is_empty() {
        parts.push(json!({"type": "text", "text": m.content}));
    }
    Value::Array(parts)
}

/// The same for the OpenAI Responses API, whose user content parts are `input_text`,
/// `input_image` (`image_url` a data URL) and `input_file` (`filename`, `file_data` a data URL)
/// (<https://developers.openai.com/api/docs/guides/file-inputs?api-mode=responses>).
pub fn openai_responses_content(m: &Message) -> Value {
    let mut parts: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| match (a.kind(), a.base64()) {
            (Some(AttachmentKind::Text), Some(_)) => {
                json!({"type": "input_text", "text": text_part(a)})
            }
            (Some(AttachmentKind::Image), Some(b64)) => {
                json!({"type": "input_image", "image_url": data_url(a, &b64)})
            }
            (Some(AttachmentKind::Pdf), Some(b64)) => json!({"type": "input_file",
                "filename": a.display_name(), "file_data": data_url(a, &b64)}),
            _ => json!({"type": "input_text", "text": missing(a)}),
        })
        .collect();
    if !m.content.is_empty() || parts.is_empty() {
        parts.push(json!({"type": "input_text", "text": m.content}));
    }
    Value::Array(parts)
}

/// Gemini parts for the attachments of `m`: `inlineData` with `mimeType` and base64 `data`, for
/// images and PDFs alike (<https://ai.google.dev/gemini-api/docs/image-understanding>,
/// <https://ai.google.dev/gemini-api/docs/document-processing>); text files as `text` parts.
pub(crate) fn gemini(m: &Message) -> Vec<Value> {
    m.attachments
        .iter()
        .map(|a| match (a.kind(), a.base64()) {
            (Some(AttachmentKind::Text), Some(_)) => json!({"text": text_part(a)}),
            (Some(_), Some(data)) => {
                json!({"inlineData": {"mimeType": a.media_type, "data": data}})
            }
            _ => json!({"text": missing(a)}),
        })
        .collect()
}

/// An Ollama `/api/chat` user message: text files go before the text in `content`, images in
/// `images`, a list of base64 strings (<https://docs.ollama.com/api/chat>, `messages[].images`).
pub(crate) fn ollama_user(m: &Message) -> Value {
    let mut text = String::new();
    let mut images = Vec::new();
    for a in &m.attachments {
        match (a.kind(), a.base64()) {
            (Some(AttachmentKind::Image), Some(b64)) => images.push(Value::String(b64)),
            (Some(AttachmentKind::Text), Some(_)) => {
                text.push_str(&text_part(a));
                text.push_str("\n\n");
            }
            _ => {
                text.push_str(&missing(a));
                text.push_str("\n\n");
            }
        }
    }
    text.push_str(&m.content);
    let mut msg = json!({"role": "user", "content": text});
    if !images.is_empty() {
        msg["images"] = Value::Array(images);
    }
    msg
}

/// The largest attachment of each kind a protocol takes, in bytes of the file (`None`: the kind
/// is refused), and where that comes from.
fn limit(protocol: &str, kind: AttachmentKind) -> Option<u64> {
    match (protocol, kind) {
        // Text goes as text; the prompt's own bound applies.
        (_, AttachmentKind::Text) => Some(crate::limits::MAX_PROMPT_BYTES as u64),
        // "image exceeds 5 MB maximum: … > 5242880 bytes", measured on the base64 data
        // (https://github.com/anthropics/claude-code/issues/14887): 3.75 MiB of file.
        ("anthropic", AttachmentKind::Image) => Some(5 * MB * 3 / 4),
        // "Maximum request size: 32MB" (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support).
        ("anthropic", AttachmentKind::Pdf) => Some(32 * MB * 3 / 4),
        // "Up to 50 MB total payload size per request"
        // (https://developers.openai.com/api/docs/guides/images-vision).
        ("openai", AttachmentKind::Image) => Some(50 * MB * 3 / 4),
        // 32 MB per PDF: the file-inputs guide's limit
        // (https://developers.openai.com/api/docs/guides/file-inputs; the stored copy does not
        // restate it, ComfyUI's OpenAI node documents the same: https://docs.comfy.org/built-in-nodes/OpenAIInputFiles).
        ("openai", AttachmentKind::Pdf) => Some(32 * MB),
        // Inline data: "PDFs are limited to 50MB for this method"
        // (https://ai.google.dev/gemini-api/docs/file-input-methods); images the same.
        ("gemini", _) => Some(50 * MB * 3 / 4),
        // `images` only (https://docs.ollama.com/api/chat); no documented size limit.
        ("ollama", AttachmentKind::Image) => Some(crate::limits::MAX_ATTACHMENT_BYTES),
        ("ollama", AttachmentKind::Pdf) => None,
        _ => Some(crate::limits::MAX_ATTACHMENT_BYTES),
    }
}

/// Refuse, before any request, an attachment `provider` (of wire `protocol`) cannot take.
pub(crate) fn check(protocol: &str, provider: &str, a: &Attachment) -> Result<()> {
    let Some(kind) = a.kind() else {
        return Err(Error::usage(format!(
            "attachment {}: type {} is not supported by this agent",
            a.display_name(),
            a.media_type
        )));
    };
    match limit(protocol, kind) {
        None => Err(Error::usage(format!(
            "provider '{provider}' ({protocol}) cannot take {} attachments: {} is {}",
            kind.as_str(),
            a.display_name(),
            a.media_type
        ))),
        Some(max) if a.size > max => Err(Error::usage(format!(
            "attachment {} is {}, over {protocol}'s limit of {} for {} attachments",
            a.display_name(),
            crate::attachment::human_size(a.size),
            crate::attachment::human_size(max),
            kind.as_str()
        ))),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Attachment {
        Attachment::from_bytes(&b"\x89PNG\r\n\x1a\nxx"[..], None)
            .unwrap()
            .named("a.png")
    }

    #[test]
    fn responses_parts_follow_the_reference() {
        let pdf = Attachment::from_bytes(&b"%PDF-1.4"[..], None)
            .unwrap()
            .named("c.pdf");
        let m = Message::user("hi").attach(png()).attach(pdf);
        assert_eq!(
            openai_responses_content(&m),
            json!([
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgp4eA=="},
                {"type": "input_file", "filename": "c.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQ="},
                {"type": "input_text", "text": "hi"},
            ])
        );
    }

    #[test]
    fn unloaded_attachments_go_as_a_note() {
        let stored: Attachment =
            serde_json::from_value(serde_json::to_value(png()).unwrap()).unwrap();
        let m = Message::user("").attach(stored);
        assert_eq!(
            gemini(&m),
            vec![json!({"text": "[attachment a.png (image/png) not loaded]"})]
        );
    }

    #[test]
    fn limits_refuse_before_sending() {
        let pdf = Attachment::from_bytes(&b"%PDF-1.4"[..], None)
            .unwrap()
            .named("c.pdf");
        let err = check("ollama", "local", &pdf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "provider 'local' (ollama) cannot take pdf attachments: c.pdf is application/pdf"
        );
        check("anthropic", "anthropic", &pdf).unwrap();
        let big = Attachment::from_bytes(vec![0u8; 4 << 20], Some("image/png"))
            .unwrap()
            .named("big.png");
        let err = check("anthropic", "anthropic", &big).unwrap_err();
        assert!(
            err.to_string().contains("over anthropic's limit of 3.9 MB"),
            "{err}"
        );
        check("openai", "openai", &big).unwrap();
    }
}
