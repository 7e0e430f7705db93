//! Realtime's plain data: notification kinds, queue events and channel names.

use async_graphql::Enum;
use uuid::Uuid;
pub use xpr_entity::enums::NotificationKind;

/// What happened in the moderation queue.
#[derive(Enum, serde::Serialize, serde::Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueEventKind {
    /// A submission entered the queue.
    Submitted,
    Claimed,
    Released,
    /// Approved, rejected, sent back, conflicted or withdrawn: it left the queue.
    Decided,
}

/// Moderators' queue events, one channel for all.
pub const MODERATION_CHANNEL: &str = "moderation";
/// Hints that a user's sessions, role or status changed: their sockets re-check credentials.
pub const AUTH_CHANNEL: &str = "auth";

pub fn entry_channel(entry: Uuid) -> String {
    format!("entry_{entry}")
}

pub fn submission_channel(submission: Uuid) -> String {
    format!("submission_{submission}")
}
