//! The states and kinds stored in string columns. Each is stored under its
//! GraphQL name (`PENDING`, `LINK_DOMAIN`), so the database, the API and event
//! payloads (serde) spell every value alike; the test below holds them
//! together. Plain values: the rules about them live in the api's modules.

use async_graphql::Enum;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

// The order is the order of power (not a doc line: it would become the schema's description).
#[derive(
    Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    User,
    Trusted,
    Moderator,
    Admin,
}

/// Account status as stored; a suspension past its end reads as active.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Active,
    Suspended,
    Banned,
}

/// What a one-time token is for (stored in lower case, never shown).
#[derive(EnumIter, DeriveActiveEnum, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))", rename_all = "snake_case")]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

/// How concurrent edits of one entry merge, chosen per entry kind.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MergePolicy {
    /// Field by field: one-sided changes apply, text merges line-wise, sets merge.
    Field,
    /// Any concurrent change to the same entry is a conflict.
    Strict,
}

// Transitions are decided in `Transition::starts_from` (api's versioning domain).
/// Where a submission stands.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubmissionStatus {
    Draft,
    Pending,
    Merged,
    Rejected,
    ChangesRequested,
    Conflicted,
    Withdrawn,
}

/// What a change does to its entry.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    /// Listed to everyone and counted in the entry's rating.
    Published,
    /// Held by the content filter until a moderator shows or hides it.
    Pending,
    /// Hidden by a moderator.
    Hidden,
}

/// What a moderator or admin did.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModerationActionKind {
    ClaimSubmission,
    ReleaseClaim,
    ApproveSubmission,
    RejectSubmission,
    RequestChanges,
    RevertEntry,
    HideReview,
    ShowReview,
    SetRole,
    SuspendUser,
    BanUser,
    ReinstateUser,
    ResolveReport,
    AddBlocklistEntry,
    RemoveBlocklistEntry,
    CreateEntryKind,
}

/// What a log entry or a report is about.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetType {
    Submission,
    Entry,
    Revision,
    Review,
    User,
    Report,
    Blocklist,
    EntryKind,
}

/// What users can report.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportTarget {
    Entry,
    Revision,
    Review,
    User,
}

impl From<ReportTarget> for TargetType {
    fn from(target: ReportTarget) -> Self {
        match target {
            ReportTarget::Entry => TargetType::Entry,
            ReportTarget::Revision => TargetType::Revision,
            ReportTarget::Review => TargetType::Review,
            ReportTarget::User => TargetType::User,
        }
    }
}

#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    Open,
    /// Closed without action.
    Dismissed,
    /// Closed after acting on the target.
    Actioned,
}

#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlocklistKind {
    /// A word or phrase refused in entry text, matched case-insensitively on word boundaries.
    Term,
    /// A domain (and its subdomains) refused in links written in entry text.
    LinkDomain,
}

/// Why a user is notified.
#[derive(Enum, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    SubmissionMerged,
    SubmissionRejected,
    ChangesRequested,
    SubmissionConflicted,
    WatchedEntryUpdated,
    ReviewOnYourEntry,
    ReportResolved,
}

#[cfg(test)]
mod tests {
    use async_graphql::resolver_utils::EnumType;

    use super::*;

    /// Rows written before the columns were typed hold the GraphQL names: the
    /// stored value, the GraphQL name and the serde name of every value agree.
    fn spelled_alike<T: EnumType + ActiveEnum<Value = String> + Serialize + std::fmt::Debug>() {
        for item in T::items() {
            let stored = item.value.to_value();
            assert_eq!(stored, item.name, "{:?}", item.value);
            assert_eq!(serde_json::to_value(item.value).unwrap(), item.name, "{:?}", item.value);
        }
        assert_eq!(T::items().len(), T::iter().count());
    }

    #[test]
    fn every_value_is_stored_under_its_graphql_name() {
        spelled_alike::<Role>();
        spelled_alike::<UserStatus>();
        spelled_alike::<MergePolicy>();
        spelled_alike::<SubmissionStatus>();
        spelled_alike::<ChangeOp>();
        spelled_alike::<ReviewStatus>();
        spelled_alike::<ModerationActionKind>();
        spelled_alike::<TargetType>();
        spelled_alike::<ReportTarget>();
        spelled_alike::<ReportStatus>();
        spelled_alike::<BlocklistKind>();
        spelled_alike::<NotificationKind>();
    }

    #[test]
    fn token_purposes_keep_their_stored_names() {
        assert_eq!(TokenPurpose::VerifyEmail.to_value(), "verify_email");
        assert_eq!(TokenPurpose::ResetPassword.to_value(), "reset_password");
    }
}
