//! The review queue: an index on (status, id) so moderators page PENDING
//! reviews oldest first, and `creator_notified` so the entry's creator hears
//! of a review once, when it is first published (at writing, or when a
//! moderator shows a held one). Reviews already published or hidden count as
//! notified.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    Status,
    CreatorNotified,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Reviews::Table)
                    .add_column(boolean(Reviews::CreatorNotified).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Reviews::Table)
                    .value(Reviews::CreatorNotified, true)
                    .and_where(Expr::col(Reviews::Status).ne("PENDING"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reviews_status")
                    .table(Reviews::Table)
                    .col(Reviews::Status)
                    .col(Reviews::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_reviews_status").table(Reviews::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Reviews::Table).drop_column(Reviews::CreatorNotified).to_owned()).await
    }
}
