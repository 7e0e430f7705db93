//! Reviews through the API: one review per user per entry, exact rating
//! aggregates (also under concurrent writes), lists, votes and moderation.

use serde_json::{Value, json};
use xpr_tests::{Actor, TestApp, code};

const UPSERT: &str = "mutation($i: ReviewInput!) { upsertReview(input: $i) { id rating title body status edited editedAt \
    author { handle } entry { id } media { id } } }";
const RATING: &str =
    "query($id: ID!) { entry(id: $id) { ratingCount ratingAverage ratingDistribution { stars count } } }";
const LIST: &str = "query($id: ID!, $o: ReviewOrder, $n: Int, $a: String) { entry(id: $id) { reviews(orderBy: $o, first: $n, after: $a) { \
    edges { cursor node { id rating status helpfulCount author { handle } } } pageInfo { hasNextPage endCursor } } } }";
const VOTE: &str = "mutation($id: ID!, $h: Boolean!) { voteReviewHelpful(reviewId: $id, helpful: $h) { helpfulCount unhelpfulCount } }";
const HIDE: &str = "mutation($id: ID!, $r: String!) { hideReview(id: $id, reason: $r) { status statusReason } }";
const SHOW: &str = "mutation($id: ID!, $r: String!) { showReview(id: $id, reason: $r) { status statusReason } }";
const DELETE: &str = "mutation($id: ID!) { deleteReview(id: $id) }";

struct World {
    app: TestApp,
    admin: Actor,
    entries: Vec<String>,
}

async fn world(entries: usize) -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let titles: Vec<String> = (0..entries).map(|i| format!("Place {i:03}")).collect();
    let entries = app.places(&admin, &titles).await;
    World { app, admin, entries }
}

impl World {
    async fn review(&self, who: &Actor, entry: &str, rating: i32) -> Value {
        let input =
            json!({ "entryId": entry, "rating": rating, "title": format!("{rating} stars"), "body": "Seen it." });
        self.app.gql(Some(&who.access), UPSERT, json!({ "i": input })).await
    }

    async fn reviewed(&self, who: &Actor, entry: &str, rating: i32) -> String {
        let body = self.review(who, entry, rating).await;
        body["data"]["upsertReview"]["id"].as_str().unwrap_or_else(|| panic!("review failed: {body}")).to_owned()
    }

    async fn rating(&self, entry: &str) -> Value {
        self.app.gql(None, RATING, json!({ "id": entry })).await["data"]["entry"].clone()
    }

    async fn list(&self, who: Option<&Actor>, entry: &str, order: &str, first: i32, after: Option<&str>) -> Value {
        let variables = json!({ "id": entry, "o": order, "n": first, "a": after });
        let body = self.app.gql(who.map(|w| w.access.as_str()), LIST, variables).await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["entry"]["reviews"].clone()
    }
}

fn distribution(counts: [i64; 5]) -> Value {
    Value::Array((1..=5).map(|stars| json!({ "stars": stars, "count": counts[stars - 1] })).collect())
}

fn handles(list: &Value) -> Vec<String> {
    list["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["author"]["handle"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_second_review_by_the_same_user_edits_the_first() {
    let w = world(1).await;
    let alice = w.app.verified("alice").await;
    let entry = &w.entries[0];
    let first = w.review(&alice, entry, 2).await["data"]["upsertReview"].clone();
    assert_eq!(
        (&first["edited"], &first["status"], &first["author"]["handle"]),
        (&json!(false), &json!("PUBLISHED"), &json!("alice"))
    );
    let second = w.review(&alice, entry, 5).await["data"]["upsertReview"].clone();
    assert_eq!(second["id"], first["id"], "still one review");
    assert_eq!((&second["rating"], &second["edited"]), (&json!(5), &json!(true)));
    assert!(second["editedAt"].is_string());

    let rating = w.rating(entry).await;
    assert_eq!((&rating["ratingCount"], &rating["ratingAverage"]), (&json!(1), &json!(5.0)));
    assert_eq!(rating["ratingDistribution"], distribution([0, 0, 0, 0, 1]));
    let mine = w
        .app
        .gql(None, "query { user(handle: \"alice\") { reviews { edges { node { id rating } } } } }", json!({}))
        .await;
    assert_eq!(mine["data"]["user"]["reviews"]["edges"], json!([{ "node": { "id": first["id"], "rating": 5 } }]));
}

#[tokio::test]
async fn ratings_outside_one_to_five_are_refused_and_change_nothing() {
    let w = world(1).await;
    let alice = w.app.verified("alice").await;
    for rating in [0, 6] {
        let body = w.review(&alice, &w.entries[0], rating).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "rating");
    }
    let rating = w.rating(&w.entries[0]).await;
    assert_eq!((&rating["ratingCount"], &rating["ratingAverage"]), (&json!(0), &Value::Null));
    let missing = w.review(&alice, "0190a0a0-0000-7000-8000-000000000000", 3).await;
    assert_eq!(code(&missing), "NOT_FOUND");
}

