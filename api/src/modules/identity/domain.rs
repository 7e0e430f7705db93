//! Identity's plain data and rules: validated newtypes (parse, don't
//! validate), roles, scopes and the permission decisions. No I/O here.

use chrono::{DateTime, Utc};
pub use xpr_entity::enums::UserStatus;

pub use crate::auth::{Role, Scope};
use crate::error::FieldError;

/// The status in force at `now`, from the stored status and its end
/// (`suspended_until`, for suspensions and bans alike; none: until reinstated).
fn effective(stored: UserStatus, until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> UserStatus {
    match stored {
        UserStatus::Banned | UserStatus::Suspended if until.is_none_or(|until| until > now) => stored,
        _ => UserStatus::Active,
    }
}

pub fn status_of(user: &xpr_entity::user::Model, now: DateTime<Utc>) -> UserStatus {
    effective(user.status, user.suspended_until, now)
}

/// A handle: 3–32 characters, ASCII letters, digits and `_`, starting with a
/// letter; unique regardless of case; a few names are reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(String);

/// Handles nobody may take, in any case (listed in the README and the authentication guide).
pub const RESERVED_HANDLES: &[&str] =
    &["admin", "administrator", "moderator", "root", "system", "support", "xpr", "api", "null"];

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new("handle", m));
        let handle = raw.trim();
        if !(3..=32).contains(&handle.len()) {
            return err("must be 3 to 32 characters long");
        }
        if !handle.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return err("must start with a letter");
        }
        if !handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return err("may contain only letters, digits and underscores");
        }
        if RESERVED_HANDLES.contains(&handle.to_ascii_lowercase().as_str()) {
            return err("is reserved");
        }
        Ok(Self(handle.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that must be unique.
    pub fn key(&self) -> String {
        Self::key_of(&self.0)
    }

    /// The lookup key of any handle text, valid or not.
    pub fn key_of(raw: &str) -> String {
        raw.trim().to_ascii_lowercase()
    }
}

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        // A bare address with a dotted domain: not `Name <address>`, which
        // would let one mailbox hold several accounts.
        const BARE: email_address::Options =
            email_address::Options { minimum_sub_domains: 2, allow_domain_literal: false, allow_display_text: false };
        let email = raw.trim().to_lowercase();
        if email.len() > 254 || email_address::EmailAddress::parse_with_options(&email, BARE).is_err() {
            return Err(FieldError::new("email", "is not a valid email address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that passed the strength check (zxcvbn score 3 of 4 or more).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// `field` names the input; `related` are the user's other inputs (handle,
    /// email), which a password must not lean on.
    pub fn parse(raw: &str, field: &str, related: &[&str]) -> Result<Self, FieldError> {
        if raw.chars().count() < 10 {
            return Err(FieldError::new(field, "must be at least 10 characters long"));
        }
        if raw.len() > 256 {
            return Err(FieldError::new(field, "must be at most 256 bytes long"));
        }
        if (zxcvbn::zxcvbn(raw, related).score() as u8) < 3 {
            return Err(FieldError::new(field, "is too easy to guess: use a longer phrase or mix unrelated words"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Free text with a length limit and no control characters but newlines.
pub fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    let len = value.chars().count();
    if len < min || len > max {
        return Err(FieldError::new(field, format!("must be {min} to {max} characters long")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// An http(s) URL, e.g. an avatar.
pub fn url(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    let valid = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2048
        && value.len() > "https://".len()
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(value.to_owned()) } else { Err(FieldError::new(field, "must be an http(s) URL")) }
}

/// Reputation earned by a merged submission (also an automatic merge).
pub const MERGED_REPUTATION: i32 = 10;
/// Reputation lost by a rejected submission; reputation never drops below zero.
pub const REJECTED_REPUTATION: i32 = -5;

/// Whether a user's submissions merge on submit when every check passes.
pub fn trusted(role: Role, reputation: i32, threshold: i32) -> bool {
    role >= Role::Trusted || reputation >= threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_the_rules() {
        assert_eq!(Handle::parse(" Alice_1 ").unwrap().as_str(), "Alice_1");
        assert_eq!(Handle::parse("Alice_1").unwrap().key(), "alice_1");
        for bad in ["ab", "1abc", "_abc", "a-b-c", "héllo", "Admin", &"a".repeat(33)] {
            assert!(Handle::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("  Bob@Example.COM ").unwrap().as_str(), "bob@example.com");
        let display_forms = ["A <bob@example.com>", "<bob@example.com>", "bob@example.com <bob@example.com>"];
        for bad in ["bob", "bob@", "@example.com", "bob@localhost", "bob@[127.0.0.1]"].into_iter().chain(display_forms)
        {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(Password::parse("password123", "password", &[]).is_err());
        assert!(Password::parse("short", "password", &[]).is_err());
        assert!(Password::parse("alice_wonder1", "password", &["alice_wonder1"]).is_err());
        assert!(Password::parse("correct horse battery staple", "password", &[]).is_ok());
    }

    #[test]
    fn suspensions_end_by_themselves() {
        let now = Utc::now();
        let past = now - chrono::Duration::hours(1);
        let future = now + chrono::Duration::hours(1);
        assert_eq!(effective(UserStatus::Suspended, Some(past), now), UserStatus::Active);
        assert_eq!(effective(UserStatus::Suspended, Some(future), now), UserStatus::Suspended);
        assert_eq!(effective(UserStatus::Suspended, None, now), UserStatus::Suspended);
        assert_eq!(effective(UserStatus::Banned, None, now), UserStatus::Banned);
        assert_eq!(effective(UserStatus::Banned, Some(future), now), UserStatus::Banned);
        assert_eq!(effective(UserStatus::Banned, Some(past), now), UserStatus::Active);
        assert_eq!(effective(UserStatus::Active, None, now), UserStatus::Active);
    }
    #[test]
    fn trust_comes_from_role_or_reputation() {
        assert!(trusted(Role::Trusted, 0, 100));
        assert!(trusted(Role::Moderator, 0, 100));
        assert!(trusted(Role::User, 100, 100));
        assert!(!trusted(Role::User, 99, 100));
    }
}
