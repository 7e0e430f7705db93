//! Moderation: reports (verified users file, moderators resolve), the
//! blocklist (admins), suspensions and bans, and reading the moderation log.
//! Owns the `blocklist` and `reports` tables; the log is written through
//! `crate::audit` by every module that lets a moderator act, and the
//! automatic checks that read the blocklist are `content::checks`. The review
//! queue and claims are submission state and live in versioning.

pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
pub mod standing;
