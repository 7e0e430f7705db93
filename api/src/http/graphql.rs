//! GraphQL over HTTP, our own extractor rather than async-graphql-axum's
//! lenient one: JSON bodies (and multipart uploads only with a preflight
//! header), media types and status codes per the GraphQL-over-HTTP spec,
//! queries only over GET, capped batches, persisted documents by id
//! (`documentId` or Apollo's `extensions.persistedQuery`), and every error
//! with an `extensions.code`. WebSocket upgrades on the same path.

use std::collections::HashMap;

use async_graphql::{
    BatchRequest, ParseRequestError, Request, Response, ServerError, Value,
    http::MultipartOptions,
    parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection},
};
use axum::{
    body::{Body, Bytes},
    extract::{Query, Request as HttpRequest, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use opentelemetry::context::FutureExt as _;
use serde::Serialize;
use tracing::Instrument;

use super::{HttpState, bearer::Bearer, budget};
use crate::{
    auth::{Auth, ClientInfo},
    error::AppError,
    graphql::{
        batches::Batches,
        coded,
        context::{Loaders, RequestContext},
        cost::{self, Charge, Spender},
        count_rejection, persisted,
    },
    metrics::OperationLabels,
    modules::identity::graphql::CREDENTIAL_EXCHANGES,
    telemetry::traces::{Caller, Traces},
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
const MULTIPART: &str = "multipart/form-data";

/// A multipart request (an upload) must carry one of these headers. A
/// cross-site HTML form can't set them, and a script can only after a CORS
/// preflight: this closes the CSRF hole that plain multipart POSTs open.
pub const REQUIRE_PREFLIGHT: HeaderName = HeaderName::from_static("graphql-require-preflight");
/// The header Apollo Client's upload link sends for the same purpose.
pub const APOLLO_REQUIRE_PREFLIGHT: HeaderName = HeaderName::from_static("apollo-require-preflight");

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    /// Picks the response type from `Accept`; absent means legacy `application/json`.
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Media::Json);
        };
        let types: Vec<&str> = accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).collect();
        if types.contains(&GRAPHQL_RESPONSE) {
            Some(Media::GraphqlResponse)
        } else if types.iter().any(|t| matches!(*t, JSON | "application/*" | "*/*")) {
            Some(Media::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// A response body: `data` is left out entirely for request errors, as the spec asks.
#[derive(Serialize)]
struct Body_<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, Value>,
}

/// One executed operation: its body, whether it failed before execution,
/// and the budget it spent (none when refused before its cost was known).
struct Outcome {
    response: Response,
    request_error: bool,
    charge: Option<Charge>,
}

impl Outcome {
    fn unavailable(&self) -> bool {
        let code = |e: &ServerError| e.extensions.as_ref().and_then(|x| x.get("code").cloned());
        self.response.errors.iter().any(|e| code(e) == Some(Value::from("UNAVAILABLE")))
    }

    fn body(&self) -> Body_<'_> {
        Body_ {
            data: (!self.request_error).then_some(&self.response.data),
            errors: &self.response.errors,
            extensions: &self.response.extensions,
        }
    }
}

fn error_response(status: StatusCode, media: Media, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, [(header::CONTENT_TYPE, media.content_type())], body.to_string()).into_response()
}

/// Whether the parts of a multipart upload other than its files (`operations`
/// and `map`) keep to the JSON body limit: only a file may be large.
async fn operations_within(content_type: &str, body: &Bytes, limit: usize) -> bool {
    let Ok(boundary) = multer::parse_boundary(content_type) else { return true };
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let sizes = multer::SizeLimit::new().for_field("operations", limit).for_field("map", limit);
    let body = futures_util::stream::once(std::future::ready(Ok::<_, std::convert::Infallible>(body.clone())));
    let mut parts = multer::Multipart::with_constraints(body, boundary, multer::Constraints::new().size_limit(sizes));
    loop {
        match parts.next_field().await {
            Ok(Some(part)) => {
                if let Err(multer::Error::FieldSizeExceeded { .. }) = part.bytes().await {
                    return false;
                }
            }
            // A malformed body is the parser's to refuse, with its own message.
            Ok(None) | Err(_) => return true,
        }
    }
}

