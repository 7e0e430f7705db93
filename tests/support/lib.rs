//! Test harness: spawns the real server on an ephemeral port with a database
//! of its own (SQLite file, or a fresh PostgreSQL database when
//! `XPR_TEST_DATABASE_URL` is set; Redis when `XPR_TEST_REDIS_URL` is set), and
//! talks to it over HTTP like any client.

use std::sync::Arc;

use clap::Parser;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryOrder, Statement};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use xpr_api::{App, AppState, Config};

pub mod images;
mod proxy;
pub use proxy::Proxy;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: Config,
}

pub struct TestApp {
    pub url: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub data_dir: Arc<tempfile::TempDir>,
    config: Config,
    _postgres: Option<Arc<PgDatabase>>,
    /// Stops the server as SIGTERM would ([`TestApp::shut_down`]).
    stop: Arc<tokio::sync::Notify>,
    served: std::sync::Mutex<Option<tokio::task::JoinHandle<anyhow::Result<()>>>>,
}

/// A PostgreSQL database of one test, cloned from a migrated template and
/// dropped when the last server using it is dropped.
struct PgDatabase {
    admin_url: String,
    name: String,
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Migrates a template database once per test process (after sweeping the
/// leftovers of crashed runs), so each test only pays for a file copy.
async fn template(admin_url: &str) -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let admin = Database::connect(admin_url).await.expect("connect to the test PostgreSQL");
            let rows = admin
                .query_all_raw(Statement::from_string(
                    admin.get_database_backend(),
                    "SELECT datname FROM pg_database WHERE datname LIKE 'xpr_t%'",
                ))
                .await
                .unwrap();
            for row in rows {
                let name: String = row.try_get("", "datname").unwrap();
                let pid = name.split('_').nth(2).unwrap_or("");
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            }
            let name = format!("xpr_tpl_{}", std::process::id());
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create template");
            let db = Database::connect(database_url(admin_url, &name)).await.unwrap();
            xpr_api::db::migrate(&db).await.expect("migrate template");
            db.close().await.unwrap();
            admin.close().await.unwrap();
            name
        })
        .await
}

fn database_url(admin_url: &str, name: &str) -> String {
    let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(admin_url);
    format!("{base}/{name}")
}

impl PgDatabase {
    async fn create(admin_url: String) -> Self {
        let template = template(&admin_url).await;
        let name = format!("xpr_test_{}_{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let admin = Database::connect(&admin_url).await.expect("connect to the test PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        Self { admin_url, name }
    }
}

/// A signed-in test user.
pub struct Actor {
    pub id: String,
    pub handle: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

pub const PASSWORD: &str = "correct horse battery staple";
/// The mutation [`TestApp::register`] sends.
pub const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Spawns a server; `extra` are additional `--flag value` arguments.
    pub async fn spawn_with(extra: &[&str]) -> Self {
        Self::spawn_via(extra, false).await.0
    }

    /// On PostgreSQL, a server that reaches its database through a [`Proxy`]
    /// the test can cut; `None` on SQLite, which has no network to fail.
    pub async fn spawn_behind_proxy(extra: &[&str]) -> Option<(Self, Proxy)> {
        std::env::var("XPR_TEST_DATABASE_URL").ok()?;
        let (app, proxy) = Self::spawn_via(extra, true).await;
        Some((app, proxy.expect("a proxy on PostgreSQL")))
    }

