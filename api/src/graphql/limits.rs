//! Limits on a document, checked before validation so that refusing any
//! document costs one pass over it: tokens on the text before it is parsed,
//! then depth, aliases, directives and fields on the parsed document, with
//! fragments counted wherever they are spread (each fragment walked once, so
//! fragments spreading fragments can't make the walk exponential).
//!
//! Depth is bounded twice: data fields by the query depth limit, and
//! introspection (`__schema`, `__type` and everything beneath) by a bound of
//! its own that fits graphql-js's standard introspection query, which GraphiQL
//! and every code generator send (15 levels, of which 10 are its `ofType`
//! chain). One limit for both would either refuse that query or let data
//! queries nest as deep as it.
//!
//! The cost (ADR 0024) is counted in the same walk: the objects the operation
//! may return at most. A field with a selection set is one object per parent
//! it appears in; a paginated field (one taking `first`) multiplies what it
//! selects by its `first` (variables resolved, capped at the page cap, the
//! default page when absent); leaf fields cost nothing. It is the cost spent
//! from the client's budget (`graphql/cost.rs`).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{
    Name, ServerError, Value, Variables,
    parser::types::{DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet},
};

use crate::{
    metrics::Rejected,
    paging::{DEFAULT_PAGE, MAX_PAGE},
};

#[derive(Debug, Clone)]
pub struct Limits {
    pub depth: usize,
    pub introspection_depth: usize,
    pub tokens: usize,
    pub aliases: usize,
    pub directives: usize,
    pub fields: usize,
    pub cost: u64,
    /// Names of the fields that take `first` (pages), whatever their type: read from the schema.
    pub paginated: Arc<HashSet<String>>,
}

/// What a selection set holds, fragments counted where they are spread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Size {
    depth: usize,
    introspection_depth: usize,
    aliases: usize,
    directives: usize,
    fields: usize,
    cost: u64,
}

impl Size {
    /// Beside `other`: depths are the deeper of the two, counts add up.
    fn beside(self, other: Self) -> Self {
        Self {
            depth: self.depth.max(other.depth),
            introspection_depth: self.introspection_depth.max(other.introspection_depth),
            aliases: self.aliases.saturating_add(other.aliases),
            directives: self.directives.saturating_add(other.directives),
            fields: self.fields.saturating_add(other.fields),
            cost: self.cost.saturating_add(other.cost),
        }
    }
}

impl Limits {
    /// Counts the lexical tokens of `query` (as graphql-js's `maxTokens`
    /// does), stopping at the limit: refused before the parser sees it.
    pub fn check_text(&self, query: &str) -> Result<(), ServerError> {
        if tokens(query, self.tokens + 1) > self.tokens {
            return Err(refused("tokens", format!("the document has more than {} tokens", self.tokens)));
        }
        Ok(())
    }

    /// Checks the operation `operation` names (all of them, when none is
    /// named) and returns its cost.
    pub fn check(
        &self,
        document: &ExecutableDocument,
        operation: Option<&str>,
        variables: &Variables,
    ) -> Result<u64, ServerError> {
        let mut walk = Walk { document, fragments: HashMap::new(), paginated: &self.paginated, variables, op: None };
        let size = match (&document.operations, operation) {
            (DocumentOperations::Multiple(operations), Some(name)) => {
                operations.get(name).map(|op| walk.operation(&op.node)).unwrap_or_default()
            }
            _ => document.operations.iter().map(|(_, op)| walk.operation(&op.node)).fold(Size::default(), Size::beside),
        };
        let over = |reason, what: &str, count: usize, limit: usize| {
            Err(refused(reason, format!("the operation has {count} {what}; the limit is {limit}")))
        };
        if size.depth > self.depth {
            return Err(refused(
                "depth",
                format!("the query is nested {} levels deep; the limit is {}", size.depth, self.depth),
            ));
        }
        if size.introspection_depth > self.introspection_depth {
            return Err(refused(
                "depth",
                format!(
                    "the introspection query is nested {} levels deep; the limit is {}",
                    size.introspection_depth, self.introspection_depth
                ),
            ));
        }
        if size.aliases > self.aliases {
            return over("aliases", "aliases", size.aliases, self.aliases);
        }
        if size.directives > self.directives {
            return over("directives", "directives", size.directives, self.directives);
        }
        if size.fields > self.fields {
            return over("fields", "fields (fragments counted where spread)", size.fields, self.fields);
        }
        // Every operation costs at least one point, as on GitHub: a request is never free.
        let cost = size.cost.max(1);
        if cost > self.cost {
            return Err(refused(
                "cost",
                format!(
                    "the operation costs {cost} points (objects it may return, lists counted at their `first`); \
                     the limit is {}",
                    self.cost
                ),
            ));
        }
        Ok(cost)
    }
}

/// A refusal, with the limit that refused it for the metrics (`Rejected`).
fn refused(reason: &'static str, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", "QUERY_TOO_COMPLEX");
    error.source = Some(Arc::new(Rejected(reason)));
    error
}

