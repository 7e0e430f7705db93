//! Identity: users, sessions, API tokens, email verification and password
//! reset, roles and account status. Owns the `users`, `sessions`,
//! `refresh_tokens`, `api_tokens` and `one_time_tokens` tables.

pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