/// An upload over the media size limit: refused as bad input on `file`, like
/// the upload service refuses it, before the whole body is held in memory.
fn upload_too_large(media: Media, max_bytes: usize) -> HttpResponse {
    let message = format!("must be at most {max_bytes} bytes");
    let body = serde_json::json!({ "errors": [{
        "message": format!("invalid input: file: {message}"),
        "extensions": { "code": "BAD_USER_INPUT", "fields": [{ "field": "file", "message": message }] },
    }] });
    (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONTENT_TYPE, media.content_type())], body.to_string()).into_response()
}

pub async fn post(State(state): State<HttpState>, client: ClientInfo, request: HttpRequest) -> HttpResponse {
    let media = Media::negotiate(request.headers());
    let Some(media) = media else {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            Media::Json,
            "NOT_ACCEPTABLE",
            "accept application/graphql-response+json or application/json",
        );
    };
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let parsed = content_type.parse::<mime::Mime>().ok();
    let is_json = parsed.as_ref().is_some_and(|m| {
        m.essence_str() == JSON && m.get_param(mime::CHARSET).is_none_or(|charset| charset == mime::UTF_8)
    });
    let headers = request.headers().clone();
    // Without the preflight header, multipart is not a media type we accept at all.
    let is_multipart = parsed.as_ref().is_some_and(|m| m.essence_str() == MULTIPART)
        && [REQUIRE_PREFLIGHT, APOLLO_REQUIRE_PREFLIGHT].iter().any(|h| headers.contains_key(h));
    if !is_json && !is_multipart {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as application/json, or uploads as multipart/form-data with a \
             `GraphQL-Require-Preflight: 1` header",
        );
    }
    let config = &state.app.config;
    // An upload may bring one file of up to the media limit beside the operation.
    let limit = if is_multipart { config.max_body_bytes + config.media_max_bytes } else { config.max_body_bytes };
    let body = match axum::body::to_bytes(request.into_body(), limit).await {
        Ok(body) => body,
        Err(_) if is_multipart => return upload_too_large(media, config.media_max_bytes),
        Err(_) => {
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, media, "PAYLOAD_TOO_LARGE", "request body too large");
        }
    };
    if is_multipart && !operations_within(&content_type, &body, config.max_body_bytes).await {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            "PAYLOAD_TOO_LARGE",
            &format!("the operations of an upload must be at most {} bytes", config.max_body_bytes),
        );
    }
    let batch = if is_multipart {
        let options = MultipartOptions::default().max_file_size(config.media_max_bytes);
        match async_graphql::http::receive_batch_body(Some(&content_type), &body[..], options).await {
            Ok(batch) => batch,
            Err(ParseRequestError::PayloadTooLarge) => return upload_too_large(media, config.media_max_bytes),
            Err(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    "BAD_REQUEST",
                    "the body is not a GraphQL multipart request",
                );
            }
        }
    } else {
        match parse_json(&body) {
            Ok(batch) => batch,
            Err(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    "BAD_REQUEST",
                    "the body is not a GraphQL request in JSON",
                );
            }
        }
    };
    execute(&state, client, &headers, batch, media, false).await
}

/// A JSON body as a request or a batch, with any `documentId` moved where persisted ids are read.
fn parse_json(body: &[u8]) -> serde_json::Result<BatchRequest> {
    if !persisted::mentions_document_id(body) {
        return serde_json::from_slice(body);
    }
    let mut json: serde_json::Value = serde_json::from_slice(body)?;
    match &mut json {
        serde_json::Value::Array(requests) => requests.iter_mut().for_each(persisted::lift_document_id),
        request => persisted::lift_document_id(request),
    }
    serde_json::from_value(json)
}

pub async fn get(State(state): State<HttpState>, client: ClientInfo, request: HttpRequest) -> HttpResponse {
    let (mut parts, _) = request.into_parts();
    if parts.headers.get(header::UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket")) {
        return super::websocket::upgrade(state, client, &mut parts).await;
    }
    let Some(media) = Media::negotiate(&parts.headers) else {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            Media::Json,
            "NOT_ACCEPTABLE",
            "accept application/graphql-response+json or application/json",
        );
    };
    let mut request = match async_graphql::http::parse_query_string(parts.uri.query().unwrap_or("")) {
        Ok(request) => request,
        Err(_) => return error_response(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", "malformed query string"),
    };
    let params = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map(|Query(params)| params);
    if let Some(id) = params.ok().and_then(|mut params| params.remove("documentId")) {
        persisted::set_document_id(&mut request, id);
    }
    execute(&state, client, &parts.headers, BatchRequest::Single(request), media, true).await
}

