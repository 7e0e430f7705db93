//! Database migrations, applied in order on start (`xpr migrate` or `xpr serve`).
//! Schema changes follow expand/contract so that replicas on the previous
//! release keep working while a new one rolls out.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_identity;
mod m20261123_000002_content;
mod m20261123_000003_revision_archive;
mod m20261123_000004_moderation;
mod m20261123_000005_reviews_media;
mod m20261123_000007_realtime;
mod m20261123_000008_entry_media;
mod m20261201_000009_revision_media;
mod m20261201_000010_revision_archive_time;
mod m20261201_000011_review_queue;
mod m20261202_000012_activity;
mod m20261204_000013_outbox_wake;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_identity::Migration),
            Box::new(m20261123_000002_content::Migration),
            Box::new(m20261123_000003_revision_archive::Migration),
            Box::new(m20261123_000004_moderation::Migration),
            Box::new(m20261123_000005_reviews_media::Migration),
            Box::new(m20261123_000007_realtime::Migration),
            Box::new(m20261123_000008_entry_media::Migration),
            Box::new(m20261201_000009_revision_media::Migration),
            Box::new(m20261201_000010_revision_archive_time::Migration),
            Box::new(m20261201_000011_review_queue::Migration),
            Box::new(m20261202_000012_activity::Migration),
            Box::new(m20261204_000013_outbox_wake::Migration),
        ]
    }
}
