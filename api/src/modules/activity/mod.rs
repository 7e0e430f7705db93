//! Activity: a user's public feed of merged submissions and published
//! reviews, newest first. Reads only and owns no table: each half comes from
//! its own module's selectors (versioning, reviews), merged into one page here.

pub mod graphql;
pub mod selectors;
