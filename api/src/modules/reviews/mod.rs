//! Reviews: one review per user per entry (rating, title, body, media),
//! helpful votes, and moderation (hide / show). Owns the `reviews`,
//! `review_votes` and `review_media` tables; writes the entry's rating
//! aggregates only through the content service.

pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
