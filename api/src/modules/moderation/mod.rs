//! Moderation: automatic checks (with the admin-managed blocklist), reports,
//! and the append-only moderation log. Owns the `blocklist`, `reports` and
//! `moderation_log` tables. The review queue and claims are submission state
//! and live in versioning, which calls in here to check and to log.

pub mod checks;
pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
