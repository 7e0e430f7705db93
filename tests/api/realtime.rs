//! Notifications and realtime: rows written with the change, the outbox and
//! the bus, subscriptions over real WebSockets, resume, isolation, Redis
//! outages and WebSocket hygiene.

use std::time::Duration;

use serde_json::{Value, json};
use xpr_tests::{Actor, TestApp, WsEvent, code};

const CREATE: &str = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
const SUBMIT: &str = "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }";
const APPROVE: &str =
    "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged revisions { entry { id } } } }";
const REJECT: &str = "mutation($id: ID!) { rejectSubmission(submissionId: $id, reason: \"not notable\") { status } }";
const NOTIFIED: &str =
    "subscription($a: String) { notificationReceived(after: $a) { id cursor kind message subjectType } }";
const SHORT: Duration = Duration::from_millis(700);

pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) moderator: Actor,
    pub(crate) alice: Actor,
    pub(crate) bob: Actor,
}

pub(crate) async fn world_with(args: &[&str]) -> World {
    let app = TestApp::spawn_with(args).await;
    world_on(app).await
}

async fn world_on(app: TestApp) -> World {
    let moderator = app.admin("root_admin").await;
    let kind = json!({ "i": { "slug": "ship", "name": "Ship", "attributeSchema": {} } });
    app.gql(Some(&moderator.access), "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }", kind)
        .await;
    let (alice, bob) = (app.verified("alice").await, app.verified("bob").await);
    World { app, moderator, alice, bob }
}

impl World {
    pub(crate) async fn gql(&self, who: &Actor, query: &str, variables: Value) -> Value {
        self.app.gql(Some(&who.access), query, variables).await
    }