    async fn spawn_via(extra: &[&str], proxied: bool) -> (Self, Option<Proxy>) {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut args: Vec<String> = vec![
            "xpr".into(),
            "--data-dir".into(),
            data_dir.path().display().to_string(),
            "--jwt-secret".into(),
            JWT_SECRET.into(),
            "--environment".into(),
            "production".into(),
        ];
        let (mut postgres, mut proxy) = (None, None);
        if let Ok(admin_url) = std::env::var("XPR_TEST_DATABASE_URL") {
            let db = PgDatabase::create(admin_url).await;
            let mut url = database_url(&db.admin_url, &db.name);
            if proxied {
                let host = url.split('@').nth(1).and_then(|rest| rest.split('/').next()).expect("host:port in the URL");
                let through = Proxy::to(host.to_owned()).await;
                url = url.replacen(host, &through.address.to_string(), 1);
                proxy = Some(through);
            }
            args.extend(["--database-url".into(), url]);
            postgres = Some(Arc::new(db));
        }
        let own_redis = extra.contains(&"--redis-url");
        if let Ok(redis_url) =
            std::env::var("XPR_TEST_REDIS_URL").map_err(|_| ()).and_then(|u| if own_redis { Err(()) } else { Ok(u) })
        {
            let prefix = format!("xpr-test-{}", uuid::Uuid::new_v4().simple());
            args.extend(["--redis-url".into(), redis_url, "--redis-prefix".into(), prefix]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let config = Args::parse_from(args).config;
        (Self::start(config, Arc::new(data_dir), postgres).await, proxy)
    }

    async fn start(config: Config, data_dir: Arc<tempfile::TempDir>, postgres: Option<Arc<PgDatabase>>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = App::build(config.clone()).await.expect("build app");
        let state = app.state.clone();
        let stop = Arc::new(tokio::sync::Notify::new());
        let signal = stop.clone();
        let served = tokio::spawn(app.serve(listener, async move { signal.notified().await }));
        let served = std::sync::Mutex::new(Some(served));
        Self { url, state, http: reqwest::Client::new(), data_dir, config, _postgres: postgres, stop, served }
    }

    /// Stops the server as SIGTERM does, and waits until it has.
    pub async fn shut_down(&self) -> anyhow::Result<()> {
        self.stop.notify_one();
        let served = self.served.lock().unwrap().take().expect("served");
        served.await?
    }

    /// A second server process on the same database (and Redis), like a replica behind a load balancer.
    pub async fn replica(&self) -> Self {
        Self::start(self.config.clone(), self.data_dir.clone(), self._postgres.clone()).await
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// POSTs a GraphQL operation and returns the JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_status(token, query, variables).await.1
    }

    /// POSTs a GraphQL operation and returns the HTTP status and the JSON body.
    pub async fn gql_status(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request =
            self.http.post(format!("{}/graphql", self.url)).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.json().await.expect("JSON body"))
    }

    pub async fn register(&self, handle: &str) -> Actor {
        let email = format!("{handle}@example.com");
        let body = self
            .gql(None, REGISTER, json!({ "input": { "handle": handle, "email": email, "password": PASSWORD } }))
            .await;
        let payload = &body["data"]["register"];
        assert!(payload.is_object(), "register failed: {body}");
        Actor {
            id: payload["user"]["id"].as_str().unwrap().to_owned(),
            handle: handle.to_owned(),
            email,
            access: payload["accessToken"].as_str().unwrap().to_owned(),
            refresh: payload["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// An admin created through the `create-admin` service, then signed in.
    pub async fn admin(&self, handle: &str) -> Actor {
        let email = format!("{handle}@example.com");
        xpr_api::modules::identity::service::create_admin(&self.state, handle, &email, PASSWORD)
            .await
            .unwrap_or_else(|_| panic!("create admin"));
        self.login(handle).await
    }

    pub async fn login(&self, login: &str) -> Actor {
        let body = self
            .gql(
                None,
                "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id handle } } }",
                json!({ "input": { "login": login, "password": PASSWORD } }),
            )
            .await;
        let payload = &body["data"]["login"];
        assert!(payload.is_object(), "login failed: {body}");
        Actor {
            id: payload["user"]["id"].as_str().unwrap().to_owned(),
            handle: payload["user"]["handle"].as_str().unwrap().to_owned(),
            email: String::new(),
            access: payload["accessToken"].as_str().unwrap().to_owned(),
            refresh: payload["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// A registered user whose email address is verified (through the mailed token, as a person would).
    pub async fn verified(&self, handle: &str) -> Actor {
        let actor = self.register(handle).await;
        let token = self.mailed_token(&actor.email).await;
        let body = self
            .gql(
                Some(&actor.access),
                "mutation($t: String!) { verifyEmail(token: $t) { emailVerified } }",
                json!({ "t": token }),
            )
            .await;
        assert_eq!(body["data"]["verifyEmail"]["emailVerified"], true, "verify email failed: {body}");
        actor
    }

    /// Creates an entry kind `place` (any attributes) and `titles.len()` entries
    /// of it in one merged submission by `admin`; returns their ids in order.
    pub async fn places(&self, admin: &Actor, titles: &[String]) -> Vec<String> {
        let kind = self
            .gql(
                Some(&admin.access),
                "mutation { createEntryKind(input: { slug: \"place\", name: \"Place\", attributeSchema: {} }) { slug } }",
                json!({}),
            )
            .await;
        assert!(kind["errors"].is_null(), "create kind failed: {kind}");
        let changes: Vec<Value> = titles
            .iter()
            .enumerate()
            .map(|(i, title)| json!({ "op": "CREATE", "kind": "place", "fields": { "slug": format!("place-{i}"), "title": title } }))
            .collect();
        let created = self
            .gql(
                Some(&admin.access),
                "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }",
                json!({ "i": { "title": "Places", "changes": changes } }),
            )
            .await;
        let submission = created["data"]["createSubmission"]["id"].clone();
        // An admin's submission that passes every check merges on submit.
        let submit = "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }";
        let body = self.gql(Some(&admin.access), submit, json!({ "id": submission })).await;
        assert_eq!(body["data"]["submitForReview"]["status"], "MERGED", "submit failed: {body}");
        let mut ids = Vec::new();
        for i in 0..titles.len() {
            let body = self
                .gql(
                    None,
                    "query($s: String!) { entry(kind: \"place\", slug: $s) { id } }",
                    json!({ "s": format!("place-{i}") }),
                )
                .await;
            ids.push(body["data"]["entry"]["id"].as_str().expect("created entry").to_owned());
        }
        ids
    }

    /// Uploads `bytes` as `filename` with `uploadMedia`, as a GraphQL multipart request.
    pub async fn upload(&self, token: &str, filename: &str, bytes: Vec<u8>) -> Value {
        let operations = json!({
            "query": "mutation($file: Upload!) { uploadMedia(file: $file) { id url contentType byteSize width height sha256 } }",
            "variables": { "file": null },
        });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()).mime_str("image/png").unwrap(),
            );
        let response = self
            .http
            .post(format!("{}/graphql", self.url))
            .bearer_auth(token)
            .header("GraphQL-Require-Preflight", "1")
            .multipart(form)
            .send()
            .await
            .expect("request");
        response.json().await.expect("JSON body")
    }

    /// The token in the newest outbox mail to `recipient`.
    pub async fn mailed_token(&self, recipient: &str) -> String {
        use xpr_entity::email_outbox;
        let mail = email_outbox::Entity::find()
            .order_by_desc(email_outbox::Column::Id)
            .all(self.db())
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.recipient == recipient)
            .expect("a mail to the recipient");
        let start = mail.body.find("token=").expect("a token in the mail") + "token=".len();
        mail.body[start..].chars().take_while(char::is_ascii_alphanumeric).collect()
    }

    /// SQL statements run by request handling so far (from `/metrics`).
    /// [`Self::sql_statements`] once nothing has run for 200 ms: work a test
    /// started (a subscription's first read) is counted before, not during, what it measures.
    pub async fn sql_statements_settled(&self) -> u64 {
        let mut count = self.sql_statements().await;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let now = self.sql_statements().await;
            if now == count {
                return count;
            }
            count = now;
        }
    }

    pub async fn sql_statements(&self) -> u64 {
        self.metric("xpr_db_statements_total").await as u64
    }

    /// The value of the `/metrics` line starting with `series` (name and labels); 0 if absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self.http.get(format!("{}/metrics", self.url)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |n| n.trim().parse().expect("a number"))
    }
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"))
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside async; a short-lived runtime on its own thread removes the database.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join()
        .ok();
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` client.
pub struct WsClient {
    socket: Socket,
}

/// What the server sent: a JSON message, or the close code and reason.
#[derive(Debug, PartialEq)]
pub enum WsEvent {
    Message(Value),
    Closed(u16, String),
}

impl TestApp {
    /// Opens a WebSocket without initialising it.
    pub async fn ws_open(&self) -> WsClient {
        self.ws_open_with(&[]).await
    }

    /// Opens a WebSocket without initialising it, with `headers` on the upgrade request.
    pub async fn ws_open_with(&self, headers: &[(&'static str, &str)]) -> WsClient {
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};
        let mut request = format!("{}/graphql", self.url.replace("http", "ws")).into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
        for (name, value) in headers {
            request.headers_mut().insert(*name, HeaderValue::from_str(value).unwrap());
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket upgrade");
        WsClient { socket }
    }

    /// Opens and initialises a WebSocket, signed in with `token` if given; panics unless acknowledged.
    pub async fn ws(&self, token: Option<&str>) -> WsClient {
        let mut client = self.ws_open().await;
        let reply = client.init(token).await;
        assert_eq!(reply, WsEvent::Message(json!({ "type": "connection_ack" })), "init refused");
        client
    }
}

impl WsClient {
    pub async fn send(&mut self, message: Value) {
        use futures_util::SinkExt;
        self.socket.send(tokio_tungstenite::tungstenite::Message::text(message.to_string())).await.expect("ws send");
    }

    pub async fn init(&mut self, token: Option<&str>) -> WsEvent {
        self.send(json!({ "type": "connection_init", "payload": token.map(|t| json!({ "authToken": t })).unwrap_or(json!({})) }))
            .await;
        self.next(std::time::Duration::from_secs(5)).await.expect("a reply to connection_init")
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message within `wait` (pings answered, pongs skipped); `None` on silence.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<WsEvent> {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(WsEvent::Message(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) =
                        frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    return Some(WsEvent::Closed(code, reason));
                }
                Some(Ok(Message::Ping(data))) => {
                    let _ = self.socket.send(Message::Pong(data)).await;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Some(WsEvent::Closed(1006, String::new())),
            }
        }
    }

    /// The payload of the next `next` message of subscription `id`, within a few seconds.
    pub async fn next_data(&mut self, id: &str) -> Value {
        match self.next(std::time::Duration::from_secs(10)).await {
            Some(WsEvent::Message(m)) if m["type"] == "next" && m["id"] == id => m["payload"].clone(),
            other => panic!("expected data for {id}, got {other:?}"),
        }
    }

    /// Asserts that nothing arrives for a while.
    pub async fn silent(&mut self, wait: std::time::Duration) {
        if let Some(event) = self.next(wait).await {
            panic!("expected silence, got {event:?}");
        }
    }
}

/// Runs `tests/clients/SCRIPT` on Node.js with the real client libraries
/// (graphql-js, graphql-ws), installing them on first use (`npm ci`).
pub fn node(script: &str, args: &[&str]) -> tokio::process::Command {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/clients");
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !*installed && !std::path::Path::new(dir).join("node_modules/.package-lock.json").exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(dir)
            .status()
            .expect("npm (Node.js 20+) is needed for the client tests");
        assert!(status.success(), "npm ci in tests/clients failed");
    }
    *installed = true;
    let mut command = tokio::process::Command::new("node");
    command.arg(script).args(args).current_dir(dir).kill_on_drop(true);
    command
}
