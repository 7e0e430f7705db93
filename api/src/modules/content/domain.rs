//! Content rules over plain data: slugs, tags, field limits, and checking a snapshot
//! against its kind (attribute schema, allowed parents).

pub use xpr_entity::enums::MergePolicy;

use super::snapshot::Snapshot;
use crate::error::FieldError;

/// Lower-case letters, digits and single dashes, 1–128 characters.
pub fn check_slug(field: &str, slug: &str) -> Result<(), FieldError> {
    let valid = (1..=128).contains(&slug.len())
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if valid {
        Ok(())
    } else {
        Err(FieldError::new(field, "must be lower-case letters, digits and single dashes (1–128)"))
    }
}

/// The one form a tag is stored and searched in: trimmed, lower-case. Every
/// way in (API input, import, the entries filter) goes through here.
pub fn normalize_tag(tag: &str) -> String {
    tag.trim().to_lowercase()
}

fn check_len(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) {
    let len = value.chars().count();
    if len < min || len > max {
        errors.push(FieldError::new(field, format!("must be {min} to {max} characters long")));
    }
}

/// Attribute keys in all, however nested.
const MAX_ATTRIBUTE_KEYS: usize = 256;
/// 2⁵³: above it JSON numbers (doubles, as in every browser) skip integers.
const EXACT_INTEGERS: u64 = 1 << 53;

fn inexact(n: &serde_json::Number) -> bool {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u > EXACT_INTEGERS,
        (_, Some(i)) => i.unsigned_abs() > EXACT_INTEGERS,
        _ => n.as_f64().is_some_and(|f| f.abs() > EXACT_INTEGERS as f64),
    }
}

/// Numbers an attribute can't hold exactly (an integer beyond ±2⁵³, which
/// JSON Schema's `integer` would accept as `1e30` and store as a float) and
/// too many keys.
fn check_numbers_and_keys(errors: &mut Vec<FieldError>, attributes: &serde_json::Value) {
    fn walk(value: &serde_json::Value, path: &mut String, keys: &mut usize, errors: &mut Vec<FieldError>) {
        match value {
            serde_json::Value::Number(n) if inexact(n) => {
                errors.push(FieldError::new(path, "must be between -2^53 and 2^53 to be stored exactly"));
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!(".{i}"));
                    walk(item, path, keys, errors);
                    path.truncate(len);
                }
            }
            serde_json::Value::Object(fields) => {
                *keys += fields.len();
                for (key, item) in fields {
                    let len = path.len();
                    path.push_str(&format!(".{key}"));
                    walk(item, path, keys, errors);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut keys = 0;
    walk(attributes, &mut "attributes".to_owned(), &mut keys, errors);
    if keys > MAX_ATTRIBUTE_KEYS {
        errors.push(FieldError::new("attributes", format!("at most {MAX_ATTRIBUTE_KEYS} keys in all")));
    }
}

/// Field errors of a snapshot as an entry of a kind whose attributes follow `schema`.
pub fn check_snapshot(snapshot: &Snapshot, schema: &jsonschema::Validator) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(err) = check_slug("slug", &snapshot.slug) {
        errors.push(err);
    }
    check_len(&mut errors, "title", &snapshot.title, 1, 256);
    check_len(&mut errors, "summary", &snapshot.summary, 0, 1000);
    check_len(&mut errors, "body", &snapshot.body, 0, 200_000);
    let attributes = serde_json::Value::Object(snapshot.attributes.clone());
    check_numbers_and_keys(&mut errors, &attributes);
    for error in schema.iter_errors(&attributes) {
        let path = error.instance_path().to_string();
        errors.push(FieldError::new(&format!("attributes{}", path.replace('/', ".")), error.to_string()));
    }
    for tag in &snapshot.tags {
        if check_slug("tags", tag).is_err() || tag.len() > 64 {
            errors.push(FieldError::new("tags", format!("`{tag}` is not a valid tag (lower-case slug, up to 64)")));
        }
    }
    if snapshot.tags.len() > 50 {
        errors.push(FieldError::new("tags", "at most 50 tags"));
    }
    for link in &snapshot.links {
        if check_slug("links", &link.link_type).is_err() || link.link_type.len() > 64 {
            errors.push(FieldError::new("links", format!("`{}` is not a valid link type", link.link_type)));
        }
    }
    errors
}

/// An entry's rating over its published reviews.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ratings {
    /// Reviews per star, 1 to 5.
    pub distribution: [i32; 5],
}

