//! The session document: what a store keeps for one conversation, versioned and validated.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::tool::ExecSpec;
use crate::{Error, Message, Result, Role};

/// The document format version this build writes.
pub const VERSION: u64 = 1;

/// Where a forked session came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForkedFrom {
    /// The source session's id.
    pub id: String,
    /// How many of the source's messages were copied.
    pub messages: usize,
    /// When the fork was made.
    pub at: String,
}

/// A turn that failed: kept outside `messages` (never sent to the model) so nothing typed is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedTurn {
    /// The user prompt that was sent.
    pub prompt: String,
    /// Whatever reply text arrived before the failure.
    #[serde(default)]
    pub partial: String,
    /// Why it failed, one line.
    pub error: String,
    /// When it failed.
    pub at: String,
}

/// One session, exactly as stored (`agent session export` prints it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// Format version ([`VERSION`]).
    pub version: u64,
    /// The session id.
    pub id: String,
    /// A title for listings.
    #[serde(default)]
    pub title: Option<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339); `ls` sorts by it.
    pub updated_at: String,
    /// The provider new turns use unless told otherwise.
    #[serde(default)]
    pub provider: Option<String>,
    /// The model new turns use unless told otherwise.
    #[serde(default)]
    pub model: Option<String>,
    /// The system prompt, sent first on every turn.
    #[serde(default)]
    pub system: Option<String>,
    /// Stored request options (`temperature`, `max_tokens`).
    #[serde(default)]
    pub options: Map<String, Value>,
    /// The conversation.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// The source of a fork.
    #[serde(default)]
    pub forked_from: Option<ForkedFrom>,
    /// The last failed turn, kept for `agent session retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_turn: Option<FailedTurn>,
    /// A summary of compacted history, sent after the system prompt on every turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Messages replaced by `summary`: never sent again, kept so nothing is lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archive: Vec<Message>,
    /// Executable tools the session was created with, by definition, so later turns can call
    /// them without naming the files again. Not run by the library on its own: a program (the
    /// CLI) turns them into tools with [`crate::tool::ExecTool`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ExecSpec>,
    /// MCP servers the session was created with, by definition (as with `tools`, the CLI
    /// starts them; [`crate::mcp::McpServer`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<crate::mcp::McpSpec>,
    /// How long the session is kept after its last update (`"30d"`, `"12h"`): once that has
    /// passed, stores treat it as gone (Redis deletes it itself). `None`: the store's default
    /// (its URL's `?ttl=`), else for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// The most this session may cost over its lifetime, in US dollars: a turn stops before a
    /// request once the session's known cost reaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// Fields written by newer versions, preserved on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SessionData {
    /// An empty session with this id, stamped now.
    pub fn new(id: &str) -> Self {
        let now = crate::time::now();
        SessionData {
            version: VERSION,
            id: id.to_string(),
            title: None,
            created_at: now.clone(),
            updated_at: now,
            provider: None,
            model: None,
            system: None,
            options: Map::new(),
            messages: Vec::new(),
            forked_from: None,
            failed_turn: None,
            summary: None,
            archive: Vec::new(),
            tools: Vec::new(),
            mcp_servers: Vec::new(),
            ttl: None,
            budget_usd: None,
            extra: Map::new(),
        }
    }

    /// Parse and validate a stored document. `location` names it in errors (a path or key).
    pub fn from_value(value: Value, location: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidSession {
            location: location.to_string(),
            reason,
        };
        let version = value
            .get("version")
            .ok_or_else(|| invalid("not a session document (no \"version\" field)".into()))?;
        check_version(version.as_u64(), version).map_err(invalid)?;
        let data: SessionData =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        data.check().map_err(|e| invalid(e.to_string()))?;
        Ok(data)
    }

    /// Parse and validate a document from bytes, straight into the typed document (unknown
    /// fields kept); only a document that does not parse goes through a JSON value, to say
    /// precisely what is wrong with it.
    pub fn from_slice(bytes: &[u8], location: &str) -> Result<Self> {
        let data = match serde_json::from_slice::<SessionData>(bytes) {
            Ok(data) => data,
            Err(_) => {
                let value: Value =
                    serde_json::from_slice(bytes).map_err(|e| Error::InvalidSession {
                        location: location.to_string(),
                        reason: format!("not valid JSON: {e}"),
                    })?;
                return Self::from_value(value, location);
            }
        };
        let invalid = |reason: String| Error::InvalidSession {
            location: location.to_string(),
            reason,
        };
        if data.version > VERSION {
            return Err(invalid(format!(
                "document version {} was written by a newer agent (this one reads {VERSION})",
                data.version
            )));
        }
        if data.version != VERSION {
            return Err(invalid(format!(
                "unsupported document version {}",
                data.version
            )));
        }
        data.check().map_err(|e| invalid(e.to_string()))?;
        Ok(data)
    }

    /// The document as a JSON value (the specification's `to_dict`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a session document always serializes")
    }

    /// Structural checks serde cannot express.
    fn check(&self) -> Result<()> {
        validate_id(&self.id)?;
        if let Some(ttl) = &self.ttl {
            crate::time::parse_ttl(ttl)?;
        }
        for (i, m) in self.messages.iter().enumerate() {
            if m.role == Role::Tool && m.tool_call_id.is_none() {
                return Err(Error::usage(format!(
                    "message {i}: a tool message needs tool_call_id"
                )));
            }
        }
        Ok(())
    }

    /// Mark the document changed now.
    pub fn touch(&mut self) {
        self.updated_at = crate::time::now();
    }
}

