//! The guides run: every GraphQL operation in `docs/guides/*.md` is sent as it
//! is written, in order, to a real server holding a small world (below), and
//! checked for errors; the JSON Lines a guide marks for import are imported.
//! The conventions a guide follows for this are in docs/guides/README.md.

use std::time::Duration;

use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Map, Value, json};
use xpr_tests::{TestApp, WsEvent, code};

/// One fenced block to run, with what the HTML comment before it says.
struct Block {
    /// Where the block starts (1-based), for failure messages.
    line: usize,
    text: String,
    /// Who runs it: `anonymous`, a handle of the world, or a `$reference` to a token.
    actor: String,
    /// The error code every operation of the block must answer with.
    expect: Option<String>,
    /// JSON Lines for `xpr import` rather than GraphQL.
    import: bool,
    /// The ```json blocks right after it: one run each (none: one run without variables).
    variables: Vec<Value>,
}

/// The blocks of a guide to run, in order: every ```graphql block, and the
/// ```json blocks marked `import`.
fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let fence = |start: usize| -> (String, usize) {
        let end = (start + 1..lines.len()).find(|&i| lines[i].starts_with("```")).expect("a closed fence");
        (lines[start + 1..end].join("\n"), end + 1)
    };
    let mut blocks = Vec::new();
    let mut comment: Option<&str> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(inner) = line.strip_prefix("<!--").and_then(|rest| rest.strip_suffix("-->")) {
            comment = Some(inner.trim());
            i += 1;
            continue;
        }
        let Some(language) = line.strip_prefix("```").filter(|_| lines[i].starts_with("```")) else {
            if !line.is_empty() {
                comment = None;
            }
            i += 1;
            continue;
        };
        let (code, next) = fence(i);
        let mut block = Block {
            line: i + 1,
            text: code,
            actor: "anonymous".into(),
            expect: None,
            import: false,
            variables: Vec::new(),
        };
        for part in comment.take().into_iter().flat_map(|c| c.split(';')).map(str::trim) {
            match part.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("as", actor)) => block.actor = actor.into(),
                Some(("expect", code)) => block.expect = Some(code.into()),
                None if part == "import" => block.import = true,
                _ => panic!("line {}: unknown marker `{part}`", i + 1),
            }
        }
        i = next;
        if language == "graphql" {
            // Variables: the ```json blocks that follow, with only blank lines between.
            let next_json =
                |i: usize| (i..lines.len()).find(|&j| !lines[j].trim().is_empty()).filter(|&j| lines[j] == "```json");
            while let Some(j) = next_json(i) {
                let (json, next) = fence(j);
                let parsed = serde_json::from_str(&json);
                block.variables.push(parsed.unwrap_or_else(|e| panic!("line {}: variables: {e}", j + 1)));
                i = next;
            }
            blocks.push(block);
        } else if block.import {
            blocks.push(block);
        }
    }
    blocks
}

/// The operations of a GraphQL block, split at top-level braces (comments dropped).
fn operations(block: &str) -> Vec<String> {
    let code: Vec<&str> = block.lines().map(|line| line.split('#').next().unwrap()).collect();
    let code = code.join("\n");
    let (mut depth, mut start, mut operations) = (0, 0, Vec::new());
    for (i, c) in code.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    operations.push(code[start..=i].trim().to_owned());
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    operations
}

/// The variables an operation declares (`$name` before its selection set).
fn declared(operation: &str) -> Vec<String> {
    let header = &operation[..operation.find('{').unwrap_or(operation.len())];
    let names = header.split('$').skip(1);
    names.map(|rest| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()).collect()
}

/// A guide being run: the server, the world's signed-in users, and every answer so far.
struct Run {
    app: TestApp,
    guide: String,
    tokens: Vec<(String, String)>,
    answers: Vec<Value>,
}

impl Run {
    /// The value at `path` (`entry.history.edges.0.node.id`) in the newest answer that has one.
    fn lookup(&self, path: &str) -> Value {
        let found = self.answers.iter().rev().find_map(|answer| {
            let value = path.split('.').try_fold(answer, |value, key| match key.parse::<usize>() {
                Ok(index) if value.is_array() => value.get(index),
                _ => value.get(key),
            });
            value.filter(|v| !v.is_null()).cloned()
        });
        found.unwrap_or_else(|| panic!("{}: no earlier answer has `{path}`", self.guide))
    }

