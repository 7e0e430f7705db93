//! Reviews, ratings and media: rating aggregates on entries (kept exact by
//! the reviews service), reviews (one per user per entry), helpful votes,
//! uploaded media and their attachment to reviews.

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
    Uuid,
    RatingCount,
    RatingAverage,
    Rating1,
    Rating2,
    Rating3,
    Rating4,
    Rating5,
}

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    Uuid,
    EntryId,
    AuthorId,
    Rating,
    Title,
    Body,
    Status,
    StatusReason,
    ModeratedBy,
    ModeratedAt,
    HelpfulCount,
    UnhelpfulCount,
    CreatedAt,
    UpdatedAt,
    EditedAt,
}

#[derive(DeriveIden)]
enum ReviewVotes {
    Table,
    ReviewId,
    UserId,
    Helpful,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    Uuid,
    OwnerId,
    ContentType,
    ByteSize,
    Width,
    Height,
    Sha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ReviewMedia {
    Table,
    ReviewId,
    MediaId,
    Position,
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(on_delete).to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: Vec<DynIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

/// SQLite's full-text trigger from the content migration re-indexed an entry
/// on every update; rating updates would re-index its body each time. Drop
/// and create run as one string so they share a connection of the pool.
const FTS_TRIGGER_ON_TEXT: &str = "DROP TRIGGER entries_fts_update; \
     CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, summary, body ON entries BEGIN \
     INSERT INTO entries_fts(entries_fts, rowid, title, summary, body) VALUES ('delete', old.id, old.title, old.summary, old.body); \
     INSERT INTO entries_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body); END";

const FTS_TRIGGER_ON_ANY: &str = "DROP TRIGGER entries_fts_update; \
     CREATE TRIGGER entries_fts_update AFTER UPDATE ON entries BEGIN \
     INSERT INTO entries_fts(entries_fts, rowid, title, summary, body) VALUES ('delete', old.id, old.title, old.summary, old.body); \
     INSERT INTO entries_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body); END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            integer(Entries::RatingCount).default(0).to_owned(),
            double(Entries::RatingAverage).default(0.0).to_owned(),
            integer(Entries::Rating1).default(0).to_owned(),
            integer(Entries::Rating2).default(0).to_owned(),
            integer(Entries::Rating3).default(0).to_owned(),
            integer(Entries::Rating4).default(0).to_owned(),
            integer(Entries::Rating5).default(0).to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Entries::Table).add_column(&mut column).to_owned()).await?;
        }
        index(
            manager,
            "idx_entries_rating",
            Entries::Table,
            vec![Entries::RatingAverage.into_iden(), Entries::RatingCount.into_iden(), Entries::Uuid.into_iden()],
            false,
        )
        .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            manager.get_connection().execute_unprepared(FTS_TRIGGER_ON_TEXT).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Reviews::Table)
                    .col(big_pk_auto(Reviews::Id))
                    .col(uuid_uniq(Reviews::Uuid))
                    .col(big_integer(Reviews::EntryId))
                    .col(big_integer(Reviews::AuthorId))
                    .col(small_integer(Reviews::Rating))
                    .col(string_len(Reviews::Title, 200))
                    .col(text(Reviews::Body))
                    .col(string_len(Reviews::Status, 16))
                    .col(text_null(Reviews::StatusReason))
                    .col(big_integer_null(Reviews::ModeratedBy))
                    .col(timestamp_with_time_zone_null(Reviews::ModeratedAt))
                    .col(integer(Reviews::HelpfulCount).default(0))
                    .col(integer(Reviews::UnhelpfulCount).default(0))
                    .col(timestamp_with_time_zone(Reviews::CreatedAt))
                    .col(timestamp_with_time_zone(Reviews::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Reviews::EditedAt))
                    .foreign_key(&mut fk(
                        (Reviews::Table, Reviews::EntryId),
                        (Entries::Table, Entries::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        (Reviews::Table, Reviews::AuthorId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // One review per user per entry: the backstop behind the service's upsert.
        index(
            manager,
            "uq_reviews_entry_author",
            Reviews::Table,
            vec![Reviews::EntryId.into_iden(), Reviews::AuthorId.into_iden()],
            true,
        )
        .await?;
        // The orders of `entry.reviews` (newest, by rating, most helpful) and `user.reviews`.
        for (name, sort) in [
            ("idx_reviews_entry_created", Reviews::CreatedAt),
            ("idx_reviews_entry_rating", Reviews::Rating),
            ("idx_reviews_entry_helpful", Reviews::HelpfulCount),
        ] {
            let cols = vec![Reviews::EntryId.into_iden(), Reviews::Status.into_iden(), sort.into_iden()];
            index(manager, name, Reviews::Table, cols, false).await?;
        }
        index(
            manager,
            "idx_reviews_author_created",
            Reviews::Table,
            vec![Reviews::AuthorId.into_iden(), Reviews::CreatedAt.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReviewVotes::Table)
                    .col(big_integer(ReviewVotes::ReviewId))
                    .col(big_integer(ReviewVotes::UserId))
                    .col(boolean(ReviewVotes::Helpful))
                    .col(timestamp_with_time_zone(ReviewVotes::CreatedAt))
                    .col(timestamp_with_time_zone(ReviewVotes::UpdatedAt))
                    .primary_key(Index::create().col(ReviewVotes::ReviewId).col(ReviewVotes::UserId))
                    .foreign_key(&mut fk(
                        (ReviewVotes::Table, ReviewVotes::ReviewId),
                        (Reviews::Table, Reviews::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        (ReviewVotes::Table, ReviewVotes::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .col(big_pk_auto(Media::Id))
                    .col(uuid_uniq(Media::Uuid))
                    .col(big_integer(Media::OwnerId))
                    .col(string_len(Media::ContentType, 32))
                    .col(big_integer(Media::ByteSize))
                    .col(integer(Media::Width))
                    .col(integer(Media::Height))
                    .col(string_len(Media::Sha256, 64))
                    .col(timestamp_with_time_zone(Media::CreatedAt))
                    .foreign_key(&mut fk(
                        (Media::Table, Media::OwnerId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // A second upload of the same bytes by the same owner reuses the first.
        index(
            manager,
            "uq_media_owner_sha256",
            Media::Table,
            vec![Media::OwnerId.into_iden(), Media::Sha256.into_iden()],
            true,
        )
        .await?;
        index(manager, "idx_media_created", Media::Table, vec![Media::CreatedAt.into_iden()], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(ReviewMedia::Table)
                    .col(big_integer(ReviewMedia::ReviewId))
                    .col(big_integer(ReviewMedia::MediaId))
                    .col(integer(ReviewMedia::Position))
                    .primary_key(Index::create().col(ReviewMedia::ReviewId).col(ReviewMedia::MediaId))
                    .foreign_key(&mut fk(
                        (ReviewMedia::Table, ReviewMedia::ReviewId),
                        (Reviews::Table, Reviews::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    // Attached media can't be deleted: the cleanup only removes unattached uploads.
                    .foreign_key(&mut fk(
                        (ReviewMedia::Table, ReviewMedia::MediaId),
                        (Media::Table, Media::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "idx_review_media_media", ReviewMedia::Table, vec![ReviewMedia::MediaId.into_iden()], false)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReviewMedia::Table.into_iden(),
            Media::Table.into_iden(),
            ReviewVotes::Table.into_iden(),
            Reviews::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            manager.get_connection().execute_unprepared(FTS_TRIGGER_ON_ANY).await?;
        }
        manager.drop_index(Index::drop().name("idx_entries_rating").table(Entries::Table).to_owned()).await?;
        for column in [
            Entries::RatingCount,
            Entries::RatingAverage,
            Entries::Rating1,
            Entries::Rating2,
            Entries::Rating3,
            Entries::Rating4,
            Entries::Rating5,
        ] {
            manager.alter_table(Table::alter().table(Entries::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
