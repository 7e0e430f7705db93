//! Domains, one folder each: `service` (writes, rules), `selectors` (reads,
//! loaders), `graphql` (thin types and fields). Modules use earlier modules'
//! services and selectors, never each other's tables, in this order:
//! identity → media → content → versioning → reviews → moderation →
//! activity / notifications (`tests/api/layers.rs`).

pub mod activity;
pub mod content;
pub mod identity;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod reviews;
pub mod versioning;
