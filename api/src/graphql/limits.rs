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

use std::collections::HashMap;

use async_graphql::{
    Name, ServerError,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub introspection_depth: usize,
    pub tokens: usize,
    pub aliases: usize,
    pub directives: usize,
    pub fields: usize,
}

/// What a selection set holds, fragments counted where they are spread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Size {
    depth: usize,
    introspection_depth: usize,
    aliases: usize,
    directives: usize,
    fields: usize,
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
        }
    }
}

impl Limits {
    /// Counts the lexical tokens of `query` (as graphql-js's `maxTokens`
    /// does), stopping at the limit: refused before the parser sees it.
    pub fn check_text(&self, query: &str) -> Result<(), ServerError> {
        if tokens(query, self.tokens + 1) > self.tokens {
            return Err(refused(format!("the document has more than {} tokens", self.tokens)));
        }
        Ok(())
    }

    pub fn check(&self, document: &ExecutableDocument, operation: Option<&str>) -> Result<(), ServerError> {
        let mut walk = Walk { document, fragments: HashMap::new() };
        let size = match (&document.operations, operation) {
            (DocumentOperations::Multiple(operations), Some(name)) => operations
                .get(name)
                .map(|op| walk.operation(&op.node.selection_set.node, op.node.directives.len()))
                .unwrap_or_default(),
            _ => document
                .operations
                .iter()
                .map(|(_, op)| walk.operation(&op.node.selection_set.node, op.node.directives.len()))
                .fold(Size::default(), Size::beside),
        };
        let over = |what: &str, count: usize, limit: usize| {
            Err(refused(format!("the operation has {count} {what}; the limit is {limit}")))
        };
        if size.depth > self.depth {
            return Err(refused(format!(
                "the query is nested {} levels deep; the limit is {}",
                size.depth, self.depth
            )));
        }
        if size.introspection_depth > self.introspection_depth {
            return Err(refused(format!(
                "the introspection query is nested {} levels deep; the limit is {}",
                size.introspection_depth, self.introspection_depth
            )));
        }
        if size.aliases > self.aliases {
            return over("aliases", size.aliases, self.aliases);
        }
        if size.directives > self.directives {
            return over("directives", size.directives, self.directives);
        }
        if size.fields > self.fields {
            return over("fields (fragments counted where spread)", size.fields, self.fields);
        }
        Ok(())
    }
}

fn refused(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", "QUERY_TOO_COMPLEX");
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
}

impl<'a> Walk<'a> {
    fn operation(&mut self, set: &'a SelectionSet, directives: usize) -> Size {
        let size = self.set(set, false);
        Size { directives: size.directives.saturating_add(directives), ..size }
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
                    Size {
                        depth,
                        introspection_depth,
                        aliases: below.aliases.saturating_add(usize::from(field.alias.is_some())),
                        directives: below.directives.saturating_add(field.directives.len()),
                        fields: below.fields.saturating_add(1),
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

    const LIMITS: Limits =
        Limits { depth: 3, introspection_depth: 4, tokens: 60, aliases: 2, directives: 2, fields: 12 };

    fn check(query: &str) -> Result<(), String> {
        LIMITS.check_text(query).map_err(|e| e.message)?;
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
