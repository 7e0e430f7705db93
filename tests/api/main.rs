//! One integration test binary (linking dominates build time), one module per area.

mod activity;
mod clients;
mod content;
mod cost;
mod csrf;
mod faults;
mod guides;
mod history;
mod http;
mod identity;
mod import;
mod layers;
mod media;
mod moderation;
mod persisted;
mod realtime;
mod responses;
mod reviews;
mod schema;
mod sse;
mod traces;
mod websocket;
