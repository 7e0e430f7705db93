//! Realtime: notifications (rows first, pushes second), watchlists, and the
//! outbox of events the relay publishes to the bus.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Entries {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    Uuid,
    UserId,
    Kind,
    SubjectType,
    SubjectId,
    Message,
    ActorId,
    ReadAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Watches {
    Table,
    UserId,
    EntryId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    Channel,
    Payload,
    CreatedAt,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(uuid_uniq(Notifications::Uuid))
                    .col(big_integer(Notifications::UserId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(string_len(Notifications::SubjectType, 16))
                    .col(uuid(Notifications::SubjectId))
                    .col(text(Notifications::Message))
                    .col(big_integer_null(Notifications::ActorId))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Pages, resume-after-cursor and unread counts all start from the user.
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Watches::Table)
                    .col(big_integer(Watches::UserId))
                    .col(big_integer(Watches::EntryId))
                    .col(timestamp_with_time_zone(Watches::CreatedAt))
                    .primary_key(Index::create().col(Watches::UserId).col(Watches::EntryId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Watches::Table, Watches::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Watches::Table, Watches::EntryId)
                            .to(Entries::Table, Entries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_watches_entry").table(Watches::Table).col(Watches::EntryId).to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(big_pk_auto(OutboxEvents::Id))
                    .col(string_len(OutboxEvents::Channel, 80))
                    .col(json_binary(OutboxEvents::Payload))
                    .col(timestamp_with_time_zone(OutboxEvents::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxEvents::PublishedAt))
                    .to_owned(),
            )
            .await?;
        // The relay's scan (unpublished, oldest first) and resume by channel.
        for (name, first) in
            [("idx_outbox_unpublished", OutboxEvents::PublishedAt), ("idx_outbox_channel", OutboxEvents::Channel)]
        {
            manager
                .create_index(
                    Index::create().name(name).table(OutboxEvents::Table).col(first).col(OutboxEvents::Id).to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [OutboxEvents::Table.into_iden(), Watches::Table.into_iden(), Notifications::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
