//! Media: uploaded images (PNG, JPEG, WebP, GIF), checked by their bytes,
//! stored in the media store (local disk or S3-compatible) and served at
//! `/media/{id}`. Owns the `media` table; which media a review or an entry
//! shows is the reviews and content modules' business. Comes right after
//! identity, so every module that shows images can look uploads up here; the
//! cleanup reads the link tables that cite a file, and is handed versioning's
//! query for open drafts by its caller.

pub mod domain;
pub mod graphql;
pub mod selectors;
pub mod service;
pub mod store;
