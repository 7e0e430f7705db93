//! Prometheus metrics, served at `/metrics`. One registry per app so that
//! servers in the same process (tests) never mix their numbers.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// SQL statements run on behalf of requests (background jobs use their own pool).
    pub db_statements: Counter,
    pub graphql_operations: Family<OperationLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("xpr");
        let db_statements = Counter::default();
        registry.register("db_statements", "SQL statements run by request handling", db_statements.clone());
        let graphql_operations = Family::default();
        registry.register("graphql_operations", "GraphQL operations executed", graphql_operations.clone());
        Self { registry, db_statements, graphql_operations }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
