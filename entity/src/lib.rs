//! SeaORM entities, one file per table. Plain data: no business rules here
//! (they live in `api/src/modules/<domain>/service.rs`).
pub mod api_token;
pub mod blocklist;
pub mod change;
pub mod email_outbox;
pub mod entry;
pub mod entry_kind;
pub mod entry_link;
pub mod entry_media;
pub mod entry_tag;
pub mod media;
pub mod moderation_log;
pub mod notification;
pub mod one_time_token;
pub mod outbox_event;
pub mod refresh_token;
pub mod report;
pub mod review;
pub mod review_media;
pub mod review_vote;
pub mod revision;
pub mod revision_archive;
pub mod revision_media;
pub mod session;
pub mod submission;
pub mod user;
pub mod watch;
