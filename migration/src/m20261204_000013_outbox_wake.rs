//! PostgreSQL tells listeners when events are written: the outbox relay of
//! every replica wakes as the writing transaction commits (NOTIFY is
//! delivered on commit) instead of at its next poll. One notification per
//! statement, and PostgreSQL folds repeats within a transaction. SQLite has
//! no notifications; its single process keeps polling.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_notify('outbox_events', ''); RETURN NULL; END $$",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events \
             FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS outbox_events_notify ON outbox_events").await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS outbox_events_notify()").await?;
        Ok(())
    }
}