#[tokio::test]
async fn reviewing_needs_a_verified_email_and_a_sign_in() {
    let w = world(1).await;
    let unverified = w.app.register("unverified").await;
    let body = w.review(&unverified, &w.entries[0], 4).await;
    assert_eq!(code(&body), "FORBIDDEN");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("verify your email"), "{body}");
    let input = json!({ "entryId": w.entries[0], "rating": 4 });
    let anonymous = w.app.gql(None, UPSERT, json!({ "i": input })).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(w.rating(&w.entries[0]).await["ratingCount"], 0);
}

#[tokio::test]
async fn nobody_edits_or_deletes_someone_elses_review() {
    let w = world(1).await;
    let (alice, bob) = (w.app.verified("alice").await, w.app.verified("bob").await);
    let entry = &w.entries[0];
    let alices = w.reviewed(&alice, entry, 1).await;
    // Bob's upsert on the same entry writes Bob's own review; Alice's is untouched.
    let bobs = w.reviewed(&bob, entry, 5).await;
    assert_ne!(alices, bobs);
    let review = w
        .app
        .gql(None, "query($id: ID!) { review(id: $id) { rating author { handle } } }", json!({ "id": alices }))
        .await;
    assert_eq!(review["data"]["review"], json!({ "rating": 1, "author": { "handle": "alice" } }));

    let refused = w.app.gql(Some(&bob.access), DELETE, json!({ "id": alices })).await;
    assert_eq!(code(&refused), "FORBIDDEN");
    assert_eq!(w.rating(entry).await["ratingCount"], 2);
    let deleted = w.app.gql(Some(&alice.access), DELETE, json!({ "id": alices })).await;
    assert_eq!(deleted["data"]["deleteReview"], true, "{deleted}");
    let rating = w.rating(entry).await;
    assert_eq!((&rating["ratingCount"], &rating["ratingAverage"]), (&json!(1), &json!(5.0)));
    let again = w.app.gql(Some(&alice.access), DELETE, json!({ "id": alices })).await;
    assert_eq!(code(&again), "NOT_FOUND");
}

#[tokio::test]
async fn helpful_votes_count_once_per_user_and_never_on_ones_own_review() {
    let w = world(1).await;
    let (alice, bob, carol) =
        (w.app.verified("alice").await, w.app.verified("bob").await, w.app.verified("carol").await);
    let entry = &w.entries[0];
    let alices = w.reviewed(&alice, entry, 4).await;
    let bobs = w.reviewed(&bob, entry, 3).await;

    let own = w.app.gql(Some(&alice.access), VOTE, json!({ "id": alices, "h": true })).await;
    assert_eq!(code(&own), "FORBIDDEN");
    for _ in 0..2 {
        let vote = w.app.gql(Some(&bob.access), VOTE, json!({ "id": alices, "h": true })).await;
        assert_eq!(vote["data"]["voteReviewHelpful"], json!({ "helpfulCount": 1, "unhelpfulCount": 0 }), "{vote}");
    }
    let changed = w.app.gql(Some(&carol.access), VOTE, json!({ "id": bobs, "h": false })).await;
    assert_eq!(changed["data"]["voteReviewHelpful"], json!({ "helpfulCount": 0, "unhelpfulCount": 1 }));
    let changed = w.app.gql(Some(&carol.access), VOTE, json!({ "id": bobs, "h": true })).await;
    assert_eq!(changed["data"]["voteReviewHelpful"], json!({ "helpfulCount": 1, "unhelpfulCount": 0 }));
    w.app.gql(Some(&carol.access), VOTE, json!({ "id": alices, "h": true })).await;

    let list = w.list(None, entry, "MOST_HELPFUL", 10, None).await;
    assert_eq!(handles(&list), ["alice", "bob"]);
    assert_eq!(list["edges"][0]["node"]["helpfulCount"], 2);
}

