//! Schema assembly: one merged root per operation type, the `Node` interface,
//! and [`AppExecutor`]: the limits before execution and the completion of the
//! response after it, for every transport; for the long-lived ones
//! (WebSocket, event streams) also the budget and the operation's span.

pub mod batches;
pub mod complete;
pub mod context;
pub mod cost;
pub mod fields;
pub mod inputs;
pub mod limits;
pub mod pagination;
pub mod persisted;
pub mod rendered;
pub mod scopes;

use std::{
    any::{Any, TypeId},
    collections::HashSet,
    sync::Arc,
};

use async_graphql::{
    Data, ID, Interface, MergedObject, Object, OutputType, Request, Response, Schema, SchemaBuilder, ServerError,
    SubscriptionType, Value, Variables,
    parser::types::ExecutableDocument,
    registry::{MetaType, Registry, SDLExportOptions},
};
use futures_util::{
    Stream, StreamExt,
    stream::{self, BoxStream},
};
use opentelemetry::{Context as TraceContext, context::FutureExt as _};

use crate::{
    app::AppState,
    config::Environment,
    error::AppResult,
    graphql::{
        context::{ContextExt, RequestContext},
        cost::Spender,
    },
    ids::parse_uuid,
    metrics::Rejected,
    modules::{
        content::{
            self,
            graphql::{ContentMutation, ContentQuery, Entry},
        },
        identity::{
            self,
            graphql::{IdentityMutation, IdentityQuery, User},
        },
        media::graphql::MediaMutation,
        moderation::graphql::{ModerationMutation, ModerationQuery},
        notifications::graphql::{NotificationsMutation, NotificationsQuery, NotificationsSubscription},
        reviews::{
            self,
            graphql::{Review, ReviewsMutation, ReviewsQuery},
        },
        versioning::graphql::{VersioningMutation, VersioningQuery},
    },
    telemetry::traces::{Caller, Traces},
};

pub type AppSchema = Schema<Query, Mutation, NotificationsSubscription>;

#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    IdentityQuery,
    ContentQuery,
    VersioningQuery,
    ModerationQuery,
    ReviewsQuery,
    NotificationsQuery,
    cost::RateLimitQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    ContentMutation,
    VersioningMutation,
    ModerationMutation,
    ReviewsMutation,
    MediaMutation,
    NotificationsMutation,
);

/// An object with a global id (its UUID), fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    User(User),
    Entry(Entry),
    Review(Review),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id; null when it doesn't exist or isn't visible.
    async fn node(&self, ctx: &async_graphql::Context<'_>, id: ID) -> AppResult<Option<Node>> {
        let uuid = parse_uuid("id", &id)?;
        let db = &ctx.state().db;
        if let Some(user) = identity::selectors::visible_user_by_uuid(db, ctx.auth().viewer(), uuid).await? {
            return Ok(Some(Node::User(User::new(user))));
        }
        if let Some(entry) = content::selectors::entry_by_uuid(db, uuid).await? {
            return Ok(Some(Node::Entry(Entry::new(entry))));
        }
        Ok(reviews::selectors::visible_review(db, ctx.auth().viewer(), uuid)
            .await?
            .map(|r| Node::Review(Review::from(r))))
    }
}

fn builder() -> SchemaBuilder<Query, Mutation, NotificationsSubscription> {
    Schema::build(Query::default(), Mutation::default(), NotificationsSubscription)
}

/// The schema with what runs around each execution: the document limits
/// before (`limits`) and the completion of the response after (`complete`).
#[derive(Clone)]
pub struct AppExecutor {
    state: AppState,
    schema: AppSchema,
    types: Arc<complete::Types>,
    limits: limits::Limits,
    persisted: Arc<persisted::Persisted>,
}

