//! Versioning: revisions, submissions (branches of changes), three-way merge
//! and diffs. Owns the `revisions`, `submissions` and `changes` tables; writes
//! entry rows only through the content service.

pub mod diff;
pub mod domain;
pub mod graphql;
pub mod import;
pub mod merge;
pub mod selectors;
pub mod service;
pub mod text_merge;
