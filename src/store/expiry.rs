//! Session expiry as a store applies it: a session whose TTL (its document's own `ttl`, else
//! the store's default from `?ttl=`) has run out since its last update is gone to every
//! method but [`super::SessionStore::expired`] and `delete`.

use std::time::Duration;

use serde_json::Value;

use crate::document::SessionSummary;

/// A store's default TTL for documents without their own.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Expiry {
    pub(crate) default: Option<Duration>,
}

impl Expiry {
    /// Give `summary` the store's default expiry when its document has no TTL of its own.
    pub(crate) fn fill(&self, summary: &mut SessionSummary) {
        if summary.expires_at.is_none() {
            if let Some(ttl) = self.default {
                summary.expires_at = crate::time::expiry_after(&summary.updated_at, ttl);
            }
        }
    }

    /// Whether a summary (after [`Self::fill`]) is past its expiry.
    pub(crate) fn is_gone(summary: &SessionSummary) -> bool {
        summary
            .expires_at
            .as_deref()
            .is_some_and(crate::time::is_past)
    }

    /// Whether a loaded document is past its expiry.
    pub(crate) fn doc_is_gone(&self, doc: &Value) -> bool {
        self.doc_expiry(doc)
            .as_deref()
            .is_some_and(crate::time::is_past)
    }

    /// Whether a parsed document is past its expiry.
    pub(crate) fn data_is_gone(&self, data: &crate::document::SessionData) -> bool {
        let at = match &data.ttl {
            Some(ttl) => crate::time::expiry(&data.updated_at, Some(ttl)),
            None => self
                .default
                .and_then(|ttl| crate::time::expiry_after(&data.updated_at, ttl)),
        };
        at.as_deref().is_some_and(crate::time::is_past)
    }

    /// When a document expires: its own TTL, else the store's default, after its last update.
    pub(crate) fn doc_expiry(&self, doc: &Value) -> Option<String> {
        let updated = doc.get("updated_at").and_then(Value::as_str).unwrap_or("");
        match doc.get("ttl").and_then(Value::as_str) {
            Some(ttl) => crate::time::expiry(updated, Some(ttl)),
            None => self
                .default
                .and_then(|ttl| crate::time::expiry_after(updated, ttl)),
        }
    }

    /// Keep the live summaries (filled with the default expiry), and the ids of the others.
    pub(crate) fn split(&self, all: Vec<SessionSummary>) -> (Vec<SessionSummary>, Vec<String>) {
        let mut live = Vec::with_capacity(all.len());
        let mut gone = Vec::new();
        for mut s in all {
            self.fill(&mut s);
            if Self::is_gone(&s) {
                gone.push(s.id);
            } else {
                live.push(s);
            }
        }
        (live, gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn own_ttl_beats_the_default() {
        let old = "2020-01-01T00:00:00.000Z";
        let e = Expiry::default();
        assert!(!e.doc_is_gone(&json!({"updated_at": old})), "no TTL: kept");
        assert!(e.doc_is_gone(&json!({"updated_at": old, "ttl": "1d"})));
        let e = Expiry {
            default: Some(Duration::from_secs(3600)),
        };
        assert!(e.doc_is_gone(&json!({"updated_at": old})));
        let now = crate::time::now();
        assert!(!e.doc_is_gone(&json!({"updated_at": now})));
        assert!(!e.doc_is_gone(&json!({"updated_at": old, "ttl": "100000d"})));
    }
}
