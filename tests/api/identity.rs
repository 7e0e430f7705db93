//! Identity through the API: accounts, sessions, tokens, mail, roles, status.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use xpr_tests::{JWT_SECRET, PASSWORD, TestApp, code};

const VIEWER: &str = "{ viewer { id handle email emailVerified } }";
const SESSIONS: &str = "{ sessions { edges { node { id current } } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";

fn fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["fields"]
        .as_array()
        .map(|fields| fields.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn register_login_and_viewer() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let body = app.gql(Some(&alice.access), VIEWER, json!({})).await;
    assert_eq!(body["data"]["viewer"]["handle"], "Alice");
    assert_eq!(body["data"]["viewer"]["email"], "alice@example.com");
    assert_eq!(body["data"]["viewer"]["emailVerified"], false);
    assert_eq!(body["data"]["viewer"]["id"], alice.id, "the id is the user's UUID");
    assert!(uuid::Uuid::parse_str(&alice.id).is_ok());

    // Sign in by handle in any case, or by email in any case.
    let by_handle = app.login("ALICE").await;
    let by_email = app.login("Alice@Example.com").await;
    assert_eq!(by_handle.id, alice.id);
    assert_eq!(by_email.id, alice.id);

    let public = app.gql(None, "{ user(handle: \"alice\") { id handle email } }", json!({})).await;
    assert_eq!(public["data"]["user"]["handle"], "Alice");
    assert_eq!(public["data"]["user"]["email"], Value::Null, "emails are private");
    let node = app
        .gql(None, "query($id: ID!) { node(id: $id) { id ... on User { handle } } }", json!({ "id": alice.id }))
        .await;
    assert_eq!(node["data"]["node"]["handle"], "Alice");
}

