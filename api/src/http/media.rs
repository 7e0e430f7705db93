//! `GET /media/{id}`: an uploaded image with its detected type, length, the
//! SHA-256 as ETag, and immutable caching (the bytes behind an id never change).

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use uuid::Uuid;

use super::HttpState;
use crate::modules::media::selectors;

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

pub async fn get(State(state): State<HttpState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return StatusCode::NOT_FOUND.into_response() };
    let media = match selectors::media_by_uuid(&state.app.db, id).await {
        Ok(Some(media)) => media,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "media lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let etag = format!("\"{}\"", media.sha256);
    let cached = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, CACHE_FOREVER.to_owned())];
    if matches_etag(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, cached).into_response();
    }
    let bytes = match state.app.media.get(id).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = ?err, media = %id, "media bytes unavailable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let content_type = HeaderValue::from_str(&media.content_type).unwrap_or(HeaderValue::from_static("image/png"));
    (
        cached,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, HeaderValue::from(media.byte_size)),
            // Browsers must never sniff an upload into something other than its checked type.
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        Body::from_stream(bytes),
    )
        .into_response()
}

/// `If-None-Match` lists the ETag (or is `*`).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}
