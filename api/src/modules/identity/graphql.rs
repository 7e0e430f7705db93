//! Identity's GraphQL types and fields: parse input, call a service or
//! selector, map the result. No rules and no SQL here.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use xpr_entity::{api_token, session, user};

use super::{
    domain::{self, Role, Scope, UserStatus},
    selectors, service,
};
use crate::modules::moderation::standing::{self, StatusChange};
use crate::{
    auth::{
        Credential, Viewer,
        policy::{self, Action},
    },
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
    },
    ids::{UserId, parse_uuid},
    modules::{
        activity::graphql::{self as activity, Activity},
        reviews::{
            graphql::{self as reviews, Review, ReviewOrder},
            selectors::ReviewsOf,
        },
    },
    paging::{Cursor, Page},
};

/// A member of the community.
pub struct User {
    model: Arc<user::Model>,
    /// Set when the request itself signed this user in (register, login):
    /// private fields show although the request came without a token.
    signed_in: bool,
}

impl User {
    pub fn new(model: impl Into<Arc<user::Model>>) -> Self {
        Self { model: model.into(), signed_in: false }
    }

    /// The user with this id, through the request's loader.
    pub async fn load(ctx: &Context<'_>, id: UserId) -> AppResult<Option<Self>> {
        Ok(ctx.loaders().users.load_one(id).await.map_err(AppError::internal)?.map(Self::new))
    }

    fn is_self(&self, viewer: Option<&Viewer>) -> bool {
        self.signed_in || viewer.is_some_and(|v| v.is(self.model.id))
    }

    fn is_self_or_moderator(&self, viewer: Option<&Viewer>) -> bool {
        self.is_self(viewer) || policy::allows(viewer, Action::ReadPrivate { author: self.model.id })
    }
}

fields::object!(User, node);

#[Object(name = "User")]
impl Fields<'_, User> {
    pub async fn id(&self) -> ID {
        ID(self.model.uuid.to_string())
    }

    /// Unique regardless of case; shown as the user typed it.
    async fn handle(&self) -> &str {
        &self.model.handle
    }

    async fn display_name(&self) -> &str {
        &self.model.display_name
    }

    async fn bio(&self) -> &str {
        &self.model.bio
    }

    async fn avatar_url(&self) -> Option<&str> {
        self.model.avatar_url.as_deref()
    }

    async fn role(&self) -> Role {
        self.model.role
    }

    async fn reputation(&self) -> i32 {
        self.model.reputation
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn last_seen_at(&self) -> Option<DateTime<Utc>> {
        self.model.last_seen_at
    }

    /// The user's own address; null for everyone but the user and admins.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        let viewer = ctx.auth().viewer();
        (self.is_self(viewer) || policy::allows(viewer, Action::ReadEmail { owner: self.model.id }))
            .then_some(self.model.email.as_str())
    }

    /// Null for everyone but the user and moderators.
    async fn email_verified(&self, ctx: &Context<'_>) -> Option<bool> {
        self.is_self_or_moderator(ctx.auth().viewer()).then_some(self.model.email_verified_at.is_some())
    }

    /// Account status in force now; null for everyone but the user and moderators.
    async fn status(&self, ctx: &Context<'_>) -> Option<UserStatus> {
        self.is_self_or_moderator(ctx.auth().viewer()).then(|| domain::status_of(&self.model, Utc::now()))
    }

    /// End of the current suspension, if any; visible like `status`.
    async fn suspended_until(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.is_self_or_moderator(ctx.auth().viewer()).then_some(self.model.suspended_until).flatten()
    }

    /// The moderator's reason for the current status; visible like `status`.
    async fn status_reason(&self, ctx: &Context<'_>) -> Option<&str> {
        self.is_self_or_moderator(ctx.auth().viewer()).then_some(self.model.status_reason.as_deref()).flatten()
    }

    /// The user's reviews, newest first by default: published ones (all of them for the user and moderators).
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        order_by: Option<ReviewOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Review>> {
        reviews::connection(ctx, ReviewsOf::Author(self.model.id), order_by, first, after).await
    }

    /// What the user did in public, newest first: merged submissions and
    /// published reviews. A banned user's shows to moderators only.
    async fn activity(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Activity>> {
        // Boxed: this future is part of every field of a User (see `Entry`).
        Box::pin(activity::connection(ctx, &self.model, first, after)).await
    }
}