#[tokio::test]
async fn duplicate_handles_and_emails_are_refused_in_any_case() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let body = app
        .gql(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
            json!({ "i": { "handle": "ALICE", "email": "ALICE@EXAMPLE.COM", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(fields(&body), ["handle", "email"]);
    assert_eq!(body["data"], Value::Null);
}

#[tokio::test]
async fn register_tells_that_an_email_is_taken_but_only_as_often_as_the_address_limit_allows() {
    let app = TestApp::spawn_with(&["--rate-limit-per-address", "3"]).await;
    app.register("alice").await;
    let register = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";
    let probe = |handle: &str| json!({ "i": { "handle": handle, "email": "alice@example.com", "password": PASSWORD } });
    for handle in ["probe_one", "probe_two"] {
        let body = app.gql(None, register, probe(handle)).await;
        assert_eq!((code(&body), fields(&body)), ("BAD_USER_INPUT", vec!["email".to_owned()]), "{body}");
    }
    let limited = app.gql(None, register, probe("probe_three")).await;
    assert_eq!(code(&limited), "RATE_LIMITED", "every attempt counts, taken or not: {limited}");
    // Asking for a password reset tells nothing, for a known address or not.
    let reset = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    for email in ["alice@example.com", "nobody@example.com"] {
        assert_eq!(
            app.gql(None, reset, json!({ "e": email })).await,
            json!({ "data": { "requestPasswordReset": true } })
        );
    }
}

#[tokio::test]
async fn create_admin_names_every_taken_field_and_refuses_reserved_handles() {
    use xpr_api::modules::identity::{domain::RESERVED_HANDLES, service::create_admin};
    let app = TestApp::spawn().await;
    app.admin("ada").await;
    let refusal = |result: Result<_, xpr_api::error::AppError>| result.expect_err("refused").message();
    let taken = refusal(create_admin(&app.state, "ADA", "Ada@Example.com", PASSWORD).await);
    assert_eq!(taken, "invalid input: handle: is already taken; email: is already registered");
    // The docs' text with line breaks as spaces.
    let doc = |path: &str| {
        let text = std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let (readme, guide) = (doc("README.md"), doc("docs/guides/authentication.md"));
    for reserved in RESERVED_HANDLES {
        let message = refusal(create_admin(&app.state, &reserved.to_uppercase(), "new@example.com", PASSWORD).await);
        assert_eq!(message, "invalid input: handle: is reserved", "{reserved}");
    }
    let listed = RESERVED_HANDLES.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ");
    assert!(readme.contains(&listed) && guide.contains(&listed), "the docs list the reserved handles: {listed}");
}

#[tokio::test]
async fn weak_passwords_and_bad_handles_are_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
            json!({ "i": { "handle": "1x", "email": "not-an-email", "password": "password1" } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(fields(&body), ["handle", "email", "password"]);
    let count = xpr_entity::user::Entity::find().all(app.db()).await.unwrap().len();
    assert_eq!(count, 0, "nothing was created");
}

use sea_orm::EntityTrait;

#[tokio::test]
async fn wrong_password_and_unknown_account_look_the_same() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let login = |login: &'static str, password: &'static str| {
        app.gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "login": login, "password": password } }),
        )
    };
    let wrong = login("alice", "not the right password at all").await;
    let unknown = login("nobody", "not the right password at all").await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED");
    assert_eq!(wrong["errors"][0]["message"], unknown["errors"][0]["message"]);
    assert_eq!(code(&unknown), "UNAUTHENTICATED");
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_account_by_handle_or_email_alike() {
    let app = TestApp::spawn_with(&["--rate-limit-per-account", "3"]).await;
    app.register("alice").await;
    let attempt = |login: &'static str| {
        app.gql_status(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "login": login, "password": "wrong password, wrong" } }),
        )
    };
    // One counter for the account, whichever identifier names it.
    for login in ["alice", "ALICE@example.com", "alice"] {
        assert_eq!(code(&attempt(login).await.1), "UNAUTHENTICATED");
    }
    let request = app.http.post(format!("{}/graphql", app.url)).json(&json!({
        "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        "variables": { "i": { "login": "alice@example.com", "password": "wrong password, wrong" } },
    }));
    let response = request.send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let limited: Value = response.json().await.unwrap();
    assert_eq!(code(&limited), "RATE_LIMITED");
    assert_eq!(limited["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap(), retry_after);
    assert!(retry_after > 0);
    // Even the right password waits: guessing can't continue.
    let right = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "login": "alice", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(code(&right), "RATE_LIMITED");
}

#[tokio::test]
async fn forged_expired_unsigned_and_premature_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let claims = |secret_exp: i64| {
        let payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(alice.access.split('.').nth(1).unwrap()).unwrap()).unwrap();
        let mut payload = payload;
        payload["exp"] = json!(secret_exp);
        payload
    };
    let now = chrono::Utc::now().timestamp();
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &claims(now + 600),
        &EncodingKey::from_secret(b"another-secret-another-secret-0123456789"),
    )
    .unwrap();
    let expired =
        jsonwebtoken::encode(&Header::default(), &claims(now - 600), &EncodingKey::from_secret(JWT_SECRET.as_bytes()))
            .unwrap();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(now + 600).to_string())
    );
    let signed = |claims: Value| {
        jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()
    };
    let mut not_yet = claims(now + 600);
    not_yet["nbf"] = json!(now + 300);
    let mut from_the_future = claims(now + 600);
    from_the_future["iat"] = json!(now + 300);
    let cases = [
        (signed(not_yet), "TOKEN_INVALID"),
        (signed(from_the_future), "TOKEN_INVALID"),
        (forged, "TOKEN_INVALID"),
        (expired.clone(), "TOKEN_EXPIRED"),
        (unsigned, "TOKEN_INVALID"),
        ("garbage".into(), "TOKEN_INVALID"),
        ("xpr_garbage".into(), "TOKEN_INVALID"),
    ];
    for (token, reason) in cases {
        // Never a silent anonymous request: the whole request is refused, with the reason.
        for query in [VIEWER, SESSIONS, "{ entryKinds { slug } }"] {
            let (status, body) = app.gql_status(Some(&token), query, json!({})).await;
            assert_eq!(status, 401, "{token}: {body}");
            assert_eq!(code(&body), "UNAUTHENTICATED");
            assert_eq!(body["errors"][0]["extensions"]["reason"], reason, "{body}");
            assert!(body.get("data").is_none(), "a refused request has no data: {body}");
        }
    }
    // No token at all stays anonymous.
    let (status, anonymous) = app.gql_status(None, VIEWER, json!({})).await;
    assert_eq!((status, &anonymous), (200, &json!({ "data": { "viewer": null } })));
    // A client whose access token expired can still refresh with it attached.
    let (status, refreshed) = app.gql_status(Some(&expired), REFRESH, json!({ "t": alice.refresh })).await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed["data"]["refreshSession"]["accessToken"].is_string(), "{refreshed}");
}