/// A request refused before execution with `err`, shaped as a GraphQL response without `data`.
pub(super) fn refused(status: StatusCode, media: Media, err: AppError) -> HttpResponse {
    let err = async_graphql::Error::from(err);
    let mut error = ServerError::new(err.message, None);
    error.extensions = err.extensions;
    let body = Body_ { data: None, errors: &[error], extensions: &Default::default() };
    respond(status, media, &body)
}

/// Whether the operation only exchanges credentials (see `CREDENTIAL_EXCHANGES`).
fn exchanges_credentials(document: &ExecutableDocument, operation: Option<&str>) -> bool {
    let operation = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        _ => None,
    };
    operation.is_some_and(|op| {
        op.node.ty == OperationType::Mutation
            && op.node.selection_set.node.items.iter().all(|item| match &item.node {
                Selection::Field(field) => CREDENTIAL_EXCHANGES.contains(&field.node.name.node.as_str()),
                _ => false,
            })
    })
}

async fn execute(
    state: &HttpState,
    client: ClientInfo,
    headers: &HeaderMap,
    batch: BatchRequest,
    media: Media,
    get: bool,
) -> HttpResponse {
    let mut bearer = Bearer::new(headers);
    let wants_cost = budget::wants_cost(headers);
    let caller = state.app.traces.caller(headers);
    let caller = caller.as_ref();
    let mut charge = None;
    let mut response = match batch {
        BatchRequest::Single(request) => {
            match run(state, &mut bearer, &client, media, request, (get, wants_cost), caller).await {
                Ok(outcome) => {
                    charge = outcome.charge;
                    let status = if outcome.unavailable() {
                        // An outage, not the request: clients and proxies retry a 503.
                        StatusCode::SERVICE_UNAVAILABLE
                    } else if charge.is_some_and(|charge| !charge.admitted()) {
                        StatusCode::TOO_MANY_REQUESTS
                    } else if outcome.request_error && media == Media::GraphqlResponse {
                        StatusCode::BAD_REQUEST
                    } else {
                        StatusCode::OK
                    };
                    let mut response = respond(status, media, &outcome.body());
                    retry_after(&mut response, &outcome.response.errors);
                    response
                }
                Err(response) => response,
            }
        }
        BatchRequest::Batch(requests) if requests.len() > state.app.config.max_batch => error_response(
            StatusCode::BAD_REQUEST,
            media,
            "BAD_REQUEST",
            &format!("at most {} operations per batch", state.app.config.max_batch),
        ),
        BatchRequest::Batch(requests) => 'batch: {
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                match run(state, &mut bearer, &client, media, request, (get, wants_cost), caller).await {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(response) => break 'batch response,
                }
            }
            charge = outcomes.iter().rev().find_map(|outcome| outcome.charge);
            let bodies: Vec<Body_<'_>> = outcomes.iter().map(Outcome::body).collect();
            let mut response = respond(StatusCode::OK, media, &bodies);
            retry_after(&mut response, outcomes.iter().flat_map(|o| &o.response.errors));
            response
        }
    };
    // Every response shows the budget: what the last operation left, or (refused before spending) what is left.
    let charge = match charge {
        Some(charge) => charge,
        None => {
            let auth = if bearer.token.is_some() {
                bearer.auth(state, media).await.unwrap_or_default()
            } else {
                Auth::Anonymous
            };
            budget::current(&state.app, &Spender::of(&auth, bearer.token, &client)).await
        }
    };
    budget::stamp(response.headers_mut(), &charge);
    response
}

/// `Retry-After` for a response that a rate limit refused, as HTTP clients
/// and proxies read it: the longest wait any `RATE_LIMITED` error asks.
fn retry_after<'e>(response: &mut HttpResponse, errors: impl IntoIterator<Item = &'e ServerError>) {
    let wait = errors
        .into_iter()
        .filter_map(|e| e.extensions.as_ref()?.get("retryAfter").cloned())
        .filter_map(|wait| if let Value::Number(n) = wait { n.as_u64() } else { None })
        .max();
    if let Some(wait) = wait {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
}

fn respond(status: StatusCode, media: Media, body: &impl Serialize) -> HttpResponse {
    // Pages of lists run to tens of kilobytes: start past the smallest doublings.
    let mut bytes = Vec::with_capacity(16 * 1024);
    let bytes = serde_json::to_writer(&mut bytes, body).map(|()| Bytes::from(bytes)).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, media.content_type())], Body::from(bytes)).into_response()
}

