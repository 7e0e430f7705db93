//! Database connections: PostgreSQL, or the embedded SQLite file by default.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, InsertMany, IntoActiveModel, SqliteTransactionMode, TransactionOptions,
    TransactionTrait, Value,
    sea_query::{Expr, OnConflict, postgres_array::NotU8},
    sqlx,
};
use xpr_migration::{Migrator, MigratorTrait};

use crate::{
    config::Config,
    error::{AppError, AppResult},
};

/// Opens a pool. `max` bounds its connections; SQLite gets WAL and a busy timeout
/// because it allows one writer at a time.
pub async fn connect(config: &Config, max: u32) -> anyhow::Result<DatabaseConnection> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let statement_timeout = format!("{}ms", config.db_statement_timeout_ms);
    let mut options = ConnectOptions::new(config.database_url());
    options
        .max_connections(max)
        .min_connections(1)
        // An outage fails requests fast (`UNAVAILABLE`) instead of holding them.
        .connect_timeout(Duration::from_millis(config.db_timeout_ms))
        .acquire_timeout(Duration::from_millis(config.db_timeout_ms))
        // A ping on every checkout would add a round trip to each statement;
        // only connections idle long enough to have been dropped are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        })
        .map_sqlx_postgres_opts(move |opts| opts.options([("statement_timeout", statement_timeout.clone())]));
    Ok(Database::connect(options).await?)
}

/// Runs `$work` (an expression that uses `$txn` and yields an `AppResult`)
/// in a write transaction, committed when it succeeds and rolled back when it
/// fails. Work that lost a race to another transaction — PostgreSQL's
/// serialization failure (`40001`) or deadlock (`40P01`), or SQLite still
/// busy after its timeout — runs again from the start after a jittered
/// backoff, so `$work` must write only through `$txn` (no mail sent, no file
/// stored) and must not move what it captures. A macro rather than a function
/// taking an async closure: the closure's borrowed future can't yet be shown
/// `Send` to async-graphql's boxed resolvers.
#[macro_export]
macro_rules! transaction {
    ($db:expr, |$txn:ident| $work:expr) => {{
        let mut attempt = 1;
        loop {
            let $txn = $crate::db::write_txn($db).await?;
            let result = async { $work }.await;
            if let Some(result) = $crate::db::settle($txn, result, &mut attempt).await {
                break result;
            }
        }
    }};
}
pub use crate::transaction;

/// Tries a transaction gets before its transient failure is returned.
const ATTEMPTS: u32 = 5;

/// Ends one attempt of [`transaction!`]: commits on success, and returns the
/// outcome, or `None` (after a pause) when the attempt should run again.
pub async fn settle<T>(txn: DatabaseTransaction, result: AppResult<T>, attempt: &mut u32) -> Option<AppResult<T>> {
    let result = match result {
        Ok(value) => txn.commit().await.map(|()| value).map_err(AppError::from),
        Err(err) => Err(err),
    };
    match result {
        Err(err) if *attempt < ATTEMPTS && err.is_transient() => {
            // 5–10 ms, then doubling: 10–20, 20–40, 40–80.
            let base = 5u64 << (*attempt - 1);
            let pause = base + rand::random_range(0..=base);
            tracing::debug!(attempt = *attempt, pause_ms = pause, "transaction retried");
            tokio::time::sleep(Duration::from_millis(pause)).await;
            *attempt += 1;
            None
        }
        result => Some(result),
    }
}

/// Begins a transaction that writes, for work that must not run twice (the
/// outbox relay publishes before it commits); everything else goes through
/// [`transaction!`]. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails
/// at once with `SQLITE_BUSY` when another connection wrote meanwhile, instead
/// of waiting for the busy timeout. PostgreSQL ignores the option.
pub async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    db.begin_with_options(options).await
}

