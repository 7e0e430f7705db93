//! Notifications: what a user reads of the notifications written for them,
//! marking them read, watching entries, and every subscription field. Owns
//! the `watches` table; notifications and events are written by any module
//! through `crate::realtime`, in the transaction of the change that causes them.

pub mod graphql;
pub mod selectors;
pub mod service;
