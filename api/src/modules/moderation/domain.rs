//! Moderation's plain data: what can be reported and where a report stands
//! (stored enums, defined with their columns).

pub use xpr_entity::enums::{ReportStatus, ReportTarget};