/// The number of GraphQL tokens in `text`, counting no further than `stop`.
/// Ignored: whitespace, commas, comments and a byte-order mark; a string or
/// block string is one token, `...` too.
fn tokens(text: &str, stop: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut at, mut count) = (0, 0);
    while at < bytes.len() && count < stop {
        match bytes[at] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => at += 1,
            b'#' => at += bytes[at..].iter().position(|&b| b == b'\n' || b == b'\r').unwrap_or(bytes.len() - at),
            b'"' if bytes[at..].starts_with(b"\"\"\"") => {
                at += 3;
                while at < bytes.len() && !bytes[at..].starts_with(b"\"\"\"") {
                    at += if bytes[at..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                at += 3;
                count += 1;
            }
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' && bytes[at] != b'\n' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
                count += 1;
            }
            b'.' if bytes[at..].starts_with(b"...") => {
                at += 3;
                count += 1;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                // A name or a number (with its sign, fraction and exponent).
                at += 1;
                while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || matches!(bytes[at], b'_' | b'.' | b'+'))
                {
                    at += 1;
                }
                count += 1;
            }
            _ => {
                // A punctuator, or a character the parser will refuse; a byte-order mark is skipped.
                let c = text[at..].chars().next().unwrap_or_default();
                at += c.len_utf8();
                count += usize::from(c != '\u{feff}');
            }
        }
    }
    count
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Each fragment's size, by whether it is spread inside introspection;
    /// `None` while it is being walked (a cycle, which validation refuses).
    fragments: HashMap<(&'a Name, bool), Option<Size>>,
    paginated: &'a HashSet<String>,
    variables: &'a Variables,
    /// The operation being walked, for its variables' defaults.
    op: Option<&'a OperationDefinition>,
}

impl<'a> Walk<'a> {
    fn operation(&mut self, op: &'a OperationDefinition) -> Size {
        self.op = Some(op);
        let size = self.set(&op.selection_set.node, false);
        Size { directives: size.directives.saturating_add(op.directives.len()), ..size }
    }

    /// How many times a paginated field's selection may repeat: its `first`
    /// capped at the page cap; the default page when absent or null; 1 for
    /// other fields.
    fn page(&self, field: &'a Field) -> u64 {
        if !self.paginated.contains(field.name.node.as_str()) {
            return 1;
        }
        let variable = |name: Name| {
            let value = self.variables.get(&name).cloned().or_else(|| {
                let definition = self.op?.variable_definitions.iter().find(|d| d.node.name.node == name)?;
                definition.node.default_value.as_ref().map(|v| v.node.clone())
            });
            Ok::<_, ()>(value.unwrap_or(Value::Null))
        };
        let value = field.get_argument("first").and_then(|value| value.node.clone().into_const_with(variable).ok());
        let first = match value {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(i64::from(MAX_PAGE)),
            _ => i64::from(DEFAULT_PAGE),
        };
        first.clamp(1, i64::from(MAX_PAGE)) as u64
    }

