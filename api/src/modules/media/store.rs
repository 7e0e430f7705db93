//! The media store: one interface (`object_store`) over a local directory
//! (default, `<data dir>/media`) or an S3-compatible bucket. Objects are
//! keyed by the media's public id. See docs/adr/0007-media-storage.md.

use std::sync::Arc;

use axum::body::Bytes;
use futures_util::Stream;
use object_store::{ObjectStore, aws::AmazonS3Builder, local::LocalFileSystem, path::Path};
use uuid::Uuid;

use crate::config::{Config, MediaStoreKind};

#[derive(Clone)]
pub struct MediaStore {
    objects: Arc<dyn ObjectStore>,
}

impl MediaStore {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let objects: Arc<dyn ObjectStore> = match config.media_store {
            MediaStoreKind::Local => {
                let dir = config.data_dir.join("media");
                std::fs::create_dir_all(&dir)?;
                Arc::new(LocalFileSystem::new_with_prefix(dir)?)
            }
            MediaStoreKind::S3 => {
                let bucket = config.media_s3_bucket.as_deref().unwrap_or_default();
                // Endpoint, region and credentials come from the standard `AWS_*` variables.
                Arc::new(AmazonS3Builder::from_env().with_bucket_name(bucket).build()?)
            }
        };
        Ok(Self { objects })
    }

    fn path(id: Uuid) -> Path {
        Path::from(id.to_string())
    }

    pub async fn put(&self, id: Uuid, bytes: Bytes) -> anyhow::Result<()> {
        self.objects.put(&Self::path(id), bytes.into()).await?;
        Ok(())
    }

    /// The stored bytes, streamed.
    pub async fn get(
        &self,
        id: Uuid,
    ) -> anyhow::Result<impl Stream<Item = object_store::Result<Bytes>> + Send + 'static + use<>> {
        Ok(self.objects.get(&Self::path(id)).await?.into_stream())
    }

    /// Removes the bytes; already gone is fine.
    pub async fn delete(&self, id: Uuid) -> anyhow::Result<()> {
        match self.objects.delete(&Self::path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}
