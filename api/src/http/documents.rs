//! Parsed documents by their text: the cache that spares the parser the
//! few operations clients send over and over.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::{Request, ServerError, parser::types::ExecutableDocument};
use lru::LruCache;

use crate::graphql::limits::Limits;

/// Parsed documents by their text. Clients send the same few operations over
/// and over, and copying a parsed document costs a fraction of parsing it.
pub struct Documents(Mutex<LruCache<String, Arc<ExecutableDocument>>>);

impl Default for Documents {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(NonZeroUsize::new(Self::CAPACITY).expect("non-zero"))))
    }
}

impl Documents {
    const CAPACITY: usize = 256;
    /// Longer documents are parsed every time, so the cache stays small.
    const MAX_QUERY_BYTES: usize = 16 * 1024;

    /// The request's document, also set on the request for execution; the
    /// text of one not cached is held to the token limit before it is parsed.
    pub(super) fn parse(&self, request: &mut Request, limits: &Limits) -> Result<Arc<ExecutableDocument>, ServerError> {
        let cached = self.0.lock().expect("documents lock").get(&request.query).cloned();
        let document = match cached {
            Some(document) => document,
            None => {
                limits.check_text(&request.query)?;
                let document = Arc::new(async_graphql::parser::parse_query(&request.query)?);
                if request.query.len() <= Self::MAX_QUERY_BYTES {
                    self.0.lock().expect("documents lock").put(request.query.clone(), document.clone());
                }
                document
            }
        };
        request.set_parsed_query((*document).clone());
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_what_parsed_and_nothing_else() {
        let documents = Documents::default();
        let cached = || documents.0.lock().unwrap().len();
        let limits = Limits {
            depth: 10,
            introspection_depth: 10,
            tokens: 100_000,
            aliases: 10,
            directives: 10,
            fields: 10,
            cost: 10,
            paginated: Default::default(),
        };
        let parsed =
            |query: &str| documents.parse(&mut Request::new(query), &limits).map(|d| d.operations.iter().count());
        assert_eq!(parsed("{ a b }"), Ok(1));
        assert_eq!((parsed("{ a b }"), cached()), (Ok(1), 1), "the second parse is the cached document");
        assert!(parsed("{ a").is_err());
        let long = format!("{{ a{} }}", " ".repeat(Documents::MAX_QUERY_BYTES));
        assert_eq!(parsed(&long), Ok(1));
        assert_eq!(cached(), 1, "neither errors nor long documents are kept");
    }
}