impl AppExecutor {
    pub fn new(state: AppState, persisted: persisted::Persisted) -> Self {
        let config = &state.config;
        // "Did you mean …?" maps the schema for whoever probes it; production has introspection for that.
        let mut schema = builder().data(state.clone());
        if config.environment() == Environment::Production {
            schema = schema.disable_suggestions();
        }
        let schema = schema.finish();
        let mut registry = Registry {
            query_type: Query::type_name().into_owned(),
            mutation_type: Some(Mutation::type_name().into_owned()),
            subscription_type: Some(<NotificationsSubscription as SubscriptionType>::type_name().into_owned()),
            ..Registry::default()
        };
        Query::create_type_info(&mut registry);
        Mutation::create_type_info(&mut registry);
        <NotificationsSubscription as SubscriptionType>::create_type_info(&mut registry);
        // Depth, cost and the rest are ours to check (limits.rs), before async-graphql validates.
        let limits = limits::Limits {
            depth: config.max_query_depth,
            introspection_depth: config.max_introspection_depth,
            tokens: config.max_tokens,
            aliases: config.max_aliases,
            directives: config.max_directives,
            fields: config.max_fields,
            cost: config.max_cost,
            paginated: Arc::new(paginated(&registry)),
        };
        let types = Arc::new(complete::Types::new(registry));
        Self { state, schema, types, limits, persisted: Arc::new(persisted) }
    }

    pub fn limits(&self) -> &limits::Limits {
        &self.limits
    }

    pub fn persisted(&self) -> &persisted::Persisted {
        &self.persisted
    }

    /// The checks before execution: the document's limits, text inputs
    /// without NUL, and the API token's scopes for a mutation (`request.data`
    /// holds the `RequestContext`). Returns the operation's cost.
    pub fn admit(&self, document: &ExecutableDocument, request: &Request) -> Result<u64, ServerError> {
        self.admit_with(document, request, &request.data)
    }

    fn admit_with(&self, document: &ExecutableDocument, request: &Request, data: &Data) -> Result<u64, ServerError> {
        let operation = request.operation_name.as_deref();
        let cost = self.limits.check(document, operation, &request.variables)?;
        inputs::refuse_nul(document, &request.variables)?;
        if let Some(viewer) = context(data).and_then(|context| context.auth.viewer()) {
            scopes::check(viewer, document, operation)?;
        }
        Ok(cost)
    }

    /// Executes `request`, whose parsed form is `document`, and completes the response.
    pub async fn run(&self, request: Request, document: &ExecutableDocument) -> Response {
        if let Err(error) = self.admit(document, &request) {
            return Response::from_errors(vec![error]);
        }
        self.execute_admitted(request, document).await
    }

    /// Executes a request that [`AppExecutor::admit`] let through.
    pub async fn execute_admitted(&self, request: Request, document: &ExecutableDocument) -> Response {
        let (operation, variables) = (request.operation_name.clone(), request.variables.clone());
        let mut response = self.schema.execute(request).await;
        self.types.complete(document, operation.as_deref(), &variables, &mut response);
        response
    }
}

/// The names of the fields that take `first`: the pages whose selections the cost multiplies.
fn paginated(registry: &Registry) -> HashSet<String> {
    let fields = registry.types.values().flat_map(|ty| match ty {
        MetaType::Object { fields, .. } | MetaType::Interface { fields, .. } => Some(fields.values()),
        _ => None,
    });
    fields.flatten().filter(|field| field.args.contains_key("first")).map(|field| field.name.clone()).collect()
}

/// A request error (no path, no data) with its `extensions.code`.
pub fn coded(message: &str, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    error
}

/// Counts a refusal before execution under its reason, when it has one:
/// the document limits, persisted documents, the budget.
pub fn count_rejection(state: &AppState, errors: &[ServerError]) {
    let Some(error) = errors.first() else { return };
    let code = || match error.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(Value::String(code)) => code.clone(),
        _ => String::new(),
    };
    if let Some(Rejected(reason)) = error.source::<Rejected>() {
        state.metrics.reject(reason);
    } else if code().starts_with("PERSISTED_QUERY") {
        state.metrics.reject("persisted");
    }
}

/// The `T` a request's or connection's data holds.
fn get<T: Any>(data: &Data) -> Option<&T> {
    data.get(&TypeId::of::<T>()).and_then(|value| value.downcast_ref::<T>())
}

fn context(data: &Data) -> Option<&RequestContext> {
    get(data)
}

