//! The cost budget at the HTTP edge (ADR 0024): `X-RateLimit-*` headers on
//! every GraphQL response (`Retry-After` on a 429), and `extensions.cost`
//! for clients that ask with `X-XPR-Cost: 1`. Spending, and the refusal over
//! budget, are `graphql/cost.rs`'s.

use async_graphql::{Response, Value};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::{
    app::AppState,
    graphql::cost::{Charge, Spender},
};

/// The request header that asks for `extensions.cost` (like Shopify's `Shopify-GraphQL-Cost-Debug`).
pub const COST: HeaderName = HeaderName::from_static("x-xpr-cost");
const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

pub fn wants_cost(headers: &HeaderMap) -> bool {
    headers.get(COST).is_some_and(|v| matches!(v.as_bytes(), b"1" | b"true"))
}

/// `extensions.cost`: the operation's cost, the per-operation maximum and the budget left.
pub fn cost_extension(response: &mut Response, charge: &Charge, maximum: u64) {
    let value = serde_json::json!({
        "requested": charge.cost,
        "maximum": maximum,
        "limit": charge.quota.limit,
        "remaining": charge.quota.remaining(),
        "resetAt": charge.reset_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    response.extensions.insert("cost".into(), Value::from_json(value).unwrap_or_default());
}

/// Sets the budget headers: the limit, what remains and the Unix time the window ends.
pub fn stamp(headers: &mut HeaderMap, charge: &Charge) {
    headers.insert(LIMIT, HeaderValue::from(charge.quota.limit));
    headers.insert(REMAINING, HeaderValue::from(charge.quota.remaining()));
    headers.insert(RESET, HeaderValue::from(charge.reset_at.timestamp()));
    if !charge.admitted() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(charge.quota.retry_after_secs()));
    }
}

/// The budget of a request that ended before spending (refused early): read, not spent.
pub async fn current(state: &AppState, spender: &Spender) -> Charge {
    crate::graphql::cost::spend(state, spender, 0).await
}