/// A signed-in device or browser of the viewer.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Session {
    #[graphql(skip)]
    model: session::Model,
    id: ID,
    user_agent: Option<String>,
    ip_address: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<session::Model> for Session {
    fn from(model: session::Model) -> Self {
        Self {
            id: ID(model.uuid.to_string()),
            user_agent: model.user_agent.clone(),
            ip_address: model.ip_address.clone(),
            created_at: model.created_at,
            last_used_at: model.last_used_at,
            expires_at: model.expires_at,
            model,
        }
    }
}

#[ComplexObject]
impl Session {
    /// True for the session making this request.
    async fn current(&self, ctx: &Context<'_>) -> bool {
        ctx.auth().viewer().is_some_and(|v| matches!(v.credential, Credential::Session { id } if id == self.model.id))
    }
}

/// A personal API token for bots and scripts. The secret itself is never shown again.
#[derive(SimpleObject)]
pub struct ApiToken {
    id: ID,
    name: String,
    /// The first characters of the secret, to tell tokens apart.
    prefix: String,
    scopes: Vec<Scope>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<api_token::Model> for ApiToken {
    fn from(model: api_token::Model) -> Self {
        Self {
            id: ID(model.uuid.to_string()),
            name: model.name,
            prefix: model.token_prefix,
            scopes: Scope::parse_list(&model.scopes),
            created_at: model.created_at,
            expires_at: model.expires_at,
            last_used_at: model.last_used_at,
            revoked_at: model.revoked_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived JWT for `Authorization: Bearer …` and `connection_init`.
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    /// Single use: `refreshSession` returns a new one each time.
    refresh_token: String,
    user: User,
}

impl From<service::SignedIn> for AuthPayload {
    fn from(s: service::SignedIn) -> Self {
        Self {
            access_token: s.access_token,
            access_token_expires_at: s.access_token_expires_at,
            refresh_token: s.refresh_token,
            user: User { model: s.user.into(), signed_in: true },
        }
    }
}

#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The secret, shown this once.
    token: String,
    api_token: ApiToken,
}

#[derive(InputObject)]
pub struct RegisterInput {
    /// 3–32 letters, digits or underscores, starting with a letter.
    handle: String,
    email: String,
    /// At least 10 characters and hard to guess.
    password: String,
    /// Defaults to the handle.
    display_name: Option<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    /// Handle or email address.
    login: String,
    password: String,
}

#[derive(InputObject)]
pub struct UpdateProfileInput {
    display_name: Option<String>,
    bio: Option<String>,
    /// Null clears the avatar; leaving it out keeps it.
    avatar_url: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    name: String,
    scopes: Vec<Scope>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in user; null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(viewer) = ctx.auth().viewer() else {
            return Ok(None);
        };
        User::load(ctx, viewer.id).await
    }

    /// A user by handle, case-insensitively.
    async fn user(&self, ctx: &Context<'_>, handle: String) -> AppResult<Option<User>> {
        let user = selectors::visible_user_by_handle(&ctx.state().db, ctx.auth().viewer(), &handle).await?;
        Ok(user.map(User::new))
    }

    /// The viewer's active sessions, newest first.
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Session>> {
        let viewer = ctx.auth().require()?;
        viewer.require_session()?;
        let page = Page::parse(first, after)?;
        let (rows, has_next) = selectors::sessions_of(&ctx.state().db, viewer.id, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |s| Cursor::new(None, s.uuid), Session::from))
    }

    /// The viewer's API tokens, newest first, revoked ones included.
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<ApiToken>> {
        let viewer = ctx.auth().require()?;
        viewer.require_session()?;
        let page = Page::parse(first, after)?;
        let (rows, has_next) = selectors::api_tokens_of(&ctx.state().db, viewer.id, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |t| Cursor::new(None, t.uuid), ApiToken::from))
    }
}

#[derive(Default)]
pub struct IdentityMutation;

/// Mutations that trade one credential for another and read no viewer: they
/// run even when the request also carries a stale access token (a client
/// refreshing after its token expired), which refuses any other operation.
pub const CREDENTIAL_EXCHANGES: [&str; 5] =
    ["register", "login", "refreshSession", "requestPasswordReset", "resetPassword"];

