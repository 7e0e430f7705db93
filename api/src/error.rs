//! The one error type. Its variants are what a client can act on; they map to
//! `extensions.code` here and nowhere else.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql turns
//! any `Display` error into a client error carrying its text, which is how raw
//! database messages leak. Without it, `?` in a resolver must go through
//! [`From<AppError> for async_graphql::Error`], which hides internals.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

/// Why a presented credential was refused. A request that carries one is
/// refused whole (never run as anonymous), with this as `extensions.reason`,
/// so a client can tell "refresh now" from "sign in again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The access token (or API token) is past its expiry: refresh it.
    TokenExpired,
    /// Not a token we issued: malformed, forged, or unknown.
    TokenInvalid,
    /// The API token was revoked by its owner.
    TokenRevoked,
    /// The session ended: signed out, revoked, or refresh-token reuse.
    SessionRevoked,
    AccountBanned,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::TokenInvalid => "TOKEN_INVALID",
            Self::TokenRevoked => "TOKEN_REVOKED",
            Self::SessionRevoked => "SESSION_REVOKED",
            Self::AccountBanned => "ACCOUNT_BANNED",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::TokenExpired => "the token has expired: refresh it",
            Self::TokenInvalid => "the token is not valid",
            Self::TokenRevoked => "the API token was revoked",
            Self::SessionRevoked => "the session has ended: sign in again",
            Self::AccountBanned => "the account is banned",
        }
    }

    /// The WebSocket close code. The `graphql-ws` client retries 4403 (its
    /// `connectionParams` then fetch a fresh token) and gives up on 4401.
    pub fn close_code(self) -> u16 {
        match self {
            Self::TokenExpired => 4403,
            _ => 4401,
        }
    }
}

#[derive(Debug, Clone)]
pub enum AppError {
    Unauthenticated(String),
    /// A presented credential did not verify (`UNAUTHENTICATED` with `extensions.reason`).
    Refused(Refusal),
    Forbidden(String),
    NotFound(String),
    BadInput(Vec<FieldError>),
    Conflict(String),
    RateLimited {
        retry_after_secs: u64,
    },
    /// The database could not be reached in time: retry shortly.
    Unavailable,
    Internal(std::sync::Arc<anyhow::Error>),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) | Self::Refused(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn unauthenticated() -> Self {
        Self::Unauthenticated("authentication required".into())
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden(reason.into())
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::BadInput(vec![FieldError::new(field, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(std::sync::Arc::new(err.into()))
    }

    /// Whether the failed work may succeed if run again at once (see [`transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Internal(source) if source.downcast_ref::<DbErr>().is_some_and(transient))
    }

    /// What clients read in `errors[].message`, and what the commands print.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Conflict(m) => m.clone(),
            Self::Refused(refusal) => refusal.message().into(),
            // Every field is named: the command line (`xpr create-admin`) shows only the message.
            Self::BadInput(fields) => {
                let named: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
                format!("invalid input: {}", named.join("; "))
            }
            Self::RateLimited { retry_after_secs } => format!("too many attempts; retry after {retry_after_secs} s"),
            Self::Unavailable => "the service is briefly unavailable: retry shortly".into(),
            Self::Internal(_) => "internal error".into(),
        }
    }
}

/// Whether `err` says the database couldn't be reached or answer in time
/// (rather than that a statement is wrong): no connection in time, a broken
/// connection, or PostgreSQL's statement timeout (`57014`).
fn unreachable(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error};
    match err {
        // Any failure to get or open a connection.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed | Error::Tls(_) => true,
            Error::Database(db) => db.code().as_deref() == Some("57014"),
            _ => false,
        },
        _ => false,
    }
}

/// Whether `err` says the transaction lost a race and would succeed if run
/// again: PostgreSQL's serialization failure (`40001`) or deadlock (`40P01`),
/// or SQLite's busy or locked database (codes 5 and 6, with their extended
/// codes such as 517, a stale snapshot).
fn transient(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error};
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return false;
    };
    let Error::Database(db) = e.as_ref() else { return false };
    let code = db.code().unwrap_or_default();
    if db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some() {
        // An extended code keeps its primary code in the low byte.
        code.parse::<i32>().is_ok_and(|code| matches!(code & 0xff, 5 | 6))
    } else {
        matches!(code.as_ref(), "40001" | "40P01")
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        // Classified by SQLSTATE / SQLite code through SeaORM, never by message text.
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict("already exists".into()),
            _ if unreachable(&err) => {
                tracing::warn!(error = %err, "database unreachable");
                Self::Unavailable
            }
            _ => Self::internal(err),
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(source) = &err {
            tracing::error!(error = ?source, "internal error");
        }
        let code = err.code();
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            match &err {
                AppError::BadInput(fields) => {
                    ext.set("fields", async_graphql::Value::from_json(serde_json::json!(fields)).unwrap_or_default())
                }
                AppError::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
                AppError::Unavailable => ext.set("retryAfter", 1),
                AppError::Refused(refusal) => ext.set("reason", refusal.reason()),
                _ => {}
            }
        })
    }
}
