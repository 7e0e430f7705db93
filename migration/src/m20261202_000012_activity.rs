//! The activity feed pages a user's merged submissions by merge time: an index
//! on (author, status, decided_at) ranges straight to a page, however many
//! submissions the author has. Published reviews page by the existing
//! (author, created_at) index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Submissions {
    Table,
    AuthorId,
    Status,
    DecidedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_submissions_author_decided")
                    .table(Submissions::Table)
                    .col(Submissions::AuthorId)
                    .col(Submissions::Status)
                    .col(Submissions::DecidedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_submissions_author_decided").table(Submissions::Table).to_owned())
            .await
    }
}