#[Object]
impl IdentityMutation {
    /// Creates an account, signs it in and mails an email verification link. A
    /// taken handle or email is `BAD_USER_INPUT` on `handle` / `email`: unlike
    /// every other mutation, this tells whether an address has an account, so
    /// attempts are limited per client address (`RATE_LIMITED`; ADR 0019).
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> AppResult<AuthPayload> {
        let account = service::NewAccount {
            handle: input.handle,
            email: input.email,
            password: input.password,
            display_name: input.display_name,
        };
        Ok(service::register(ctx.state(), &ctx.request().client, account).await?.into())
    }

    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> AppResult<AuthPayload> {
        Ok(service::login(ctx.state(), &ctx.request().client, &input.login, input.password).await?.into())
    }

    /// Exchanges a refresh token (once) for a new access and refresh token.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<AuthPayload> {
        Ok(service::refresh_session(ctx.state(), &refresh_token).await?.into())
    }

    /// Ends the current session.
    async fn logout(&self, ctx: &Context<'_>) -> AppResult<bool> {
        service::logout(ctx.state(), ctx.auth().require()?).await?;
        Ok(true)
    }

    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> AppResult<User> {
        Ok(User::new(service::verify_email(ctx.state(), &token).await?))
    }

    /// Mails a new verification link to the viewer.
    async fn resend_verification_email(&self, ctx: &Context<'_>) -> AppResult<bool> {
        service::resend_verification(ctx.state(), ctx.auth().require()?).await?;
        Ok(true)
    }

    /// Always true: whether the address has an account is not revealed here
    /// (only `register` tells, rate-limited; ADR 0019).
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> AppResult<bool> {
        service::request_password_reset(ctx.state(), &ctx.request().client, &email).await?;
        Ok(true)
    }

    /// Sets a new password from a mailed token and signs out every session.
    async fn reset_password(&self, ctx: &Context<'_>, token: String, new_password: String) -> AppResult<bool> {
        service::reset_password(ctx.state(), &token, &new_password).await?;
        Ok(true)
    }

    /// Changes the password and signs out every other session.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> AppResult<bool> {
        service::change_password(ctx.state(), ctx.auth().require()?, current_password, &new_password).await?;
        Ok(true)
    }

    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> AppResult<User> {
        let change = service::ProfileChange {
            display_name: input.display_name,
            bio: input.bio,
            avatar_url: match input.avatar_url {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(url) => Some(Some(url)),
            },
        };
        Ok(User::new(service::update_profile(ctx.state(), ctx.auth().require()?, change).await?))
    }

    /// Ends one of the viewer's sessions.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::revoke_session(ctx.state(), ctx.auth().require()?, parse_uuid("id", &id)?).await?;
        Ok(true)
    }

    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> AppResult<CreateApiTokenPayload> {
        let new = service::NewApiToken { name: input.name, scopes: input.scopes, expires_at: input.expires_at };
        let (token, model) = service::create_api_token(ctx.state(), ctx.auth().require()?, new).await?;
        Ok(CreateApiTokenPayload { token, api_token: model.into() })
    }

    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::revoke_api_token(ctx.state(), ctx.auth().require()?, parse_uuid("id", &id)?).await?;
        Ok(true)
    }

    /// Admins only.
    async fn set_user_role(&self, ctx: &Context<'_>, user_id: ID, role: Role) -> AppResult<User> {
        let target = parse_uuid("userId", &user_id)?;
        Ok(User::new(service::set_role(ctx.state(), ctx.auth().require()?, target, role).await?))
    }

    /// Moderators and admins: the user can still sign in and read, but not contribute, until `until` (none: until reinstated).
    async fn suspend_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        until: Option<DateTime<Utc>>,
        reason: String,
    ) -> AppResult<User> {
        status_change(ctx, &user_id, StatusChange::Suspend { until }, &reason).await
    }

    /// Moderators and admins: ends every session and token of the user, withdraws their open
    /// submissions and refuses sign-in until `until` (none: until reinstated).
    async fn ban_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        until: Option<DateTime<Utc>>,
        reason: String,
    ) -> AppResult<User> {
        status_change(ctx, &user_id, StatusChange::Ban { until }, &reason).await
    }

    /// Moderators and admins: lifts a suspension or ban.
    async fn reinstate_user(&self, ctx: &Context<'_>, user_id: ID, reason: String) -> AppResult<User> {
        status_change(ctx, &user_id, StatusChange::Reinstate, &reason).await
    }
}

async fn status_change(ctx: &Context<'_>, user_id: &ID, change: StatusChange, reason: &str) -> AppResult<User> {
    let target = parse_uuid("userId", user_id)?;
    Ok(User::new(standing::change_status(ctx.state(), ctx.auth().require()?, target, change, reason).await?))
}