    fn set(&mut self, set: &'a SelectionSet, introspecting: bool) -> Size {
        let mut size = Size::default();
        for selection in &set.items {
            let inner = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let enters = !introspecting && matches!(field.name.node.as_str(), "__schema" | "__type");
                    let below = self.set(&field.selection_set.node, introspecting || enters);
                    let (depth, introspection_depth) = if introspecting || enters {
                        (below.depth, below.introspection_depth + 1)
                    } else {
                        (below.depth + 1, below.introspection_depth)
                    };
                    let object = u64::from(!field.selection_set.node.items.is_empty());
                    Size {
                        depth,
                        introspection_depth,
                        aliases: below.aliases.saturating_add(usize::from(field.alias.is_some())),
                        directives: below.directives.saturating_add(field.directives.len()),
                        fields: below.fields.saturating_add(1),
                        cost: below.cost.saturating_mul(self.page(field)).saturating_add(object),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self.fragment(&spread.node.fragment_name.node, introspecting);
                    Size { directives: fragment.directives.saturating_add(spread.node.directives.len()), ..fragment }
                }
                Selection::InlineFragment(inline) => {
                    let inner = self.set(&inline.node.selection_set.node, introspecting);
                    Size { directives: inner.directives.saturating_add(inline.node.directives.len()), ..inner }
                }
            };
            size = size.beside(inner);
        }
        size
    }

    fn fragment(&mut self, name: &'a Name, introspecting: bool) -> Size {
        if let Some(known) = self.fragments.get(&(name, introspecting)) {
            return known.unwrap_or_default();
        }
        let Some(fragment) = self.document.fragments.get(name) else { return Size::default() };
        self.fragments.insert((name, introspecting), None);
        let size = self.set(&fragment.node.selection_set.node, introspecting);
        let size = Size { directives: size.directives.saturating_add(fragment.node.directives.len()), ..size };
        self.fragments.insert((name, introspecting), Some(size));
        size
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn limits() -> Limits {
        Limits {
            depth: 3,
            introspection_depth: 4,
            tokens: 60,
            aliases: 2,
            directives: 2,
            fields: 12,
            cost: 500,
            paginated: Arc::new(["items".to_owned(), "pages".to_owned()].into()),
        }
    }

    fn check(query: &str) -> Result<(), String> {
        check_with(&limits(), query, Variables::default()).map(|_| ())
    }

    /// The cost, under limits deep and wide enough not to refuse first.
    fn cost(query: &str, variables: Variables) -> Result<u64, String> {
        check_with(&Limits { depth: 10, fields: 100, tokens: 1_000, ..limits() }, query, variables)
    }

    fn check_with(limits: &Limits, query: &str, variables: Variables) -> Result<u64, String> {
        limits.check_text(query).map_err(|e| e.message)?;
        limits.check(&parse_query(query).unwrap(), None, &variables).map_err(|e| e.message)
    }

    #[test]
    fn cost_counts_objects_with_pages_at_their_first() {
        let vars = |json| Variables::from_json(json);
        assert_eq!(cost("{ a b }", vars(serde_json::json!({}))), Ok(1), "at least one point");
        assert_eq!(cost("{ a { b } c { d } }", vars(serde_json::json!({}))), Ok(2), "leaves are free");
        // 1 (items) + 10 × (1 (edge) + 1 (node))
        assert_eq!(cost("{ items(first: 10) { edges { node { x } } } }", vars(serde_json::json!({}))), Ok(21));
        // Absent or null: the default page (20); over the cap: 100.
        assert_eq!(cost("{ items { nodes { x } } }", vars(serde_json::json!({}))), Ok(21));
        assert_eq!(cost("{ items(first: 1000) { nodes { x } } }", vars(serde_json::json!({}))), Ok(101));
        // Nested pages multiply: 1 + 10 × (1 (node) + 1 (pages) + 10 × 1 (its nodes)) = 121.
        let nested = "query Q($n: Int = 3) { items(first: $n) { nodes { pages(first: 10) { nodes { x } } } } }";
        assert_eq!(cost(nested, vars(serde_json::json!({"n": 10}))), Ok(121));
        assert_eq!(cost(nested, vars(serde_json::json!({}))), Ok(37), "the variable's default");
        // A fragment spread in a page counts once per item.
        let spread = "{ items(first: 5) { nodes { ...F } } } fragment F on I { pages(first: 2) { nodes { x } } }";
        assert_eq!(cost(spread, vars(serde_json::json!({}))), Ok(1 + 5 * (1 + 1 + 2)));
        let over =
            cost("{ items(first: 100) { nodes { pages(first: 5) { nodes { x } } } } }", vars(serde_json::json!({})));
        assert!(over.unwrap_err().contains("costs 701 points"), "the cost and the limit are in the message");
    }

    #[test]
    fn data_and_introspection_depths_are_bounded_separately() {
        assert!(check("{ a { b { c } } }").is_ok());
        assert!(check("{ a { b { c { d } } } }").unwrap_err().contains("nested 4 levels deep; the limit is 3"));
        assert!(check("{ a __schema { types { fields { name } } } }").is_ok());
        assert!(check("{ __schema { types { fields { type { name } } } } }").unwrap_err().contains("introspection"));
        assert!(check("{ __type(name: \"A\") { fields { type { ofType { name } } } } }").is_err());
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        assert!(check("{ a { ...F } } fragment F on A { b { c } }").is_ok());
        assert!(check("{ a { b { ...F } } } fragment F on A { c { d } }").is_err());
        assert!(check("{ __schema { ...T } } fragment T on __Schema { types { fields { type { name } } } }").is_err());
        assert!(check("{ a { ...F } } fragment F on A { ...F }").is_ok(), "a cycle is validation's to refuse");
        // Four spreads of a fragment of four fields: 16 fields, though the text holds 8.
        let fan = "{ a { ...F ...F } b { ...F ...F } } fragment F on A { w x y z }";
        assert!(check(fan).unwrap_err().contains("18 fields"), "{:?}", check(fan));
    }

    #[test]
    fn aliases_directives_and_tokens_are_counted() {
        assert!(check("{ x: a y: b c }").is_ok());
        assert!(check("{ x: a y: b z: c }").unwrap_err().contains("3 aliases; the limit is 2"));
        assert!(check("query Q($s: Boolean!) { a @skip(if: $s) b @include(if: $s) }").is_ok());
        let three =
            "query Q($s: Boolean!) { a @skip(if: $s) ...F @include(if: $s) } fragment F on Q { b @skip(if: $s) }";
        assert!(check(three).unwrap_err().contains("3 directives"));
        assert!(check(&format!("{{ {} }}", "a ".repeat(59))).unwrap_err().contains("more than 60 tokens"));
    }

    #[test]
    fn tokens_are_counted_as_graphql_reads_them() {
        assert_eq!(tokens("{ a(b: \"x y, z\") }", 100), 8);
        assert_eq!(tokens("# comment\n{ a ...F, b: -1.5e3 }", 100), 8);
        assert_eq!(tokens("{ a(s: \"\"\"block \\\"\"\" \"quoted\" \n text\"\"\") }", 100), 8);
        assert_eq!(tokens("\u{feff}{ a }", 100), 3);
        assert_eq!(tokens(&"a ".repeat(1_000_000), 5), 5, "counting stops at the limit");
    }
}
