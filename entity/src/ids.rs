//! Typed internal ids: one newtype per main entity, so a revision's id can't
//! be passed where an entry's is expected. They are the tables' integer keys,
//! stored and bound as such (`DeriveValueType`, `TryFromU64` for inserts);
//! they never leave the server, where every id is a UUID. The default is 0,
//! which no row has: a look-up by it finds nothing. ADR 0028.

use sea_orm::{
    DeriveValueType,
    sqlx::{self, Postgres, postgres::PgValueRef},
};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord,
            DeriveValueType, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        // The integer, as in logs and cache keys.
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        // `api::db::rows` decodes PostgreSQL columns with SQLx directly.
        impl<'r> sqlx::Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                <i64 as sqlx::Decode<'r, Postgres>>::decode(value).map(Self)
            }
        }
    )*};
}

ids! {
    ApiTokenId,
    ChangeId,
    EntryId,
    EntryKindId,
    MediaId,
    NotificationId,
    ReportId,
    ReviewId,
    RevisionId,
    SessionId,
    SubmissionId,
    UserId,
}

#[cfg(test)]
mod tests {
    use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, TryFromU64};

    use super::*;
    use crate::revision;

    #[test]
    fn ids_are_bound_read_and_serialized_as_their_integer() {
        let sql = revision::Entity::find()
            .filter(revision::Column::EntryId.eq(EntryId(7)))
            .filter(revision::Column::Id.is_in([RevisionId(1), RevisionId(2)]))
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(sql.ends_with(r#"WHERE "revisions"."entry_id" = 7 AND "revisions"."id" IN (1, 2)"#), "{sql}");
        assert_eq!(RevisionId::try_from_u64(3).unwrap(), RevisionId(3), "an insert's returned key");
        // Outbox payloads and cached history pages keep their stored shape.
        assert_eq!(serde_json::to_value(UserId(5)).unwrap(), serde_json::json!(5));
        assert_eq!(UserId(5).to_string(), "5");
    }
}
