//! Moderation's plain data: what can be reported and where a report stands.

use async_graphql::Enum;

use crate::audit::TargetType;

/// What users can report.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
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

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReportStatus {
    Open,
    /// Closed without action.
    Dismissed,
    /// Closed after acting on the target.
    Actioned,
}