/// This build reads documents of [`VERSION`] only; a newer one says so.
fn check_version(
    version: Option<u64>,
    shown: &dyn std::fmt::Display,
) -> std::result::Result<(), String> {
    match version {
        Some(VERSION) => Ok(()),
        Some(v) if v > VERSION => Err(format!(
            "document version {v} was written by a newer agent (this one reads {VERSION})"
        )),
        _ => Err(format!("unsupported document version {shown}")),
    }
}

/// Check a session id: `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`. Ids become file names and keys, so
/// anything else (`../x`, `a/b`, empty, NUL) is refused before a store is touched.
pub fn validate_id(id: &str) -> Result<()> {
    let bytes = id.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        let shown: String = id
            .chars()
            .take(40)
            .collect::<String>()
            .escape_debug()
            .to_string();
        let more = if id.chars().count() > 40 { "..." } else { "" };
        Err(Error::usage(format!(
            "invalid session id '{shown}{more}': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// What `ls` shows for one session, read without keeping the messages in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session id.
    pub id: String,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Stored provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// Stored model.
    #[serde(default)]
    pub model: Option<String>,
    /// Number of messages.
    #[serde(default)]
    pub message_count: usize,
    /// When the session expires (its TTL after its last update), if it has a TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// The summary fields of a stored document, with its messages counted, not kept.
#[derive(Deserialize)]
struct DocumentSummary {
    id: String,
    #[serde(default)]
    title: Option<String>,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default, deserialize_with = "count_seq")]
    messages: usize,
    #[serde(default)]
    ttl: Option<String>,
}

impl SessionSummary {
    /// The summary of a stored document's bytes, parsed without keeping any message text.
    pub fn from_document(bytes: &[u8]) -> serde_json::Result<Self> {
        let d: DocumentSummary = serde_json::from_slice(bytes)?;
        let expires_at = crate::time::expiry(&d.updated_at, d.ttl.as_deref());
        Ok(SessionSummary {
            id: d.id,
            title: d.title,
            created_at: d.created_at,
            updated_at: d.updated_at,
            provider: d.provider,
            expires_at,
            model: d.model,
            message_count: d.messages,
        })
    }

    /// The summary of a loaded document.
    pub fn of(data: &SessionData) -> Self {
        SessionSummary {
            id: data.id.clone(),
            title: data.title.clone(),
            created_at: data.created_at.clone(),
            updated_at: data.updated_at.clone(),
            provider: data.provider.clone(),
            model: data.model.clone(),
            message_count: data.messages.len(),
            expires_at: crate::time::expiry(&data.updated_at, data.ttl.as_deref()),
        }
    }
}

/// Counts a sequence's elements without building them: `ls` parses each file but allocates no
/// message text.
fn count_seq<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    struct Counter;
    impl<'de> serde::de::Visitor<'de> for Counter {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<usize, A::Error> {
            let mut n = 0;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(n)
        }
    }
    d.deserialize_seq(Counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in [
            "a",
            "A1",
            "20261125-142855-abcdef",
            "x.y_z-1",
            &"a".repeat(128),
        ] {
            validate_id(ok).unwrap();
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "-x",
            "a\0b",
            "a b",
            &"a".repeat(129),
        ] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let doc = serde_json::json!({
            "version": 1, "id": "s", "title": null, "created_at": "t", "updated_at": "t",
            "provider": null, "model": null, "system": null, "options": {},
            "messages": [{"role": "user", "content": "hi", "mood": "curious"}],
            "forked_from": null, "future_field": [1, 2]
        });
        let data = SessionData::from_value(doc.clone(), "test").unwrap();
        assert_eq!(data.to_value(), doc);
    }

    #[test]
    fn newer_versions_are_refused() {
        let err =
            SessionData::from_value(serde_json::json!({"version": 2, "id": "s"}), "p").unwrap_err();
        assert!(err.to_string().contains("newer agent"), "{err}");
        assert!(matches!(err, Error::InvalidSession { .. }), "{err}");
    }

    #[test]
    fn summary_counts_messages() {
        let mut data = SessionData::new("s");
        data.messages.push(Message::user("a"));
        data.messages.push(Message::assistant("b"));
        let bytes = serde_json::to_vec(&data).unwrap();
        let s = SessionSummary::from_document(&bytes).unwrap();
        assert_eq!(s, SessionSummary::of(&data));
        assert_eq!(s.message_count, 2);
    }
}
#[cfg(test)]
mod summary_serde {
    #[test]
    fn a_serialized_summary_reads_back() {
        let s: super::SessionSummary = serde_json::from_str(r#"{"id":"old","title":null,"created_at":"a","updated_at":"b","provider":"openai","model":"m","message_count":3}"#).unwrap();
        assert_eq!(s.message_count, 3);
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;
    use proptest::prelude::*;

    fn message() -> impl Strategy<Value = Message> {
        (
            prop_oneof![Just(Role::User), Just(Role::Assistant)],
            "\\PC{0,40}",
            proptest::option::of("[a-z0-9-]{1,12}"),
            proptest::collection::btree_map("x_[a-z]{1,6}", "[a-z ]{0,8}", 0..3),
        )
            .prop_map(|(role, content, model, extra)| {
                let mut m = Message::new(role, content);
                m.model = model;
                m.extra = extra
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                m
            })
    }

    proptest! {
        #[test]
        fn documents_survive_value_and_bytes(
            messages in proptest::collection::vec(message(), 0..6),
            system in proptest::option::of("\\PC{0,30}"),
            extra in proptest::collection::btree_map("z_[a-z]{1,6}", any::<i64>(), 0..3),
        ) {
            let mut data = SessionData::new("prop-1");
            data.system = system;
            data.messages = messages;
            data.extra = extra.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
            let value = data.to_value();
            prop_assert_eq!(&SessionData::from_value(value.clone(), "p").unwrap(), &data);
            let bytes = serde_json::to_vec_pretty(&value).unwrap();
            let again = SessionData::from_slice(&bytes, "p").unwrap();
            prop_assert_eq!(serde_json::to_vec_pretty(&again.to_value()).unwrap(), bytes);
        }
    }
}
