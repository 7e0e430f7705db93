//! Object fields resolved together, in the order the query selects them
//! (ADR 0014).
//!
//! async-graphql resolves each field of an object as a boxed future in a
//! `FuturesUnordered`: an allocation as large as the object's largest
//! resolver, an `Arc` task and a chain of wakers per field, though most fields
//! (titles, counts) are ready at once. An object declared with [`object!`] is
//! described by `#[Object] impl Fields<'_, T>` and polls a plain selection
//! field by field instead, keeping an allocation only for the fields that
//! wait. Fragments on the object's own type are spread in; directives,
//! fragments on an interface and a response key selected twice (but for the
//! same plain leaf) take async-graphql's own path. The schema has no
//! extensions, which that path would also call.

use std::{
    future::{Future, poll_fn},
    ops::Deref,
    pin::Pin,
    task::Poll,
};

use async_graphql::{
    ContainerType, Context, ContextSelectionSet, Name, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Selection, SelectionSet},
    resolver_utils::resolve_container,
};
use futures_util::future::BoxFuture;

/// The view of a `T` that its `#[Object(name = "T")]` impl is written on;
/// field bodies reach the `T` through `Deref`.
pub struct Fields<'a, T> {
    of: &'a T,
}

impl<'a, T> Fields<'a, T> {
    pub fn of(of: &'a T) -> Self {
        Self { of }
    }
}

impl<T> Deref for Fields<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.of
    }
}

/// An object's value: its selected fields, resolved together. Boxed once per
/// object, which also ends the recursion of objects that hold objects.
pub fn resolve<'a, R: ContainerType + 'a>(
    ctx: &'a ContextSelectionSet<'a>,
    root: R,
) -> BoxFuture<'a, ServerResult<Value>> {
    Box::pin(async move {
        let mut fields = Vec::new();
        let name = root.introspection_type_name();
        if collect(ctx, &ctx.item.node, &name, &mut fields).is_none() {
            return resolve_container(ctx, &root).await;
        }
        let root = &root;
        // Every field is polled once, in order, so the loads of a level are all
        // registered before any batch runs. A field that is ready at once
        // leaves its allocation to the next; one that waits keeps its own.
        let mut values = Vec::with_capacity(fields.len());
        let mut waiting = Vec::new();
        let mut slot = None;
        poll_fn(|cx| {
            for field in &fields {
                let mut future = boxed(slot.take(), resolve_field(root, field));
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        values.push(Some(value));
                        slot = Some(future);
                    }
                    Poll::Pending => {
                        waiting.push((values.len(), future));
                        values.push(None);
                    }
                }
            }
            Poll::Ready(())
        })
        .await;
        poll_fn(|cx| {
            waiting.retain_mut(|(i, future)| match future.as_mut().poll(cx) {
                Poll::Ready(value) => {
                    values[*i] = Some(value);
                    false
                }
                Poll::Pending => true,
            });
            if waiting.is_empty() { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
        let mut object = IndexMap::with_capacity(fields.len());
        for (field, value) in fields.iter().zip(values) {
            match value.expect("every field resolved") {
                Ok(value) => {
                    object.insert(key(field).clone(), value.unwrap_or_default());
                }
                // As async-graphql does: the error is reported and the key left out.
                Err(err) => ctx.add_error(err),
            }
        }
        Ok(if object.is_empty() { Value::Null } else { Value::Object(object) })
    })
}

/// Appends the fields `set` selects of an object of type `name` to `out`, in
/// order, spreading fragments on that type in (as Apollo's colocated
/// fragments ask). `None` when the selection needs async-graphql's general
/// path: a directive, a fragment on another type (an interface), or a
/// response key selected twice, except the same argument-less leaf (Apollo
/// adds `__typename` to a fragment and to the selection that spreads it).
fn collect<'a>(
    ctx: &'a ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    name: &str,
    out: &mut Vec<Context<'a>>,
) -> Option<()> {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) if field.node.directives.is_empty() => {
                let field = ctx.with_field(field);
                match out.iter().find(|earlier| key(earlier) == key(&field)) {
                    None => out.push(field),
                    Some(earlier) if is_leaf(earlier) && is_leaf(&field) && same_name(earlier, &field) => {}
                    Some(_) => return None,
                }
            }
            Selection::FragmentSpread(spread) if spread.node.directives.is_empty() => {
                let fragment = &ctx.query_env.fragments.get(&spread.node.fragment_name.node)?.node;
                (fragment.type_condition.node.on.node == name).then_some(())?;
                collect(ctx, &fragment.selection_set.node, name, out)?;
            }
            Selection::InlineFragment(inline) if inline.node.directives.is_empty() => {
                let on = inline.node.type_condition.as_ref().map(|condition| &condition.node.on.node);
                on.is_none_or(|on| on == name).then_some(())?;
                collect(ctx, &inline.node.selection_set.node, name, out)?;
            }
            _ => return None,
        }
    }
    Some(())
}

fn is_leaf(field: &Context<'_>) -> bool {
    field.item.node.arguments.is_empty() && field.item.node.selection_set.node.items.is_empty()
}

fn same_name(a: &Context<'_>, b: &Context<'_>) -> bool {
    a.item.node.name.node == b.item.node.name.node
}

/// The name `field` answers under (its alias, or its name).
fn key<'a>(field: &'a Context<'_>) -> &'a Name {
    &field.item.node.response_key().node
}

async fn resolve_field<R: ContainerType>(root: &R, field: &Context<'_>) -> ServerResult<Option<Value>> {
    if field.item.node.name.node == "__typename" {
        return Ok(Some(Value::String(root.introspection_type_name().into_owned())));
    }
    root.resolve_field(field).await
}

/// `future` in the allocation of a finished one, if there is one.
fn boxed<F>(spare: Option<Pin<Box<F>>>, future: F) -> Pin<Box<F>> {
    match spare {
        Some(mut spare) => {
            spare.set(future);
            spare
        }
        None => Box::pin(future),
    }
}

/// Makes `$ty` the GraphQL object that `#[Object] impl Fields<'_, $ty>`
/// describes, resolved by [`resolve`]. `node` also gives it the `id` method
/// the `Node` interface calls.
macro_rules! object {
    ($ty:ty) => {
        impl async_graphql::OutputType for $ty {
            fn type_name() -> std::borrow::Cow<'static, str> {
                <$crate::graphql::fields::Fields<'static, $ty> as async_graphql::OutputType>::type_name()
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                <$crate::graphql::fields::Fields<'static, $ty> as async_graphql::OutputType>::create_type_info(registry)
            }

            async fn resolve(
                &self,
                ctx: &async_graphql::ContextSelectionSet<'_>,
                _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> async_graphql::ServerResult<async_graphql::Value> {
                $crate::graphql::fields::resolve(ctx, $crate::graphql::fields::Fields::of(self)).await
            }
        }

        impl async_graphql::ContainerType for $ty {
            async fn resolve_field(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
                async_graphql::ContainerType::resolve_field(&$crate::graphql::fields::Fields::of(self), ctx).await
            }
        }

        impl async_graphql::ObjectType for $ty {}
    };
    ($ty:ty, node) => {
        $crate::graphql::fields::object!($ty);

        impl $ty {
            pub async fn id(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<async_graphql::ID> {
                $crate::graphql::fields::Fields::of(self).id(ctx).await
            }
        }
    };
}
pub(crate) use object;
