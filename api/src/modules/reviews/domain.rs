//! Reviews' plain data and rules: the rating, the text limits, the review
//! status and its moderation transitions, and rating aggregates. No I/O here.

pub use xpr_entity::enums::ReviewStatus;

use crate::error::FieldError;

/// Stars, 1 to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    pub fn parse(stars: i32) -> Result<Self, FieldError> {
        match u8::try_from(stars) {
            Ok(stars @ 1..=5) => Ok(Self(stars)),
            _ => Err(FieldError::new("rating", "must be 1 to 5")),
        }
    }

    pub fn stars(self) -> i16 {
        self.0.into()
    }
}

/// Most media a review may show.
pub const MAX_MEDIA: usize = 10;

/// A review as its author writes it, checked.
#[derive(Debug, PartialEq, Eq)]
pub struct ReviewText {
    pub rating: Rating,
    pub title: String,
    pub body: String,
}

impl ReviewText {
    /// Checks every field at once so the author sees all problems together.
    pub fn parse(rating: i32, title: &str, body: &str, media: usize) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let rating = Rating::parse(rating).map_err(|e| errors.push(e)).ok();
        let title = title.trim();
        if title.chars().count() > 200 {
            errors.push(FieldError::new("title", "must be at most 200 characters long"));
        }
        let body = body.trim();
        if body.chars().count() > 20_000 {
            errors.push(FieldError::new("body", "must be at most 20000 characters long"));
        }
        if media > MAX_MEDIA {
            errors.push(FieldError::new("mediaIds", format!("at most {MAX_MEDIA} media per review")));
        }
        match rating {
            Some(rating) if errors.is_empty() => Ok(Self { rating, title: title.to_owned(), body: body.to_owned() }),
            _ => Err(errors),
        }
    }
}

/// The status of a review its author has just written or edited: a review a
/// moderator hid stays hidden (editing must not undo the decision); one whose
/// text hits the blocklist waits for a moderator; otherwise it is published.
pub fn status_on_write(previous: Option<ReviewStatus>, blocked: bool) -> ReviewStatus {
    match previous {
        Some(ReviewStatus::Hidden) => ReviewStatus::Hidden,
        _ if blocked => ReviewStatus::Pending,
        _ => ReviewStatus::Published,
    }
}

/// A moderator's decision on a review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moderation {
    Hide,
    Show,
}

/// The status after a moderator's decision: pending or published reviews can
/// be hidden, pending or hidden ones shown.
pub fn moderate(from: ReviewStatus, action: Moderation) -> Result<ReviewStatus, &'static str> {
    match (from, action) {
        (ReviewStatus::Hidden, Moderation::Hide) => Err("the review is already hidden"),
        (ReviewStatus::Published, Moderation::Show) => Err("the review is already shown"),
        (_, Moderation::Hide) => Ok(ReviewStatus::Hidden),
        (_, Moderation::Show) => Ok(ReviewStatus::Published),
    }
}

/// Whether a helpful vote is allowed: never on one's own review.
pub fn may_vote(voter_is_author: bool) -> Result<(), &'static str> {
    if voter_is_author { Err("you can't vote on your own review") } else { Ok(()) }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn ratings_are_one_to_five_stars() {
        for bad in [0, 6, -1, 256] {
            assert!(Rating::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Rating::parse(5).unwrap().stars(), 5);
    }

    #[test]
    fn every_field_error_is_reported_together() {
        let errors = ReviewText::parse(0, &"t".repeat(201), "", 11).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rating", "title", "mediaIds"]);
        let ok = ReviewText::parse(4, "  Good  ", " Solid. ", 1).unwrap();
        assert_eq!((ok.title.as_str(), ok.body.as_str()), ("Good", "Solid."));
    }

    #[test]
    fn editing_never_undoes_a_hide() {
        assert_eq!(status_on_write(None, false), ReviewStatus::Published);
        assert_eq!(status_on_write(Some(ReviewStatus::Hidden), false), ReviewStatus::Hidden);
        assert_eq!(status_on_write(Some(ReviewStatus::Hidden), true), ReviewStatus::Hidden);
        assert_eq!(status_on_write(Some(ReviewStatus::Published), false), ReviewStatus::Published);
        assert_eq!(status_on_write(Some(ReviewStatus::Published), true), ReviewStatus::Pending);
        assert_eq!(status_on_write(None, true), ReviewStatus::Pending);
    }

    #[test]
    fn moderation_transitions() {
        use ReviewStatus::*;
        assert_eq!(moderate(Published, Moderation::Hide), Ok(Hidden));
        assert_eq!(moderate(Pending, Moderation::Hide), Ok(Hidden));
        assert_eq!(moderate(Pending, Moderation::Show), Ok(Published));
        assert_eq!(moderate(Hidden, Moderation::Show), Ok(Published));
        assert!(moderate(Hidden, Moderation::Hide).is_err());
        assert!(moderate(Published, Moderation::Show).is_err());
    }

    #[test]
    fn no_votes_on_ones_own_review() {
        assert!(may_vote(true).is_err());
        assert!(may_vote(false).is_ok());
    }
}
