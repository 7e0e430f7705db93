//! Long histories: keyset paging over 10,000 revisions, and archiving.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, Statement};
use serde_json::{Value, json};
use xpr_tests::{Actor, TestApp};

const PAGE: &str = "query($id: ID!, $a: String) { entry(id: $id) { history(first: 20, after: $a) { edges { node { number archived } } pageInfo { endCursor } } } }";

async fn entry_with_one_revision(app: &TestApp, admin: &Actor) -> String {
    let kind = json!({ "i": { "slug": "ship", "name": "Ship", "attributeSchema": {} } });
    app.gql(Some(&admin.access), "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }", kind).await;
    let create = json!({ "i": { "title": "New", "changes": [{ "op": "CREATE", "kind": "ship", "fields": { "slug": "aurora", "title": "v1" } }] } });
    let submission = app
        .gql(Some(&admin.access), "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }", create)
        .await;
    let id = submission["data"]["createSubmission"]["id"].clone();
    // An admin's submission merges on submit: it passes every check.
    let merged = app
        .gql(
            Some(&admin.access),
            "mutation($id: ID!) { submitForReview(submissionId: $id) { status changes { entry { id } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(merged["data"]["submitForReview"]["status"], "MERGED", "{merged}");
    merged["data"]["submitForReview"]["changes"][0]["entry"]["id"].as_str().unwrap().to_owned()
}

/// Appends revisions 2..=n straight into the tables (seeding, as an import would).
async fn seed_revisions(app: &TestApp, entry_uuid: &str, n: i32) {
    use xpr_entity::{entry, revision};
    let db = app.db();
    let entry =
        xpr_api::modules::content::selectors::entry_by_uuid(db, entry_uuid.parse().unwrap()).await.unwrap().unwrap();
    let old = chrono::Utc::now() - chrono::Duration::days(400);
    for chunk in (2..=n).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|number| revision::ActiveModel {
            uuid: Set(uuid::Uuid::now_v7()),
            entry_id: Set(entry.id),
            number: Set(*number),
            author_id: Set(entry.created_by),
            summary: Set(format!("edit {number}")),
            snapshot: Set(json!({ "slug": "aurora", "title": format!("v{number}") })),
            created_at: Set(old),
            archived: Set(false),
            ..Default::default()
        });
        revision::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    let last = revision::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(&revision::Column::EntryId, entry.id))
        .filter(sea_orm::ColumnTrait::eq(&revision::Column::Number, n))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut active: entry::ActiveModel = entry.into();
    active.version = Set(n);
    active.current_revision_id = Set(Some(last.id));
    active.title = Set(format!("v{n}"));
    sea_orm::ActiveModelTrait::update(active, db).await.unwrap();
}

use sea_orm::QueryFilter;

fn numbers(body: &Value) -> Vec<i64> {
    body["data"]["entry"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["number"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_10000_revision_history_pages_by_index_at_any_depth() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let id = entry_with_one_revision(&app, &admin).await;
    seed_revisions(&app, &id, 10_000).await;

    let before = app.sql_statements().await;
    let first = app.gql(None, PAGE, json!({ "id": id })).await;
    let first_cost = app.sql_statements().await - before;
    assert_eq!(numbers(&first), (9981..=10_000).rev().collect::<Vec<_>>());

    // Walk to the middle through cursors, then measure a deep page.
    let mut cursor = first["data"]["entry"]["history"]["pageInfo"]["endCursor"].clone();
    for _ in 0..3 {
        let page = app.gql(None, PAGE, json!({ "id": id, "a": cursor })).await;
        cursor = page["data"]["entry"]["history"]["pageInfo"]["endCursor"].clone();
    }
    let before = app.sql_statements().await;
    let deep = app.gql(None, PAGE, json!({ "id": id, "a": cursor })).await;
    assert_eq!(app.sql_statements().await - before, first_cost, "a deep page costs what the first does");
    assert_eq!(numbers(&deep), (9901..=9920).rev().collect::<Vec<_>>());

    if app.db().get_database_backend() == DbBackend::Postgres {
        app.db().execute_unprepared("ANALYZE revisions").await.unwrap();
        let plan = app
            .db()
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "EXPLAIN SELECT id, number FROM revisions WHERE entry_id = (SELECT id FROM entries LIMIT 1) AND number < 5000 ORDER BY number DESC LIMIT 21",
            ))
            .await
            .unwrap();
        let plan: Vec<String> = plan.iter().map(|row| row.try_get_by_index::<String>(0).unwrap()).collect();
        assert!(
            plan.iter().any(|line| line.contains("uq_revisions_entry_number")),
            "history pages use the (entry, number) index: {plan:?}"
        );
    }
}

