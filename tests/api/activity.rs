//! A user's public activity through the API: merged submissions and published
//! reviews, newest first, paged by cursor, never showing what isn't public.

use serde_json::{Value, json};
use xpr_tests::{Actor, TestApp, code};

const ACTIVITY: &str = "query($h: String!, $n: Int, $a: String) { user(handle: $h) { activity(first: $n, after: $a) { \
    edges { cursor node { kind occurredAt submission { id decidedAt } review { id createdAt } } } \
    pageInfo { hasNextPage endCursor } } } }";
const CREATE: &str = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
const SUBMIT: &str = "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }";
const APPROVE: &str = "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged } }";
const UPSERT: &str = "mutation($i: ReviewInput!) { upsertReview(input: $i) { id status } }";

struct World {
    app: TestApp,
    admin: Actor,
    alice: Actor,
    entries: Vec<String>,
}

/// An admin, six places to review and Alice, who may submit and review.
async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let titles: Vec<String> = (0..6).map(|i| format!("Place {i}")).collect();
    let entries = app.places(&admin, &titles).await;
    let alice = app.verified("alice").await;
    World { app, admin, alice, entries }
}

impl World {
    async fn gql(&self, who: Option<&Actor>, query: &str, variables: Value) -> Value {
        self.app.gql(who.map(|w| w.access.as_str()), query, variables).await
    }

