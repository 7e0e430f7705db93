//! Notifications and realtime. Owns the `notifications`, `watches` and
//! `outbox_events` tables. Services write notifications and events in the
//! transaction of the change that causes them; the relay publishes events to
//! the bus (Redis pub/sub or in-process); subscriptions read the bus for
//! wake-ups and the database for what to deliver, so a reconnect, a lagging
//! subscriber or a Redis outage loses nothing.

pub mod bus;
pub mod domain;
pub mod graphql;
pub mod reads;
pub mod relay;
pub mod selectors;
pub mod service;
