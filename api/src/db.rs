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

/// Rows of the lists and loaders a page reads most, decoded by position.
/// SeaORM's derived models look each column up by name (a hash per column per
/// row) and format an error text for every NULL column, only to drop it: for
/// the entries, users and reviews of a dashboard page that was a third of the
/// server's instructions (docs/benchmarks.md). Each function reads a row whose
/// first columns are the entity's, in declaration order (what `Entity::find()`
/// selects); positions come from the column enum, so they follow the entity.
pub mod rows {
    use sea_orm::{DbErr, QueryResult};
    use xpr_entity::{entry, review, user};

    pub fn entry(row: &QueryResult) -> Result<entry::Model, DbErr> {
        use entry::Column as C;
        Ok(entry::Model {
            id: row.try_get_by_index(C::Id as usize)?,
            uuid: row.try_get_by_index(C::Uuid as usize)?,
            kind_id: row.try_get_by_index(C::KindId as usize)?,
            slug: row.try_get_by_index(C::Slug as usize)?,
            title: row.try_get_by_index(C::Title as usize)?,
            summary: row.try_get_by_index(C::Summary as usize)?,
            body: row.try_get_by_index(C::Body as usize)?,
            attributes: row.try_get_by_index(C::Attributes as usize)?,
            parent_id: row.try_get_by_index(C::ParentId as usize)?,
            version: row.try_get_by_index(C::Version as usize)?,
            current_revision_id: row.try_get_by_index(C::CurrentRevisionId as usize)?,
            deleted: row.try_get_by_index(C::Deleted as usize)?,
            created_by: row.try_get_by_index(C::CreatedBy as usize)?,
            created_at: row.try_get_by_index(C::CreatedAt as usize)?,
            updated_at: row.try_get_by_index(C::UpdatedAt as usize)?,
            rating_count: row.try_get_by_index(C::RatingCount as usize)?,
            rating_average: row.try_get_by_index(C::RatingAverage as usize)?,
            rating1: row.try_get_by_index(C::Rating1 as usize)?,
            rating2: row.try_get_by_index(C::Rating2 as usize)?,
            rating3: row.try_get_by_index(C::Rating3 as usize)?,
            rating4: row.try_get_by_index(C::Rating4 as usize)?,
            rating5: row.try_get_by_index(C::Rating5 as usize)?,
        })
    }

    pub fn user(row: &QueryResult) -> Result<user::Model, DbErr> {
        use user::Column as C;
        Ok(user::Model {
            id: row.try_get_by_index(C::Id as usize)?,
            uuid: row.try_get_by_index(C::Uuid as usize)?,
            handle: row.try_get_by_index(C::Handle as usize)?,
            handle_key: row.try_get_by_index(C::HandleKey as usize)?,
            email: row.try_get_by_index(C::Email as usize)?,
            email_verified_at: row.try_get_by_index(C::EmailVerifiedAt as usize)?,
            password_hash: row.try_get_by_index(C::PasswordHash as usize)?,
            display_name: row.try_get_by_index(C::DisplayName as usize)?,
            bio: row.try_get_by_index(C::Bio as usize)?,
            avatar_url: row.try_get_by_index(C::AvatarUrl as usize)?,
            role: row.try_get_by_index(C::Role as usize)?,
            status: row.try_get_by_index(C::Status as usize)?,
            suspended_until: row.try_get_by_index(C::SuspendedUntil as usize)?,
            status_reason: row.try_get_by_index(C::StatusReason as usize)?,
            reputation: row.try_get_by_index(C::Reputation as usize)?,
            last_seen_at: row.try_get_by_index(C::LastSeenAt as usize)?,
            created_at: row.try_get_by_index(C::CreatedAt as usize)?,
            updated_at: row.try_get_by_index(C::UpdatedAt as usize)?,
        })
    }

    pub fn review(row: &QueryResult) -> Result<review::Model, DbErr> {
        use review::Column as C;
        Ok(review::Model {
            id: row.try_get_by_index(C::Id as usize)?,
            uuid: row.try_get_by_index(C::Uuid as usize)?,
            entry_id: row.try_get_by_index(C::EntryId as usize)?,
            author_id: row.try_get_by_index(C::AuthorId as usize)?,
            rating: row.try_get_by_index(C::Rating as usize)?,
            title: row.try_get_by_index(C::Title as usize)?,
            body: row.try_get_by_index(C::Body as usize)?,
            status: row.try_get_by_index(C::Status as usize)?,
            status_reason: row.try_get_by_index(C::StatusReason as usize)?,
            moderated_by: row.try_get_by_index(C::ModeratedBy as usize)?,
            moderated_at: row.try_get_by_index(C::ModeratedAt as usize)?,
            helpful_count: row.try_get_by_index(C::HelpfulCount as usize)?,
            unhelpful_count: row.try_get_by_index(C::UnhelpfulCount as usize)?,
            created_at: row.try_get_by_index(C::CreatedAt as usize)?,
            updated_at: row.try_get_by_index(C::UpdatedAt as usize)?,
            edited_at: row.try_get_by_index(C::EditedAt as usize)?,
            creator_notified: row.try_get_by_index(C::CreatorNotified as usize)?,
        })
    }
}
