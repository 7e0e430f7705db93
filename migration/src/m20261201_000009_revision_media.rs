//! Every image any revision of an entry has shown, added to by merges and
//! never shrunk: the media cleanup spares these, since a revert can bring
//! any past revision back. Backfilled from the stored snapshots (archived
//! ones included).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Entries {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RevisionMedia {
    Table,
    MediaId,
    EntryId,
}

/// Snapshots of every revision, live or archived, with their entry.
const SNAPSHOTS: &str = "SELECT entry_id, snapshot FROM revisions WHERE archived = FALSE \
     UNION ALL SELECT r.entry_id, a.snapshot FROM revision_archive a JOIN revisions r ON r.id = a.revision_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RevisionMedia::Table)
                    .col(big_integer(RevisionMedia::MediaId))
                    .col(big_integer(RevisionMedia::EntryId))
                    // Media first: the cleanup looks rows up by media.
                    .primary_key(Index::create().col(RevisionMedia::MediaId).col(RevisionMedia::EntryId))
                    // Restrict: the cleanup must never delete an image a revision shows.
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevisionMedia::Table, RevisionMedia::MediaId)
                            .to(Media::Table, Media::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevisionMedia::Table, RevisionMedia::EntryId)
                            .to(Entries::Table, Entries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let backfill = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => format!(
                "INSERT INTO revision_media (media_id, entry_id) \
                 SELECT DISTINCT m.id, s.entry_id FROM ({SNAPSHOTS}) s \
                 CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(s.snapshot -> 'media') = 'array' \
                   THEN s.snapshot -> 'media' ELSE '[]'::jsonb END) AS e(value) \
                 JOIN media m ON m.uuid::text = lower(e.value) \
                 ON CONFLICT DO NOTHING"
            ),
            // Ids may be stored as 16-byte blobs or as text: compare their hex digits.
            _ => format!(
                "INSERT OR IGNORE INTO revision_media (media_id, entry_id) \
                 SELECT DISTINCT m.id, s.entry_id FROM ({SNAPSHOTS}) s, json_each(s.snapshot, '$.media') e \
                 JOIN media m ON (CASE WHEN typeof(m.uuid) = 'blob' THEN lower(hex(m.uuid)) \
                   ELSE replace(lower(m.uuid), '-', '') END) = replace(lower(e.value), '-', '')"
            ),
        };
        manager.get_connection().execute_unprepared(&backfill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RevisionMedia::Table).to_owned()).await
    }
}
