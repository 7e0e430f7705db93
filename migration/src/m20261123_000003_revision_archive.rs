//! Archive storage for old revision snapshots: `xpr archive-history` moves
//! them here, leaving the revision row (number, author, times) in place.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RevisionArchive {
    Table,
    RevisionId,
    Snapshot,
    ArchivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RevisionArchive::Table)
                    .col(big_integer(RevisionArchive::RevisionId).primary_key())
                    .col(json_binary(RevisionArchive::Snapshot))
                    .col(timestamp_with_time_zone(RevisionArchive::ArchivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevisionArchive::Table, RevisionArchive::RevisionId)
                            .to(Revisions::Table, Revisions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RevisionArchive::Table).to_owned()).await
    }
}
