//! `Stats`: totals over a session's history, for `session stats` and `ls --usage`.

use crate::document::SessionData;

/// Totals over a session's history (archived messages included).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// The session id.
    pub id: String,
    /// User turns.
    pub turns: usize,
    /// Messages in the history (not counting the archive).
    pub messages: usize,
    /// Messages replaced by a summary.
    pub archived: usize,
    /// Prompt tokens over every reply that reported them.
    pub input_tokens: u64,
    /// Completion tokens over every reply that reported them.
    pub output_tokens: u64,
    /// Known cost in US dollars (replies of unpriced models add nothing).
    pub cost_usd: f64,
    /// Replies whose model has no known price.
    pub unpriced_replies: usize,
    /// The session's lifetime budget, when it has one ([`SessionData::budget_usd`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// Models that answered, in order of first use.
    pub models: Vec<String>,
    /// The first message's time.
    pub first_activity: Option<String>,
    /// The session's last change.
    pub last_activity: String,
}

impl Stats {
    /// The totals of a document.
    pub fn of(data: &SessionData) -> Stats {
        let all = || data.archive.iter().chain(&data.messages);
        let mut stats = Stats {
            id: data.id.clone(),
            messages: data.messages.len(),
            archived: data.archive.len(),
            last_activity: data.updated_at.clone(),
            budget_usd: data.budget_usd,
            first_activity: all().find_map(|m| m.created_at.clone()),
            ..Stats::default()
        };
        for m in all() {
            match m.role {
                crate::Role::User => stats.turns += 1,
                crate::Role::Assistant => {
                    if let Some(u) = &m.usage {
                        stats.input_tokens += u.input_tokens;
                        stats.output_tokens += u.output_tokens;
                        match m.cost_usd {
                            Some(c) => stats.cost_usd += c,
                            None => stats.unpriced_replies += 1,
                        }
                    }
                    if let Some(model) = &m.model {
                        if !stats.models.contains(model) {
                            stats.models.push(model.clone());
                        }
                    }
                }
                crate::Role::Tool => {}
            }
        }
        stats.cost_usd = crate::pricing::round_usd(stats.cost_usd);
        stats
    }
}
