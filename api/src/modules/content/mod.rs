//! Content: entry kinds and entries. Owns the `entry_kinds`, `entries`,
//! `entry_tags` and `entry_links` tables. Entries change only through merges
//! (the versioning module calls [`service::write_entry`]).

pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
