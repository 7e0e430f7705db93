//! Subscription items rendered once for every subscriber who asked the same
//! thing. A merge wakes all the subscribers of its entry, and each would
//! resolve the same selection on the same item; the first render is kept
//! briefly and the others take it. A render is shared only when it is for
//! the same operation (document, operation name and variables) and the same
//! item, is recent (some fields show the time of delivery, such as an
//! entry's ratings), produced no error, and did not look at who is asking:
//! no resolver read the request's viewer or client (`ContextExt::request`
//! counts), so the permission policy had nothing to decide per subscriber.

use std::{
    borrow::Cow,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_graphql::{
    ContextSelectionSet, OutputType, Positioned, Request, ServerResult, Value, parser::types::Field, registry::Registry,
};
use lru::LruCache;

use super::context::RequestContext;
use crate::app::AppState;

/// A subscription item and what identifies it among all items (e.g. an
/// entry at a version), or `None` for an item only its recipient receives
/// (a notification): nobody could share its render. Shown as the item's own
/// type. `woken`: when the event it answers reached this process (the
/// delivery lag is counted from it).
pub struct Rendered<T> {
    pub key: Option<String>,
    pub item: T,
    pub woken: Instant,
}

/// The operation a subscription runs, in the request's data.
pub struct Operation(Arc<str>);

impl Operation {
    pub fn of(request: &Request) -> Self {
        let variables = serde_json::to_string(&request.variables).unwrap_or_default();
        Self(format!("{:?}\n{variables}\n{}", request.operation_name, request.query).into())
    }
}

/// How long a render is shared: the subscribers one event wakes take it within this.
const KEEP: Duration = Duration::from_secs(2);
const RENDERS: usize = 1024;

type Key = (Arc<str>, String);

/// Recent renders of subscription items, by operation and item.
pub struct Renders(Mutex<LruCache<Key, (Instant, Value)>>);

impl Default for Renders {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(NonZeroUsize::new(RENDERS).expect("non-zero"))))
    }
}

impl Renders {
    fn get(&self, key: &Key) -> Option<Value> {
        let mut renders = self.0.lock().expect("renders lock");
        match renders.get(key) {
            Some((at, value)) if at.elapsed() < KEEP => Some(value.clone()),
            _ => None,
        }
    }

    fn put(&self, key: Key, value: Value) {
        self.0.lock().expect("renders lock").put(key, (Instant::now(), value));
    }
}

impl<T: OutputType> OutputType for Rendered<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        let state = ctx.data_unchecked::<AppState>();
        let (value, render) = self.render(ctx, field, &state.renders).await?;
        state.metrics.delivered(render, self.woken.elapsed());
        Ok(value)
    }
}

impl<T: OutputType> Rendered<T> {
    /// The value, and whether it was `shared` or the subscriber's `own`.
    async fn render(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
        renders: &Renders,
    ) -> ServerResult<(Value, &'static str)> {
        let (Some(key), Some(operation), Some(request)) =
            (&self.key, ctx.data_opt::<Operation>(), ctx.data_opt::<RequestContext>())
        else {
            return Ok((self.item.resolve(ctx, field).await?, "own"));
        };
        let key = (operation.0.clone(), key.clone());
        if let Some(value) = renders.get(&key) {
            return Ok((value, "shared"));
        }
        let asked = request.asked();
        let value = self.item.resolve(ctx, field).await?;
        let clean = ctx.query_env.errors.lock().is_ok_and(|errors| errors.is_empty());
        if clean && request.asked() == asked {
            renders.put(key, value.clone());
        }
        Ok((value, "own"))
    }
}
