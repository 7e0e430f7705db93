//! Ids. Incremental database ids stay inside the server, typed per entity
//! (defined beside the entities, `xpr_entity::ids`, so models carry them too);
//! the API only ever shows UUIDs. The user's realtime channel is derived here
//! and nowhere else.

use uuid::Uuid;
pub use xpr_entity::ids::*;

/// A new public id: UUIDv7, so ids sort by creation time.
pub fn new_uuid() -> Uuid {
    Uuid::now_v7()
}

/// The realtime channel carrying one user's private events.
pub fn user_channel(user: Uuid) -> String {
    format!("user_{user}")
}

/// Parses a public id from the API; a malformed one is reported on `field`.
pub fn parse_uuid(field: &str, id: &str) -> crate::error::AppResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| crate::error::AppError::bad_input(field, "not a valid id"))
}
