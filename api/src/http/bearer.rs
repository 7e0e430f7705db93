//! The `Authorization` header of a GraphQL request: a bearer token checked
//! once per request, and only when an operation needs to know who asks.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response as HttpResponse,
};

use super::{
    HttpState,
    graphql::{Media, refused},
};
use crate::{auth::Auth, error::AppError, modules::identity::selectors};

/// The request's `Authorization` header, checked once and only when an operation reads it.
pub(super) struct Bearer<'h> {
    pub token: Option<&'h str>,
    checked: Option<Auth>,
}

impl<'h> Bearer<'h> {
    pub fn new(headers: &'h HeaderMap) -> Self {
        let value = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("?"));
        let token = value.map(|value| value.strip_prefix("Bearer ").unwrap_or(value).trim()).filter(|t| !t.is_empty());
        Self { token, checked: None }
    }

    /// A token that doesn't verify refuses the request with 401 and the
    /// reason; one that can't be checked (the database is down) with 503.
    pub async fn auth(&mut self, state: &HttpState, media: Media) -> Result<Auth, HttpResponse> {
        if let Some(auth) = &self.checked {
            return Ok(auth.clone());
        }
        let auth = match self.token {
            None => Auth::Anonymous,
            Some(token) => match selectors::authenticate(&state.app, token).await {
                Ok(viewer) => Auth::Viewer(viewer),
                Err(AppError::Refused(refusal)) => {
                    let mut response = refused(StatusCode::UNAUTHORIZED, media, AppError::Refused(refusal));
                    let challenge =
                        format!("Bearer error=\"invalid_token\", error_description=\"{}\"", refusal.message());
                    if let Ok(challenge) = HeaderValue::from_str(&challenge) {
                        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
                    }
                    return Err(response);
                }
                Err(err) => {
                    let mut response = refused(StatusCode::SERVICE_UNAVAILABLE, media, err);
                    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    return Err(response);
                }
            },
        };
        self.checked = Some(auth.clone());
        Ok(auth)
    }
}
