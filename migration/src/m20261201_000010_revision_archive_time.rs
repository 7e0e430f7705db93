//! An index on when revisions were archived: the newest archive time is the
//! generation that cached history pages carry in their key, read once per
//! page as one index look-up.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RevisionArchive {
    Table,
    ArchivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_revision_archive_archived_at")
                    .table(RevisionArchive::Table)
                    .col(RevisionArchive::ArchivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_revision_archive_archived_at").table(RevisionArchive::Table).to_owned())
            .await
    }
}
