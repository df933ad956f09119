//! Spending limits of a turn: its own (`RunOptions::max_cost_usd`) and its session's lifetime
//! budget (`SessionData::budget_usd`, against the session's known cost). Checked before every
//! request of the turn, tool rounds and correction turns included: a limit reached stops the
//! turn before the next request, and the first request is refused when its input alone is
//! estimated past a limit.

use super::context;
use crate::provider::Request;
use crate::{Agent, Error, Result, Usage};

/// A turn's limits and what it has spent so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spending {
    turn_limit: Option<f64>,
    /// The session's id, budget, and what it had cost before this turn.
    session: Option<(String, f64, f64)>,
    spent: f64,
}

impl Spending {
    pub(crate) fn new(turn_limit: Option<f64>, id: &str, budget: Option<f64>, before: f64) -> Self {
        Spending {
            turn_limit,
            session: budget.map(|b| (id.to_string(), b, before)),
            spent: 0.0,
        }
    }

    fn limited(&self) -> bool {
        self.turn_limit.is_some() || self.session.is_some()
    }

    /// Count what one request cost.
    pub(crate) fn add(&mut self, cost: Option<f64>) {
        self.spent += cost.unwrap_or(0.0);
    }

    /// May request number `step` (from 1) go out?
    pub(crate) fn check(&self, agent: &Agent, request: &Request, step: u32) -> Result<()> {
        if !self.limited() {
            return Ok(());
        }
        if agent.prices().price(&request.model).is_none() {
            return Err(Error::Usage(format!(
                "model '{}' has no known price, and a spending limit needs one (configure its price)",
                request.model
            )));
        }
        // The first request's input alone, at the model's input price.
        let estimate = (step == 1).then(|| {
            let tokens = context::estimate_request(request.system.as_deref(), &request.messages);
            let input = Usage {
                input_tokens: tokens,
                ..Usage::default()
            };
            agent.prices().cost(&request.model, &input).unwrap_or(0.0)
        });
        let limits = [
            self.turn_limit
                .map(|l| ("this turn's limit".to_string(), l, self.spent)),
            self.session.as_ref().map(|(id, budget, before)| {
                (
                    format!("session '{id}' budget"),
                    *budget,
                    before + self.spent,
                )
            }),
        ];
        for (what, limit, spent) in limits.into_iter().flatten() {
            let next = if step == 1 {
                "the first request".to_string()
            } else {
                format!("request {step}")
            };
            let over = spent >= limit || estimate.is_some_and(|e| spent + e > limit);
            if over {
                return Err(Error::OverBudget {
                    what,
                    spent,
                    limit,
                    next,
                    estimate: estimate.filter(|_| spent < limit),
                });
            }
        }
        Ok(())
    }
}
