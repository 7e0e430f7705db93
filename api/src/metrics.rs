//! Prometheus metrics, served at `/metrics`. One registry per app so that
//! servers in the same process (tests) never mix their numbers.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub outcome: &'static str,
}

/// Why a request was refused before execution: `tokens`, `depth`,
/// `aliases`, `directives`, `fields`, `cost`, `rate_limit` or `persisted`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectedLabels {
    pub reason: &'static str,
}

/// How a subscription item was rendered: `shared` (another subscriber's
/// render of the same operation and item) or `own`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RenderLabels {
    pub render: &'static str,
}

/// Attached to a refusal (`ServerError::source`) so the metrics can name its reason.
#[derive(Debug, Clone, Copy)]
pub struct Rejected(pub &'static str);

pub struct Metrics {
    registry: Registry,
    /// SQL statements run on behalf of requests (background jobs use their own pool).
    pub db_statements: Counter,
    pub graphql_operations: Family<OperationLabels, Counter>,
    /// Cost points spent from clients' budgets (ADR 0024).
    pub cost_spent: Counter,
    pub rejected: Family<RejectedLabels, Counter>,
    pub subscription_items: Family<RenderLabels, Counter>,
    /// From an event reaching this process to its item rendered for a subscriber.
    pub delivery_lag: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("xpr");
        let db_statements = Counter::default();
        registry.register("db_statements", "SQL statements run by request handling", db_statements.clone());
        let graphql_operations = Family::default();
        registry.register("graphql_operations", "GraphQL operations executed", graphql_operations.clone());
        let cost_spent = Counter::default();
        registry.register("graphql_cost_spent", "Cost points spent by admitted GraphQL operations", cost_spent.clone());
        let rejected = Family::default();
        registry.register("graphql_rejected", "GraphQL requests refused before execution, by reason", rejected.clone());
        let subscription_items = Family::default();
        registry.register(
            "subscription_items",
            "Subscription items delivered, by render (shared or own)",
            subscription_items.clone(),
        );
        // 1 ms to 8 s.
        let delivery_lag = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        registry.register(
            "subscription_delivery_lag_seconds",
            "Seconds from an event reaching this process to its subscription item rendered",
            delivery_lag.clone(),
        );
        Self { registry, db_statements, graphql_operations, cost_spent, rejected, subscription_items, delivery_lag }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    pub fn delivered(&self, render: &'static str, lag: std::time::Duration) {
        self.subscription_items.get_or_create(&RenderLabels { render }).inc();
        self.delivery_lag.observe(lag.as_secs_f64());
    }

    pub fn reject(&self, reason: &'static str) {
        self.rejected.get_or_create(&RejectedLabels { reason }).inc();
    }
}
