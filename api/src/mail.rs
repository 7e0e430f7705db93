//! Outgoing mail through the `email_outbox` table: services enqueue a mail in
//! the transaction that caused it; a worker delivers it by SMTP (`SMTP_URL`) or
//! writes it as an `.eml` file under `<data dir>/mail`. Replicas lease rows
//! before sending, so one mail goes out once even with several workers.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use secrecy::ExposeSecret;
use tokio::sync::Notify;
use xpr_entity::email_outbox;

use crate::{config::Config, error::AppResult};

const LEASE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_secs(5);

/// Writes a mail to the outbox as part of the caller's transaction.
pub async fn enqueue(conn: &impl ConnectionTrait, to: &str, subject: &str, body: String) -> AppResult<()> {
    let now = Utc::now();
    email_outbox::Entity::insert(email_outbox::ActiveModel {
        recipient: Set(to.to_owned()),
        subject: Set(subject.to_owned()),
        body: Set(body),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        ..Default::default()
    })
    .exec(conn)
    .await?;
    Ok(())
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    db: DatabaseConnection,
    transport: Transport,
    from: Mailbox,
    wake: Arc<Notify>,
}

impl Mailer {
    /// `db` should be a pool of its own, so that delivery never competes with requests.
    pub fn new(config: &Config, db: DatabaseConnection, wake: Arc<Notify>) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())?.build()),
            None => {
                let dir = config.data_dir.join("mail");
                std::fs::create_dir_all(&dir)?;
                tracing::info!(dir = %dir.display(), "SMTP_URL is not set: mail is written to files");
                Transport::Files(AsyncFileTransport::new(dir))
            }
        };
        Ok(Self { db, transport, from: config.mail_from.parse()?, wake })
    }

    /// Delivers due mail until the process ends, waking early when a service enqueues.
    pub async fn run(self) {
        loop {
            if let Err(err) = self.deliver_due().await {
                tracing::warn!(error = %err, "mail delivery pass failed");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn deliver_due(&self) -> anyhow::Result<()> {
        let now = Utc::now();
        let due = email_outbox::Entity::find()
            .filter(email_outbox::Column::SentAt.is_null())
            .filter(email_outbox::Column::NextAttemptAt.lte(now))
            .filter(email_outbox::Column::ClaimedUntil.is_null().or(email_outbox::Column::ClaimedUntil.lt(now)))
            .order_by_asc(email_outbox::Column::Id)
            .limit(20)
            .all(&self.db)
            .await?;
        for mail in due {
            // Lease the row; if another replica got it first, skip it.
            let leased = email_outbox::Entity::update_many()
                .col_expr(email_outbox::Column::ClaimedUntil, Expr::value(now + LEASE))
                .filter(email_outbox::Column::Id.eq(mail.id))
                .filter(email_outbox::Column::SentAt.is_null())
                .filter(email_outbox::Column::ClaimedUntil.is_null().or(email_outbox::Column::ClaimedUntil.lt(now)))
                .exec(&self.db)
                .await?;
            if leased.rows_affected == 0 {
                continue;
            }
            let outcome = self.send(&mail).await;
            let mut update = email_outbox::Entity::update_many()
                .col_expr(email_outbox::Column::ClaimedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
                .col_expr(email_outbox::Column::Attempts, Expr::value(mail.attempts + 1))
                .filter(email_outbox::Column::Id.eq(mail.id));
            update = match outcome {
                Ok(()) => update.col_expr(email_outbox::Column::SentAt, Expr::value(Utc::now())),
                Err(err) => {
                    tracing::warn!(mail = mail.id, error = %err, "mail delivery failed; will retry");
                    let backoff = Duration::from_secs(30 * 2u64.pow(mail.attempts.clamp(0, 7) as u32));
                    update
                        .col_expr(email_outbox::Column::LastError, Expr::value(err.to_string()))
                        .col_expr(email_outbox::Column::NextAttemptAt, Expr::value(Utc::now() + backoff))
                }
            };
            update.exec(&self.db).await?;
        }
        Ok(())
    }

    async fn send(&self, mail: &email_outbox::Model) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.recipient.parse()?)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Files(files) => {
                files.send(message).await?;
            }
        }
        Ok(())
    }
}
