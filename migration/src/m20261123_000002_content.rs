//! Content and versioning: entry kinds, entries (the current state, with tags
//! and links materialised for queries), revisions (immutable snapshots),
//! submissions and their changes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EntryKinds {
    Table,
    Id,
    Uuid,
    Slug,
    Name,
    Description,
    AttributeSchema,
    AllowedParentKinds,
    MergePolicy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Entries {
    Table,
    Id,
    Uuid,
    KindId,
    Slug,
    Title,
    Summary,
    Body,
    Attributes,
    ParentId,
    Version,
    CurrentRevisionId,
    Deleted,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EntryTags {
    Table,
    EntryId,
    Tag,
}

#[derive(DeriveIden)]
enum EntryLinks {
    Table,
    Id,
    FromEntryId,
    ToEntryId,
    LinkType,
}

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Id,
    Uuid,
    EntryId,
    Number,
    ParentId,
    AuthorId,
    MergerId,
    SubmissionId,
    Summary,
    Snapshot,
    CreatedAt,
    Archived,
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    Id,
    Uuid,
    AuthorId,
    Title,
    Description,
    Status,
    CreatedAt,
    UpdatedAt,
    SubmittedAt,
    DecidedAt,
    DecidedBy,
    DecisionReason,
}

#[derive(DeriveIden)]
enum Changes {
    Table,
    Id,
    Uuid,
    SubmissionId,
    Position,
    Op,
    KindId,
    EntryId,
    BaseRevisionId,
    Patch,
    Conflicts,
    ConflictRevisionId,
    Resolutions,
    CreatedAt,
    UpdatedAt,
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let mut fk = ForeignKey::create();
    fk.from(from.0, from.1).to(to.0, to.1);
    if cascade {
        fk.on_delete(ForeignKeyAction::Cascade);
    }
    fk.to_owned()
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EntryKinds::Table)
                    .col(big_pk_auto(EntryKinds::Id))
                    .col(uuid_uniq(EntryKinds::Uuid))
                    .col(string_len_uniq(EntryKinds::Slug, 64))
                    .col(string_len(EntryKinds::Name, 128))
                    .col(text(EntryKinds::Description))
                    .col(json_binary(EntryKinds::AttributeSchema))
                    .col(json_binary(EntryKinds::AllowedParentKinds))
                    .col(string_len(EntryKinds::MergePolicy, 16))
                    .col(timestamp_with_time_zone(EntryKinds::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Entries::Table)
                    .col(big_pk_auto(Entries::Id))
                    .col(uuid_uniq(Entries::Uuid))
                    .col(big_integer(Entries::KindId))
                    .col(string_len(Entries::Slug, 128))
                    .col(string_len(Entries::Title, 256))
                    .col(text(Entries::Summary))
                    .col(text(Entries::Body))
                    .col(json_binary(Entries::Attributes))
                    .col(big_integer_null(Entries::ParentId))
                    .col(integer(Entries::Version))
                    .col(big_integer_null(Entries::CurrentRevisionId))
                    .col(boolean(Entries::Deleted).default(false))
                    .col(big_integer(Entries::CreatedBy))
                    .col(timestamp_with_time_zone(Entries::CreatedAt))
                    .col(timestamp_with_time_zone(Entries::UpdatedAt))
                    .foreign_key(&mut fk((Entries::Table, Entries::KindId), (EntryKinds::Table, EntryKinds::Id), false))
                    .foreign_key(&mut fk((Entries::Table, Entries::ParentId), (Entries::Table, Entries::Id), false))
                    .foreign_key(&mut fk((Entries::Table, Entries::CreatedBy), (Users::Table, Users::Id), false))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "uq_entries_kind_slug",
            Entries::Table,
            vec![Entries::KindId.into_iden(), Entries::Slug.into_iden()],
            true,
        )
        .await?;
        index(manager, "idx_entries_parent", Entries::Table, vec![Entries::ParentId.into_iden()], false).await?;
        index(
            manager,
            "idx_entries_title",
            Entries::Table,
            vec![Entries::Title.into_iden(), Entries::Uuid.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "idx_entries_updated",
            Entries::Table,
            vec![Entries::UpdatedAt.into_iden(), Entries::Uuid.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(EntryTags::Table)
                    .col(big_integer(EntryTags::EntryId))
                    .col(string_len(EntryTags::Tag, 64))
                    .primary_key(Index::create().col(EntryTags::EntryId).col(EntryTags::Tag))
                    .foreign_key(&mut fk((EntryTags::Table, EntryTags::EntryId), (Entries::Table, Entries::Id), true))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_entry_tags_tag",
            EntryTags::Table,
            vec![EntryTags::Tag.into_iden(), EntryTags::EntryId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(EntryLinks::Table)
                    .col(big_pk_auto(EntryLinks::Id))
                    .col(big_integer(EntryLinks::FromEntryId))
                    .col(big_integer(EntryLinks::ToEntryId))
                    .col(string_len(EntryLinks::LinkType, 64))
                    .foreign_key(&mut fk(
                        (EntryLinks::Table, EntryLinks::FromEntryId),
                        (Entries::Table, Entries::Id),
                        true,
                    ))
                    .foreign_key(&mut fk(
                        (EntryLinks::Table, EntryLinks::ToEntryId),
                        (Entries::Table, Entries::Id),
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "uq_entry_links",
            EntryLinks::Table,
            vec![
                EntryLinks::FromEntryId.into_iden(),
                EntryLinks::ToEntryId.into_iden(),
                EntryLinks::LinkType.into_iden(),
            ],
            true,
        )
        .await?;
        index(manager, "idx_entry_links_to", EntryLinks::Table, vec![EntryLinks::ToEntryId.into_iden()], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(Submissions::Table)
                    .col(big_pk_auto(Submissions::Id))
                    .col(uuid_uniq(Submissions::Uuid))
                    .col(big_integer(Submissions::AuthorId))
                    .col(string_len(Submissions::Title, 200))
                    .col(text(Submissions::Description))
                    .col(string_len(Submissions::Status, 24))
                    .col(timestamp_with_time_zone(Submissions::CreatedAt))
                    .col(timestamp_with_time_zone(Submissions::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Submissions::SubmittedAt))
                    .col(timestamp_with_time_zone_null(Submissions::DecidedAt))
                    .col(big_integer_null(Submissions::DecidedBy))
                    .col(text_null(Submissions::DecisionReason))
                    .foreign_key(&mut fk((Submissions::Table, Submissions::AuthorId), (Users::Table, Users::Id), false))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_submissions_author",
            Submissions::Table,
            vec![Submissions::AuthorId.into_iden(), Submissions::Id.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "idx_submissions_status",
            Submissions::Table,
            vec![Submissions::Status.into_iden(), Submissions::Id.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Revisions::Table)
                    .col(big_pk_auto(Revisions::Id))
                    .col(uuid_uniq(Revisions::Uuid))
                    .col(big_integer(Revisions::EntryId))
                    .col(integer(Revisions::Number))
                    .col(big_integer_null(Revisions::ParentId))
                    .col(big_integer(Revisions::AuthorId))
                    .col(big_integer_null(Revisions::MergerId))
                    .col(big_integer_null(Revisions::SubmissionId))
                    .col(string_len(Revisions::Summary, 500))
                    .col(json_binary(Revisions::Snapshot))
                    .col(timestamp_with_time_zone(Revisions::CreatedAt))
                    .col(boolean(Revisions::Archived).default(false))
                    .foreign_key(&mut fk((Revisions::Table, Revisions::EntryId), (Entries::Table, Entries::Id), false))
                    .foreign_key(&mut fk((Revisions::Table, Revisions::AuthorId), (Users::Table, Users::Id), false))
                    .to_owned(),
            )
            .await?;
        // One number per entry: the backstop against two merges numbering alike.
        index(
            manager,
            "uq_revisions_entry_number",
            Revisions::Table,
            vec![Revisions::EntryId.into_iden(), Revisions::Number.into_iden()],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Changes::Table)
                    .col(big_pk_auto(Changes::Id))
                    .col(uuid_uniq(Changes::Uuid))
                    .col(big_integer(Changes::SubmissionId))
                    .col(integer(Changes::Position))
                    .col(string_len(Changes::Op, 8))
                    .col(big_integer_null(Changes::KindId))
                    .col(big_integer_null(Changes::EntryId))
                    .col(big_integer_null(Changes::BaseRevisionId))
                    .col(json_binary(Changes::Patch))
                    .col(json_binary_null(Changes::Conflicts))
                    .col(big_integer_null(Changes::ConflictRevisionId))
                    .col(json_binary_null(Changes::Resolutions))
                    .col(timestamp_with_time_zone(Changes::CreatedAt))
                    .col(timestamp_with_time_zone(Changes::UpdatedAt))
                    .foreign_key(&mut fk(
                        (Changes::Table, Changes::SubmissionId),
                        (Submissions::Table, Submissions::Id),
                        true,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_changes_submission",
            Changes::Table,
            vec![Changes::SubmissionId.into_iden(), Changes::Position.into_iden()],
            false,
        )
        .await?;
        index(manager, "idx_changes_entry", Changes::Table, vec![Changes::EntryId.into_iden()], false).await?;

        // Full-text search: a GIN index on PostgreSQL, an FTS5 table kept by triggers on SQLite.
        let search_sql = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => vec![
                "CREATE INDEX idx_entries_search ON entries USING GIN \
                 (to_tsvector('simple', title || ' ' || summary || ' ' || body))",
            ],
            _ => vec![
                "CREATE VIRTUAL TABLE entries_fts USING fts5(title, summary, body, content='entries', content_rowid='id')",
                "CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN \
                 INSERT INTO entries_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body); END",
                "CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN \
                 INSERT INTO entries_fts(entries_fts, rowid, title, summary, body) VALUES ('delete', old.id, old.title, old.summary, old.body); END",
                "CREATE TRIGGER entries_fts_update AFTER UPDATE ON entries BEGIN \
                 INSERT INTO entries_fts(entries_fts, rowid, title, summary, body) VALUES ('delete', old.id, old.title, old.summary, old.body); \
                 INSERT INTO entries_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body); END",
            ],
        };
        for sql in search_sql {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS entries_fts").await?;
        }
        for table in [
            Changes::Table.into_iden(),
            Revisions::Table.into_iden(),
            Submissions::Table.into_iden(),
            EntryLinks::Table.into_iden(),
            EntryTags::Table.into_iden(),
            Entries::Table.into_iden(),
            EntryKinds::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
