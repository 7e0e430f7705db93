//! Moderation: review claims and check warnings on submissions, the
//! admin-managed blocklist, reports, and the append-only moderation log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    ClaimedBy,
    ClaimExpiresAt,
    CheckWarnings,
}

#[derive(DeriveIden)]
enum Blocklist {
    Table,
    Id,
    Uuid,
    Kind,
    Value,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    Uuid,
    ReporterId,
    TargetType,
    TargetId,
    Reason,
    Status,
    ResolutionNote,
    ResolvedBy,
    CreatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum ModerationLog {
    Table,
    Id,
    Uuid,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Reason,
    CreatedAt,
}

fn user_fk(table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, col).to(Users::Table, Users::Id).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        for column in [
            big_integer_null(Submissions::ClaimedBy),
            timestamp_with_time_zone_null(Submissions::ClaimExpiresAt),
            json_binary_null(Submissions::CheckWarnings),
        ] {
            manager.alter_table(Table::alter().table(Submissions::Table).add_column(column).to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Blocklist::Table)
                    .col(big_pk_auto(Blocklist::Id))
                    .col(uuid_uniq(Blocklist::Uuid))
                    .col(string_len(Blocklist::Kind, 16))
                    .col(string_len(Blocklist::Value, 200))
                    .col(big_integer(Blocklist::CreatedBy))
                    .col(timestamp_with_time_zone(Blocklist::CreatedAt))
                    .foreign_key(&mut user_fk(Blocklist::Table, Blocklist::CreatedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_blocklist_kind_value")
                    .table(Blocklist::Table)
                    .col(Blocklist::Kind)
                    .col(Blocklist::Value)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reports::Table)
                    .col(big_pk_auto(Reports::Id))
                    .col(uuid_uniq(Reports::Uuid))
                    .col(big_integer(Reports::ReporterId))
                    .col(string_len(Reports::TargetType, 16))
                    .col(uuid(Reports::TargetId))
                    .col(text(Reports::Reason))
                    .col(string_len(Reports::Status, 16))
                    .col(text_null(Reports::ResolutionNote))
                    .col(big_integer_null(Reports::ResolvedBy))
                    .col(timestamp_with_time_zone(Reports::CreatedAt))
                    .col(timestamp_with_time_zone_null(Reports::ResolvedAt))
                    .foreign_key(&mut user_fk(Reports::Table, Reports::ReporterId))
                    .to_owned(),
            )
            .await?;
        // One open report per reporter and target; the same statement works on both backends.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_reports_open ON reports (reporter_id, target_type, target_id) \
                 WHERE status = 'OPEN'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reports_status")
                    .table(Reports::Table)
                    .col(Reports::Status)
                    .col(Reports::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ModerationLog::Table)
                    .col(big_pk_auto(ModerationLog::Id))
                    .col(uuid_uniq(ModerationLog::Uuid))
                    .col(big_integer(ModerationLog::ActorId))
                    .col(string_len(ModerationLog::Action, 32))
                    .col(string_len(ModerationLog::TargetType, 16))
                    .col(uuid(ModerationLog::TargetId))
                    .col(text_null(ModerationLog::Reason))
                    .col(timestamp_with_time_zone(ModerationLog::CreatedAt))
                    .foreign_key(&mut user_fk(ModerationLog::Table, ModerationLog::ActorId))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_moderation_log_actor", ModerationLog::ActorId),
            ("idx_moderation_log_target", ModerationLog::TargetId),
        ] {
            manager
                .create_index(
                    Index::create().name(name).table(ModerationLog::Table).col(col).col(ModerationLog::Id).to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [ModerationLog::Table.into_iden(), Reports::Table.into_iden(), Blocklist::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for column in [Submissions::CheckWarnings, Submissions::ClaimExpiresAt, Submissions::ClaimedBy] {
            manager.alter_table(Table::alter().table(Submissions::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
