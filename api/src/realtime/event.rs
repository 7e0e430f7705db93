//! What happens, as types: every event the server publishes, and the channel
//! each one goes to. Channels are named here and nowhere else.

use std::fmt;

use async_graphql::Enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;
pub use xpr_entity::enums::NotificationKind;
use xpr_entity::{
    enums::{SubmissionStatus, TargetType},
    notification,
};

use crate::ids::{NotificationId, UserId};

/// An event, stored in the outbox as its JSON payload. Untagged: each variant
/// is told apart by its keys, which are those the outbox has always held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Event {
    /// A notification was written; it travels whole, so its subscriber needs no read.
    Notified { notification: notification::Model },
    /// Notifications written together (a merge notifies every watcher): one
    /// outbox row and one bus message for them all, split into a `Notified`
    /// per recipient as it reaches each process.
    NotifiedMany(Notices),
    /// The moderation queue changed.
    Queue { kind: QueueEventKind, submission: Uuid },
    /// A submission changed state.
    Submission { submission: Uuid, status: SubmissionStatus },
    /// A merge made a new version of an entry.
    Entry { entry: Uuid, version: i32 },
    /// A user's sessions, tokens, role or status changed: their sockets check their credentials again.
    Credentials { user: UserId },
}

/// Where subscribers listen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// One user's notifications.
    User(UserId),
    Entry(Uuid),
    Submission(Uuid),
    /// Moderators' queue events, one channel for all.
    Moderation,
    /// One user's credential changes: only that user's sockets and streams listen.
    Credentials(UserId),
    /// Events for several users, split into their `User` channels on arrival; nobody listens here.
    Users,
}

impl Event {
    pub fn channel(&self) -> Channel {
        match self {
            Self::Notified { notification } => Channel::User(notification.user_id),
            Self::NotifiedMany { .. } => Channel::Users,
            Self::Queue { .. } => Channel::Moderation,
            Self::Submission { submission, .. } => Channel::Submission(*submission),
            Self::Entry { entry, .. } => Channel::Entry(*entry),
            Self::Credentials { user } => Channel::Credentials(*user),
        }
    }

    /// The event an outbox payload holds; `None` for one this server doesn't know.
    pub fn decode(payload: &serde_json::Value) -> Option<Self> {
        Self::deserialize(payload).ok()
    }
}

/// Notifications that say the same thing (a merge's to every watcher of an
/// entry): what they say is written once, and each recipient's own part is
/// two ids and a user, so a merge's batches are a sixth of the bytes through
/// the outbox, Redis and every process (ADR 0033).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notices {
    pub notice: Notice,
    pub recipients: Vec<Recipient>,
}

/// What a notification says: everything but whose it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NotificationKind,
    pub subject_type: TargetType,
    pub subject_id: Uuid,
    pub message: String,
    pub actor_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// One recipient's notification of a [`Notice`]: its id, public id and
/// recipient, written as an array (thousands are in a batch).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipient(pub NotificationId, pub Uuid, pub UserId);

impl Notice {
    pub fn of(n: &notification::Model) -> (Self, Recipient) {
        let notice = Self {
            kind: n.kind,
            subject_type: n.subject_type,
            subject_id: n.subject_id,
            message: n.message.clone(),
            actor_id: n.actor_id,
            created_at: n.created_at,
        };
        (notice, Recipient(n.id, n.uuid, n.user_id))
    }

    /// The recipient's notification, as written.
    pub fn to(&self, Recipient(id, uuid, user_id): Recipient) -> notification::Model {
        notification::Model {
            id,
            uuid,
            user_id,
            kind: self.kind,
            subject_type: self.subject_type,
            subject_id: self.subject_id,
            message: self.message.clone(),
            actor_id: self.actor_id,
            read_at: None,
            created_at: self.created_at,
        }
    }
}

impl Notices {
    /// A `NotifiedMany` payload's notices; `None` for one this server can't read.
    pub fn decode(payload: &RawValue) -> Option<Self> {
        serde_json::from_str(payload.get()).ok()
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(user) => write!(f, "user_{}", user.0),
            Self::Entry(entry) => write!(f, "entry_{entry}"),
            Self::Submission(submission) => write!(f, "submission_{submission}"),
            Self::Moderation => f.write_str("moderation"),
            Self::Credentials(user) => write!(f, "auth_{}", user.0),
            Self::Users => f.write_str("users"),
        }
    }
}

/// What happened in the moderation queue.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueEventKind {
    /// A submission entered the queue.
    Submitted,
    Claimed,
    Released,
    /// Approved, rejected, sent back, conflicted or withdrawn: it left the queue.
    Decided,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn payloads_keep_their_stored_shape_and_decode_to_their_variant() {
        let id = Uuid::nil();
        let queue = Event::Queue { kind: QueueEventKind::Submitted, submission: id };
        assert_eq!(serde_json::to_value(&queue).unwrap(), json!({ "kind": "SUBMITTED", "submission": id }));
        let events = [
            queue,
            Event::Submission { submission: id, status: SubmissionStatus::Pending },
            Event::Entry { entry: id, version: 3 },
            Event::Credentials { user: UserId(7) },
        ];
        for event in events {
            assert_eq!(Event::decode(&serde_json::to_value(&event).unwrap()), Some(event));
        }
        assert_eq!(Event::decode(&json!({ "unknown": 1 })), None);
        assert_eq!(Channel::Submission(id).to_string(), format!("submission_{id}"));
        assert_eq!(Event::Credentials { user: UserId(7) }.channel().to_string(), "auth_7", "each user's own channel");
    }
}
