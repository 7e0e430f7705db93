//! Content: entry kinds, entries and their versioned fields ([`snapshot`]),
//! and the automatic checks of an entry ([`checks`], which read the blocklist
//! moderation keeps). Owns the `entry_kinds`, `entries`, `entry_tags`,
//! `entry_links` and `entry_media` tables and the entries' rating aggregates.
//! Entries change only through merges (versioning calls
//! [`service::write_entries`]) and ratings only through reviews.

pub mod checks;
pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
pub mod snapshot;
