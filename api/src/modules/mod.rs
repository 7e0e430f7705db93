//! Domains, one folder each: `service` (writes, rules), `selectors` (reads,
//! loaders), `graphql` (thin types and fields). Modules use each other's
//! services and selectors, never each other's tables.

pub mod activity;
pub mod content;
pub mod identity;
pub mod media;
pub mod moderation;
pub mod realtime;
pub mod reviews;
pub mod versioning;
