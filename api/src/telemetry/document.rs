//! The document a trace records (`graphql.document`): printed from the parsed
//! operation with every string literal blanked to `""` and every number to
//! `0`, so ids, search text or passwords written inline never leave the
//! server. Variables stay `$names`; their values are never read here.

use std::fmt::Write;

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql_value::{ConstValue, Name, Value};

/// A longer document is cut here: attributes travel in every export batch.
const MAX_BYTES: usize = 8 * 1024;

/// The operation `name` selects (the only one when unnamed), with its name.
pub fn selected<'a>(
    document: &'a ExecutableDocument,
    name: Option<&'a str>,
) -> Option<(&'a OperationDefinition, Option<&'a str>)> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some((&op.node, name)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| (&op.node, Some(name))),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(name, op)| (&op.node, Some(name.as_str())))
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The operation and the fragments of `document`, literals blanked, on one line.
pub fn blanked(document: &ExecutableDocument, operation: &OperationDefinition, name: Option<&str>) -> String {
    let mut out = String::new();
    write_operation(&mut out, operation, name);
    // Fragments by name: the parser keeps them in a hash map.
    let mut fragments: Vec<_> = document.fragments.iter().collect();
    fragments.sort_by(|a, b| a.0.cmp(b.0));
    for (name, fragment) in fragments {
        let _ = write!(out, " fragment {name} on {}", fragment.node.type_condition.node.on.node);
        write_directives(&mut out, &fragment.node.directives);
        write_set(&mut out, &fragment.node.selection_set.node);
    }
    if out.len() > MAX_BYTES {
        out.truncate(cut(&out, MAX_BYTES).len());
        out.push('…');
    }
    out
}

/// The longest start of `text` that fits in `max` bytes.
pub(super) fn cut(text: &str, max: usize) -> &str {
    let at = (0..=max.min(text.len())).rev().find(|&at| text.is_char_boundary(at)).unwrap_or(0);
    &text[..at]
}

fn write_operation(out: &mut String, operation: &OperationDefinition, name: Option<&str>) {
    let _ = write!(out, "{}", operation.ty);
    if let Some(name) = name {
        let _ = write!(out, " {name}");
    }
    if !operation.variable_definitions.is_empty() {
        out.push('(');
        for (i, variable) in operation.variable_definitions.iter().enumerate() {
            let variable = &variable.node;
            let _ = write!(out, "{}${}: {}", if i > 0 { ", " } else { "" }, variable.name.node, variable.var_type.node);
            if let Some(default) = &variable.default_value {
                out.push_str(" = ");
                write_const(out, &default.node);
            }
            write_directives(out, &variable.directives);
        }
        out.push(')');
    }
    write_directives(out, &operation.directives);
    write_set(out, &operation.selection_set.node);
}

fn write_set(out: &mut String, set: &SelectionSet) {
    if set.items.is_empty() {
        return;
    }
    out.push_str(" {");
    for item in &set.items {
        out.push(' ');
        match &item.node {
            Selection::Field(field) => write_field(out, &field.node),
            Selection::FragmentSpread(spread) => {
                let _ = write!(out, "...{}", spread.node.fragment_name.node);
                write_directives(out, &spread.node.directives);
            }
            Selection::InlineFragment(inline) => {
                out.push_str("...");
                if let Some(condition) = &inline.node.type_condition {
                    let _ = write!(out, " on {}", condition.node.on.node);
                }
                write_directives(out, &inline.node.directives);
                write_set(out, &inline.node.selection_set.node);
            }
        }
    }
    out.push_str(" }");
}

fn write_field(out: &mut String, field: &Field) {
    if let Some(alias) = &field.alias {
        let _ = write!(out, "{}: ", alias.node);
    }
    out.push_str(&field.name.node);
    write_arguments(out, &field.arguments);
    write_directives(out, &field.directives);
    write_set(out, &field.selection_set.node);
}

fn write_directives(out: &mut String, directives: &[Positioned<Directive>]) {
    for directive in directives {
        let _ = write!(out, " @{}", directive.node.name.node);
        write_arguments(out, &directive.node.arguments);
    }
}

fn write_arguments(out: &mut String, arguments: &[(Positioned<Name>, Positioned<Value>)]) {
    if arguments.is_empty() {
        return;
    }
    out.push('(');
    for (i, (name, value)) in arguments.iter().enumerate() {
        let _ = write!(out, "{}{}: ", if i > 0 { ", " } else { "" }, name.node);
        write_value(out, &value.node);
    }
    out.push(')');
}

/// Strings and numbers blanked; variables, enum values, booleans and null as written.
fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Variable(name) => {
            let _ = write!(out, "${name}");
        }
        Value::Null => out.push_str("null"),
        Value::Number(_) => out.push('0'),
        Value::String(_) | Value::Binary(_) => out.push_str("\"\""),
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Enum(name) => out.push_str(name),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { "" });
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (name, item)) in fields.iter().enumerate() {
                let _ = write!(out, "{}{name}: ", if i > 0 { ", " } else { "" });
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_const(out: &mut String, value: &ConstValue) {
    write_value(out, &value.clone().into_value());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(query: &str, name: Option<&str>) -> String {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let (operation, name) = selected(&document, name).unwrap();
        blanked(&document, operation, name)
    }

    #[test]
    fn literals_are_blanked_and_the_rest_is_kept() {
        assert_eq!(
            blank(
                r#"query Q($first: Int = 5, $q: String) @a(b: "c") {
                    e: entry(id: "secret", filter: {title: "pw", tags: ["x", 1.5], on: true, at: null, kind: DRAFT}) {
                        ...F @include(if: $on) ... on Entry { n(first: 10, after: $q) } }
                }
                fragment F on Entry { title(max: -3) }"#,
                None,
            ),
            r#"query Q($first: Int = 0, $q: String) @a(b: "") { e: entry(id: "", filter: {title: "", tags: ["", 0], on: true, at: null, kind: DRAFT}) { ...F @include(if: $on) ... on Entry { n(first: 0, after: $q) } } } fragment F on Entry { title(max: 0) }"#
        );
    }

    #[test]
    fn the_selected_operation_is_printed_with_its_name() {
        let two = "query A { a } mutation B { b(x: \"\"\"block\"\"\") }";
        assert_eq!(blank(two, Some("B")), r#"mutation B { b(x: "") }"#);
        assert_eq!(blank("{ a }", None), "query { a }");
        assert_eq!(blank("query Only { a }", None), "query Only { a }");
        let document = async_graphql::parser::parse_query(two).unwrap();
        assert!(selected(&document, None).is_none(), "two operations and no name select none");
    }

    #[test]
    fn long_documents_are_cut() {
        let query = format!("{{ {} }}", (0..2_000).map(|i| format!("f{i}")).collect::<Vec<_>>().join(" "));
        let printed = blank(&query, None);
        assert!(printed.len() <= MAX_BYTES + '…'.len_utf8() && printed.ends_with('…'));
    }
}
