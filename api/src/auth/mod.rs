//! Credentials: signing and checking access tokens (JWT, one pinned algorithm,
//! issuer and audience), hashing opaque tokens, and the authenticated [`Viewer`].
//! Roles, API-token scopes and the client's address are core types here.
//! Looking credentials up in the database is the identity module's job.

pub mod policy;

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::{Rng, distr::Alphanumeric};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use xpr_entity::enums::Role;

use crate::{
    config::{Config, Environment},
    error::{AppError, AppResult, Refusal},
    ids::{SessionId, UserId},
};

/// What an API token may do. Sessions may do everything their role allows.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read what the owner can read.
    Read,
    /// Create and change content as the owner.
    Write,
    /// Moderator actions (only for moderators and admins).
    Moderate,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Moderate => "moderate",
        }
    }

    pub fn parse_list(s: &str) -> Vec<Scope> {
        s.split_whitespace()
            .filter_map(|name| [Scope::Read, Scope::Write, Scope::Moderate].into_iter().find(|sc| sc.as_str() == name))
            .collect()
    }
}

/// Who sent a request, for rate limits and the sessions list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The rate-limit key of the client's address.
    pub fn address_key(&self) -> String {
        self.ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    /// The user's public id.
    sub: Uuid,
    /// The session the token belongs to: revoking it revokes the token.
    sid: Uuid,
    iat: i64,
    exp: i64,
}

/// A checked access token.
#[derive(Debug, Clone, Copy)]
pub struct AccessToken {
    pub user: Uuid,
    pub session: Uuid,
}

pub struct TokenKeys {
    header: Header,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    access_ttl: Duration,
}

impl TokenKeys {
    /// Ed25519 key files if given, else the HS256 secret; without either, an
    /// ephemeral secret in development and a refusal to start in production.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (algorithm, encoding, decoding) = match (&config.jwt_private_key_file, &config.jwt_public_key_file) {
            (Some(private), Some(public)) => (
                Algorithm::EdDSA,
                EncodingKey::from_ed_pem(&std::fs::read(private)?)?,
                DecodingKey::from_ed_pem(&std::fs::read(public)?)?,
            ),
            _ => {
                let secret = match &config.jwt_secret {
                    Some(secret) => {
                        let secret = secret.expose_secret().as_bytes().to_vec();
                        anyhow::ensure!(secret.len() >= 32, "XPR_JWT_SECRET must be at least 32 bytes");
                        secret
                    }
                    None if config.environment() == Environment::Development => {
                        tracing::warn!(
                            "XPR_JWT_SECRET is not set: using an ephemeral secret (development only); \
                             tokens stop working when the server restarts"
                        );
                        random_secret(48).into_bytes()
                    }
                    None => anyhow::bail!(
                        "in production XPR_JWT_SECRET or XPR_JWT_PRIVATE_KEY_FILE/XPR_JWT_PUBLIC_KEY_FILE must be set"
                    ),
                };
                (Algorithm::HS256, EncodingKey::from_secret(&secret), DecodingKey::from_secret(&secret))
            }
        };
        // Exactly one algorithm is accepted: no `none`, no algorithm confusion.
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // `nbf` is checked when present (ours carry none).
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(Self {
            header: Header::new(algorithm),
            encoding,
            decoding,
            validation,
            issuer: config.jwt_issuer.clone(),
            access_ttl: Duration::seconds(config.access_token_ttl_secs),
        })
    }

    pub fn issue(&self, user: Uuid, session: Uuid) -> AppResult<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires_at = now + self.access_ttl;
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.issuer.clone(),
            sub: user,
            sid: session,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.encoding).map_err(AppError::internal)?;
        Ok((token, expires_at))
    }

    pub fn verify(&self, token: &str) -> AppResult<AccessToken> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).map_err(|err| {
            AppError::Refused(match err.kind() {
                ErrorKind::ExpiredSignature => Refusal::TokenExpired,
                _ => Refusal::TokenInvalid,
            })
        })?;
        // A token issued in the future was not issued by this clock.
        if data.claims.iat > Utc::now().timestamp() + i64::try_from(self.validation.leeway).unwrap_or(0) {
            return Err(AppError::Refused(Refusal::TokenInvalid));
        }
        Ok(AccessToken { user: data.claims.sub, session: data.claims.sid })
    }
}

/// A random alphanumeric secret (refresh tokens, API tokens, one-time tokens).
pub fn random_secret(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Opaque tokens are long random strings, so a fast hash is enough to store them.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// How the viewer authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    Session {
        id: SessionId,
    },
    ApiToken {
        scopes: Vec<Scope>,
    },
    /// An operator running an `xpr` command on the server itself.
    Operator,
}

/// The authenticated user of a request, loaded fresh from the database on every
/// request so that revocations, bans and role changes apply at once everywhere.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: UserId,
    pub uuid: Uuid,
    pub role: Role,
    pub email_verified: bool,
    pub suspended: bool,
    pub credential: Credential,
}

impl Viewer {
    pub fn has_scope(&self, scope: Scope) -> bool {
        match &self.credential {
            Credential::Session { .. } | Credential::Operator => true,
            Credential::ApiToken { scopes } => scopes.contains(&scope),
        }
    }

    pub fn require_scope(&self, scope: Scope) -> AppResult<()> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!("this API token lacks the `{}` scope", scope.as_str())))
        }
    }

    /// Writing reviews and uploading media: the `write` scope, an account in
    /// good standing and a verified email address. `action` names what was refused.
    pub fn require_verified_writer(&self, action: &str) -> AppResult<()> {
        self.require_scope(Scope::Write)?;
        if self.suspended {
            return Err(AppError::forbidden(format!("your account is suspended: you can't {action}")));
        }
        if !self.email_verified {
            return Err(AppError::forbidden(format!("verify your email address to {action}")));
        }
        Ok(())
    }

    /// Account management (passwords, sessions, tokens) needs a signed-in
    /// session: an API token can never mint or manage credentials.
    pub fn require_session(&self) -> AppResult<SessionId> {
        match self.credential {
            Credential::Session { id } => Ok(id),
            _ => Err(AppError::forbidden("this action needs a signed-in session, not an API token")),
        }
    }

    pub fn is(&self, user: UserId) -> bool {
        self.id == user
    }
}

/// The outcome of reading the `Authorization` header or `connection_init` payload.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    Viewer(Viewer),
}

impl Auth {
    pub fn viewer(&self) -> Option<&Viewer> {
        match self {
            Auth::Viewer(viewer) => Some(viewer),
            Auth::Anonymous => None,
        }
    }

    pub fn require(&self) -> AppResult<&Viewer> {
        match self {
            Auth::Viewer(viewer) => Ok(viewer),
            Auth::Anonymous => Err(AppError::unauthenticated()),
        }
    }
}