/// Parses, checks and executes one operation, counting refusals. `Err` is an HTTP-level refusal.
async fn run(
    state: &HttpState,
    bearer: &mut Bearer<'_>,
    client: &ClientInfo,
    media: Media,
    request: Request,
    (get, wants_cost): (bool, bool),
    caller: Option<&Caller>,
) -> Result<Outcome, HttpResponse> {
    let checked = run_checked(state, bearer, client, media, request, (get, wants_cost));
    let outcome = match state.app.traces.operation(caller) {
        None => checked.await,
        Some(span) => {
            let result = checked.with_context(span.clone()).await;
            let error = match &result {
                Ok(outcome) => Traces::error_codes(&outcome.response.errors),
                Err(refused) => Some(format!("HTTP {}", refused.status())),
            };
            Traces::end(&span, error);
            result
        }
    }?;
    if outcome.request_error {
        count_rejection(&state.app, &outcome.response.errors);
    }
    Ok(outcome)
}

async fn run_checked(
    state: &HttpState,
    bearer: &mut Bearer<'_>,
    client: &ClientInfo,
    media: Media,
    mut request: Request,
    (get, wants_cost): (bool, bool),
) -> Result<Outcome, HttpResponse> {
    let request_error = |err| Outcome { response: Response::from_errors(vec![err]), request_error: true, charge: None };
    let persisted = state.schema.persisted();
    if !persisted.trusted(&mut request) {
        // Only `require` mode asks who sends a document no manifest holds: only then is the bearer checked here.
        let admitted = persisted.admits_untrusted(&Auth::Anonymous)
            || persisted.admits_untrusted(&bearer.auth(state, media).await?);
        if let Err(err) = persisted.untrusted(&mut request, admitted) {
            return Ok(request_error(err));
        }
    }
    let operation = request.operation_name.clone();
    let (document, kind) = match state.documents.parse(&mut request, state.schema.limits()) {
        Ok(document) => {
            state.app.traces.describe(&document, operation.as_deref());
            let kind = operation_type(&document.operations, operation.as_deref());
            (document, kind)
        }
        Err(err) => {
            // Refused by a limit (coded already), or not GraphQL.
            let has_code = err.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
            return Ok(request_error(if has_code { err } else { coded(&err.message, "GRAPHQL_PARSE_FAILED") }));
        }
    };
    if get && kind.is_some_and(|kind| kind != OperationType::Query) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            Media::Json,
            "METHOD_NOT_ALLOWED",
            "only queries may use GET; send mutations with POST",
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(response);
    }
    let auth = if exchanges_credentials(&document, operation.as_deref()) {
        Auth::Anonymous
    } else {
        bearer.auth(state, media).await?
    };
    let spender = Spender::of(&auth, bearer.token, client);
    let context = RequestContext::new(auth, client.clone());
    let batches = Batches::default();
    let loaders = Loaders::new(&state.app.db, batches.spawner(), batches.leaf_spawner());
    let request = request.data(context).data(loaders);
    // The limits (cost included) refuse first, then the budget pays for what remains.
    let cost = match state.schema.admit(&document, &request) {
        Ok(cost) => cost,
        Err(err) => return Ok(request_error(err)),
    };
    let charge = cost::spend(&state.app, &spender, cost).await;
    if !charge.admitted() {
        return Ok(Outcome { response: cost::over_budget(&charge), request_error: true, charge: Some(charge) });
    }
    let request = request.data(charge);
    let span = tracing::info_span!("graphql", operation = operation.as_deref().unwrap_or("-"), kind = ?kind);
    let mut response = batches.run(state.schema.execute_admitted(request, &document)).instrument(span).await;
    if wants_cost {
        budget::cost_extension(&mut response, &charge, state.app.config.max_cost);
    }

    let request_error = fill_codes(&mut response);
    let outcome = if response.errors.is_empty() { "ok" } else { "error" };
    state.app.metrics.graphql_operations.get_or_create(&OperationLabels { outcome }).inc();
    Ok(Outcome { response, request_error, charge: Some(charge) })
}

/// Gives every error an `extensions.code`, as GraphQL over HTTP clients
/// expect, and says whether the request failed before execution: errors
/// before execution have no path and leave `data` null.
pub(super) fn fill_codes(response: &mut Response) -> bool {
    let request_error = response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            let code = if request_error { "GRAPHQL_VALIDATION_FAILED" } else { "BAD_USER_INPUT" };
            extensions.set("code", code);
        }
    }
    request_error
}

fn operation_type(operations: &DocumentOperations, name: Option<&str>) -> Option<OperationType> {
    match (operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
        _ => None,
    }
}
