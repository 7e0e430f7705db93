//! Content rules over plain data: slugs, tags, field limits, and checking a snapshot
//! against its kind (attribute schema, allowed parents).

use crate::{error::FieldError, modules::versioning::domain::Snapshot};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