#[tokio::test]
async fn hidden_reviews_leave_the_aggregates_and_the_lists() {
    let w = world(1).await;
    let (alice, bob) = (w.app.verified("alice").await, w.app.verified("bob").await);
    let entry = &w.entries[0];
    let alices = w.reviewed(&alice, entry, 1).await;
    w.reviewed(&bob, entry, 5).await;
    assert_eq!(w.rating(entry).await["ratingAverage"], 3.0);

    let not_moderator = w.app.gql(Some(&bob.access), HIDE, json!({ "id": alices, "r": "spam" })).await;
    assert_eq!(code(&not_moderator), "FORBIDDEN");
    let no_reason = w.app.gql(Some(&w.admin.access), HIDE, json!({ "id": alices, "r": "  " })).await;
    assert_eq!(code(&no_reason), "BAD_USER_INPUT");
    let hidden = w.app.gql(Some(&w.admin.access), HIDE, json!({ "id": alices, "r": "spam" })).await;
    assert_eq!(hidden["data"]["hideReview"], json!({ "status": "HIDDEN", "statusReason": "spam" }), "{hidden}");
    let twice = w.app.gql(Some(&w.admin.access), HIDE, json!({ "id": alices, "r": "spam" })).await;
    assert_eq!(code(&twice), "CONFLICT");

    let rating = w.rating(entry).await;
    assert_eq!((&rating["ratingCount"], &rating["ratingAverage"]), (&json!(1), &json!(5.0)));
    assert_eq!(rating["ratingDistribution"], distribution([0, 0, 0, 0, 1]));
    assert_eq!(handles(&w.list(None, entry, "NEWEST", 10, None).await), ["bob"]);
    assert_eq!(handles(&w.list(Some(&bob), entry, "NEWEST", 10, None).await), ["bob"]);
    let own = w.list(Some(&alice), entry, "NEWEST", 10, None).await;
    assert_eq!(handles(&own), ["bob", "alice"], "the author still sees her hidden review");
    let nobody = w.app.gql(None, "query($id: ID!) { review(id: $id) { id } }", json!({ "id": alices })).await;
    assert_eq!(nobody["data"]["review"], Value::Null);
    let vote = w.app.gql(Some(&bob.access), VOTE, json!({ "id": alices, "h": true })).await;
    assert_eq!(code(&vote), "NOT_FOUND");

    // Editing doesn't undo the moderator's decision.
    assert_eq!(w.review(&alice, entry, 2).await["data"]["upsertReview"]["status"], "HIDDEN");
    assert_eq!(w.rating(entry).await["ratingCount"], 1);

    let shown = w.app.gql(Some(&w.admin.access), SHOW, json!({ "id": alices, "r": "appeal accepted" })).await;
    assert_eq!(shown["data"]["showReview"]["status"], "PUBLISHED", "{shown}");
    let rating = w.rating(entry).await;
    assert_eq!((&rating["ratingCount"], &rating["ratingAverage"]), (&json!(2), &json!(3.5)));
}

