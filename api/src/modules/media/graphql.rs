//! Media's GraphQL type and the upload mutation (GraphQL multipart request spec).

use async_graphql::{Context, ID, Object, Upload};
use chrono::{DateTime, Utc};
use xpr_entity::media;

use super::service;
use crate::{
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
    },
};

/// An uploaded image.
pub struct Media(pub media::Model);

fields::object!(Media);

#[Object(name = "Media")]
impl Fields<'_, Media> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    /// Where the image is served, relative to the API's origin.
    async fn url(&self) -> String {
        format!("/media/{}", self.0.uuid)
    }
    /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`, detected from the bytes.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn byte_size(&self) -> i64 {
        self.0.byte_size
    }
    async fn width(&self) -> i32 {
        self.0.width
    }
    async fn height(&self) -> i32 {
        self.0.height
    }
    /// Hex SHA-256 of the bytes (also the HTTP ETag).
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct MediaMutation;

#[Object]
impl MediaMutation {
    /// Uploads an image (PNG, JPEG, WebP or GIF) as a multipart request; the
    /// same bytes uploaded again return the earlier upload. Uploads no review
    /// uses are deleted after a day.
    async fn upload_media(&self, ctx: &Context<'_>, file: Upload) -> AppResult<Media> {
        let viewer = ctx.auth().require()?;
        let file = file.value(ctx).map_err(|_| AppError::bad_input("file", "the upload could not be read"))?;
        Ok(Media(service::upload(ctx.state(), &ctx.state().media, viewer, file.content).await?))
    }
}