/// `column` is one of `ids`: a batch's lookup. PostgreSQL gets one array
/// parameter (`= ANY($1)`), so the statement reads the same for any number of
/// keys: each connection prepares it once and PostgreSQL reuses its plan,
/// where an `IN` list of n parameters is a new statement, planned anew on
/// every execution. A single key is `= $1`: PostgreSQL's generic plan for
/// `= ANY($1)` assumes ten elements, costlier than a one-element custom
/// plan, so it would plan that one anew every time. SQLite has no arrays and
/// keeps the `IN` list.
pub fn any_of<Id>(backend: DbBackend, column: impl ColumnTrait, ids: impl IntoIterator<Item = Id>) -> Expr
where
    Id: Into<Value> + NotU8 + Copy,
{
    let ids: Vec<Id> = ids.into_iter().collect();
    match (backend, ids.as_slice()) {
        (_, [id]) => column.eq(*id),
        (DbBackend::Postgres, _) => column.eq_any(ids),
        _ => column.is_in(ids),
    }
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
    use std::sync::Arc;

    use sea_orm::{
        ActiveEnum, DbErr, QueryResult, RuntimeErr, TryGetable,
        sqlx::{self, Postgres, Row},
    };
    use xpr_entity::{entry, review, user};

    /// Decodes the rows of one result, checking column types on the first only.
    pub fn each<T>(
        rows: &[QueryResult],
        decode: fn(&QueryResult, bool) -> Result<T, DbErr>,
    ) -> impl Iterator<Item = Result<T, DbErr>> {
        rows.iter().enumerate().map(move |(i, row)| decode(row, i == 0))
    }

    /// Column `index` of `row`. SQLx checks a PostgreSQL column's type against
    /// `T` on every read, a tenth of a list's decoding; the rows of one result
    /// share their columns, so `check` is set for a result's first row only
    /// and the others are decoded directly.
    fn read<T>(row: &QueryResult, index: usize, check: bool) -> Result<T, DbErr>
    where
        T: TryGetable + for<'r> sqlx::Decode<'r, Postgres>,
    {
        match row.try_as_pg_row() {
            Some(row) if !check => {
                row.try_get_unchecked(index).map_err(|err| DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))))
            }
            _ => row.try_get_by_index(index),
        }
    }

    /// A string column of an active enum (SQLx can't decode those itself).
    fn read_enum<E: ActiveEnum<Value = String>>(row: &QueryResult, index: usize, check: bool) -> Result<E, DbErr> {
        E::try_from_value(&read(row, index, check)?)
    }

    /// `entity::Model { field: Column, …; enum_field: Column, … }`, each field
    /// read at its column's position; the fields after `;` are active enums.
    macro_rules! by_position {
        ($row:ident, $check:ident, $entity:ident {
            $($field:ident: $column:ident),* $(,)? $(; $($enum_field:ident: $enum_column:ident),* $(,)?)?
        }) => {
            Ok($entity::Model {
                $($field: read($row, $entity::Column::$column as usize, $check)?,)*
                $($($enum_field: read_enum($row, $entity::Column::$enum_column as usize, $check)?,)*)?
            })
        };
    }

    pub fn entry(row: &QueryResult, check: bool) -> Result<entry::Model, DbErr> {
        by_position!(
            row,
            check,
            entry {
                id: Id,
                uuid: Uuid,
                kind_id: KindId,
                slug: Slug,
                title: Title,
                summary: Summary,
                body: Body,
                attributes: Attributes,
                parent_id: ParentId,
                version: Version,
                current_revision_id: CurrentRevisionId,
                deleted: Deleted,
                created_by: CreatedBy,
                created_at: CreatedAt,
                updated_at: UpdatedAt,
                rating_count: RatingCount,
                rating_average: RatingAverage,
                rating1: Rating1,
                rating2: Rating2,
                rating3: Rating3,
                rating4: Rating4,
                rating5: Rating5,
            }
        )
    }

    pub fn user(row: &QueryResult, check: bool) -> Result<user::Model, DbErr> {
        by_position!(
            row,
            check,
            user {
                id: Id,
                uuid: Uuid,
                handle: Handle,
                handle_key: HandleKey,
                email: Email,
                email_verified_at: EmailVerifiedAt,
                password_hash: PasswordHash,
                display_name: DisplayName,
                bio: Bio,
                avatar_url: AvatarUrl,
                suspended_until: SuspendedUntil,
                status_reason: StatusReason,
                reputation: Reputation,
                last_seen_at: LastSeenAt,
                created_at: CreatedAt,
                updated_at: UpdatedAt;
                role: Role,
                status: Status,
            }
        )
    }

    pub fn review(row: &QueryResult, check: bool) -> Result<review::Model, DbErr> {
        by_position!(
            row,
            check,
            review {
                id: Id,
                uuid: Uuid,
                entry_id: EntryId,
                author_id: AuthorId,
                rating: Rating,
                title: Title,
                body: Body,
                status_reason: StatusReason,
                moderated_by: ModeratedBy,
                moderated_at: ModeratedAt,
                helpful_count: HelpfulCount,
                unhelpful_count: UnhelpfulCount,
                created_at: CreatedAt,
                updated_at: UpdatedAt,
                edited_at: EditedAt,
                creator_notified: CreatorNotified;
                status: Status,
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{QueryFilter, QueryTrait};
    use xpr_entity::user;

    use super::*;

    #[test]
    fn batch_lookups_read_the_same_for_any_number_of_keys() {
        let built = |backend, ids: &[i64]| {
            let select = user::Entity::find().filter(any_of(backend, user::Column::Id, ids.iter().copied()));
            let statement = select.build(backend);
            (statement.sql, statement.values.map_or(0, |values| values.0.len()))
        };
        let (sql, values) = built(DbBackend::Postgres, &[1, 2]);
        assert!(sql.ends_with(r#"WHERE "users"."id" = ANY($1)"#), "{sql}");
        assert_eq!(values, 1);
        assert_eq!(built(DbBackend::Postgres, &[1, 2, 3]), (sql, 1), "one array parameter for three keys");
        let (sql, values) = built(DbBackend::Postgres, &[1]);
        assert!(sql.ends_with(r#"WHERE "users"."id" = $1"#), "one key is compared, so its plan is cached: {sql}");
        assert_eq!(values, 1);
        let (sql, values) = built(DbBackend::Sqlite, &[1, 2, 3]);
        assert!(sql.ends_with(r#"WHERE "users"."id" IN (?, ?, ?)"#), "{sql}");
        assert_eq!(values, 3);
    }
}