    /// `value` with every `"$path"` string replaced by what it refers to; `$mail.token`
    /// is the code in the newest mail.
    async fn resolve(&self, value: &Value) -> Value {
        let mail =
            if value.to_string().contains("\"$mail.token\"") { Some(newest_mail_token(&self.app).await) } else { None };
        fn walk(run: &Run, value: &Value, mail: &Option<String>) -> Value {
            match value {
                Value::String(s) if s == "$mail.token" => Value::from(mail.clone()),
                Value::String(s) if s.starts_with('$') => run.lookup(&s[1..]),
                Value::Array(items) => items.iter().map(|v| walk(run, v, mail)).collect(),
                Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), walk(run, v, mail))).collect(),
                other => other.clone(),
            }
        }
        walk(self, value, &mail)
    }

    fn token(&self, actor: &str) -> Option<String> {
        match actor {
            "anonymous" => None,
            reference if reference.starts_with('$') => Some(self.lookup(&reference[1..]).as_str().unwrap().to_owned()),
            handle => {
                let token = self.tokens.iter().find(|(h, _)| h == handle).map(|(_, t)| t.clone());
                Some(token.unwrap_or_else(|| panic!("{}: no user `{handle}` in the world", self.guide)))
            }
        }
    }

    async fn block(&mut self, block: &Block) {
        let place = format!("{}:{}", self.guide, block.line);
        if block.import {
            return self.import(block, &place).await;
        }
        let runs = if block.variables.is_empty() { vec![json!({})] } else { block.variables.clone() };
        for variables in runs {
            for operation in operations(&block.text) {
                let token = self.token(&block.actor);
                let mut given = Map::new();
                for name in declared(&operation) {
                    if let Some(value) = variables.get(&name) {
                        given.insert(name, self.resolve(value).await);
                    }
                }
                let given = Value::Object(given);
                let body = if operation.starts_with("subscription") {
                    self.subscribe(token.as_deref(), &operation, given.clone()).await
                } else {
                    self.app.gql(token.as_deref(), &operation, given.clone()).await
                };
                match &block.expect {
                    None => assert!(body["errors"].is_null(), "{place}: {body}\n{operation}\nvariables: {given}"),
                    Some(expected) => assert_eq!(code(&body), expected, "{place}: {body}\n{operation}"),
                }
                if body["data"].is_object() {
                    self.answers.push(body["data"].clone());
                }
            }
        }
    }

    /// Starts a subscription; answers its first event, or `{}` if none comes at once
    /// (most wait for something to happen), or its errors.
    async fn subscribe(&self, token: Option<&str>, operation: &str, variables: Value) -> Value {
        let mut socket = self.app.ws(token).await;
        socket.subscribe("1", operation, variables).await;
        match socket.next(Duration::from_secs(1)).await {
            None => json!({}),
            Some(WsEvent::Message(m)) if m["type"] == "next" => m["payload"].clone(),
            Some(WsEvent::Message(m)) if m["type"] == "error" => json!({ "errors": m["payload"] }),
            Some(other) => panic!("{}: subscription answered {other:?}", self.guide),
        }
    }

    /// Imports the block's lines as the actor (`xpr import --as`): every line applies.
    async fn import(&self, block: &Block, place: &str) {
        use xpr_api::modules::{identity::selectors::operator, versioning::import::import};
        let viewer = operator(self.app.db(), &block.actor).await.unwrap_or_else(|_| panic!("{place}: operator"));
        let lines: Vec<String> = block.text.lines().map(str::to_owned).collect();
        let count = lines.len();
        let report = import(&self.app.state, &viewer, lines, 100, |_| {}).await;
        let report = report.unwrap_or_else(|_| panic!("{place}: import"));
        assert_eq!((report.applied, report.failed.len()), (count, 0), "{place}: {report:?}");
    }
}

async fn newest_mail_token(app: &TestApp) -> String {
    use xpr_entity::email_outbox;
    let mail = email_outbox::Entity::find().order_by_desc(email_outbox::Column::Id).one(app.db()).await.unwrap();
    let body = mail.expect("a mail").body;
    let start = body.find("token=").expect("a token in the mail") + "token=".len();
    body[start..].chars().take_while(char::is_ascii_alphanumeric).collect()
}

const SHIP_SCHEMA: &str = r#"{ "type": "object",
    "properties": { "crew": { "type": "integer", "minimum": 1 }, "class": { "type": "string" } },
    "required": ["crew"], "additionalProperties": false }"#;

