//! Versioning: revisions, submissions (branches of changes), three-way merge
//! and diffs. Owns the `revisions`, `submissions` and `changes` tables; writes
//! entry rows only through the content service, and knows nothing of reviews,
//! moderation or notifications (it emits events and logs moderator actions
//! through the core's `realtime` and `audit`).

pub mod diff;
pub mod domain;
pub mod graphql;
pub mod import;
pub mod merge;
pub mod selectors;
pub mod service;
pub mod text_merge;
