//! The images of an entry's current revision, in display order: kept in step
//! with merges like tags and links, so `Entry.media` and the media cleanup
//! read a table instead of snapshots.

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
enum EntryMedia {
    Table,
    EntryId,
    MediaId,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EntryMedia::Table)
                    .col(big_integer(EntryMedia::EntryId))
                    .col(big_integer(EntryMedia::MediaId))
                    .col(integer(EntryMedia::Position))
                    .primary_key(Index::create().col(EntryMedia::EntryId).col(EntryMedia::MediaId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EntryMedia::Table, EntryMedia::EntryId)
                            .to(Entries::Table, Entries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // Restrict: the cleanup must never delete an image an entry shows.
                    .foreign_key(
                        ForeignKey::create().from(EntryMedia::Table, EntryMedia::MediaId).to(Media::Table, Media::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_entry_media_media")
                    .table(EntryMedia::Table)
                    .col(EntryMedia::MediaId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(EntryMedia::Table).to_owned()).await
    }
}