#[tokio::test]
async fn reviews_and_entries_page_by_cursor_in_every_order() {
    let w = world(3).await;
    let mut reviewers = Vec::new();
    for (handle, stars) in [("ann", 3), ("ben", 5), ("cat", 1), ("dan", 4), ("eve", 2)] {
        let who = w.app.verified(handle).await;
        w.reviewed(&who, &w.entries[0], stars).await;
        reviewers.push(who);
    }
    for (order, expected) in [
        ("HIGHEST", ["ben", "dan", "ann", "eve", "cat"]),
        ("LOWEST", ["cat", "eve", "ann", "dan", "ben"]),
        ("NEWEST", ["eve", "dan", "cat", "ben", "ann"]),
    ] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = w.list(None, &w.entries[0], order, 2, after.as_deref()).await;
            seen.extend(handles(&page));
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, expected, "{order}");
    }

    // Entry 2 has one 5-star review, entry 1 two 5-star reviews (more ratings first), entry 0 averages 3.
    w.reviewed(&reviewers[0], &w.entries[2], 5).await;
    w.reviewed(&reviewers[0], &w.entries[1], 5).await;
    w.reviewed(&reviewers[1], &w.entries[1], 5).await;
    let query = "query($a: String) { entries(orderBy: RATING, first: 2, after: $a) { edges { node { title ratingAverage ratingCount } } pageInfo { endCursor hasNextPage } } }";
    let first = w.app.gql(None, query, json!({})).await;
    let page = &first["data"]["entries"];
    assert_eq!(
        page["edges"],
        json!([
            { "node": { "title": "Place 001", "ratingAverage": 5.0, "ratingCount": 2 } },
            { "node": { "title": "Place 002", "ratingAverage": 5.0, "ratingCount": 1 } },
        ]),
        "{first}"
    );
    let second = w.app.gql(None, query, json!({ "a": page["pageInfo"]["endCursor"] })).await;
    assert_eq!(second["data"]["entries"]["edges"][0]["node"]["title"], "Place 000");
    assert_eq!(second["data"]["entries"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn concurrent_review_writes_keep_the_aggregates_exact() {
    let world = world(1).await;
    let w = &world;
    let entry = &w.entries[0];
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(w.app.verified(&format!("racer{i}")).await);
    }
    // Every user races the others through creates, edits, duplicate upserts and deletes.
    let races = users.iter().enumerate().map(|(i, user)| async move {
        let stars = |n: usize| (n % 5 + 1) as i32;
        let (a, b) = futures_util::join!(w.review(user, entry, stars(i)), w.review(user, entry, stars(i + 1)));
        assert!(a["errors"].is_null() && b["errors"].is_null(), "{a} {b}");
        let edited = w.review(user, entry, stars(i + 2)).await;
        let id = edited["data"]["upsertReview"]["id"].clone();
        if i % 3 == 0 {
            let deleted = w.app.gql(Some(&user.access), DELETE, json!({ "id": id })).await;
            assert_eq!(deleted["data"]["deleteReview"], true, "{deleted}");
        }
        if i % 4 == 1 {
            w.review(user, entry, stars(i + 3)).await;
        }
    });
    futures_util::future::join_all(races).await;

    let list = w.list(None, entry, "NEWEST", 100, None).await;
    let mut counts = [0i64; 5];
    for edge in list["edges"].as_array().unwrap() {
        counts[edge["node"]["rating"].as_i64().unwrap() as usize - 1] += 1;
    }
    let total: i64 = counts.iter().sum();
    assert_eq!(total, 9, "12 users, 4 deleted their review and 1 of them wrote a new one");
    let sum: i64 = counts.iter().zip(1..).map(|(n, stars)| n * stars).sum();
    let rating = w.rating(entry).await;
    assert_eq!(rating["ratingDistribution"], distribution(counts));
    assert_eq!(rating["ratingCount"], total);
    assert!((rating["ratingAverage"].as_f64().unwrap() - sum as f64 / total as f64).abs() < 1e-9, "{rating}");
}

#[tokio::test]
async fn entry_lists_with_reviews_run_the_same_statements_for_10_and_50_entries() {
    let w = world(50).await;
    let (alice, bob) = (w.app.verified("alice").await, w.app.verified("bob").await);
    let photo = w.app.upload(&bob.access, "photo.gif", xpr_tests::images::gif(1, 1, 1)).await;
    let photo = photo["data"]["uploadMedia"]["id"].clone();
    for (i, entry) in w.entries.iter().enumerate() {
        w.reviewed(&alice, entry, (i % 5 + 1) as i32).await;
        let input = json!({ "entryId": entry, "rating": 5, "mediaIds": [photo] });
        let body = w.app.gql(Some(&bob.access), UPSERT, json!({ "i": input })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let query = "query($n: Int) { entries(first: $n) { edges { node { title ratingAverage ratingDistribution { count } \
        reviews(first: 3, orderBy: HIGHEST) { edges { node { rating title media { url } author { handle } entry { title } } } } } } } }";
    let mut counts = Vec::new();
    for n in [10, 50] {
        let before = w.app.sql_statements().await;
        let body = w.app.gql(None, query, json!({ "n": n })).await;
        let edges = body["data"]["entries"]["edges"].as_array().unwrap_or_else(|| panic!("{body}"));
        assert_eq!(edges.len(), n as usize);
        assert_eq!(handles(&edges[0]["node"]["reviews"]).len(), 2);
        let top = &edges[0]["node"]["reviews"]["edges"][0]["node"];
        assert_eq!(
            (&top["author"]["handle"], &top["media"][0]["url"]),
            (&json!("bob"), &json!(format!("/media/{}", photo.as_str().unwrap())))
        );
        counts.push(w.app.sql_statements().await - before);
    }
    println!("statements for 10 and 50 entries with reviews: {counts:?}");
    assert_eq!(counts[0], counts[1], "statements must not grow with the page size: {counts:?}");

    // Users found at three levels (creators, revision authors, review authors) are read in one statement.
    let statements = async |query: &str| {
        let before = w.app.sql_statements().await;
        let body = w.app.gql(None, query, json!({})).await;
        assert_eq!(body["data"]["entries"]["edges"].as_array().map(Vec::len), Some(20), "{body}");
        w.app.sql_statements().await - before
    };
    let without_users = statements(
        "{ entries(first: 20) { edges { node { currentRevision { number } reviews(first: 3) { edges { node { rating } } } } } } }",
    )
    .await;
    let with_users = statements(
        "{ entries(first: 20) { edges { node { creator { handle } currentRevision { number author { handle } } \
        reviews(first: 3) { edges { node { rating author { handle } } } } } } } }",
    )
    .await;
    assert_eq!(with_users, without_users + 1, "one read of users for all levels");

    // An empty first page still tells whether reviews follow.
    let empty = "{ entries(first: 2) { edges { node { reviews(first: 0) { edges { node { rating } } pageInfo { hasNextPage } } } } } }";
    let body = w.app.gql(None, empty, json!({})).await;
    for edge in body["data"]["entries"]["edges"].as_array().unwrap_or_else(|| panic!("{body}")) {
        assert_eq!(edge["node"]["reviews"], json!({ "edges": [], "pageInfo": { "hasNextPage": true } }));
    }
}

const QUEUE: &str = "query($n: Int, $a: String) { reviewQueue(first: $n, after: $a) { \
    edges { node { id status body author { handle } entry { id } } } pageInfo { hasNextPage endCursor } } }";

/// A moderator, Alice, Bob and a blocked term; returns (moderator, alice, bob).
async fn held_reviews_world(w: &World) -> (Actor, Actor, Actor) {
    let moderator = w.app.verified("mod_one").await;
    let set = "mutation($u: ID!) { setUserRole(userId: $u, role: MODERATOR) { role } }";
    let body = w.app.gql(Some(&w.admin.access), set, json!({ "u": moderator.id })).await;
    assert_eq!(body["data"]["setUserRole"]["role"], "MODERATOR", "{body}");
    let add = "mutation { addBlocklistEntry(kind: TERM, value: \"free gold\") { id } }";
    assert!(w.app.gql(Some(&w.admin.access), add, json!({})).await["errors"].is_null());
    (moderator, w.app.verified("alice").await, w.app.verified("bob").await)
}

async fn held_review(w: &World, who: &Actor, entry: &str) -> String {
    let input = json!({ "entryId": entry, "rating": 5, "body": "FREE GOLD inside!" });
    let body = w.app.gql(Some(&who.access), UPSERT, json!({ "i": input })).await;
    assert_eq!(body["data"]["upsertReview"]["status"], "PENDING", "{body}");
    body["data"]["upsertReview"]["id"].as_str().unwrap().to_owned()
}

fn ids(queue: &Value) -> Vec<&str> {
    queue["data"]["reviewQueue"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{queue}"))
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn only_moderators_read_the_review_queue() {
    let w = world(1).await;
    let (_, alice, _) = held_reviews_world(&w).await;
    held_review(&w, &alice, &w.entries[0]).await;
    assert_eq!(code(&w.app.gql(Some(&alice.access), QUEUE, json!({})).await), "FORBIDDEN", "not even the author");
    assert_eq!(code(&w.app.gql(None, QUEUE, json!({})).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn held_reviews_queue_oldest_first_and_showing_one_takes_it_off_and_tells_the_entry_creator_once() {
    let w = world(2).await;
    let (moderator, alice, bob) = held_reviews_world(&w).await;
    let first = held_review(&w, &alice, &w.entries[0]).await;
    let second = held_review(&w, &bob, &w.entries[0]).await;
    let third = held_review(&w, &alice, &w.entries[1]).await;
    w.reviewed(&bob, &w.entries[1], 4).await;

    let page = w.app.gql(Some(&moderator.access), QUEUE, json!({ "n": 2 })).await;
    assert_eq!(ids(&page), [first.as_str(), second.as_str()], "oldest first: {page}");
    let node = &page["data"]["reviewQueue"]["edges"][0]["node"];
    assert_eq!(
        (&node["status"], &node["body"], &node["author"]["handle"], &node["entry"]["id"]),
        (&json!("PENDING"), &json!("FREE GOLD inside!"), &json!("alice"), &json!(w.entries[0]))
    );
    assert_eq!(page["data"]["reviewQueue"]["pageInfo"]["hasNextPage"], true);
    let cursor = page["data"]["reviewQueue"]["pageInfo"]["endCursor"].clone();
    let rest = w.app.gql(Some(&moderator.access), QUEUE, json!({ "n": 2, "a": cursor })).await;
    assert_eq!(ids(&rest), [third.as_str()], "{rest}");
    assert_eq!(rest["data"]["reviewQueue"]["pageInfo"]["hasNextPage"], false);

    let notifications = "{ notifications(first: 50) { edges { node { kind subjectId } } } }";
    let about = |body: &Value, review: &str| {
        body["data"]["notifications"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|e| e["node"]["kind"] == "REVIEW_ON_YOUR_ENTRY" && e["node"]["subjectId"] == review)
            .count()
    };
    let before = w.app.gql(Some(&w.admin.access), notifications, json!({})).await;
    assert_eq!(about(&before, &first), 0, "a held review is no news yet: {before}");

    let shown = w.app.gql(Some(&moderator.access), SHOW, json!({ "id": first, "r": "false positive" })).await;
    assert_eq!(shown["data"]["showReview"]["status"], "PUBLISHED", "{shown}");
    let hidden = w.app.gql(Some(&moderator.access), HIDE, json!({ "id": second, "r": "spam" })).await;
    assert_eq!(hidden["data"]["hideReview"]["status"], "HIDDEN", "{hidden}");
    let queue = w.app.gql(Some(&moderator.access), QUEUE, json!({})).await;
    assert_eq!(ids(&queue), [third.as_str()], "shown and hidden reviews leave the queue");

    // Hidden and shown again: still one notification.
    w.app.gql(Some(&moderator.access), HIDE, json!({ "id": first, "r": "second thoughts" })).await;
    w.app.gql(Some(&moderator.access), SHOW, json!({ "id": first, "r": "appeal accepted" })).await;
    let after = w.app.gql(Some(&w.admin.access), notifications, json!({})).await;
    assert_eq!(about(&after, &first), 1, "the entry's creator hears of it once: {after}");
    assert_eq!(about(&after, &second), 0, "a hidden one is never news");
}