#[tokio::test]
async fn a_signed_out_or_banned_users_token_is_refused_with_its_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin("chief").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.gql(Some(&alice.access), "mutation { logout }", json!({})).await;
    let (status, body) = app.gql_status(Some(&alice.access), VIEWER, json!({})).await;
    assert_eq!((status, &body["errors"][0]["extensions"]["reason"]), (401, &json!("SESSION_REVOKED")), "{body}");
    let ban = "mutation($u: ID!) { banUser(userId: $u, reason: \"spam\") { status } }";
    app.gql(Some(&admin.access), ban, json!({ "u": bob.id })).await;
    let (status, body) = app.gql_status(Some(&bob.access), VIEWER, json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        ["ACCOUNT_BANNED", "SESSION_REVOKED"].contains(&body["errors"][0]["extensions"]["reason"].as_str().unwrap()),
        "a ban ends the sessions: {body}"
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_session() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let first = app.gql(None, REFRESH, json!({ "t": alice.refresh })).await;
    let rotated = &first["data"]["refreshSession"];
    let new_access = rotated["accessToken"].as_str().unwrap();
    assert_ne!(rotated["refreshToken"], alice.refresh.as_str());
    assert_eq!(app.gql(Some(new_access), VIEWER, json!({})).await["data"]["viewer"]["id"], alice.id);

    let replay = app.gql(None, REFRESH, json!({ "t": alice.refresh })).await;
    assert_eq!(code(&replay), "UNAUTHENTICATED");
    // The whole session is gone: its access tokens and its newest refresh token.
    assert_eq!(app.gql(Some(new_access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);
    let newest = app.gql(None, REFRESH, json!({ "t": rotated["refreshToken"] })).await;
    assert_eq!(code(&newest), "UNAUTHENTICATED");
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let body = app.gql(Some(&alice.access), "mutation { logout }", json!({})).await;
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(app.gql(Some(&alice.access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "t": alice.refresh })).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn sessions_are_listed_and_only_their_owner_can_revoke_them() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let alice_phone = app.login("alice").await;
    let bob = app.register("bob").await;

    let list = app.gql(Some(&alice.access), SESSIONS, json!({})).await;
    let edges = list["data"]["sessions"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges.iter().filter(|e| e["node"]["current"] == true).count(), 1);
    let phone_session = edges.iter().find(|e| e["node"]["current"] == false).unwrap()["node"]["id"].clone();

    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    let stolen = app.gql(Some(&bob.access), revoke, json!({ "id": phone_session })).await;
    assert_eq!(code(&stolen), "NOT_FOUND", "another user's session is not even visible");
    assert_eq!(app.gql(Some(&alice_phone.access), VIEWER, json!({})).await["data"]["viewer"]["id"], alice.id);

    let own = app.gql(Some(&alice.access), revoke, json!({ "id": phone_session })).await;
    assert_eq!(own["data"]["revokeSession"], true);
    assert_eq!(app.gql(Some(&alice_phone.access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let other = app.login("alice").await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let wrong = app
        .gql(Some(&alice.access), change, json!({ "c": "not my password!!", "n": "a brand new passphrase here" }))
        .await;
    assert_eq!(code(&wrong), "BAD_USER_INPUT");
    let weak = app.gql(Some(&alice.access), change, json!({ "c": PASSWORD, "n": "12345678910" })).await;
    assert_eq!(code(&weak), "BAD_USER_INPUT");
    let ok = app.gql(Some(&alice.access), change, json!({ "c": PASSWORD, "n": "a brand new passphrase here" })).await;
    assert_eq!(ok["data"]["changePassword"], true, "{ok}");
    assert_eq!(app.gql(Some(&alice.access), VIEWER, json!({})).await["data"]["viewer"]["id"], alice.id);
    assert_eq!(app.gql(Some(&other.access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);
}

#[tokio::test]
async fn email_verification_token_works_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let token = app.mailed_token(&alice.email).await;
    let verify = "mutation($t: String!) { verifyEmail(token: $t) { handle emailVerified } }";
    let bad = app.gql(None, verify, json!({ "t": "not-a-token" })).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    let ok = app.gql(Some(&alice.access), verify, json!({ "t": token })).await;
    assert_eq!(ok["data"]["verifyEmail"]["emailVerified"], true, "{ok}");
    let again = app.gql(None, verify, json!({ "t": token })).await;
    assert_eq!(code(&again), "BAD_USER_INPUT");
}

#[tokio::test]
async fn mail_without_smtp_is_written_to_the_data_dir() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let token = app.mailed_token(&alice.email).await;
    let dir = app.data_dir.path().join("mail");
    for _ in 0..100 {
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        if let Some(file) = files.first() {
            let text = std::fs::read_to_string(file.path()).unwrap();
            assert!(text.contains(&token), "the mail file carries the token");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail file was written");
}

#[tokio::test]
async fn password_reset_never_reveals_accounts_and_signs_everyone_out() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let request = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    let unknown = app.gql(None, request, json!({ "e": "nobody@example.com" })).await;
    let known = app.gql(None, request, json!({ "e": "ALICE@example.com" })).await;
    assert_eq!(unknown["data"], known["data"]);
    assert_eq!(known["data"]["requestPasswordReset"], true);

    let token = app.mailed_token(&alice.email).await;
    let reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
    let weak = app.gql(None, reset, json!({ "t": token, "p": "password" })).await;
    assert_eq!(code(&weak), "BAD_USER_INPUT");
    let ok = app.gql(None, reset, json!({ "t": token, "p": "a brand new passphrase here" })).await;
    assert_eq!(ok["data"]["resetPassword"], true, "{ok}");
    assert_eq!(app.gql(Some(&alice.access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);
    let reused = app.gql(None, reset, json!({ "t": token, "p": "another brand new passphrase" })).await;
    assert_eq!(code(&reused), "BAD_USER_INPUT");
}

#[tokio::test]
async fn profile_updates_validate_and_distinguish_clear_from_keep() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let update = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { displayName bio avatarUrl } }";
    let set = app
        .gql(Some(&alice.access), update, json!({ "i": { "bio": "Hi", "avatarUrl": "https://img.example/a.png" } }))
        .await;
    assert_eq!(set["data"]["updateProfile"]["avatarUrl"], "https://img.example/a.png");
    let keep = app.gql(Some(&alice.access), update, json!({ "i": { "displayName": "Alice A." } })).await;
    assert_eq!(keep["data"]["updateProfile"]["avatarUrl"], "https://img.example/a.png");
    let clear = app.gql(Some(&alice.access), update, json!({ "i": { "avatarUrl": null } })).await;
    assert_eq!(clear["data"]["updateProfile"]["avatarUrl"], Value::Null);
    let bad = app.gql(Some(&alice.access), update, json!({ "i": { "avatarUrl": "javascript:alert(1)" } })).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    let anonymous = app.gql(None, update, json!({ "i": { "bio": "x" } })).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn api_tokens_are_shown_once_scoped_and_revocable() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let create =
        "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id prefix scopes } } }";
    let body = app.gql(Some(&alice.access), create, json!({ "i": { "name": "bot", "scopes": ["READ"] } })).await;
    let token = body["data"]["createApiToken"]["token"].as_str().unwrap().to_owned();
    let id = body["data"]["createApiToken"]["apiToken"]["id"].clone();
    assert!(token.starts_with(body["data"]["createApiToken"]["apiToken"]["prefix"].as_str().unwrap()));

    assert_eq!(app.gql(Some(&token), VIEWER, json!({})).await["data"]["viewer"]["id"], alice.id);
    let write = app.gql(Some(&token), "mutation { updateProfile(input: { bio: \"bot\" }) { bio } }", json!({})).await;
    assert_eq!(code(&write), "FORBIDDEN", "a read token can't write");
    let mint = app.gql(Some(&token), create, json!({ "i": { "name": "more", "scopes": ["WRITE"] } })).await;
    assert_eq!(code(&mint), "FORBIDDEN", "a token can't mint tokens");
    let moderate =
        app.gql(Some(&alice.access), create, json!({ "i": { "name": "mod", "scopes": ["MODERATE"] } })).await;
    assert_eq!(code(&moderate), "BAD_USER_INPUT", "members can't grant moderate");

    let listed = app.gql(Some(&alice.access), "{ apiTokens { edges { node { id name } } } }", json!({})).await;
    assert_eq!(listed["data"]["apiTokens"]["edges"][0]["node"]["id"], id);
    let stored = xpr_entity::api_token::Entity::find().all(app.db()).await.unwrap();
    assert!(stored.iter().all(|t| t.token_hash != token), "only the hash is stored");

    let bob = app.register("bob").await;
    let revoke = "mutation($id: ID!) { revokeApiToken(id: $id) }";
    assert_eq!(code(&app.gql(Some(&bob.access), revoke, json!({ "id": id })).await), "NOT_FOUND");
    assert_eq!(app.gql(Some(&alice.access), revoke, json!({ "id": id })).await["data"]["revokeApiToken"], true);
    let refused = app.gql(Some(&token), SESSIONS, json!({})).await;
    assert_eq!(code(&refused), "UNAUTHENTICATED");
}

#[tokio::test]
async fn admins_set_roles_and_moderators_suspend_and_ban() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let set_role = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { role } }";

    assert_eq!(code(&app.gql(Some(&alice.access), set_role, json!({ "u": bob.id, "r": "ADMIN" })).await), "FORBIDDEN");
    let promoted = app.gql(Some(&admin.access), set_role, json!({ "u": alice.id, "r": "MODERATOR" })).await;
    assert_eq!(promoted["data"]["setUserRole"]["role"], "MODERATOR");

    let suspend = "mutation($u: ID!, $until: DateTime!) { suspendUser(userId: $u, until: $until, reason: \"spam links\") { status suspendedUntil } }";
    let until = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let suspended = app.gql(Some(&alice.access), suspend, json!({ "u": bob.id, "until": until })).await;
    assert_eq!(suspended["data"]["suspendUser"]["status"], "SUSPENDED", "{suspended}");
    let profile =
        app.gql(Some(&bob.access), "mutation { updateProfile(input: { bio: \"x\" }) { bio } }", json!({})).await;
    assert_eq!(code(&profile), "FORBIDDEN", "suspended users can't change their profile");
    let own = app.gql(Some(&bob.access), "{ viewer { status statusReason } }", json!({})).await;
    assert_eq!(own["data"]["viewer"]["statusReason"], "spam links", "the user sees why");

    let on_admin = app
        .gql(
            Some(&alice.access),
            "mutation($u: ID!) { banUser(userId: $u, reason: \"nope\") { status } }",
            json!({ "u": admin.id }),
        )
        .await;
    assert_eq!(code(&on_admin), "FORBIDDEN", "moderators can't ban admins");

    let ban = app
        .gql(
            Some(&alice.access),
            "mutation($u: ID!) { banUser(userId: $u, reason: \"repeated spam\") { status } }",
            json!({ "u": bob.id }),
        )
        .await;
    assert_eq!(ban["data"]["banUser"]["status"], "BANNED");
    assert_eq!(app.gql(Some(&bob.access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "t": bob.refresh })).await), "UNAUTHENTICATED");
    let login = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "login": "bob", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(code(&login), "FORBIDDEN");
    let hidden = app.gql(None, "{ user(handle: \"bob\") { id } }", json!({})).await;
    assert_eq!(hidden["data"]["user"], Value::Null, "banned profiles are hidden from the public");
}

#[tokio::test]
async fn revocations_and_bans_reach_every_replica() {
    let app = TestApp::spawn().await;
    let replica = app.replica().await;
    let admin = app.admin("root_admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    assert_eq!(replica.gql(Some(&alice.access), VIEWER, json!({})).await["data"]["viewer"]["id"], alice.id);

    // Signed out on one replica, refused on the other.
    replica.gql(Some(&alice.access), "mutation { logout }", json!({})).await;
    assert_eq!(app.gql(Some(&alice.access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);

    // Banned on one replica, refused on the other.
    let ban = "mutation($u: ID!) { banUser(userId: $u, reason: \"spam\") { status } }";
    app.gql(Some(&admin.access), ban, json!({ "u": bob.id })).await;
    assert_eq!(replica.gql(Some(&bob.access), VIEWER, json!({})).await["data"]["viewer"], Value::Null);
}

#[tokio::test]
async fn listing_sessions_runs_the_same_statements_whatever_the_page_size() {
    let app = TestApp::spawn_with(&["--rate-limit-per-account", "100"]).await;
    let alice = app.register("alice").await;
    for _ in 0..11 {
        app.login("alice").await;
    }
    let mut counts = Vec::new();
    for first in [2, 12] {
        let before = app.sql_statements().await;
        let query = "query($n: Int) { viewer { handle } sessions(first: $n) { edges { node { id current } } } }";
        let body = app.gql(Some(&alice.access), query, json!({ "n": first })).await;
        assert_eq!(body["data"]["sessions"]["edges"].as_array().unwrap().len(), first as usize);
        counts.push(app.sql_statements().await - before);
    }
    assert_eq!(counts[0], counts[1], "statements must not grow with the page size: {counts:?}");
    assert!(counts[0] <= 3, "auth, viewer and one page query: {counts:?}");
}

#[tokio::test]
async fn pages_follow_their_cursors_without_gaps() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for _ in 0..4 {
        app.login("alice").await;
    }
    let query = "query($a: String) { sessions(first: 2, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app.gql(Some(&alice.access), query, json!({ "a": after })).await;
        let page = &body["data"]["sessions"];
        seen.extend(page["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 5);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen);
    let bad = app.gql(Some(&alice.access), query, json!({ "a": "!!" })).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    let too_many = app.gql(Some(&alice.access), "{ sessions(first: 101) { edges { cursor } } }", json!({})).await;
    assert_eq!(code(&too_many), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_read_token_can_run_no_mutation_that_needs_more_and_every_mutation_declares_its_scope() {
    use xpr_api::graphql::scopes::{MUTATIONS, Needs, needs};
    let app = TestApp::spawn().await;
    let admin = app.admin("chief").await;
    let entry = app.places(&admin, &["Harbor".into()]).await.remove(0);
    let create = "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }";
    let body = app.gql(Some(&admin.access), create, json!({ "i": { "name": "bot", "scopes": ["READ"] } })).await;
    let read = body["data"]["createApiToken"]["token"].as_str().unwrap().to_owned();

    let schema = app.gql(None, "{ __schema { mutationType { fields { name } } } }", json!({})).await;
    let mutations: Vec<&str> = schema["data"]["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert_eq!(mutations.len(), MUTATIONS.len(), "graphql::scopes::MUTATIONS lists each mutation once");
    for name in mutations {
        let Some(needs) = needs(name) else { panic!("`{name}` declares no scope in graphql::scopes::MUTATIONS") };
        if matches!(needs, Needs::Nobody) {
            continue;
        }
        // Refused before validation, so no arguments are needed to see it.
        let body = app.gql(Some(&read), &format!("mutation {{ {name} }}"), json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{name}: {body}");
        assert_eq!(body["errors"][0]["path"], json!([name]), "{body}");
    }
    // Through a fragment too, and nothing changed.
    let watch = "mutation($id: ID!) { ...W } fragment W on Mutation { watchEntry(entryId: $id) { id } }";
    assert_eq!(code(&app.gql(Some(&read), watch, json!({ "id": entry })).await), "FORBIDDEN");
    let watched = app.gql(Some(&admin.access), "{ watchedEntries { id } }", json!({})).await;
    assert_eq!(watched["data"]["watchedEntries"], json!([]), "{watched}");
    // Queries stay open to the token.
    let viewer = app.gql(Some(&read), "{ viewer { handle } }", json!({})).await;
    assert_eq!(viewer["data"]["viewer"]["handle"], "chief", "{viewer}");
}
