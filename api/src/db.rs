//! Database connections: PostgreSQL, or the embedded SQLite file by default.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, InsertMany, IntoActiveModel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
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
const ROWS_PER_INSERT: usize = 1_000;

/// `rows` as multi-row `INSERT`s, as few as the backends allow.
fn inserts<A: ActiveModelTrait>(rows: Vec<A>, on_conflict: Option<OnConflict>) -> impl Iterator<Item = InsertMany<A>> {
    let mut rows = rows.into_iter().peekable();
    std::iter::from_fn(move || {
        rows.peek()?;
        let insert = A::Entity::insert_many(rows.by_ref().take(ROWS_PER_INSERT));
        Some(match &on_conflict {
            Some(on_conflict) => insert.on_conflict(on_conflict.clone()),
            None => insert,
        })
    })
}

/// Inserts `rows` and returns them as stored (without those `on_conflict` skipped).
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
    for insert in inserts(rows, on_conflict) {
        stored.extend(insert.exec_with_returning(db).await?);
    }
    Ok(stored)
}

/// Inserts `rows` without reading them back.
pub async fn insert_all<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
) -> Result<(), DbErr> {
    for insert in inserts(rows, on_conflict) {
        insert.exec_without_returning(db).await?;
    }
    Ok(())
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
