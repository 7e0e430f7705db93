//! XP-R API: the GraphQL server. `app` builds everything from a [`config::Config`];
//! the binary (`main.rs`) is only the CLI around it. See `docs/ARCHITECTURE.md`.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod deps;
pub mod error;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod mail;
pub mod metrics;
pub mod modules;
pub mod paging;
pub mod ratelimit;
pub mod realtime;
pub mod telemetry;

pub use app::{App, AppState};
pub use config::Config;