    /// A draft of Alice's creating the place `slug`.
    async fn draft(&self, slug: &str) -> String {
        let change =
            json!({ "op": "CREATE", "kind": "place", "fields": { "slug": slug, "title": format!("New {slug}") } });
        let body = self.gql(Some(&self.alice), CREATE, json!({ "i": { "title": slug, "changes": [change] } })).await;
        body["data"]["createSubmission"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
    }

    /// A draft of Alice's, submitted: it waits for a moderator.
    async fn pending(&self, slug: &str) -> String {
        let id = self.draft(slug).await;
        let body = self.gql(Some(&self.alice), SUBMIT, json!({ "id": id })).await;
        assert_eq!(body["data"]["submitForReview"]["status"], "PENDING", "{body}");
        id
    }

    async fn approve(&self, id: &str) {
        let body = self.gql(Some(&self.admin), APPROVE, json!({ "id": id })).await;
        assert_eq!(body["data"]["approveSubmission"]["merged"], true, "{body}");
    }

    async fn merged(&self, slug: &str) -> String {
        let id = self.pending(slug).await;
        self.approve(&id).await;
        id
    }

    /// Alice's review of the `entry`th place (written, or edited if she reviewed it before).
    async fn review(&self, entry: usize, body: &str) -> Value {
        let input = json!({ "entryId": self.entries[entry], "rating": 4, "title": "Worth it", "body": body });
        self.gql(Some(&self.alice), UPSERT, json!({ "i": input })).await["data"]["upsertReview"].clone()
    }

    async fn reviewed(&self, entry: usize) -> String {
        let review = self.review(entry, "Seen it.").await;
        assert_eq!(review["status"], "PUBLISHED", "{review}");
        review["id"].as_str().unwrap().to_owned()
    }

    /// A page of `handle`'s activity as `viewer` sees it.
    async fn activity(&self, viewer: Option<&Actor>, handle: &str, first: i32, after: Option<&str>) -> Value {
        let body = self.gql(viewer, ACTIVITY, json!({ "h": handle, "n": first, "a": after })).await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["user"]["activity"].clone()
    }
}

/// The kind and the submission or review id of each item.
fn items(activity: &Value) -> Vec<(String, String)> {
    let edges = activity["edges"].as_array().unwrap_or_else(|| panic!("{activity}"));
    edges
        .iter()
        .map(|e| {
            let node = &e["node"];
            let subject = if node["kind"] == "SUBMISSION_MERGED" { &node["submission"] } else { &node["review"] };
            (node["kind"].as_str().unwrap().to_owned(), subject["id"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn merged(id: &str) -> (String, String) {
    ("SUBMISSION_MERGED".to_owned(), id.to_owned())
}

fn written(id: &str) -> (String, String) {
    ("REVIEW_WRITTEN".to_owned(), id.to_owned())
}

#[tokio::test]
async fn activity_lists_merges_and_reviews_newest_first_by_when_they_happened() {
    let w = world().await;
    let early = w.pending("early").await;
    let first_review = w.reviewed(0).await;
    // Submitted before the review, merged after it: the merge is what counts.
    w.approve(&early).await;
    let later = w.merged("later").await;
    let last_review = w.reviewed(1).await;
    // An edit doesn't move a review.
    assert_eq!(w.review(0, "Seen it twice.").await["id"], first_review.as_str());

    let expected = vec![written(&last_review), merged(&later), merged(&early), written(&first_review)];
    let public = w.activity(None, "alice", 20, None).await;
    assert_eq!(items(&public), expected);
    assert_eq!(public["pageInfo"]["hasNextPage"], false);
    for node in public["edges"].as_array().unwrap().iter().map(|e| &e["node"]) {
        let at = if node["kind"] == "SUBMISSION_MERGED" {
            (&node["submission"]["decidedAt"], &node["review"])
        } else {
            (&node["review"]["createdAt"], &node["submission"])
        };
        assert_eq!((&node["occurredAt"], at.1), (at.0, &Value::Null), "{node}");
    }
    // The feed is public: the same for Alice and for a moderator.
    assert_eq!(items(&w.activity(Some(&w.alice), "alice", 20, None).await), expected);
    assert_eq!(items(&w.activity(Some(&w.admin), "ALICE", 20, None).await), expected);
    // The admin's merge of the places is the admin's, not Alice's.
    assert_eq!(items(&w.activity(None, "root_admin", 20, None).await).len(), 1);
}

#[tokio::test]
async fn activity_pages_by_cursor_across_both_kinds_and_caps_first_at_100() {
    let w = world().await;
    for i in 0..3 {
        w.merged(&format!("s{i}")).await;
        w.reviewed(i).await;
    }
    let all = items(&w.activity(None, "alice", 20, None).await);
    assert_eq!(all.len(), 6);

    let (mut paged, mut after, mut more) = (Vec::new(), None::<String>, Vec::new());
    loop {
        let page = w.activity(None, "alice", 4, after.as_deref()).await;
        paged.extend(items(&page));
        more.push(page["pageInfo"]["hasNextPage"].as_bool().unwrap());
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if more.last() == Some(&false) {
            break;
        }
    }
    assert_eq!((paged, more), (all.clone(), vec![true, false]));
    // Any edge's cursor continues right after it.
    let page = w.activity(None, "alice", 20, None).await;
    let third = page["edges"][2]["cursor"].as_str().unwrap();
    assert_eq!(items(&w.activity(None, "alice", 2, Some(third)).await), all[3..5]);

    let too_many = w.gql(None, ACTIVITY, json!({ "h": "alice", "n": 101 })).await;
    assert_eq!(code(&too_many), "BAD_USER_INPUT", "{too_many}");
    let forged = w.gql(None, ACTIVITY, json!({ "h": "alice", "a": "not-a-cursor" })).await;
    assert_eq!(code(&forged), "BAD_USER_INPUT", "{forged}");
}

#[tokio::test]
async fn activity_never_shows_drafts_unmerged_submissions_or_unpublished_reviews() {
    let w = world().await;
    let merged_one = w.merged("kept").await;
    let published = w.reviewed(0).await;
    w.draft("draft").await;
    w.pending("waiting").await;
    let rejected = w.pending("rejected").await;
    let reject = "mutation($id: ID!) { rejectSubmission(submissionId: $id, reason: \"not a place\") { status } }";
    assert_eq!(
        w.gql(Some(&w.admin), reject, json!({ "id": rejected })).await["data"]["rejectSubmission"]["status"],
        "REJECTED"
    );
    let hidden = w.reviewed(1).await;
    let hide = "mutation($id: ID!) { hideReview(id: $id, reason: \"off topic\") { status } }";
    assert_eq!(w.gql(Some(&w.admin), hide, json!({ "id": hidden })).await["data"]["hideReview"]["status"], "HIDDEN");
    let block = "mutation { addBlocklistEntry(kind: TERM, value: \"free gold\") { id } }";
    assert!(w.gql(Some(&w.admin), block, json!({})).await["errors"].is_null());
    assert_eq!(w.review(2, "FREE GOLD inside!").await["status"], "PENDING");

    let expected = vec![written(&published), merged(&merged_one)];
    for viewer in [None, Some(&w.alice), Some(&w.admin)] {
        let page = w.activity(viewer, "alice", 20, None).await;
        assert_eq!((items(&page), &page["pageInfo"]["hasNextPage"]), (expected.clone(), &json!(false)));
    }
}

#[tokio::test]
async fn a_banned_users_activity_shows_to_moderators_only() {
    let w = world().await;
    let submission = w.merged("before-the-ban").await;
    let review = w.reviewed(0).await;
    let bob = w.app.verified("bob").await;
    let ban = "mutation($u: ID!) { banUser(userId: $u, reason: \"spam\") { status } }";
    assert_eq!(w.gql(Some(&w.admin), ban, json!({ "u": w.alice.id })).await["data"]["banUser"]["status"], "BANNED");

    // Others don't find the user, and reaching her through her review shows no activity either.
    let by_review = "query($id: ID!) { review(id: $id) { author { handle activity { edges { node { kind } } pageInfo { hasNextPage } } } } }";
    for viewer in [None, Some(&bob)] {
        let lookup = w.gql(viewer, ACTIVITY, json!({ "h": "alice" })).await;
        assert_eq!(lookup["data"]["user"], Value::Null, "{lookup}");
        let body = w.gql(viewer, by_review, json!({ "id": review })).await;
        let author = &body["data"]["review"]["author"];
        assert_eq!(author["handle"], "alice", "{body}");
        assert_eq!(author["activity"], json!({ "edges": [], "pageInfo": { "hasNextPage": false } }));
    }
    let seen_by_moderator = w.activity(Some(&w.admin), "alice", 20, None).await;
    assert_eq!(items(&seen_by_moderator), vec![written(&review), merged(&submission)]);
}

#[tokio::test]
async fn activity_statements_do_not_grow_with_the_page_size_or_depth() {
    let w = world().await;
    for i in 0..5 {
        w.merged(&format!("s{i}")).await;
        w.reviewed(i).await;
    }
    let query = "query($n: Int, $a: String) { user(handle: \"alice\") { activity(first: $n, after: $a) { \
        edges { node { kind occurredAt submission { title author { handle } changes { op entry { title } } } \
        review { rating entry { title ratingCount } author { handle } media { url } } } } pageInfo { endCursor } } } }";
    let run = |n: i32, after: Option<String>| {
        let w = &w;
        async move {
            let before = w.app.sql_statements().await;
            let body = w.app.gql(None, query, json!({ "n": n, "a": after })).await;
            let cost = w.app.sql_statements().await - before;
            let activity = body["data"]["user"]["activity"].clone();
            let edges = activity["edges"].as_array().unwrap_or_else(|| panic!("{body}"));
            assert_eq!(edges.len(), (n as usize).min(10), "{body}");
            let kinds: Vec<&str> = edges.iter().map(|e| e["node"]["kind"].as_str().unwrap()).collect();
            assert!(kinds.contains(&"SUBMISSION_MERGED") && kinds.contains(&"REVIEW_WRITTEN"), "both kinds: {kinds:?}");
            for node in edges.iter().map(|e| &e["node"]) {
                let resolved = if node["kind"] == "SUBMISSION_MERGED" {
                    node["submission"]["changes"][0]["entry"]["title"].is_string()
                } else {
                    node["review"]["entry"]["ratingCount"].is_number() && node["review"]["author"]["handle"] == "alice"
                };
                assert!(resolved, "{node}");
            }
            (cost, activity["pageInfo"]["endCursor"].as_str().map(str::to_owned))
        }
    };
    let (small, after) = run(2, None).await;
    let (large, _) = run(20, None).await;
    let (later, _) = run(2, after).await;
    let costs = [small, large, later];
    assert_eq!(costs[0], costs[1], "statements for 2 and 10 items: {costs:?}");
    assert_eq!(costs[2], costs[0], "a later page costs what the first does: {costs:?}");
}
