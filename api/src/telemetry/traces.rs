//! Traces over OTLP/HTTP (ADR 0027): a span per GraphQL operation after
//! OpenTelemetry's GraphQL conventions, and a child span per SQL statement it
//! runs. Off unless an endpoint is configured, and then there is nothing: no
//! exporter, no thread, no span, one branch per request and statement.
//!
//! Recorded: the operation's type and name, its document with literals
//! blanked, error codes; each statement's parameterised SQL. Never: variables,
//! values bound to statements, error messages (they may quote the document).
//! An operation joins the caller's trace when its request (or its WebSocket's
//! upgrade) carries a valid W3C `traceparent` (ADR 0030).

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use async_graphql::{ServerError, Value, parser::types::ExecutableDocument};
use opentelemetry::{
    Context, KeyValue,
    propagation::TextMapPropagator as _,
    trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _},
};
use opentelemetry_http::{Bytes, HeaderExtractor, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{SdkTracer, SdkTracerProvider},
};
use sea_orm::{DbBackend, metric::Info};

use super::document::{self, cut};

/// SQL is cut here, like documents: an `IN` list of a thousand placeholders says nothing more.
const MAX_SQL_BYTES: usize = 8 * 1024;

/// The server's tracer, when traces are exported. Cheap to clone.
#[derive(Clone)]
pub struct Traces(Option<Arc<Exporting>>);

struct Exporting {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

/// The caller's trace, read from W3C `traceparent` and `tracestate` headers:
/// the parent of the operations' spans. A connection keeps it in its data.
#[derive(Clone)]
pub struct Caller(Context);

impl Traces {
    /// Exports to `endpoint` (the OTLP base URL; `/v1/traces` is appended, as
    /// for `OTEL_EXPORTER_OTLP_ENDPOINT`), or does nothing when it is `None`.
    /// Must run on the Tokio runtime, which sends the exports.
    pub fn new(endpoint: Option<&str>, service: &str) -> anyhow::Result<Self> {
        let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) else { return Ok(Self(None)) };
        let client = Client {
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
            runtime: tokio::runtime::Handle::current(),
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .with_http_client(client)
            .build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
            .build();
        let tracer = provider.tracer("xpr-api");
        tracing::info!(endpoint, "exporting traces over OTLP");
        Ok(Self(Some(Arc::new(Exporting { provider, tracer }))))
    }

    /// The trace that `headers` say the request belongs to; none when traces
    /// are off, or the header is absent or malformed (the operation is then a root).
    pub fn caller(&self, headers: &axum::http::HeaderMap) -> Option<Caller> {
        self.0.as_ref()?;
        let cx = TraceContextPropagator::new().extract_with_context(&Context::new(), &HeaderExtractor(headers));
        cx.span().span_context().is_valid().then_some(Caller(cx))
    }

    /// A new operation's span, to run the operation in, under the caller's
    /// trace if it named one; named for its type once parsed ([`Traces::describe`]).
    pub fn operation(&self, caller: Option<&Caller>) -> Option<Context> {
        let exporting = self.0.as_ref()?;
        let parent = caller.map_or_else(Context::new, |caller| caller.0.clone());
        let span = exporting
            .tracer
            .span_builder("GraphQL Operation")
            .with_kind(SpanKind::Server)
            .start_with_context(&exporting.tracer, &parent);
        Some(parent.with_span(span))
    }

    /// Names the current operation's span after the operation `name` selects in `document`.
    pub fn describe(&self, document: &ExecutableDocument, name: Option<&str>) {
        if self.0.is_none() {
            return;
        }
        let Some((operation, name)) = document::selected(document, name) else { return };
        let kind = operation.ty.to_string();
        let mut attributes = vec![
            KeyValue::new("graphql.operation.type", kind.clone()),
            KeyValue::new("graphql.document", document::blanked(document, operation, name)),
        ];
        if let Some(name) = name {
            attributes.push(KeyValue::new("graphql.operation.name", name.to_owned()));
        }
        Context::map_current(|cx| {
            let span = cx.span();
            span.update_name(match name {
                Some(name) => format!("{kind} {name}"),
                None => kind,
            });
            span.set_attributes(attributes);
        });
    }

    /// Ends an operation's span; `error` (error codes, never messages) marks it failed.
    pub fn end(cx: &Context, error: Option<String>) {
        let span = cx.span();
        if let Some(error) = error {
            span.set_status(Status::error(error));
        }
        span.end();
    }

    /// What [`Traces::end`] marks a response's span failed with: its distinct
    /// error codes (never messages, which may quote the document); none without errors.
    pub fn error_codes(errors: &[ServerError]) -> Option<String> {
        let mut codes: Vec<String> = errors
            .iter()
            .filter_map(|e| match e.extensions.as_ref()?.get("code") {
                Some(Value::String(code)) => Some(code.clone()),
                _ => None,
            })
            .collect();
        codes.sort();
        codes.dedup();
        (!errors.is_empty()).then(|| codes.join(","))
    }

    /// A span for a statement that just ran, under the operation that ran it;
    /// statements of background work, outside any operation, have none.
    pub fn statement(&self, info: &Info<'_>) {
        let Some(exporting) = &self.0 else { return };
        let parent = Context::current();
        if !parent.has_active_span() {
            return;
        }
        let end = SystemTime::now();
        let sql = info.statement.sql.as_str();
        let operation = sql.split_whitespace().next().unwrap_or("SQL").to_ascii_uppercase();
        let system = match info.statement.db_backend {
            DbBackend::Postgres => "postgresql",
            DbBackend::Sqlite => "sqlite",
            _ => "other_sql",
        };
        let mut span = exporting
            .tracer
            .span_builder(operation.clone())
            .with_kind(SpanKind::Client)
            .with_start_time(end.checked_sub(info.elapsed).unwrap_or(end))
            .with_attributes([
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.operation.name", operation),
                KeyValue::new("db.query.text", cut(sql, MAX_SQL_BYTES).to_owned()),
            ])
            .start_with_context(&exporting.tracer, &parent);
        if info.failed {
            span.set_status(Status::error("the statement failed"));
        }
        span.end_with_timestamp(end);
    }

    /// Exports the spans still queued and stops the exporter.
    pub async fn shutdown(&self) {
        let Some(exporting) = self.0.clone() else { return };
        // Waits for the last export, which the runtime sends: off its threads.
        match tokio::task::spawn_blocking(move || exporting.provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "traces not flushed"),
            Err(err) => tracing::warn!(error = %err, "traces not flushed"),
        }
    }
}

/// The exporter's HTTP client: reqwest on the server's runtime. The SDK's
/// batch processor exports from a thread of its own, outside the runtime.
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (http, request) = (self.http.clone(), reqwest::Request::try_from(request)?);
        let sent = self.runtime.spawn(async move {
            let response = http.execute(request).await?;
            let (status, headers) = (response.status(), response.headers().clone());
            let mut out = Response::new(response.bytes().await?);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok::<_, reqwest::Error>(out)
        });
        Ok(sent.await??)
    }
}