    /// Creates a submission by `who` and submits it for review: its id, and
    /// the status `submitForReview` answered.
    async fn submit(&self, who: &Actor, title: &str, changes: Value) -> (String, Value) {
        let body = self.gql(who, CREATE, json!({ "i": { "title": title, "changes": changes } })).await;
        let id = body["data"]["createSubmission"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        let status = self.gql(who, SUBMIT, json!({ "id": id })).await["data"]["submitForReview"]["status"].clone();
        (id, status)
    }

    /// A pending submission by `who` creating a ship.
    async fn pending(&self, who: &Actor, slug: &str) -> String {
        let changes = json!([{ "op": "CREATE", "kind": "ship", "fields": { "slug": slug, "title": slug } }]);
        let (id, status) = self.submit(who, &format!("Add {slug}"), changes).await;
        assert_eq!(status, "PENDING");
        id
    }

    /// Creates a ship through alice and a moderator; returns the entry id.
    pub(crate) async fn entry(&self, slug: &str) -> String {
        let id = self.pending(&self.alice, slug).await;
        let body = self.gql(&self.moderator, APPROVE, json!({ "id": id })).await;
        body["data"]["approveSubmission"]["revisions"][0]["entry"]["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn edit(&self, who: &Actor, entry: &str, base: i64, title: &str) -> String {
        let changes = json!([{ "op": "UPDATE", "entryId": entry, "baseRevision": base, "fields": { "title": title } }]);
        self.submit(who, title, changes).await.0
    }
}

/// The error code a subscription was refused with.
fn refusal(event: Option<WsEvent>) -> String {
    match event {
        Some(WsEvent::Message(m)) => {
            m["payload"]["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
        }
        other => format!("{other:?}"),
    }
}

fn kinds(body: &Value) -> Vec<&str> {
    body["data"]["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn decisions_and_watched_entries_write_notifications_that_can_be_marked_read() {
    let w = world_with(&[]).await;
    let entry = w.entry("aurora").await;
    let list = "{ notifications { edges { node { id kind read subjectType } } } unreadNotificationCount }";
    let body = w.gql(&w.alice, list, json!({})).await;
    assert_eq!((kinds(&body), body["data"]["unreadNotificationCount"].as_i64()), (vec!["SUBMISSION_MERGED"], Some(1)));

    let watch = "mutation($e: ID!) { watchEntry(entryId: $e) { id } }";
    w.gql(&w.bob, watch, json!({ "e": entry })).await;
    w.gql(&w.alice, watch, json!({ "e": entry })).await;
    let watched = w.gql(&w.bob, "{ watchedEntries { id } }", json!({})).await;
    assert_eq!(watched["data"]["watchedEntries"], json!([{ "id": entry }]));
    let edit = w.edit(&w.alice, &entry, 1, "Aurora II").await;
    w.gql(&w.moderator, APPROVE, json!({ "id": edit })).await;
    assert_eq!(kinds(&w.gql(&w.bob, list, json!({})).await), ["WATCHED_ENTRY_UPDATED"]);
    assert_eq!(
        kinds(&w.gql(&w.alice, list, json!({})).await),
        ["SUBMISSION_MERGED", "SUBMISSION_MERGED"],
        "the author isn't told of their own edit"
    );

    let rejected = w.pending(&w.alice, "dud").await;
    w.gql(&w.moderator, REJECT, json!({ "id": rejected })).await;
    let unread = "query { notifications(unreadOnly: true) { edges { node { id kind } } } }";
    let body = w.gql(&w.alice, unread, json!({})).await;
    assert_eq!(kinds(&body)[0], "SUBMISSION_REJECTED");
    let first = body["data"]["notifications"]["edges"][0]["node"]["id"].clone();
    let mark = "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }";
    assert_eq!(w.gql(&w.alice, mark, json!({ "ids": [first] })).await["data"]["markNotificationsRead"], 1);
    assert_eq!(w.gql(&w.bob, mark, json!({ "ids": [first] })).await["data"]["markNotificationsRead"], 0, "not bob's");
    assert_eq!(w.gql(&w.alice, mark, json!({})).await["data"]["markNotificationsRead"], 2);
    assert_eq!(w.gql(&w.alice, list, json!({})).await["data"]["unreadNotificationCount"], 0);
    assert_eq!(code(&w.app.gql(None, list, json!({})).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn notifying_watchers_takes_the_same_statements_for_one_or_twenty_watchers() {
    let w = world_with(&[]).await;
    let (one, many) = (w.entry("one").await, w.entry("many").await);
    let watch = "mutation($e: ID!) { watchEntry(entryId: $e) { id } }";
    w.gql(&w.bob, watch, json!({ "e": one })).await;
    for i in 0..20 {
        let watcher = w.app.register(&format!("watcher{i}")).await;
        w.gql(&watcher, watch, json!({ "e": many })).await;
    }
    let mut counts = Vec::new();
    for entry in [&one, &many] {
        let edit = w.edit(&w.alice, entry, 1, "Renamed").await;
        let before = w.app.sql_statements().await;
        w.gql(&w.moderator, APPROVE, json!({ "id": edit })).await;
        counts.push(w.app.sql_statements().await - before);
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
    let body = w.app.gql(None, "{ user(handle: \"watcher7\") { id } }", json!({})).await;
    assert!(body["data"]["user"].is_object());
}

#[tokio::test]
async fn a_notification_reaches_each_subscriber_without_a_read_of_its_own() {
    let w = world_with(&[]).await;
    let entry = w.entry("watched").await;
    let mut watchers = Vec::new();
    for i in 0..8 {
        let watcher = w.app.register(&format!("subscriber{i}")).await;
        w.gql(&watcher, "mutation($e: ID!) { watchEntry(entryId: $e) { id } }", json!({ "e": entry })).await;
        watchers.push(watcher);
    }
    let mut sockets = Vec::new();
    let mut counts = Vec::new();
    let mut version = 1;
    // The same eight watchers each time; first one of them subscribed, then all.
    for subscribed in [1, 8] {
        for watcher in &watchers[sockets.len()..subscribed] {
            let mut socket = w.app.ws(Some(&watcher.access)).await;
            socket.subscribe("n", NOTIFIED, json!({})).await;
            sockets.push(socket);
        }
        // Twice: the first delivery shows each subscription past its opening read.
        for measured in [false, true] {
            let edit = w.edit(&w.alice, &entry, version, &format!("Title {version}")).await;
            version += 1;
            let before = w.app.sql_statements().await;
            w.gql(&w.moderator, APPROVE, json!({ "id": edit })).await;
            let mut got = Vec::new();
            for socket in &mut sockets {
                got.push(socket.next_data("n").await["data"]["notificationReceived"].clone());
            }
            if measured {
                counts.push(w.app.sql_statements().await - before);
            }
            for (got, watcher) in got.iter().zip(&watchers) {
                let stored = w.gql(watcher, "{ notifications(first: 1) { edges { node { id } } } }", json!({})).await;
                assert_eq!(got["kind"], "WATCHED_ENTRY_UPDATED");
                assert_eq!(got["id"], stored["data"]["notifications"]["edges"][0]["node"]["id"], "the stored row");
            }
        }
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
}

#[tokio::test]
async fn a_merge_changing_several_watched_entries_tells_each_watcher_of_their_entries_only() {
    let w = world_with(&[]).await;
    let (a, b, c) = (w.entry("alpha").await, w.entry("beta").await, w.entry("gamma").await);
    let (carol, dave) = (w.app.register("carol").await, w.app.register("dave").await);
    let watch = "mutation($e: ID!) { watchEntry(entryId: $e) { id } }";
    for (who, entry) in [(&w.bob, &a), (&w.bob, &b), (&carol, &b), (&dave, &c), (&w.alice, &a)] {
        w.gql(who, watch, json!({ "e": entry })).await;
    }
    // From the start, so the subscriptions can't miss the merge however late they are set up.
    let live = "subscription($a: String) { notificationReceived(after: $a) { id kind subjectId } }";
    let mut sockets = Vec::new();
    for who in [&w.bob, &carol, &dave, &w.alice] {
        let mut socket = w.app.ws(Some(&who.access)).await;
        socket.subscribe("n", live, json!({ "a": "0" })).await;
        sockets.push(socket);
    }

    let changes: Value = [&a, &b]
        .iter()
        .map(|e| json!({ "op": "UPDATE", "entryId": e, "baseRevision": 1, "fields": { "title": "Renamed" } }))
        .collect();
    let (id, _) = w.submit(&w.alice, "Rename two", changes).await;
    assert_eq!(w.gql(&w.moderator, APPROVE, json!({ "id": id })).await["data"]["approveSubmission"]["merged"], true);

    let stored = "{ notifications(first: 5) { edges { node { id kind subjectId } } } }";
    for (i, (who, expected)) in [(&w.bob, vec![&a, &b]), (&carol, vec![&b]), (&dave, vec![])].into_iter().enumerate() {
        let mut heard = Vec::new();
        for _ in &expected {
            heard.push(sockets[i].next_data("n").await["data"]["notificationReceived"].clone());
        }
        sockets[i].silent(SHORT).await;
        let rows = w.gql(who, stored, json!({})).await["data"]["notifications"]["edges"].clone();
        let mut rows: Vec<Value> = rows.as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
        let by_id = |n: &Value| n["id"].as_str().unwrap().to_owned();
        heard.sort_by_key(by_id);
        rows.sort_by_key(by_id);
        assert_eq!(heard, rows, "live and stored alike");
        let mut subjects: Vec<&str> = heard.iter().map(|n| n["subjectId"].as_str().unwrap()).collect();
        subjects.sort_unstable();
        let mut expected: Vec<&str> = expected.iter().map(|e| e.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(subjects, expected, "one notification per watched entry that changed");
        assert!(heard.iter().all(|n| n["kind"] == "WATCHED_ENTRY_UPDATED"));
    }
    // Alice watches `a` too, but hears only that her four submissions merged, not of her own edit.
    let alice = &mut sockets[3];
    for _ in 0..4 {
        assert_eq!(alice.next_data("n").await["data"]["notificationReceived"]["kind"], "SUBMISSION_MERGED");
    }
    alice.silent(SHORT).await;
}

#[tokio::test]
async fn subscribers_get_only_their_own_notifications() {
    let w = world_with(&[]).await;
    let mut alice = w.app.ws(Some(&w.alice.access)).await;
    let mut bob = w.app.ws(Some(&w.bob.access)).await;
    alice.subscribe("n", NOTIFIED, json!({})).await;
    bob.subscribe("n", NOTIFIED, json!({})).await;
    let id = w.pending(&w.alice, "aurora").await;
    w.gql(&w.moderator, REJECT, json!({ "id": id })).await;
    let data = alice.next_data("n").await;
    assert_eq!(data["data"]["notificationReceived"]["kind"], "SUBMISSION_REJECTED");
    bob.silent(SHORT).await;

    // Others' submissions can't be followed, and notifications need a sign-in.
    bob.subscribe("s", "subscription($id: ID!) { submissionUpdated(id: $id) { status } }", json!({ "id": id })).await;
    assert_eq!(refusal(bob.next(Duration::from_secs(5)).await), "NOT_FOUND");
    let mut anonymous = w.app.ws(None).await;
    anonymous.subscribe("n", NOTIFIED, json!({})).await;
    assert_eq!(refusal(anonymous.next(Duration::from_secs(5)).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_reconnecting_client_resumes_after_its_cursor_without_gap_or_duplicate() {
    let w = world_with(&[]).await;
    let mut socket = w.app.ws(Some(&w.alice.access)).await;
    socket.subscribe("n", NOTIFIED, json!({})).await;
    let first = w.pending(&w.alice, "a").await;
    w.gql(&w.moderator, REJECT, json!({ "id": first })).await;
    let seen = socket.next_data("n").await["data"]["notificationReceived"].clone();
    drop(socket);

    // Missed while away: two notifications.
    for slug in ["b", "c"] {
        let id = w.pending(&w.alice, slug).await;
        w.gql(&w.moderator, REJECT, json!({ "id": id })).await;
    }
    let mut socket = w.app.ws(Some(&w.alice.access)).await;
    socket.subscribe("n", NOTIFIED, json!({ "a": seen["cursor"] })).await;
    let missed: Vec<String> = [socket.next_data("n").await, socket.next_data("n").await]
        .iter()
        .map(|d| d["data"]["notificationReceived"]["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        missed,
        ["Your submission “Add b” was rejected: not notable", "Your submission “Add c” was rejected: not notable"]
    );
    // Then live, and nothing twice.
    let live = w.pending(&w.alice, "d").await;
    w.gql(&w.moderator, APPROVE, json!({ "id": live })).await;
    assert_eq!(socket.next_data("n").await["data"]["notificationReceived"]["kind"], "SUBMISSION_MERGED");
    socket.silent(SHORT).await;
}

#[tokio::test]
async fn entry_submission_and_queue_subscriptions_follow_changes() {
    let w = world_with(&[]).await;
    let entry = w.entry("aurora").await;
    let mut anyone = w.app.ws(None).await;
    anyone
        .subscribe("e", "subscription($id: ID!) { entryUpdated(id: $id) { title version } }", json!({ "id": entry }))
        .await;
    let mut moderator = w.app.ws(Some(&w.moderator.access)).await;
    moderator
        .subscribe(
            "q",
            "subscription { moderationQueueChanged { cursor kind submission { title status } } }",
            json!({}),
        )
        .await;
    let mut alice = w.app.ws(Some(&w.alice.access)).await;

    let edit = w.edit(&w.alice, &entry, 1, "Aurora II").await;
    let queued = moderator.next_data("q").await["data"]["moderationQueueChanged"].clone();
    assert_eq!(
        (queued["kind"].as_str(), queued["submission"]["title"].as_str()),
        (Some("SUBMITTED"), Some("Aurora II"))
    );
    alice
        .subscribe("s", "subscription($id: ID!) { submissionUpdated(id: $id) { status } }", json!({ "id": edit }))
        .await;
    w.gql(&w.moderator, APPROVE, json!({ "id": edit })).await;
    assert_eq!(anyone.next_data("e").await["data"]["entryUpdated"], json!({ "title": "Aurora II", "version": 2 }));
    assert_eq!(alice.next_data("s").await["data"]["submissionUpdated"]["status"], "MERGED");
    assert_eq!(moderator.next_data("q").await["data"]["moderationQueueChanged"]["kind"], "DECIDED");

    // A resumed entry subscription starts with what changed since the version the client had.
    let mut late = w.app.ws(None).await;
    late.subscribe(
        "e",
        "subscription($id: ID!) { entryUpdated(id: $id, afterVersion: 1) { version } }",
        json!({ "id": entry }),
    )
    .await;
    assert_eq!(late.next_data("e").await["data"]["entryUpdated"]["version"], 2);

    alice.subscribe("q", "subscription { moderationQueueChanged { kind } }", json!({})).await;
    assert_eq!(refusal(alice.next(Duration::from_secs(5)).await), "FORBIDDEN");
}

#[tokio::test]
async fn entry_updated_delivers_each_merge_of_a_burst_once_in_order_as_the_entry_was_then() {
    let w = world_with(&[]).await;
    let entry = w.entry("aurora").await;
    let updated = "subscription($id: ID!, $v: Int) { entryUpdated(id: $id, afterVersion: $v) { version title revisionShown { number } } }";
    let mut slow = w.app.ws(None).await;
    slow.subscribe("e", updated, json!({ "id": entry })).await;
    slow.silent(SHORT).await; // Subscribed before the burst.

    // Twenty merges as fast as they come (a moderator's edit merges on
    // submit), several per relay batch, while the subscriber reads nothing.
    for version in 1..=20 {
        w.edit(&w.moderator, &entry, version, &format!("Aurora {}", version + 1)).await;
    }
    let now = w.app.gql(None, "query($id: ID!) { entry(id: $id) { version } }", json!({ "id": entry })).await;
    assert_eq!(now["data"]["entry"]["version"], 21, "all twenty merged: {now}");
    let as_merged = |from: i64| -> Vec<Value> {
        (from..=21)
            .map(|v| json!({ "version": v, "title": format!("Aurora {v}"), "revisionShown": { "number": v } }))
            .collect()
    };
    let mut heard = Vec::new();
    for _ in 0..20 {
        heard.push(slow.next_data("e").await["data"]["entryUpdated"].clone());
        tokio::time::sleep(Duration::from_millis(25)).await; // A slow reader.
    }
    assert_eq!(heard, as_merged(2), "every version once, in order, each with its own title");
    slow.silent(SHORT).await;

    // Resuming from a version: each one since, then nothing more.
    let mut late = w.app.ws(None).await;
    late.subscribe("e", updated, json!({ "id": entry, "v": 15 })).await;
    let mut resumed = Vec::new();
    for _ in 0..6 {
        resumed.push(late.next_data("e").await["data"]["entryUpdated"].clone());
    }
    assert_eq!(resumed, as_merged(16));
    late.silent(SHORT).await;
}

#[tokio::test]
async fn subscribers_of_an_entry_woken_by_one_merge_share_one_read() {
    let w = world_with(&[]).await;
    let (one, many) = (w.entry("aurora").await, w.entry("borealis").await);
    let updated = "subscription($id: ID!) { entryUpdated(id: $id) { version } }";
    let mut socket = w.app.ws(None).await;
    socket.subscribe("one", updated, json!({ "id": one })).await;
    for i in 0..30 {
        socket.subscribe(&format!("many{i}"), updated, json!({ "id": many })).await;
    }
    socket.silent(SHORT).await;
    let mut costs = Vec::new();
    for (entry, title, subscribers) in [(&one, "Aurora II", 1), (&many, "Borealis II", 30)] {
        let before = w.app.sql_statements_settled().await;
        w.edit(&w.moderator, entry, 1, title).await;
        for _ in 0..subscribers {
            match socket.next(Duration::from_secs(10)).await {
                Some(WsEvent::Message(m)) => assert_eq!(m["payload"]["data"]["entryUpdated"]["version"], 2, "{m}"),
                other => panic!("expected an event, got {other:?}"),
            }
        }
        costs.push(w.app.sql_statements_settled().await - before);
    }
    assert_eq!(costs[0], costs[1], "thirty subscribers woken by a merge cost the statements one does");
}

#[tokio::test]
async fn subscribers_of_one_operation_share_its_render_unless_it_read_who_is_asking() {
    let w = world_with(&[]).await;
    let entry = w.entry("aurora").await;
    // Public fields: one render serves every subscriber. `emailVerified` is
    // shown to the user themself and to moderators: rendered for each.
    let public = "subscription($id: ID!) { entryUpdated(id: $id) { version title } }";
    let private = "subscription($id: ID!) { entryUpdated(id: $id) { version creator { handle emailVerified } } }";
    let viewers = [None, Some(&w.bob), Some(&w.alice), Some(&w.moderator)];
    let mut sockets = Vec::new();
    for viewer in viewers {
        let mut socket = w.app.ws(viewer.map(|v| v.access.as_str())).await;
        socket.subscribe("public", public, json!({ "id": entry })).await;
        socket.subscribe("private", private, json!({ "id": entry })).await;
        sockets.push(socket);
    }
    for socket in &mut sockets {
        socket.silent(SHORT).await;
    }
    w.edit(&w.moderator, &entry, 1, "Aurora II").await;
    let mut verified = Vec::new();
    for socket in &mut sockets {
        let mut data = [None, None];
        for _ in 0..2 {
            match socket.next(Duration::from_secs(10)).await {
                Some(WsEvent::Message(m)) if m["id"] == "public" => data[0] = Some(m["payload"]["data"].clone()),
                Some(WsEvent::Message(m)) if m["id"] == "private" => data[1] = Some(m["payload"]["data"].clone()),
                other => panic!("expected an event, got {other:?}"),
            }
        }
        let [Some(public), Some(private)] = data else { panic!("both subscriptions deliver") };
        assert_eq!(public["entryUpdated"], json!({ "version": 2, "title": "Aurora II" }));
        assert_eq!(private["entryUpdated"]["creator"]["handle"], "alice");
        verified.push(private["entryUpdated"]["creator"]["emailVerified"].clone());
    }
    assert_eq!(verified, [Value::Null, Value::Null, json!(true), json!(true)], "anonymous, bob, alice, a moderator");
    let (shared, own) = (
        w.app.metric(r#"xpr_subscription_items_total{render="shared"}"#).await,
        w.app.metric(r#"xpr_subscription_items_total{render="own"}"#).await,
    );
    assert_eq!(shared, 3.0, "the public render was made once for four subscribers");
    assert_eq!(own, 5.0, "the private one for each");
    assert!(w.app.metric("xpr_subscription_delivery_lag_seconds_count").await >= 8.0);
}

#[tokio::test]
async fn on_postgresql_an_event_is_published_as_it_commits_not_at_the_next_poll() {
    if std::env::var("XPR_TEST_DATABASE_URL").is_err() {
        return; // SQLite has no notifications: its relay polls (every other test covers it).
    }
    // A poll an hour apart: only the commit's notification can wake the relay.
    let w = world_with(&["--relay-interval-ms", "3600000"]).await;
    let entry = w.entry("aurora").await;
    let mut socket = w.app.ws(None).await;
    socket.subscribe("u", "subscription($id: ID!) { entryUpdated(id: $id) { version } }", json!({ "id": entry })).await;
    socket.silent(SHORT).await;
    w.edit(&w.moderator, &entry, 1, "Aurora II").await;
    assert_eq!(socket.next_data("u").await["data"]["entryUpdated"]["version"], 2);
}

#[tokio::test]
async fn revoking_the_session_or_banning_closes_the_socket() {
    let w = world_with(&[]).await;
    let mut socket = w.app.ws(Some(&w.alice.access)).await;
    socket.subscribe("n", NOTIFIED, json!({})).await;
    w.gql(&w.alice, "mutation { logout }", json!({})).await;
    // 4401: the `graphql-ws` client doesn't retry; signing in again is the only way back.
    assert_eq!(socket.next(Duration::from_secs(10)).await, Some(WsEvent::Closed(4401, "SESSION_REVOKED".into())));

    let mut socket = w.app.ws(Some(&w.bob.access)).await;
    let ban = "mutation($u: ID!) { banUser(userId: $u, reason: \"spam\") { status } }";
    w.gql(&w.moderator, ban, json!({ "u": w.bob.id })).await;
    assert!(matches!(socket.next(Duration::from_secs(10)).await, Some(WsEvent::Closed(4401, _))));
}

#[tokio::test]
async fn banning_withdraws_open_submissions_with_the_events_of_a_withdrawal() {
    let w = world_with(&[]).await;
    let pending = w.pending(&w.alice, "aurora").await;
    let changes = json!([{ "op": "CREATE", "kind": "ship", "fields": { "slug": "draft", "title": "Draft" } }]);
    let body = w.gql(&w.alice, CREATE, json!({ "i": { "title": "Add draft", "changes": changes } })).await;
    let draft = body["data"]["createSubmission"]["id"].as_str().unwrap().to_owned();
    let mut moderator = w.app.ws(Some(&w.moderator.access)).await;
    let updated = "subscription($id: ID!) { submissionUpdated(id: $id) { id status } }";
    moderator
        .subscribe("q", "subscription { moderationQueueChanged { kind submission { id status } } }", json!({}))
        .await;
    moderator.subscribe("p", updated, json!({ "id": pending })).await;
    moderator.subscribe("d", updated, json!({ "id": draft })).await;
    moderator.silent(SHORT).await;

    let ban = "mutation($u: ID!) { banUser(userId: $u, reason: \"spam\") { status } }";
    w.gql(&w.moderator, ban, json!({ "u": w.alice.id })).await;
    let mut heard = std::collections::BTreeMap::new();
    for _ in 0..3 {
        match moderator.next(Duration::from_secs(10)).await {
            Some(WsEvent::Message(m)) if m["type"] == "next" => {
                heard.insert(m["id"].as_str().unwrap().to_owned(), m["payload"]["data"].clone());
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
    assert_eq!(
        heard["q"]["moderationQueueChanged"],
        json!({ "kind": "DECIDED", "submission": { "id": pending, "status": "WITHDRAWN" } })
    );
    assert_eq!(heard["p"]["submissionUpdated"], json!({ "id": pending, "status": "WITHDRAWN" }));
    assert_eq!(heard["d"]["submissionUpdated"], json!({ "id": draft, "status": "WITHDRAWN" }));
    moderator.silent(SHORT).await; // A draft never was in the queue: no queue event for it.
}

#[tokio::test]
async fn a_role_change_closes_the_users_sockets_so_a_demoted_moderator_loses_the_queue() {
    let w = world_with(&[]).await;
    let set_role = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { role } }";
    w.gql(&w.moderator, set_role, json!({ "u": w.bob.id, "r": "MODERATOR" })).await;
    let queue = "subscription($after: String) { moderationQueueChanged(after: $after) { kind submission { title } } }";
    let mut bob = w.app.ws(Some(&w.bob.access)).await;
    // From the start of the outbox: the promotion's recheck of his new socket
    // can delay its subscription past alice's submission (seen once in CI).
    bob.subscribe("q", queue, json!({ "after": "0" })).await;
    let mut alice = w.app.ws(Some(&w.alice.access)).await;
    alice.subscribe("n", NOTIFIED, json!({})).await;
    w.pending(&w.alice, "aurora").await;
    assert_eq!(bob.next_data("q").await["data"]["moderationQueueChanged"]["kind"], "SUBMITTED");

    let demoted = w.gql(&w.moderator, set_role, json!({ "u": w.bob.id, "r": "USER" })).await;
    assert_eq!(demoted["data"]["setUserRole"]["role"], "USER", "{demoted}");
    assert_eq!(bob.next(Duration::from_secs(10)).await, Some(WsEvent::Closed(4412, "Role changed: reconnect".into())));
    alice.silent(SHORT).await; // Other users' sockets stay open.
    // The same token still signs in, but the queue is for moderators.
    let mut again = w.app.ws(Some(&w.bob.access)).await;
    again.subscribe("q", queue, json!({})).await;
    assert_eq!(refusal(again.next(Duration::from_secs(5)).await), "FORBIDDEN");
}

#[tokio::test]
async fn suspending_or_reinstating_closes_only_that_users_sockets_so_they_reconnect_as_they_now_are() {
    let w = world_with(&[]).await;
    let mut bob = w.app.ws(Some(&w.bob.access)).await;
    bob.subscribe("n", NOTIFIED, json!({})).await;
    let mut alice = w.app.ws(Some(&w.alice.access)).await;
    alice.subscribe("n", NOTIFIED, json!({})).await;
    let suspend = "mutation($u: ID!) { suspendUser(userId: $u, reason: \"cool down\") { status } }";
    let suspended = w.gql(&w.moderator, suspend, json!({ "u": w.bob.id })).await;
    assert_eq!(suspended["data"]["suspendUser"]["status"], "SUSPENDED", "{suspended}");
    // The token still signs in: 4412, which `graphql-ws` retries, not a refusal's 4401.
    assert_eq!(
        bob.next(Duration::from_secs(10)).await,
        Some(WsEvent::Closed(4412, "Standing changed: reconnect".into()))
    );
    alice.silent(SHORT).await; // Only the suspended user's sockets woke.

    // Reconnected, the socket knows the user is suspended: no writes through it.
    let mut bob = w.app.ws(Some(&w.bob.access)).await;
    bob.subscribe("s", CREATE, json!({ "i": { "title": "Sneak", "changes": [] } })).await;
    let refused = bob.next(Duration::from_secs(5)).await;
    assert_eq!(refusal(refused), "FORBIDDEN", "a suspended user can't submit over the socket");

    let reinstate = "mutation($u: ID!) { reinstateUser(userId: $u, reason: \"served\") { status } }";
    w.gql(&w.moderator, reinstate, json!({ "u": w.bob.id })).await;
    let closed = loop {
        match bob.next(Duration::from_secs(10)).await {
            Some(WsEvent::Message(_)) => continue,
            other => break other,
        }
    };
    assert_eq!(closed, Some(WsEvent::Closed(4412, "Standing changed: reconnect".into())));
}

#[tokio::test]
async fn sockets_must_initialise_in_time_and_respect_their_caps() {
    let w = world_with(&[
        "--ws-init-timeout-secs",
        "1",
        "--ws-max-subscriptions",
        "1",
        "--ws-max-connections-per-user",
        "1",
    ])
    .await;
    let mut silent = w.app.ws_open().await;
    assert_eq!(
        silent.next(Duration::from_secs(5)).await,
        Some(WsEvent::Closed(4408, "Connection initialisation timeout".into()))
    );

    let mut socket = w.app.ws(Some(&w.alice.access)).await;
    socket.subscribe("1", NOTIFIED, json!({})).await;
    socket.subscribe("2", NOTIFIED, json!({})).await;
    assert_eq!(refusal(socket.next(Duration::from_secs(5)).await), "FORBIDDEN");

    let mut second = w.app.ws_open().await;
    assert!(
        matches!(second.init(Some(&w.alice.access)).await, WsEvent::Closed(_, reason) if reason.contains("too many connections"))
    );
    drop(socket);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = w.app.ws_open().await;
    assert_eq!(
        third.init(Some(&w.alice.access)).await,
        WsEvent::Message(json!({ "type": "connection_ack" })),
        "a closed socket frees its slot"
    );
}

#[tokio::test]
async fn two_processes_share_events_through_redis() {
    if std::env::var("XPR_TEST_REDIS_URL").is_err() {
        return; // Without Redis each process has its own in-process bus, by design.
    }
    let w = world_with(&[]).await;
    let other = w.app.replica().await;
    let mut socket = other.ws(Some(&w.alice.access)).await;
    // From the start: under load the replica may set the subscription up only
    // after the rejection, and without a cursor it would start past it.
    socket.subscribe("n", NOTIFIED, json!({ "a": "0" })).await;
    let id = w.pending(&w.alice, "aurora").await;
    w.gql(&w.moderator, REJECT, json!({ "id": id })).await;
    assert_eq!(socket.next_data("n").await["data"]["notificationReceived"]["kind"], "SUBMISSION_REJECTED");
}

/// A redis-server of the test's own on a spare port, stopped on drop.
struct OwnRedis {
    port: u16,
    child: std::process::Child,
}

impl OwnRedis {
    fn start(port: u16) -> Option<Self> {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Self { port, child })
    }

    async fn ready(&self) {
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("redis-server did not start");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_redis_outage_keeps_the_replica_ready_and_events_arrive_when_it_is_back() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(redis) = OwnRedis::start(port) else {
        return; // No redis-server here: CI always has one.
    };
    redis.ready().await;
    let url = format!("redis://127.0.0.1:{port}");
    let w = world_with(&["--redis-url", &url]).await;
    let mut socket = w.app.ws(Some(&w.alice.access)).await;
    socket.subscribe("n", NOTIFIED, json!({})).await;
    let id = w.pending(&w.alice, "aurora").await;

    drop(redis);
    let rejected = w.gql(&w.moderator, REJECT, json!({ "id": id })).await;
    assert_eq!(rejected["data"]["rejectSubmission"]["status"], "REJECTED", "mutations work without Redis");
    let ready = w.app.http.get(format!("{}/readyz", w.app.url)).send().await.unwrap();
    assert_eq!(ready.status(), 200, "a Redis outage degrades realtime only: the replica stays in the pool");
    assert_eq!(ready.json::<Value>().await.unwrap(), json!({ "database": "ok", "bus": "unreachable" }));
    socket.silent(Duration::from_millis(500)).await;

    let redis = OwnRedis::start(port).expect("restart redis");
    redis.ready().await;
    let data = socket.next_data("n").await;
    assert_eq!(data["data"]["notificationReceived"]["kind"], "SUBMISSION_REJECTED", "delivered once Redis is back");
    socket.silent(SHORT).await;
}

#[tokio::test]
async fn publishing_nothing_is_no_bus_failure() {
    // A relay whose replica found every pending row taken (SKIP LOCKED) has an
    // empty batch; Redis refuses an empty pipeline, which was logged as an outage.
    let app = TestApp::spawn().await;
    assert!(app.state.bus.publish(Vec::new()).await.is_ok());
}
