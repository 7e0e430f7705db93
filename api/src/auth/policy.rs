//! Every permission decision about roles, in one place: a pure function of
//! who acts and what they want to do, tested as a table below. Services and
//! resolvers ask [`check`] or [`allows`]; selectors build their "visible to
//! this viewer" filters from [`sees_everything`]. What a credential may do
//! (API-token scopes, a verified address, a session rather than a token)
//! stays with [`Viewer`].

use super::{Role, Scope, Viewer};
use crate::{
    error::{AppError, AppResult},
    ids::UserId,
};

/// Something a viewer wants to do that depends on their role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Work the moderation queue and decide submissions, hide reviews, read
    /// reports and the moderation log.
    Moderate,
    /// Act on a submission another moderator has claimed.
    OverrideClaim,
    ManageBlocklist,
    DefineEntryKinds,
    /// Give an API token the `moderate` scope.
    GrantModerateScope,
    SetRole {
        is_self: bool,
    },
    /// Suspend, ban or reinstate a user whose role is `target`.
    ChangeStatus {
        target: Role,
        is_self: bool,
    },
    /// Read what only its author and moderators see: a draft or pending
    /// submission, a hidden review's moderation details, a user's status.
    ReadPrivate {
        author: UserId,
    },
    ReadEmail {
        owner: UserId,
    },
    DeleteReview {
        author: UserId,
    },
}

/// Whether `viewer` may do `action`, or why not.
pub fn decide(viewer: Option<&Viewer>, action: Action) -> Result<(), &'static str> {
    let role = viewer.map(|v| v.role);
    let is = |user: UserId| viewer.is_some_and(|v| v.is(user));
    let moderator = role >= Some(Role::Moderator);
    let admin = role == Some(Role::Admin);
    match action {
        Action::Moderate if moderator => Ok(()),
        Action::Moderate => Err("only moderators and admins can do this"),
        Action::OverrideClaim if admin => Ok(()),
        Action::OverrideClaim => Err("another moderator has claimed this submission"),
        Action::ManageBlocklist if admin => Ok(()),
        Action::ManageBlocklist => Err("only admins manage the blocklist"),
        Action::DefineEntryKinds if admin => Ok(()),
        Action::DefineEntryKinds => Err("only admins define entry kinds"),
        Action::GrantModerateScope if moderator => Ok(()),
        Action::GrantModerateScope => Err("only moderators and admins can grant `moderate`"),
        Action::SetRole { .. } if !admin => Err("only admins can change roles"),
        Action::SetRole { is_self: true } => Err("you cannot change your own role"),
        Action::SetRole { .. } => Ok(()),
        // Moderators act on members only; admins on anyone but themselves.
        Action::ChangeStatus { is_self: true, .. } => Err("you cannot change your own status"),
        Action::ChangeStatus { .. } if admin => Ok(()),
        Action::ChangeStatus { target, .. } if moderator && target < Role::Moderator => Ok(()),
        Action::ChangeStatus { .. } if moderator => Err("only an admin can suspend or ban moderators and admins"),
        Action::ChangeStatus { .. } => Err("only moderators and admins can suspend or ban users"),
        Action::ReadPrivate { author } if moderator || is(author) => Ok(()),
        Action::ReadPrivate { .. } => Err("only its author and moderators can see this"),
        Action::ReadEmail { owner } if admin || is(owner) => Ok(()),
        Action::ReadEmail { .. } => Err("only the user and admins can see an email address"),
        Action::DeleteReview { author } if is(author) => Ok(()),
        Action::DeleteReview { .. } => Err("you can only delete your own reviews"),
    }
}

pub fn allows(viewer: Option<&Viewer>, action: Action) -> bool {
    decide(viewer, action).is_ok()
}

/// [`decide`] as a `FORBIDDEN` error. Moderators' actions also need an API
/// token's `moderate` scope.
pub fn check(viewer: &Viewer, action: Action) -> AppResult<()> {
    if matches!(action, Action::Moderate | Action::ManageBlocklist) {
        viewer.require_scope(Scope::Moderate)?;
    }
    decide(Some(viewer), action).map_err(AppError::forbidden)
}

/// Whether lists show the viewer everything (hidden reviews, banned users,
/// everyone's open submissions) rather than what is public plus their own.
pub fn sees_everything(viewer: Option<&Viewer>) -> bool {
    allows(viewer, Action::Moderate)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{auth::Credential, ids::SessionId};

    fn viewer(role: Role) -> Viewer {
        Viewer {
            id: UserId(1),
            uuid: Uuid::nil(),
            role,
            email_verified: true,
            suspended: false,
            credential: Credential::Session { id: SessionId(1) },
        }
    }

    #[test]
    fn the_table() {
        use Role::{Admin, Moderator, Trusted, User};
        let (me, other) = (UserId(1), UserId(2));
        // (action, allowed for: anonymous, user, trusted, moderator, admin)
        let table = [
            (Action::Moderate, [false, false, false, true, true]),
            (Action::OverrideClaim, [false, false, false, false, true]),
            (Action::ManageBlocklist, [false, false, false, false, true]),
            (Action::DefineEntryKinds, [false, false, false, false, true]),
            (Action::GrantModerateScope, [false, false, false, true, true]),
            (Action::SetRole { is_self: false }, [false, false, false, false, true]),
            (Action::SetRole { is_self: true }, [false; 5]),
            (Action::ChangeStatus { target: User, is_self: false }, [false, false, false, true, true]),
            (Action::ChangeStatus { target: Trusted, is_self: false }, [false, false, false, true, true]),
            (Action::ChangeStatus { target: Moderator, is_self: false }, [false, false, false, false, true]),
            (Action::ChangeStatus { target: Admin, is_self: false }, [false, false, false, false, true]),
            (Action::ChangeStatus { target: Admin, is_self: true }, [false; 5]),
            (Action::ReadPrivate { author: me }, [false, true, true, true, true]),
            (Action::ReadPrivate { author: other }, [false, false, false, true, true]),
            (Action::ReadEmail { owner: me }, [false, true, true, true, true]),
            (Action::ReadEmail { owner: other }, [false, false, false, false, true]),
            (Action::DeleteReview { author: me }, [false, true, true, true, true]),
            (Action::DeleteReview { author: other }, [false; 5]),
        ];
        for (action, expected) in table {
            let viewers = [None, Some(User), Some(Trusted), Some(Moderator), Some(Admin)].map(|r| r.map(viewer));
            let got = viewers.each_ref().map(|v| allows(v.as_ref(), action));
            assert_eq!(got, expected, "{action:?}");
        }
    }

    #[test]
    fn moderators_need_the_moderate_scope_on_an_api_token() {
        let mut token = viewer(Role::Moderator);
        token.credential = Credential::ApiToken { scopes: vec![Scope::Read, Scope::Write] };
        assert!(check(&token, Action::Moderate).is_err());
        token.credential = Credential::ApiToken { scopes: vec![Scope::Moderate] };
        assert!(check(&token, Action::Moderate).is_ok());
    }
}
