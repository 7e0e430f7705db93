//! The response shape the GraphQL spec gives, whichever path resolved it.
//!
//! async-graphql 7.2 leaves an errored field's key out of `data`, never
//! propagates a null out of a non-null field, and writes the fields of its
//! own objects (the roots, fragments) in the order they finished. Apollo
//! Client reads such a result as incomplete ("Missing field …") and refetches
//! it on every `cache-first` query. One step after execution fixes all three
//! from the schema's types, the operation's selections and the errors' paths:
//! an errored field is present as `null`, a null in a non-null position nulls
//! the nearest nullable parent (up to `data: null`), and every object's keys
//! follow the selection order. It runs for every operation, over HTTP and
//! WebSocket alike (ADR 0015).

use std::{cell::RefCell, collections::HashMap, rc::Rc};

use async_graphql::{
    Name, PathSegment, Positioned, Response, ServerError, Value, Variables,
    indexmap::IndexMap,
    parser::types::{
        Directive, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition, OperationType,
        Selection, SelectionSet,
    },
    registry::{MetaType, Registry},
};

/// The schema's types, by name, as the completion step reads them.
pub struct Types {
    registry: Registry,
}

impl Types {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }

    /// Completes `response` to the operation of `document` it answers.
    pub fn complete(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
        response: &mut Response,
    ) {
        let Some(operation) = operation(document, operation_name, response) else { return };
        let root = match operation.ty {
            OperationType::Query => Some(self.registry.query_type.as_str()),
            OperationType::Mutation => self.registry.mutation_type.as_deref(),
            OperationType::Subscription => self.registry.subscription_type.as_deref(),
        };
        let Some(root) = root else { return };
        let completion = Completion {
            types: &self.registry,
            fragments: &document.fragments,
            variables,
            defaults: operation,
            errors: &response.errors,
            collected: RefCell::default(),
        };
        let sets = [&operation.selection_set.node];
        let mut path = Path { segments: Vec::new(), tracked: !response.errors.is_empty() };
        completion.object(&mut response.data, root, &sets, &mut path);
    }
}

/// The operation that ran: the one named, or the only one. `None` when the
/// request failed before execution (its `data` is left out anyway).
fn operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
    response: &Response,
) -> Option<&'d OperationDefinition> {
    if response.data == Value::Null && response.errors.iter().any(|e| e.path.is_empty()) {
        return None;
    }
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(operations), None) => {
            operations.values().next().filter(|_| operations.len() == 1).map(|op| &op.node)
        }
    }
}

/// One response key of an object: the type its first field declares, and the
/// selections of every field merged under that key.
struct Key<'a> {
    name: &'a Name,
    ty: Option<&'a str>,
    sets: Vec<&'a SelectionSet>,
}

/// Where the completion is in the response; followed only when there are
/// errors to find, since the segments cost an allocation per key.
struct Path {
    segments: Vec<PathSegment>,
    tracked: bool,
}

impl Path {
    fn push(&mut self, segment: impl FnOnce() -> PathSegment) {
        if self.tracked {
            self.segments.push(segment());
        }
    }

    fn pop(&mut self) {
        if self.tracked {
            self.segments.pop();
        }
    }
}

type Keys<'a> = Rc<Vec<Key<'a>>>;

struct Completion<'a> {
    types: &'a Registry,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    defaults: &'a OperationDefinition,
    errors: &'a [ServerError],
    /// Collected keys by (selection sets, type): a list's items share them.
    collected: RefCell<HashMap<(usize, &'a str), Keys<'a>>>,
}

