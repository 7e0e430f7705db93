//! Media: uploaded images (PNG, JPEG, WebP, GIF), checked by their bytes,
//! stored in the media store (local disk or S3-compatible) and served at
//! `/media/{id}`. Owns the `media` table; which media a review shows is the
//! reviews module's business.

pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
pub mod store;