#[tokio::test]
async fn archived_revisions_stay_readable_and_flagged() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let id = entry_with_one_revision(&app, &admin).await;
    seed_revisions(&app, &id, 30).await;

    let cutoff = chrono::Utc::now() - chrono::Duration::days(365);
    let archived = xpr_api::modules::versioning::service::archive_history(app.db(), cutoff, 10, 7, |_| {})
        .await
        .unwrap_or_else(|_| panic!("archive"));
    // Revision 1 is new (made through the API); 2..=20 are old and beyond the newest 10.
    assert_eq!(archived, 19);
    let again = xpr_api::modules::versioning::service::archive_history(app.db(), cutoff, 10, 7, |_| {})
        .await
        .unwrap_or_else(|_| panic!("archive"));
    assert_eq!(again, 0, "archiving twice moves nothing");

    let page = app.gql(None, "query($id: ID!) { entry(id: $id) { history(first: 100) { edges { node { number archived snapshot { title } } } } } }", json!({ "id": id })).await;
    let edges = page["data"]["entry"]["history"]["edges"].as_array().unwrap();
    for edge in edges {
        let number = edge["node"]["number"].as_i64().unwrap();
        assert_eq!(edge["node"]["archived"], (2..=20).contains(&number), "revision {number}");
        assert_eq!(edge["node"]["snapshot"]["title"], format!("v{number}"), "revision {number} is readable");
    }
    let past = app
        .gql(None, "query($id: ID!) { entry(id: $id, at: { revision: 5 }) { title revisionShown { archived } } old: entry(id: $id) { from: revision(number: 4) { id } to: revision(number: 25) { id } } }", json!({ "id": id }))
        .await;
    assert_eq!(past["data"]["entry"]["title"], "v5");
    assert_eq!(past["data"]["entry"]["revisionShown"]["archived"], true);
    let (from, to) = (&past["data"]["old"]["from"]["id"], &past["data"]["old"]["to"]["id"]);
    let diff = app
        .gql(
            None,
            "query($f: ID!, $t: ID!) { diff(from: $f, to: $t) { changes { field before after } } }",
            json!({ "f": from, "t": to }),
        )
        .await;
    assert_eq!(
        diff["data"]["diff"]["changes"],
        json!([{ "field": "title", "before": "v4", "after": "v25" }]),
        "archived against live"
    );
}

#[tokio::test]
async fn a_cached_history_page_shows_revisions_archived_after_it_was_cached() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let id = entry_with_one_revision(&app, &admin).await;
    seed_revisions(&app, &id, 30).await;
    let query = "query($id: ID!) { entry(id: $id) { history(first: 50) { edges { node { number archived } } } } }";
    let archived = |body: &Value| -> Vec<i64> {
        body["data"]["entry"]["history"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|e| e["node"]["archived"] == true)
            .map(|e| e["node"]["number"].as_i64().unwrap())
            .collect()
    };
    for _ in 0..2 {
        // The second read is served from the cache.
        assert_eq!(archived(&app.gql(None, query, json!({ "id": id })).await), Vec::<i64>::new());
    }

    let cutoff = chrono::Utc::now() - chrono::Duration::days(365);
    let moved = xpr_api::modules::versioning::service::archive_history(app.db(), cutoff, 10, 7, |_| {})
        .await
        .unwrap_or_else(|_| panic!("archive"));
    assert_eq!(moved, 19);
    let after = app.gql(None, query, json!({ "id": id })).await;
    assert_eq!(archived(&after), (2..=20).rev().collect::<Vec<_>>(), "no stale page after archiving");
}