/// The world every guide starts from, as docs/guides/README.md describes it:
/// users `ada` (admin), `mod_one` (moderator), `alice` and `bob` (verified);
/// kinds `location` and `ship`; the location `harbor`; the ship `aurora` in it,
/// created by ada (revision 1) and edited by bob (revision 2, approved by
/// mod_one); bob's three pending ships `vega`, `lyra`, `orion`; and, as
/// earlier answers, `entry` (aurora), `submission` (vega's) and `uploadMedia`
/// (an image alice uploaded).
async fn world(guide: &str) -> Run {
    let app = TestApp::spawn().await;
    let ada = app.admin("ada").await;
    let (mod_one, alice, bob) = (app.verified("mod_one").await, app.verified("alice").await, app.verified("bob").await);
    let ok = |body: Value| -> Value {
        assert!(body["errors"].is_null(), "world: {body}");
        body["data"].clone()
    };
    let set_role = "mutation($u: ID!) { setUserRole(userId: $u, role: MODERATOR) { role } }";
    ok(app.gql(Some(&ada.access), set_role, json!({ "u": mod_one.id })).await);
    let kind = "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }";
    let schema: Value = serde_json::from_str(SHIP_SCHEMA).unwrap();
    for (slug, schema) in [("location", json!({})), ("ship", schema)] {
        let input =
            json!({ "slug": slug, "name": slug, "attributeSchema": schema, "allowedParentKinds": ["location"] });
        ok(app.gql(Some(&ada.access), kind, json!({ "i": input })).await);
    }
    // Submits one change as `who`; returns the submission.
    let submit = async |who: &xpr_tests::Actor, change: Value| -> Value {
        let create = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
        let title = change["fields"]["title"].as_str().unwrap_or("An edit").to_owned();
        let created =
            ok(app.gql(Some(&who.access), create, json!({ "i": { "title": title, "changes": [change] } })).await);
        let submit = "mutation($id: ID!) { submitForReview(submissionId: $id) { id status } }";
        ok(app.gql(Some(&who.access), submit, json!({ "id": created["createSubmission"]["id"] })).await)["submitForReview"]
            .clone()
    };
    let harbor = json!({ "slug": "harbor", "title": "Harbor", "summary": "Where every voyage starts" });
    submit(&ada, json!({ "op": "CREATE", "kind": "location", "fields": harbor })).await;
    let find = "query($k: String!, $s: String!) { entry(kind: $k, slug: $s) { id version parent { id } } }";
    let harbor = ok(app.gql(None, find, json!({ "k": "location", "s": "harbor" })).await)["entry"]["id"].clone();
    let aurora = json!({ "slug": "aurora", "title": "Aurora", "parentId": harbor, "attributes": { "crew": 3 },
        "tags": ["starter"], "summary": "A fast courier", "body": "Crew of three.\nDocks at the harbor.\nFast and light.\n" });
    submit(&ada, json!({ "op": "CREATE", "kind": "ship", "fields": aurora })).await;
    let aurora = ok(app.gql(None, find, json!({ "k": "ship", "s": "aurora" })).await);
    let edit = json!({ "title": "Aurora II", "body": "Crew of three.\nDocks at pier 4.\nFast and light.\n" });
    let edit = json!({ "op": "UPDATE", "entryId": aurora["entry"]["id"], "baseRevision": 1, "fields": edit });
    let edited = submit(&bob, edit).await;
    let approve = "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged } }";
    ok(app.gql(Some(&mod_one.access), approve, json!({ "id": edited["id"] })).await);
    let mut pending = Vec::new();
    for (slug, title) in [("vega", "Vega"), ("lyra", "Lyra"), ("orion", "Orion")] {
        let fields = json!({ "slug": slug, "title": title, "attributes": { "crew": 2 } });
        pending.push(submit(&bob, json!({ "op": "CREATE", "kind": "ship", "fields": fields })).await);
    }
    let uploaded = ok(app.upload(&alice.access, "harbor.png", crate::media::png()).await);
    let aurora = ok(app.gql(None, find, json!({ "k": "ship", "s": "aurora" })).await);
    let tokens = [ada, mod_one, alice, bob].into_iter().map(|a| (a.handle, a.access)).collect();
    let answers = vec![uploaded, json!({ "submission": { "id": pending[0]["id"] } }), aurora];
    Run { app, guide: guide.to_owned(), tokens, answers }
}

/// Runs every block of `docs/guides/<guide>` in order.
async fn run(guide: &str) {
    let text = std::fs::read_to_string(format!("{}/../docs/guides/{guide}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut run = world(guide).await;
    for block in blocks(&text) {
        run.block(&block).await;
    }
}

const GUIDES: [&str; 7] = [
    "README.md",
    "authentication.md",
    "editing-and-review.md",
    "import.md",
    "moderation.md",
    "realtime.md",
    "reviews-and-media.md",
];

#[test]
fn every_guide_is_run_and_every_guide_runs_something() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/guides");
    let mut found: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|f| f.unwrap().file_name().to_string_lossy().into_owned()).collect();
    found.sort();
    assert_eq!(found, GUIDES, "a new guide gets a test below");
    for guide in GUIDES.iter().filter(|g| **g != "README.md") {
        let text = std::fs::read_to_string(format!("{dir}/{guide}")).unwrap();
        assert!(!blocks(&text).is_empty(), "{guide} shows something to run");
    }
}

#[tokio::test]
async fn the_guides_readme_runs() {
    run("README.md").await;
}

#[tokio::test]
async fn the_authentication_guide_runs() {
    run("authentication.md").await;
}

#[tokio::test]
async fn the_editing_and_review_guide_runs() {
    run("editing-and-review.md").await;
}

#[tokio::test]
async fn the_import_guide_runs() {
    run("import.md").await;
}

#[tokio::test]
async fn the_moderation_guide_runs() {
    run("moderation.md").await;
}

#[tokio::test]
async fn the_realtime_guide_runs() {
    run("realtime.md").await;
}

#[tokio::test]
async fn the_reviews_and_media_guide_runs() {
    run("reviews-and-media.md").await;
}
