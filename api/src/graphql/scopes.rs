//! What an API token needs for each mutation, in one table, checked before
//! a mutation runs (over HTTP and WebSocket alike). A mutation missing from
//! the table is refused to every API token, and a test walks the schema's
//! mutations so a new one can't ship undeclared. Signed-in sessions hold every
//! scope; services still check roles and account standing themselves.

use async_graphql::{
    Name, PathSegment, Positioned, ServerError,
    parser::types::{ExecutableDocument, Field, OperationType, Selection, SelectionSet},
};

use crate::{
    auth::{Credential, Viewer},
    error::AppError,
    modules::identity::domain::Scope,
};

/// What a mutation asks of the credential that calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Credential exchanges, open to anyone.
    Nobody,
    /// Account management: a signed-in session, never an API token.
    Session,
    Scope(Scope),
}

const WRITE: Needs = Needs::Scope(Scope::Write);
const MODERATE: Needs = Needs::Scope(Scope::Moderate);

pub const MUTATIONS: &[(&str, Needs)] = &[
    ("register", Needs::Nobody),
    ("login", Needs::Nobody),
    ("refreshSession", Needs::Nobody),
    ("requestPasswordReset", Needs::Nobody),
    ("resetPassword", Needs::Nobody),
    ("verifyEmail", Needs::Nobody),
    ("logout", Needs::Session),
    ("resendVerificationEmail", Needs::Session),
    ("changePassword", Needs::Session),
    ("updateProfile", Needs::Session),
    ("revokeSession", Needs::Session),
    ("createApiToken", Needs::Session),
    ("revokeApiToken", Needs::Session),
    ("createSubmission", WRITE),
    ("addChange", WRITE),
    ("editChange", WRITE),
    ("removeChange", WRITE),
    ("submitForReview", WRITE),
    ("withdrawSubmission", WRITE),
    ("resolveConflict", WRITE),
    ("rebaseSubmission", WRITE),
    ("revertEntry", WRITE),
    ("createReport", WRITE),
    ("upsertReview", WRITE),
    ("deleteReview", WRITE),
    ("voteReviewHelpful", WRITE),
    ("uploadMedia", WRITE),
    ("markNotificationsRead", WRITE),
    ("watchEntry", WRITE),
    ("unwatchEntry", WRITE),
    ("setUserRole", MODERATE),
    ("suspendUser", MODERATE),
    ("banUser", MODERATE),
    ("reinstateUser", MODERATE),
    ("createEntryKind", MODERATE),
    ("approveSubmission", MODERATE),
    ("rejectSubmission", MODERATE),
    ("requestChanges", MODERATE),
    ("claimSubmission", MODERATE),
    ("releaseSubmissionClaim", MODERATE),
    ("resolveReport", MODERATE),
    ("addBlocklistEntry", MODERATE),
    ("removeBlocklistEntry", MODERATE),
    ("hideReview", MODERATE),
    ("showReview", MODERATE),
];

pub fn needs(mutation: &str) -> Option<Needs> {
    MUTATIONS.iter().find(|(name, _)| *name == mutation).map(|(_, needs)| *needs)
}

/// Refuses an API token a mutation its scopes don't allow, before anything runs.
pub fn check(viewer: &Viewer, document: &ExecutableDocument, operation: Option<&str>) -> Result<(), ServerError> {
    let Credential::ApiToken { scopes } = &viewer.credential else { return Ok(()) };
    let chosen = |name: Option<&Name>| operation.is_none() || name.map(Name::as_str) == operation;
    let Some((_, operation)) = document.operations.iter().find(|(name, _)| chosen(*name)) else { return Ok(()) };
    if operation.node.ty != OperationType::Mutation {
        return Ok(());
    }
    let mut fields = Vec::new();
    root_fields(document, &operation.node.selection_set.node, &mut fields, &mut Vec::new());
    for field in fields {
        let name = field.node.name.node.as_str();
        let refusal = match needs(name) {
            Some(Needs::Nobody) => continue,
            Some(Needs::Scope(scope)) if scopes.contains(&scope) => continue,
            Some(Needs::Scope(scope)) => format!("this API token lacks the `{}` scope", scope.as_str()),
            Some(Needs::Session) => "this action needs a signed-in session, not an API token".to_owned(),
            None if name.starts_with("__") => continue,
            None => format!("`{name}` is not open to API tokens"),
        };
        let mut error = async_graphql::Error::from(AppError::forbidden(refusal)).into_server_error(field.pos);
        error.path = vec![PathSegment::Field(field.node.response_key().node.to_string())];
        return Err(error);
    }
    Ok(())
}

/// The fields a mutation runs, through the fragments spread at its root.
fn root_fields<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    fields: &mut Vec<&'d Positioned<Field>>,
    spread: &mut Vec<&'d Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => fields.push(field),
            Selection::InlineFragment(inline) => root_fields(document, &inline.node.selection_set.node, fields, spread),
            Selection::FragmentSpread(fragment) => {
                let name = &fragment.node.fragment_name.node;
                if let Some(definition) = document.fragments.get(name).filter(|_| !spread.contains(&name)) {
                    spread.push(name);
                    root_fields(document, &definition.node.selection_set.node, fields, spread);
                }
            }
        }
    }
}
