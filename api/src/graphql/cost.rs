//! The cost budget (ADR 0024): each user, API token or anonymous client
//! address spends its operations' cost (computed in `limits.rs`) from a
//! number of points per window, through the shared `RateLimiter` (Redis when
//! configured, so the budget holds across replicas), over every transport
//! (ADR 0030). Owns the refusal over budget and the `rateLimit` query field
//! that shows the budget; the HTTP headers are `http/budget.rs`'s.

use std::time::Duration;

use async_graphql::{Context, Object, Response, SimpleObject};
use chrono::{DateTime, Timelike, Utc};
use sha2::{Digest, Sha256};

use crate::{
    app::AppState,
    auth::{Auth, ClientInfo, Credential},
    graphql::coded,
    metrics::Rejected,
    ratelimit::Quota,
};

/// Whose budget an operation spends; a WebSocket's or event stream's data
/// holds the one its operations spend from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spender(String);

impl Spender {
    /// A session spends its user's budget; an API token its own (keyed by a
    /// digest of the token, never the token); anyone else their address's.
    pub fn of(auth: &Auth, bearer: Option<&str>, client: &ClientInfo) -> Self {
        match (auth.viewer(), bearer) {
            (Some(viewer), Some(token)) if matches!(viewer.credential, Credential::ApiToken { .. }) => {
                let digest = Sha256::digest(token.as_bytes());
                Self(format!("cost:token:{}", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>()))
            }
            (Some(viewer), _) => Self(format!("cost:user:{}", viewer.uuid)),
            (None, _) => Self(format!("cost:addr:{}", client.address_key())),
        }
    }
}

/// An operation's cost and the budget after it, in the request's data for `rateLimit`.
#[derive(Debug, Clone, Copy)]
pub struct Charge {
    /// The operation's cost (0 when it was refused before its cost was known).
    pub cost: u64,
    pub quota: Quota,
    pub reset_at: DateTime<Utc>,
}

impl Charge {
    pub fn admitted(&self) -> bool {
        self.quota.admitted
    }
}

/// Spends `cost` from `spender`'s budget (0 only reads it).
pub async fn spend(state: &AppState, spender: &Spender, cost: u64) -> Charge {
    let config = &state.config;
    let window = Duration::from_secs(config.cost_budget_window_secs);
    let quota = state.limiter.spend(&spender.0, cost, config.cost_budget, window).await;
    if quota.admitted {
        state.metrics.cost_spent.inc_by(cost);
    }
    // Whole seconds, as the `X-RateLimit-Reset` header shows it.
    let reset_at = (Utc::now() + quota.reset_after).with_nanosecond(0).unwrap_or_default();
    Charge { cost, quota, reset_at }
}

/// The refusal of an operation the budget can't pay for.
pub fn over_budget(charge: &Charge) -> Response {
    let quota = &charge.quota;
    let mut error = coded(
        &format!(
            "the cost budget is spent: this operation costs {} points and {} of {} remain; retry after {} s",
            charge.cost,
            quota.remaining(),
            quota.limit,
            quota.retry_after_secs()
        ),
        "RATE_LIMITED",
    );
    error.extensions.get_or_insert_with(Default::default).set("retryAfter", quota.retry_after_secs());
    error.source = Some(std::sync::Arc::new(Rejected("rate_limit")));
    Response::from_errors(vec![error])
}

/// The viewer's budget, as GitHub's `rateLimit` shows it.
#[derive(SimpleObject)]
pub struct RateLimit {
    /// Points this operation cost: the objects it may return, lists counted at their `first`.
    cost: i32,
    /// Points the viewer may spend per window.
    limit: i32,
    /// Points spent in the current window, this operation included.
    used: i32,
    /// Points left in the current window.
    remaining: i32,
    /// When the window ends and `remaining` is back to `limit`.
    reset_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct RateLimitQuery;

#[Object]
impl RateLimitQuery {
    /// The viewer's cost budget after this operation (its cost included),
    /// over HTTP, WebSocket and event streams alike.
    async fn rate_limit(&self, ctx: &Context<'_>) -> Option<RateLimit> {
        let charge = ctx.data_opt::<Charge>()?;
        let int = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Some(RateLimit {
            cost: int(charge.cost),
            limit: int(charge.quota.limit),
            used: int(charge.quota.used),
            remaining: int(charge.quota.remaining()),
            reset_at: charge.reset_at,
        })
    }
}
