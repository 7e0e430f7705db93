//! Text inputs holding a NUL character are refused before execution, naming
//! the input: no database stores one (PostgreSQL refuses it), so any such
//! value would otherwise end as an internal error, and anonymous lookups
//! would let anyone write error lines to the log. Single-line fields refuse
//! the other control characters in their own types.

use async_graphql::{
    ServerError, Value, Variables,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::error::AppError;

pub fn refuse_nul(document: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    for (name, value) in variables.iter() {
        const_value(value, name.to_string())?;
    }
    for (_, operation) in document.operations.iter() {
        selections(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        selections(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

fn refused(input: &str) -> ServerError {
    let error = async_graphql::Error::from(AppError::bad_input(input, "must not contain NUL characters"));
    let mut server_error = ServerError::new(error.message, None);
    server_error.extensions = error.extensions;
    server_error
}

fn const_value(value: &Value, at: String) -> Result<(), ServerError> {
    match value {
        Value::String(s) if s.contains('\0') => Err(refused(&at)),
        Value::List(items) => items.iter().enumerate().try_for_each(|(i, item)| const_value(item, format!("{at}.{i}"))),
        Value::Object(fields) => fields.iter().try_for_each(|(key, item)| const_value(item, format!("{at}.{key}"))),
        _ => Ok(()),
    }
}

fn selections(set: &SelectionSet) -> Result<(), ServerError> {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    // Variables in a literal are checked with the variables.
                    let literal = value.node.clone().into_const_with(|_| Ok::<_, ()>(Value::Null)).unwrap_or_default();
                    const_value(&literal, name.node.to_string())?;
                }
                selections(&field.node.selection_set.node)?;
            }
            Selection::InlineFragment(inline) => selections(&inline.node.selection_set.node)?,
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}
