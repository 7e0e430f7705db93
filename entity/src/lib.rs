//! SeaORM entities, one file per table. Plain data: no business rules here
//! (they live in `api/src/modules/<domain>/service.rs`).

pub mod api_token;
pub mod email_outbox;
pub mod one_time_token;
pub mod refresh_token;
pub mod session;
pub mod user;
