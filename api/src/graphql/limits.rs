//! Limits read from the parsed document before validation, so a refusal costs
//! one walk of the document.
//!
//! Depth is bounded twice: data fields by the query depth limit, and
//! introspection (`__schema`, `__type` and everything beneath) by a bound of
//! its own that fits graphql-js's standard introspection query, which GraphiQL
//! and every code generator send (15 levels, of which 10 are its `ofType`
//! chain). One limit for both would either refuse that query or let data
//! queries nest as deep as it.

use std::collections::HashMap;

use async_graphql::{
    Name, ServerError,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub introspection_depth: usize,
}

/// The deepest nesting of a selection set: of data fields, and of introspection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Depth {
    data: usize,
    introspection: usize,
}

impl Depth {
    fn max(self, other: Self) -> Self {
        Self { data: self.data.max(other.data), introspection: self.introspection.max(other.introspection) }
    }
}

impl Limits {
    pub fn check(&self, document: &ExecutableDocument, operation: Option<&str>) -> Result<(), ServerError> {
        let mut walk = Walk { document, fragments: HashMap::new() };
        let depth = match (&document.operations, operation) {
            (DocumentOperations::Multiple(operations), Some(name)) => {
                operations.get(name).map(|op| walk.set(&op.node.selection_set.node, false)).unwrap_or_default()
            }
            _ => document
                .operations
                .iter()
                .map(|(_, op)| walk.set(&op.node.selection_set.node, false))
                .fold(Depth::default(), Depth::max),
        };
        if depth.data > self.depth {
            return Err(refused(format!(
                "the query is nested {} levels deep; the limit is {}",
                depth.data, self.depth
            )));
        }
        if depth.introspection > self.introspection_depth {
            return Err(refused(format!(
                "the introspection query is nested {} levels deep; the limit is {}",
                depth.introspection, self.introspection_depth
            )));
        }
        Ok(())
    }
}

fn refused(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", "QUERY_TOO_COMPLEX");
    error
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Each fragment's depth, by whether it is spread inside introspection;
    /// `None` while it is being walked (a cycle, which validation refuses).
    fragments: HashMap<(&'a Name, bool), Option<Depth>>,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet, introspecting: bool) -> Depth {
        let mut depth = Depth::default();
        for selection in &set.items {
            let inner = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let enters = !introspecting && matches!(field.name.node.as_str(), "__schema" | "__type");
                    let below = self.set(&field.selection_set.node, introspecting || enters);
                    if introspecting || enters {
                        Depth { data: below.data, introspection: below.introspection + 1 }
                    } else {
                        Depth { data: below.data + 1, introspection: below.introspection }
                    }
                }
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node, introspecting),
                Selection::InlineFragment(inline) => self.set(&inline.node.selection_set.node, introspecting),
            };
            depth = depth.max(inner);
        }
        depth
    }

    /// Walked once per document however often it is spread, so fragments
    /// that spread each other can't make the walk exponential.
    fn fragment(&mut self, name: &'a Name, introspecting: bool) -> Depth {
        if let Some(known) = self.fragments.get(&(name, introspecting)) {
            return known.unwrap_or_default();
        }
        let Some(fragment) = self.document.fragments.get(name) else { return Depth::default() };
        self.fragments.insert((name, introspecting), None);
        let depth = self.set(&fragment.node.selection_set.node, introspecting);
        self.fragments.insert((name, introspecting), Some(depth));
        depth
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    const LIMITS: Limits = Limits { depth: 3, introspection_depth: 4 };

    fn check(query: &str) -> Result<(), String> {
        LIMITS.check(&parse_query(query).unwrap(), None).map_err(|e| e.message)
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
    }
}
