//! Identity: users, sessions, API tokens, email verification and password
//! reset, roles, reputation and account status. Owns the `users`, `sessions`,
//! `refresh_tokens`, `api_tokens` and `one_time_tokens` tables. The first
//! module: it imports only the core (moderators' suspensions and bans are
//! moderation's, which calls in here to end a banned user's sessions).

pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