impl Ratings {
    /// From `(stars, reviews)` counts, as a `GROUP BY rating` returns them.
    pub fn from_counts(counts: impl IntoIterator<Item = (i16, i64)>) -> Self {
        let mut distribution = [0; 5];
        for (stars, n) in counts {
            if let Some(slot) = usize::try_from(stars - 1).ok().and_then(|i| distribution.get_mut(i)) {
                *slot += i32::try_from(n).unwrap_or(i32::MAX);
            }
        }
        Self { distribution }
    }

    pub fn count(&self) -> i32 {
        self.distribution.iter().sum()
    }

    /// The mean rating; 0 without ratings (so unrated entries sort last).
    pub fn average(&self) -> f64 {
        let count = self.count();
        if count == 0 {
            return 0.0;
        }
        let sum: i64 = self.distribution.iter().zip(1..).map(|(n, stars)| i64::from(*n) * stars).sum();
        sum as f64 / f64::from(count)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn attributes_hold_only_exact_numbers_and_a_bounded_number_of_keys() {
        let errors = |value: serde_json::Value| {
            let mut errors = Vec::new();
            check_numbers_and_keys(&mut errors, &value);
            errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        let exact = serde_json::json!({ "crew": 9_007_199_254_740_992_u64, "mass": -1.5e15, "nested": [{ "x": 3 }] });
        assert!(errors(exact).is_empty());
        let inexact = serde_json::json!({ "crew": 1e30, "nested": [{ "x": 9_007_199_254_740_993_u64 }] });
        assert_eq!(errors(inexact), ["attributes.crew", "attributes.nested.0.x"]);
        let wide = serde_json::Value::Object((0..257).map(|i| (format!("k{i}"), serde_json::json!(i))).collect());
        assert_eq!(errors(wide), ["attributes"]);
    }

    #[test]
    fn slugs_follow_the_rules() {
        for good in ["a", "ship-42", "x1"] {
            assert!(check_slug("slug", good).is_ok(), "{good}");
        }
        for bad in ["", "Ship", "-a", "a-", "a--b", "a b", "é"] {
            assert!(check_slug("slug", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_trimmed_and_lower_cased() {
        assert_eq!(normalize_tag("  Starter "), "starter");
        assert_eq!(normalize_tag("CARGO-hauler"), "cargo-hauler");
        assert_eq!(normalize_tag("ok"), "ok");
    }

    #[test]
    fn attributes_are_checked_against_the_schema() {
        let schema = jsonschema::validator_for(&serde_json::json!({
            "type": "object", "properties": { "crew": { "type": "integer", "minimum": 1 } }, "required": ["crew"]
        }))
        .unwrap();
        let mut snapshot = Snapshot { slug: "a".into(), title: "A".into(), ..Default::default() };
        assert!(!check_snapshot(&snapshot, &schema).is_empty(), "crew is required");
        snapshot.attributes.insert("crew".into(), serde_json::json!(0));
        let errors = check_snapshot(&snapshot, &schema);
        assert_eq!(errors[0].field, "attributes.crew");
        snapshot.attributes.insert("crew".into(), serde_json::json!(3));
        assert!(check_snapshot(&snapshot, &schema).is_empty());
    }

    proptest! {
        #[test]
        fn aggregates_match_the_ratings(stars in proptest::collection::vec(1i16..=5, 0..200)) {
            let mut counts = std::collections::HashMap::new();
            for s in &stars {
                *counts.entry(*s).or_insert(0i64) += 1;
            }
            let ratings = Ratings::from_counts(counts);
            prop_assert_eq!(ratings.count() as usize, stars.len());
            let expected = if stars.is_empty() {
                0.0
            } else {
                stars.iter().map(|s| f64::from(*s)).sum::<f64>() / stars.len() as f64
            };
            prop_assert!((ratings.average() - expected).abs() < 1e-9);
        }
    }
}