impl<'a> Completion<'a> {
    /// Completes `value` of the (possibly wrapped) type `ty`; a null where `ty`
    /// is non-null is left for the caller to propagate.
    fn value(&self, value: &mut Value, ty: &'a str, sets: &[&'a SelectionSet], path: &mut Path) {
        let ty = ty.strip_suffix('!').unwrap_or(ty);
        if let Some(item_ty) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let Value::List(items) = value else { return };
            for (index, item) in items.iter_mut().enumerate() {
                path.push(|| PathSegment::Index(index));
                self.value(item, item_ty, sets, path);
                path.pop();
                if *item == Value::Null && item_ty.ends_with('!') && self.erred(path, Some(index)) {
                    *value = Value::Null;
                    return;
                }
            }
        } else if self.types.types.get(ty).is_some_and(MetaType::is_composite) {
            self.object(value, ty, sets, path);
        }
    }

    fn object(&self, value: &mut Value, ty: &'a str, sets: &[&'a SelectionSet], path: &mut Path) {
        if *value == Value::Null {
            // async-graphql answers an object whose every field failed with a
            // bare null; a legitimately null object has no errors beneath it.
            if !self.errors.iter().any(|e| e.path.len() > path.segments.len() && e.path.starts_with(&path.segments)) {
                return;
            }
            *value = Value::Object(IndexMap::new());
        }
        let Value::Object(object) = value else { return };
        let keys = self.keys(ty, sets);
        let mut in_order = true;
        let mut position = 0;
        for key in keys.iter() {
            path.push(|| PathSegment::Field(key.name.to_string()));
            let child = match object.get_index_of(key.name) {
                Some(index) => {
                    in_order &= index == position;
                    object.get_index_mut(index).map(|(_, child)| child)
                }
                None if self.failed(&path.segments) => {
                    in_order = false;
                    object.insert(key.name.clone(), Value::Null);
                    object.get_mut(key.name)
                }
                // A field of another type than the object's (a fragment on a
                // type it is not), or one that never ran.
                None => None,
            };
            if let Some(child) = child {
                position += 1;
                if let Some(field_ty) = key.ty {
                    self.value(child, field_ty, &key.sets, path);
                    if *child == Value::Null && field_ty.ends_with('!') && self.erred(path, None) {
                        path.pop();
                        *value = Value::Null;
                        return;
                    }
                }
            }
            path.pop();
        }
        if !in_order {
            let mut ordered = IndexMap::with_capacity(object.len());
            for key in keys.iter() {
                if let Some(child) = object.swap_remove(key.name) {
                    ordered.insert(key.name.clone(), child);
                }
            }
            // Keys the selections don't name (none expected) keep their place at the end.
            ordered.extend(object.drain(..));
            *object = ordered;
        }
    }

    /// Whether an error was raised at or beneath `path` (plus `index`): a
    /// null that async-graphql wrote without one (a JSON scalar's null) is a
    /// value, not a failure to propagate.
    fn erred(&self, path: &Path, index: Option<usize>) -> bool {
        self.errors.iter().any(|e| {
            e.path.starts_with(&path.segments)
                && index.is_none_or(|i| e.path.get(path.segments.len()) == Some(&PathSegment::Index(i)))
        })
    }

    /// Whether an error was raised at exactly `path`.
    fn failed(&self, path: &[PathSegment]) -> bool {
        self.errors.iter().any(|e| e.path == path)
    }

    /// The response keys that `sets` select on an object of type `ty`, in order.
    fn keys(&self, ty: &'a str, sets: &[&'a SelectionSet]) -> Keys<'a> {
        let id = (sets.first().map_or(0, |set| std::ptr::from_ref(*set) as usize), ty);
        if sets.len() == 1
            && let Some(keys) = self.collected.borrow().get(&id)
        {
            return keys.clone();
        }
        let mut keys = Vec::new();
        for set in sets {
            self.collect(ty, ty, set, &mut keys, &mut Vec::new());
        }
        let keys = Rc::new(keys);
        if sets.len() == 1 {
            self.collected.borrow_mut().insert(id, keys.clone());
        }
        keys
    }

    /// The spec's CollectFields: fields in order, fragments inlined where their
    /// type condition can apply to `ty`, `@skip`/`@include` honoured.
    fn collect(
        &self,
        ty: &'a str,
        scope: &'a str,
        set: &'a SelectionSet,
        keys: &mut Vec<Key<'a>>,
        spread: &mut Vec<&'a Name>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) if self.included(&field.node.directives) => {
                    let field = &field.node;
                    let name = &field.response_key().node;
                    let index = keys.iter().position(|key| key.name == name).unwrap_or_else(|| {
                        let ty = self.types.types.get(scope).and_then(|t| t.field_by_name(&field.name.node));
                        keys.push(Key { name, ty: ty.map(|f| f.ty.as_str()), sets: Vec::new() });
                        keys.len() - 1
                    });
                    keys[index].sets.push(&field.selection_set.node);
                }
                Selection::FragmentSpread(spread_node) if self.included(&spread_node.node.directives) => {
                    let name = &spread_node.node.fragment_name.node;
                    let Some(fragment) = self.fragments.get(name) else { continue };
                    if spread.contains(&name) {
                        continue;
                    }
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    if self.applies(ty, on) {
                        spread.push(name);
                        self.collect(ty, on, &fragment.node.selection_set.node, keys, spread);
                        spread.pop();
                    }
                }
                Selection::InlineFragment(inline) if self.included(&inline.node.directives) => {
                    let on = inline.node.type_condition.as_ref().map_or(scope, |c| c.node.on.node.as_str());
                    if self.applies(ty, on) {
                        self.collect(ty, on, &inline.node.selection_set.node, keys, spread);
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether a fragment on `on` can apply to a value of type `ty`.
    fn applies(&self, ty: &str, on: &str) -> bool {
        let is_possible = |abstract_ty: &str, concrete: &str| {
            self.types.types.get(abstract_ty).is_some_and(|t| t.is_possible_type(concrete))
        };
        ty == on || is_possible(ty, on) || is_possible(on, ty)
    }

    fn included(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().all(|directive| {
            let condition = directive.node.get_argument("if").map(|value| {
                let value = value.node.clone().into_const_with(|name| Ok::<_, ()>(self.variable(&name)));
                value == Ok(Value::Boolean(true))
            });
            match (directive.node.name.node.as_str(), condition) {
                ("skip", Some(skip)) => !skip,
                ("include", Some(include)) => include,
                _ => true,
            }
        })
    }

    /// A variable's value as given, else its default.
    fn variable(&self, name: &Name) -> Value {
        let default = || {
            let definition = self.defaults.variable_definitions.iter().find(|v| v.node.name.node == *name);
            definition.and_then(|v| v.node.default_value.as_ref()).map(|v| &v.node)
        };
        self.variables.get(name).or_else(default).cloned().unwrap_or_default()
    }
}
