//! Database connections: PostgreSQL, or the embedded SQLite file by default.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, IntoActiveModel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sea_query::OnConflict, sqlx,
};
use xpr_migration::{Migrator, MigratorTrait};

use crate::config::Config;

/// Opens a pool. `max` bounds its connections; SQLite gets WAL and a busy timeout
/// because it allows one writer at a time.
pub async fn connect(config: &Config, max: u32) -> anyhow::Result<DatabaseConnection> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let mut options = ConnectOptions::new(config.database_url());
    options
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // A ping on every checkout would add a round trip to each statement;
        // only connections idle long enough to have been dropped are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Ok(Database::connect(options).await?)
}

/// Begins a transaction that writes. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails
/// at once with `SQLITE_BUSY` when another connection wrote meanwhile, instead
/// of waiting for the busy timeout. PostgreSQL ignores the option.
pub async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    db.begin_with_options(options).await
}

/// Rows per multi-row `INSERT`: SQLite binds at most 32,766 values per statement.
pub const ROWS_PER_INSERT: usize = 1_000;

/// Inserts `rows` in as few statements as the backends allow and returns them as stored
/// (without those `on_conflict` skipped).
pub async fn insert_rows<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
) -> Result<Vec<<A::Entity as EntityTrait>::Model>, DbErr>
where
    A: ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let mut stored = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut insert = A::Entity::insert_many(rows.by_ref().take(ROWS_PER_INSERT));
        if let Some(on_conflict) = &on_conflict {
            insert = insert.on_conflict(on_conflict.clone());
        }
        stored.extend(insert.exec_with_returning(db).await?);
    }
    Ok(stored)
}

/// Applies pending migrations. On PostgreSQL they run in one transaction under
/// an advisory lock, so replicas starting together apply them exactly once.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        Migrator::up(db, None).await?;
        return Ok(());
    }
    let txn = db.begin().await?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(7870001)").await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await?;
    Ok(())
}