impl AppExecutor {
    /// Resolves a persisted id (the credentials in `session` or the request's
    /// data decide whether free text may run), then parses `request` once (if
    /// its tokens are within the limit) and keeps the document for the completion step.
    fn parsed(&self, request: &mut Request, session: Option<&Data>) -> Result<Arc<ExecutableDocument>, ServerError> {
        let auth = context(session.unwrap_or(&request.data)).map(|context| context.auth.clone()).unwrap_or_default();
        self.persisted.resolve(request, &auth)?;
        self.limits.check_text(&request.query)?;
        request.parsed_query().map(|document| Arc::new(document.clone()))
    }

    /// Admits the operation (the limits, then the connection's budget: a
    /// refused operation runs nothing and spends nothing) and starts its execution.
    async fn start(self, mut request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let refused = |response: Response| {
            count_rejection(&self.state, &response.errors);
            stream::once(async { response }).boxed()
        };
        let document = match self.parsed(&mut request, session_data.as_deref()) {
            Ok(document) => document,
            Err(error) => return refused(Response::from_errors(vec![error])),
        };
        self.state.traces.describe(&document, request.operation_name.as_deref());
        let data = session_data.as_deref().unwrap_or(&request.data);
        let cost = match self.admit_with(&document, &request, data) {
            Ok(cost) => cost,
            Err(error) => return refused(Response::from_errors(vec![error])),
        };
        if let Some(spender) = session_data.as_deref().and_then(get::<Spender>) {
            let charge = cost::spend(&self.state, spender, cost).await;
            if !charge.admitted() {
                return refused(cost::over_budget(&charge));
            }
            request.data.insert(charge);
        }
        request.data.insert(rendered::Operation::of(&request));
        let (types, operation, variables): (_, Option<String>, Variables) =
            (self.types.clone(), request.operation_name.clone(), request.variables.clone());
        self.schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(move |mut response| {
                types.complete(&document, operation.as_deref(), &variables, &mut response);
                response
            })
            .boxed()
    }
}

/// The WebSocket and event-stream transports drive operations through this trait.
impl async_graphql::Executor for AppExecutor {
    async fn execute(&self, mut request: Request) -> Response {
        match self.parsed(&mut request, None) {
            Ok(document) => self.run(request, &document).await,
            Err(error) => Response::from_errors(vec![error]),
        }
    }

    /// Over a WebSocket or an event stream, whose `session_data` holds the
    /// [`Spender`] and the caller's trace: the operation is traced, and spends
    /// its cost (ADR 0030).
    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let span = self.state.traces.operation(session_data.as_deref().and_then(get::<Caller>));
        let responses = stream::once(self.clone().start(request, session_data)).flatten();
        match span {
            None => responses.boxed(),
            Some(span) => traced(responses, span),
        }
    }
}

/// Runs `responses` in the operation's span until their first response, then
/// ends it: that is all of a query or mutation, and a subscription's set-up
/// up to its first item (or its refusal). A subscription lives for hours; a
/// span is exported when it ends. What runs after is not in the span.
fn traced(
    responses: impl Stream<Item = Response> + Send + 'static,
    span: TraceContext,
) -> BoxStream<'static, Response> {
    let first = responses.boxed().into_future().with_context(span.clone());
    stream::once(async move {
        let (first, rest) = first.await;
        Traces::end(&span, first.as_ref().and_then(|response| Traces::error_codes(&response.errors)));
        stream::iter(first).chain(rest)
    })
    .flatten()
    .boxed()
}

/// The SDL that `schema.graphql` holds: what graphql-js's standard
/// introspection yields (`tests/clients/introspect.mjs` compares the two).
pub fn sdl() -> String {
    let sdl = builder().finish().sdl_with_options(SDLExportOptions::new().include_specified_by());
    // async-graphql answers `__schema { description }` with its description of
    // the `__Schema` type, so the file carries the same text.
    sdl.replacen("schema {", &format!("\"\"\"\n{SCHEMA_DESCRIPTION}\n\"\"\"\nschema {{"), 1)
}

const SCHEMA_DESCRIPTION: &str = "A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all available \
    types and directives on the server, as well as the entry points for query, mutation, and subscription operations.";
