//! Content and versioning through the API: kinds, entries, submissions,
//! three-way merges, conflicts, history, diffs and reverts.

use serde_json::{Value, json};
use xpr_tests::{Actor, TestApp, code};

const SHIP_SCHEMA: &str =
    r#"{"type":"object","properties":{"crew":{"type":"integer","minimum":1},"class":{"type":"string"}}}"#;

const CREATE_SUBMISSION: &str =
    "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id status changes { id op } } }";
const SUBMIT: &str = "mutation($id: ID!) { submitForReview(submissionId: $id) { id status } }";
const APPROVE: &str = "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged submission { status } \
    revisions { number entry { id } } conflicts { changeId field base ours theirs } } }";
const ENTRY: &str = "query($id: ID!) { entry(id: $id) { id slug title summary body attributes tags version deleted \
    parent { id } links { type entry { id } } history { edges { node { number } } } } }";

struct World {
    app: TestApp,
    admin: Actor,
    alice: Actor,
    bob: Actor,
}

async fn world() -> World {
    world_with(&[]).await
}

async fn world_with(args: &[&str]) -> World {
    let app = TestApp::spawn_with(args).await;
    let admin = app.admin("root_admin").await;
    let alice = app.verified("alice").await;
    let bob = app.verified("bob").await;
    for (slug, parents) in [("location", json!([])), ("ship", json!(["location"]))] {
        let body = app
            .gql(
                Some(&admin.access),
                "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }",
                json!({ "i": { "slug": slug, "name": slug, "attributeSchema": serde_json::from_str::<Value>(SHIP_SCHEMA).unwrap(), "allowedParentKinds": parents } }),
            )
            .await;
        assert_eq!(body["data"]["createEntryKind"]["slug"], slug, "{body}");
    }
    World { app, admin, alice, bob }
}

impl World {
    async fn gql(&self, who: &Actor, query: &str, variables: Value) -> Value {
        self.app.gql(Some(&who.access), query, variables).await
    }

    /// Opens and submits a submission of `changes` by `who`; returns its id.
    async fn submit(&self, who: &Actor, changes: Value) -> String {
        let body = self.gql(who, CREATE_SUBMISSION, json!({ "i": { "title": "An edit", "changes": changes } })).await;
        let id = body["data"]["createSubmission"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
        let submitted = self.gql(who, SUBMIT, json!({ "id": id })).await;
        assert_eq!(submitted["data"]["submitForReview"]["status"], "PENDING", "{submitted}");
        id
    }

    async fn approve(&self, submission: &str) -> Value {
        let body = self.gql(&self.admin, APPROVE, json!({ "id": submission })).await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["approveSubmission"].clone()
    }

    /// Creates an entry through a merged submission; returns its id.
    async fn create(&self, kind: &str, fields: Value) -> String {
        let submission = self.submit(&self.alice, json!([{ "op": "CREATE", "kind": kind, "fields": fields }])).await;
        let result = self.approve(&submission).await;
        assert_eq!(result["merged"], true, "{result}");
        result["revisions"][0]["entry"]["id"].as_str().unwrap().to_owned()
    }

    async fn entry(&self, id: &str) -> Value {
        self.app.gql(None, ENTRY, json!({ "id": id })).await["data"]["entry"].clone()
    }

    fn update(entry: &str, base: i32, fields: Value) -> Value {
        json!([{ "op": "UPDATE", "entryId": entry, "baseRevision": base, "fields": fields }])
    }
}

#[tokio::test]
async fn an_entry_is_created_edited_and_read_in_the_past() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora", "body": "A ship.\n", "attributes": { "crew": 3 }, "tags": ["Starter"] })).await;
    let entry = w.entry(&id).await;
    assert_eq!(entry["title"], "Aurora");
    assert_eq!(entry["version"], 1);
    assert_eq!(entry["tags"], json!(["starter"]));

    let by_slug =
        w.app.gql(None, "{ entry(kind: \"ship\", slug: \"aurora\") { id creator { handle } } }", json!({})).await;
    assert_eq!(by_slug["data"]["entry"]["id"], id.as_str());
    assert_eq!(by_slug["data"]["entry"]["creator"]["handle"], "alice");

    let edit = w.submit(&w.bob, World::update(&id, 1, json!({ "title": "Aurora II" }))).await;
    assert_eq!(w.approve(&edit).await["revisions"][0]["number"], 2);
    let entry = w.entry(&id).await;
    assert_eq!(entry["title"], "Aurora II");
    assert_eq!(entry["history"]["edges"].as_array().unwrap().len(), 2);

    let past = w
        .app
        .gql(None, "query($id: ID!) { entry(id: $id, at: { revision: 1 }) { title version } }", json!({ "id": id }))
        .await;
    assert_eq!(past["data"]["entry"]["title"], "Aurora");
    assert_eq!(past["data"]["entry"]["version"], 1);
    let long_ago = w
        .app
        .gql(
            None,
            "query($id: ID!) { entry(id: $id, at: { instant: \"2000-01-01T00:00:00Z\" }) { title } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(long_ago["data"]["entry"], Value::Null, "nothing existed then");

    let diff = w
        .app
        .gql(None, "query($id: ID!) { entry(id: $id) { currentRevision { author { handle } merger { handle } diff { changes { field kind before after } } } } }", json!({ "id": id }))
        .await;
    let revision = &diff["data"]["entry"]["currentRevision"];
    assert_eq!(revision["author"]["handle"], "bob");
    assert_eq!(revision["merger"]["handle"], "root_admin");
    assert_eq!(
        revision["diff"]["changes"],
        json!([{ "field": "title", "kind": "MODIFIED", "before": "Aurora", "after": "Aurora II" }])
    );

    let node =
        w.app.gql(None, "query($id: ID!) { node(id: $id) { ... on Entry { title } } }", json!({ "id": id })).await;
    assert_eq!(node["data"]["node"]["title"], "Aurora II");
}

#[tokio::test]
async fn concurrent_edits_of_different_fields_and_lines_merge() {
    let w = world().await;
    let body = "line one\nline two\nline three\nline four\nline five\n";
    let id = w
        .create(
            "ship",
            json!({ "slug": "aurora", "title": "Aurora", "body": body, "tags": ["a"], "attributes": { "crew": 3 } }),
        )
        .await;
    let first = w
        .submit(
            &w.alice,
            World::update(
                &id,
                1,
                json!({ "title": "Aurora II", "body": body.replace("line one", "LINE ONE"), "tags": ["a", "b"] }),
            ),
        )
        .await;
    let second = w
        .submit(&w.bob, World::update(&id, 1, json!({ "body": body.replace("line five", "LINE FIVE"), "tags": [], "attributes": { "crew": 3, "class": "light" } })))
        .await;
    assert_eq!(w.approve(&first).await["merged"], true);
    let merged = w.approve(&second).await;
    assert_eq!(merged["merged"], true, "{merged}");
    let entry = w.entry(&id).await;
    assert_eq!(entry["title"], "Aurora II", "one-sided change kept");
    assert_eq!(entry["body"], "LINE ONE\nline two\nline three\nline four\nLINE FIVE\n", "line-wise merge");
    assert_eq!(entry["tags"], json!(["b"]), "sets merge adds and removes from both sides");
    assert_eq!(entry["attributes"], json!({ "crew": 3, "class": "light" }));
    assert_eq!(entry["version"], 3);
}

#[tokio::test]
async fn an_append_at_the_end_merges_with_a_rewrite_above_and_a_neighbouring_edit_conflicts() {
    let w = world().await;
    let (body, summary) = ("## Stops\n\n- TBD\n- TBD\n- TBD\n", "Hauls ore.\nSlow.\n");
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora", "summary": summary, "body": body })).await;
    let appended = format!("{body}\nEvery stop is optional.\n");
    let append = w
        .submit(&w.alice, World::update(&id, 1, json!({ "body": appended, "summary": "Hauls ore.\nSlow.\nLoud.\n" })))
        .await;
    // The rewritten line has copies of itself below it, down to the appended paragraph.
    let rewritten = "## Stops\n\n- TBD\n- Olympus\n- TBD\n";
    let rewrite =
        w.submit(&w.bob, World::update(&id, 1, json!({ "body": rewritten, "summary": "Hauls gas.\nSlow.\n" }))).await;
    let last_line = "## Stops\n\n- TBD\n- TBD\n- Terra\n";
    let neighbour = w.submit(&w.bob, World::update(&id, 1, json!({ "body": last_line }))).await;
    assert_eq!(w.approve(&append).await["merged"], true);
    let merged = w.approve(&rewrite).await;
    assert_eq!(merged["merged"], true, "{merged}");
    let entry = w.entry(&id).await;
    let both = "## Stops\n\n- TBD\n- Olympus\n- TBD\n\nEvery stop is optional.\n";
    assert_eq!((&entry["body"], &entry["summary"]), (&json!(both), &json!("Hauls gas.\nSlow.\nLoud.\n")));

    // The line right above the appended paragraph: a conflict, with all three bodies.
    let result = w.approve(&neighbour).await;
    assert_eq!(result["submission"]["status"], "CONFLICTED", "{result}");
    let conflict = &result["conflicts"][0];
    assert_eq!((&conflict["field"], &conflict["base"]), (&json!("body"), &json!(body)));
    assert_eq!((&conflict["ours"], &conflict["theirs"]), (&json!(last_line), &json!(both)));
}

#[tokio::test]
async fn conflicting_edits_change_nothing_until_resolved() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora" })).await;
    let first = w.submit(&w.alice, World::update(&id, 1, json!({ "title": "Dawn" }))).await;
    let second = w.submit(&w.bob, World::update(&id, 1, json!({ "title": "Sunrise", "summary": "Renamed" }))).await;
    w.approve(&first).await;
    let result = w.approve(&second).await;
    assert_eq!(result["merged"], false);
    assert_eq!(result["submission"]["status"], "CONFLICTED");
    assert_eq!(result["conflicts"][0]["field"], "title");
    assert_eq!(result["conflicts"][0]["base"], "Aurora");
    assert_eq!(result["conflicts"][0]["ours"], "Sunrise");
    assert_eq!(result["conflicts"][0]["theirs"], "Dawn");
    let entry = w.entry(&id).await;
    assert_eq!(
        (entry["title"].as_str(), entry["summary"].as_str(), entry["version"].as_i64()),
        (Some("Dawn"), Some(""), Some(2))
    );

    let change = result["conflicts"][0]["changeId"].clone();
    let resolve = "mutation($i: ResolveConflictInput!) { resolveConflict(input: $i) { conflicts { field } } }";
    let not_yours =
        w.gql(&w.alice, resolve, json!({ "i": { "changeId": change, "field": "title", "resolution": "OURS" } })).await;
    assert_eq!(code(&not_yours), "NOT_FOUND", "only the author resolves");
    let no_conflict =
        w.gql(&w.bob, resolve, json!({ "i": { "changeId": change, "field": "body", "resolution": "OURS" } })).await;
    assert_eq!(code(&no_conflict), "BAD_USER_INPUT");
    let resolved = w
        .gql(
            &w.bob,
            resolve,
            json!({ "i": { "changeId": change, "field": "title", "resolution": "CUSTOM", "value": "Dawn Sunrise" } }),
        )
        .await;
    assert_eq!(resolved["data"]["resolveConflict"]["conflicts"], json!([]), "{resolved}");
    let status = w.gql(&w.bob, "query($id: ID!) { submission(id: $id) { status } }", json!({ "id": second })).await;
    assert_eq!(status["data"]["submission"]["status"], "PENDING");
    assert_eq!(w.approve(&second).await["merged"], true);
    let entry = w.entry(&id).await;
    assert_eq!(entry["title"], "Dawn Sunrise");
    assert_eq!(entry["summary"], "Renamed");
    assert_eq!(entry["version"], 3);
}

#[tokio::test]
async fn rebasing_moves_changes_onto_the_current_revision() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora" })).await;
    let mine = w
        .gql(
            &w.bob,
            CREATE_SUBMISSION,
            json!({ "i": { "title": "Summary", "changes": World::update(&id, 1, json!({ "summary": "Fast" })) } }),
        )
        .await;
    let mine = mine["data"]["createSubmission"]["id"].as_str().unwrap().to_owned();
    let other = w.submit(&w.alice, World::update(&id, 1, json!({ "title": "Dawn" }))).await;
    w.approve(&other).await;
    let rebased = w.gql(&w.bob, "mutation($id: ID!) { rebaseSubmission(submissionId: $id) { status changes { baseRevision { number } fields } } }", json!({ "id": mine })).await;
    let change = &rebased["data"]["rebaseSubmission"]["changes"][0];
    assert_eq!(change["baseRevision"]["number"], 2, "{rebased}");
    assert_eq!(change["fields"], json!({ "summary": "Fast" }));
    assert_eq!(rebased["data"]["rebaseSubmission"]["status"], "DRAFT");
}

#[tokio::test]
async fn a_conflicted_draft_stays_a_draft_until_resolved_and_submitted() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora" })).await;
    let draft = w
        .gql(
            &w.bob,
            CREATE_SUBMISSION,
            json!({ "i": { "title": "Rename", "changes": World::update(&id, 1, json!({ "title": "Bob's" })) } }),
        )
        .await;
    let draft = draft["data"]["createSubmission"]["id"].as_str().unwrap().to_owned();
    let other = w.submit(&w.alice, World::update(&id, 1, json!({ "title": "Alice's" }))).await;
    w.approve(&other).await;
    let rebase =
        "mutation($id: ID!) { rebaseSubmission(submissionId: $id) { status changes { id conflicts { field } } } }";
    let rebased = w.gql(&w.bob, rebase, json!({ "id": draft })).await;
    assert_eq!(rebased["data"]["rebaseSubmission"]["status"], "DRAFT", "a draft never skips submit: {rebased}");
    let change = rebased["data"]["rebaseSubmission"]["changes"][0]["id"].clone();
    assert_eq!(rebased["data"]["rebaseSubmission"]["changes"][0]["conflicts"], json!([{ "field": "title" }]));
    let early = w.gql(&w.bob, SUBMIT, json!({ "id": draft })).await;
    assert_eq!(code(&early), "BAD_USER_INPUT", "conflicts first");
    let resolve = "mutation($i: ResolveConflictInput!) { resolveConflict(input: $i) { id conflicts { field } } }";
    let resolved =
        w.gql(&w.bob, resolve, json!({ "i": { "changeId": change, "field": "title", "resolution": "OURS" } })).await;
    assert_eq!(resolved["data"]["resolveConflict"]["conflicts"], json!([]), "{resolved}");
    let status = w.gql(&w.bob, "query($id: ID!) { submission(id: $id) { status } }", json!({ "id": draft })).await;
    assert_eq!(status["data"]["submission"]["status"], "DRAFT");
    assert_eq!(w.gql(&w.bob, SUBMIT, json!({ "id": draft })).await["data"]["submitForReview"]["status"], "PENDING");
    assert_eq!(w.approve(&draft).await["merged"], true);
    assert_eq!(w.entry(&id).await["title"], "Bob's");
}

#[tokio::test]
async fn a_create_whose_slug_was_taken_stays_conflicted_through_a_rebase() {
    let w = world().await;
    let create = json!([{ "op": "CREATE", "kind": "ship", "fields": { "slug": "twin", "title": "Twin" } }]);
    let first = w.submit(&w.alice, create.clone()).await;
    let second = w.submit(&w.bob, create).await;
    w.approve(&first).await;
    assert_eq!(w.approve(&second).await["submission"]["status"], "CONFLICTED");
    let rebase = "mutation($id: ID!) { rebaseSubmission(submissionId: $id) { status } }";
    assert_eq!(
        w.gql(&w.bob, rebase, json!({ "id": second })).await["data"]["rebaseSubmission"]["status"],
        "CONFLICTED"
    );
}

#[tokio::test]
async fn deleting_is_a_revision_and_reverting_restores() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora" })).await;
    let delete = w.submit(&w.alice, json!([{ "op": "DELETE", "entryId": id, "baseRevision": 1 }])).await;
    w.approve(&delete).await;
    let entry = w.entry(&id).await;
    assert_eq!(entry["deleted"], true);
    assert_eq!(entry["version"], 2);
    let listed = w.app.gql(None, "{ entries(filter: { kind: \"ship\" }) { edges { node { id } } } }", json!({})).await;
    assert_eq!(listed["data"]["entries"]["edges"], json!([]), "deleted entries leave lists");

    let patch_deleted = w
        .gql(
            &w.bob,
            CREATE_SUBMISSION,
            json!({ "i": { "title": "x", "changes": World::update(&id, 2, json!({ "title": "Ghost" })) } }),
        )
        .await;
    assert_eq!(code(&patch_deleted), "BAD_USER_INPUT", "no patch against a deleted entry");

    let revert = w
        .gql(&w.bob, "mutation($id: ID!) { revertEntry(entryId: $id, toRevision: 1, reason: \"deleted by mistake\") { id status } }", json!({ "id": id }))
        .await;
    assert_eq!(revert["data"]["revertEntry"]["status"], "PENDING", "{revert}");
    w.approve(revert["data"]["revertEntry"]["id"].as_str().unwrap()).await;
    let entry = w.entry(&id).await;
    assert_eq!(entry["deleted"], false);
    assert_eq!(entry["title"], "Aurora");
    assert_eq!(entry["version"], 3);
}

#[tokio::test]
async fn invalid_changes_are_refused_field_by_field() {
    let w = world().await;
    let create = |fields: Value| json!({ "i": { "title": "New", "changes": [{ "op": "CREATE", "kind": "ship", "fields": fields }] } });
    let bad_attr = w
        .gql(&w.alice, CREATE_SUBMISSION, create(json!({ "slug": "a", "title": "A", "attributes": { "crew": 0 } })))
        .await;
    assert_eq!(code(&bad_attr), "BAD_USER_INPUT");
    assert_eq!(bad_attr["errors"][0]["extensions"]["fields"][0]["field"], "changes.0.fields.attributes.crew");
    // An `integer` it could only store as a float is refused too.
    let huge = w
        .gql(&w.alice, CREATE_SUBMISSION, create(json!({ "slug": "a", "title": "A", "attributes": { "crew": 1e30 } })))
        .await;
    assert_eq!(huge["errors"][0]["extensions"]["fields"][0]["field"], "changes.0.fields.attributes.crew", "{huge}");
    let bad_slug = w.gql(&w.alice, CREATE_SUBMISSION, create(json!({ "slug": "Not A Slug", "title": "A" }))).await;
    assert_eq!(bad_slug["errors"][0]["extensions"]["fields"][0]["field"], "changes.0.fields.slug");
    let unknown_kind = w.gql(&w.alice, CREATE_SUBMISSION, json!({ "i": { "title": "x", "changes": [{ "op": "CREATE", "kind": "nope", "fields": { "slug": "a", "title": "A" } }] } })).await;
    assert_eq!(code(&unknown_kind), "BAD_USER_INPUT");

    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora" })).await;
    let duplicate = w.gql(&w.bob, CREATE_SUBMISSION, create(json!({ "slug": "aurora", "title": "Another" }))).await;
    assert_eq!(duplicate["errors"][0]["extensions"]["fields"][0]["field"], "changes.0.fields.slug");
    let stale = w
        .gql(
            &w.bob,
            CREATE_SUBMISSION,
            json!({ "i": { "title": "x", "changes": World::update(&id, 7, json!({ "title": "B" })) } }),
        )
        .await;
    assert_eq!(stale["errors"][0]["extensions"]["fields"][0]["field"], "changes.0.baseRevision");
    let wrong_parent = w
        .gql(
            &w.bob,
            CREATE_SUBMISSION,
            json!({ "i": { "title": "x", "changes": World::update(&id, 1, json!({ "parentId": id })) } }),
        )
        .await;
    assert_eq!(code(&wrong_parent), "BAD_USER_INPUT", "not its own parent, and ships can't parent ships");
    let anonymous = w.app.gql(None, CREATE_SUBMISSION, create(json!({ "slug": "b", "title": "B" }))).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    let count = w.app.gql(None, "{ entries { edges { node { slug } } } }", json!({})).await;
    assert_eq!(count["data"]["entries"]["edges"].as_array().unwrap().len(), 1, "nothing else was created");
}

/// The `field` of every error about a change, in order.
fn field_paths(body: &Value) -> Vec<&str> {
    let fields = body["errors"][0]["extensions"]["fields"].as_array();
    fields.unwrap_or_else(|| panic!("field errors in {body}")).iter().map(|f| f["field"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn field_errors_name_the_changes_input_path_whichever_step_finds_them() {
    let w = world().await;
    let harbor = w.create("location", json!({ "slug": "harbor", "title": "Harbor" })).await;
    let aurora = w.create("ship", json!({ "slug": "aurora", "title": "Aurora" })).await;
    let create = |changes: Value| json!({ "i": { "title": "Edits", "changes": changes } });
    let ok = json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": "nova", "title": "Nova" } });
    // Input parsing, validation and the checks all name `changes.N.fields.<input name>`.
    let cases = [
        (json!({ "op": "UPDATE", "entryId": "nope", "baseRevision": 1 }), "changes.1.entryId"),
        (
            json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": "x", "title": "X", "parentId": "nope" } }),
            "changes.1.fields.parentId",
        ),
        (
            json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": "x", "title": "X", "parentId": aurora } }),
            "changes.1.fields.parentId",
        ),
        (
            json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": "x", "title": "X", "attributes": [1] } }),
            "changes.1.fields.attributes",
        ),
        (json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": "x", "title": "" } }), "changes.1.fields.title"),
        (
            json!({ "op": "UPDATE", "entryId": aurora, "baseRevision": 1, "fields": { "title": "Aurora" } }),
            "changes.1.fields",
        ),
    ];
    for (change, path) in cases {
        let body = w.gql(&w.alice, CREATE_SUBMISSION, create(json!([ok, change]))).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(field_paths(&body)[0], path, "{body}");
    }
    let media = json!({ "op": "UPDATE", "entryId": aurora, "baseRevision": 1, "fields": { "mediaIds": [harbor] } });
    let body = w.gql(&w.alice, CREATE_SUBMISSION, create(json!([ok, media]))).await;
    assert_eq!(field_paths(&body), ["changes.1.fields.mediaIds"], "not an upload of hers: {body}");
    let twice = json!({ "op": "UPDATE", "entryId": aurora, "baseRevision": 1, "fields": { "title": "Two" } });
    let body = w.gql(&w.alice, CREATE_SUBMISSION, create(json!([twice, twice]))).await;
    assert_eq!(field_paths(&body), ["changes.1.entryId"], "one change per entry: {body}");

    // A change given as an argument is `change`.
    let draft = w.gql(&w.alice, CREATE_SUBMISSION, create(json!([ok]))).await;
    let draft = draft["data"]["createSubmission"]["id"].as_str().unwrap().to_owned();
    let add = "mutation($s: ID!, $c: ChangeInput!) { addChange(submissionId: $s, change: $c) { id } }";
    let bad_slug = json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": "Not A Slug", "title": "X" } });
    let body = w.gql(&w.alice, add, json!({ "s": draft, "c": bad_slug })).await;
    assert_eq!(field_paths(&body), ["change.fields.slug"], "{body}");
    let wrong_parent =
        json!({ "op": "UPDATE", "entryId": aurora, "baseRevision": 1, "fields": { "parentId": aurora } });
    let body = w.gql(&w.alice, add, json!({ "s": draft, "c": wrong_parent })).await;
    assert_eq!(field_paths(&body), ["change.fields.parentId"], "{body}");

    // `fields` reads back by versioned name, `inputFields` as the input takes it.
    let docked = json!({ "op": "UPDATE", "entryId": aurora, "baseRevision": 1, "fields": { "parentId": harbor } });
    let read = "mutation($s: ID!, $c: ChangeInput!) { addChange(submissionId: $s, change: $c) { fields inputFields } }";
    let body = w.gql(&w.alice, read, json!({ "s": draft, "c": docked })).await;
    assert_eq!(body["data"]["addChange"]["fields"], json!({ "parent": harbor }), "{body}");
    assert_eq!(body["data"]["addChange"]["inputFields"], json!({ "parentId": harbor }), "{body}");
}

#[tokio::test]
async fn only_authors_edit_and_only_moderators_decide() {
    let w = world().await;
    let draft = w.gql(&w.alice, CREATE_SUBMISSION, json!({ "i": { "title": "Mine" } })).await;
    let draft = draft["data"]["createSubmission"]["id"].as_str().unwrap().to_owned();
    let add = "mutation($s: ID!, $c: ChangeInput!) { addChange(submissionId: $s, change: $c) { id } }";
    let change = json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": "x", "title": "X" } });
    let foreign = w.gql(&w.bob, add, json!({ "s": draft, "c": change })).await;
    assert_eq!(code(&foreign), "NOT_FOUND", "someone else's draft is invisible");
    let hidden = w.gql(&w.bob, "query($id: ID!) { submission(id: $id) { id } }", json!({ "id": draft })).await;
    assert_eq!(hidden["data"]["submission"], Value::Null);
    let empty = w.gql(&w.alice, SUBMIT, json!({ "id": draft })).await;
    assert_eq!(code(&empty), "BAD_USER_INPUT", "nothing to submit");
    assert!(w.gql(&w.alice, add, json!({ "s": draft, "c": change })).await["errors"].is_null());
    w.gql(&w.alice, SUBMIT, json!({ "id": draft })).await;

    let by_member = w.gql(&w.bob, APPROVE, json!({ "id": draft })).await;
    assert_eq!(code(&by_member), "FORBIDDEN");
    let edit_pending = w.gql(&w.alice, add, json!({ "s": draft, "c": change })).await;
    assert_eq!(code(&edit_pending), "CONFLICT", "pending submissions are frozen");
    let request = "mutation($id: ID!) { requestChanges(submissionId: $id, reason: \"add a body please\") { status decisionReason } }";
    let requested = w.gql(&w.admin, request, json!({ "id": draft })).await;
    assert_eq!(requested["data"]["requestChanges"]["status"], "CHANGES_REQUESTED");
    assert_eq!(w.gql(&w.alice, SUBMIT, json!({ "id": draft })).await["data"]["submitForReview"]["status"], "PENDING");
    assert_eq!(w.approve(&draft).await["merged"], true);
    let twice = w.gql(&w.admin, APPROVE, json!({ "id": draft })).await;
    assert_eq!(code(&twice), "CONFLICT");
    let withdraw = w
        .gql(
            &w.alice,
            "mutation($id: ID!) { withdrawSubmission(submissionId: $id) { status } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(code(&withdraw), "CONFLICT", "merged submissions can't be withdrawn");
}

#[tokio::test]
async fn a_merge_runs_one_more_statement_per_change_not_one_per_row() {
    let w = world().await;
    let harbor = w.create("location", json!({ "slug": "harbor", "title": "Harbor" })).await;
    let creates: Vec<Value> = (0..12)
        .map(|i| json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": format!("ship-{i:02}"), "title": format!("Ship {i:02}") } }))
        .collect();
    let created = w.approve(&w.submit(&w.alice, Value::Array(creates)).await).await;
    let ids: Vec<String> = created["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entry"]["id"].as_str().unwrap().to_owned())
        .collect();
    // Every change rewrites the entry row, its parent, tags and links.
    let edit = |id: &String| json!({ "op": "UPDATE", "entryId": id, "baseRevision": 1, "fields": { "body": "Refitted.\n", "parentId": harbor, "tags": ["fleet", "refit"], "links": [{ "type": "docked-at", "target": harbor }] } });
    let mut costs = Vec::new();
    for batch in [&ids[..1], &ids[1..]] {
        let submission = w.submit(&w.bob, batch.iter().map(edit).collect()).await;
        let before = w.app.sql_statements().await;
        let merged = w.approve(&submission).await;
        costs.push(w.app.sql_statements().await - before);
        assert_eq!(merged["revisions"].as_array().map(Vec::len), Some(batch.len()), "{merged}");
    }
    for id in &ids {
        let entry = w.entry(id).await;
        assert_eq!((&entry["version"], &entry["body"]), (&json!(2), &json!("Refitted.\n")));
        assert_eq!((&entry["parent"]["id"], &entry["tags"]), (&json!(harbor), &json!(["fleet", "refit"])));
        assert_eq!(entry["links"], json!([{ "type": "docked-at", "entry": { "id": harbor } }]));
    }
    // Ten more changes: ten more entry UPDATEs, everything else batched.
    assert!(costs[1] <= costs[0] + 10, "statements per merge of 1 and 11 changes: {costs:?}");
}

#[tokio::test]
async fn nested_entry_lists_run_the_same_statements_for_10_and_100_entries() {
    let w = world().await;
    let parent = w.create("location", json!({ "slug": "harbor", "title": "Harbor" })).await;
    let changes: Vec<Value> = (0..100)
        .map(|i| json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": format!("ship-{i:03}"), "title": format!("Ship {i:03}"), "parentId": parent, "tags": ["fleet"], "links": [{ "type": "docked-at", "target": parent }] } }))
        .collect();
    let submission = w.submit(&w.alice, Value::Array(changes)).await;
    assert_eq!(w.approve(&submission).await["revisions"].as_array().unwrap().len(), 100);

    let query = "query($n: Int) { entries(filter: { kind: \"ship\" }, first: $n) { edges { node { title tags kind { slug } creator { handle } \
        currentRevision { number author { handle } } parent { title children(first: 3) { edges { node { title } } pageInfo { hasNextPage } } } \
        children(first: 2) { edges { node { title } } } links { type entry { title } } } } } }";
    let mut counts = Vec::new();
    for n in [10, 100] {
        let before = w.app.sql_statements().await;
        let body = w.app.gql(None, query, json!({ "n": n })).await;
        assert_eq!(body["data"]["entries"]["edges"].as_array().map(Vec::len), Some(n as usize), "{body}");
        let first = &body["data"]["entries"]["edges"][0]["node"];
        assert_eq!(first["links"][0]["entry"]["title"], "Harbor");
        let siblings = &first["parent"]["children"];
        let titles: Vec<&str> =
            siblings["edges"].as_array().unwrap().iter().map(|e| e["node"]["title"].as_str().unwrap()).collect();
        assert_eq!(
            (titles, &siblings["pageInfo"]["hasNextPage"]),
            (vec!["Ship 000", "Ship 001", "Ship 002"], &json!(true))
        );
        counts.push(w.app.sql_statements().await - before);
    }
    assert_eq!(counts[0], counts[1], "statements must not grow with the page size: {counts:?}");

    // Later pages of children follow the first page's cursor.
    let pages = "query($id: ID!, $after: String) { entry(id: $id) { children(first: 3, after: $after) { edges { cursor node { title } } } } }";
    let page = w.app.gql(None, pages, json!({ "id": parent })).await;
    let cursor = page["data"]["entry"]["children"]["edges"][2]["cursor"].clone();
    let next = w.app.gql(None, pages, json!({ "id": parent, "after": cursor })).await;
    let titles: Vec<&str> = next["data"]["entry"]["children"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Ship 003", "Ship 004", "Ship 005"]);
}

#[tokio::test]
async fn fields_answer_in_the_order_asked_whatever_the_selection_shape() {
    let w = world().await;
    let id = w.create("location", json!({ "slug": "harbor", "title": "Harbor" })).await;

    // Fields that load (kind, creator) answer where they are asked, not after the ready ones.
    let query = "query($id: ID!) { entry(id: $id) { title kind { name slug } id creator { handle } version } }";
    let response =
        w.app.http.post(format!("{}/graphql", w.app.url)).json(&json!({ "query": query, "variables": { "id": id } }));
    let text = response.send().await.unwrap().text().await.unwrap();
    let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} in {text}"));
    let keys = ["title", "kind", "name", "slug", "id", "creator", "handle", "version"];
    assert!(keys.windows(2).all(|pair| at(pair[0]) < at(pair[1])), "keys out of order: {text}");

    // So do a connection's and its edges'.
    let query = "{ entries(first: 1) { pageInfo { hasNextPage } edges { node { slug } cursor } nodes { title } } }";
    let response = w.app.http.post(format!("{}/graphql", w.app.url)).json(&json!({ "query": query }));
    let text = response.send().await.unwrap().text().await.unwrap();
    let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} in {text}"));
    let keys = ["pageInfo", "hasNextPage", "edges", "node", "slug", "cursor", "nodes", "title"];
    assert!(keys.windows(2).all(|pair| at(pair[0]) < at(pair[1])), "keys out of order: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["data"]["entries"]["nodes"], json!([{ "title": "Harbor" }]), "{body}");

    // As Apollo sends them: colocated fragments spread in where they are asked, `__typename`
    // in the fragment and in the selection that spreads it, answered once.
    let query = "query($id: ID!) { entry(id: $id) { __typename ...Card id } } \
        fragment Card on Entry { __typename title kind { __typename ...Kind } creator { ...UserLink } version } \
        fragment Kind on EntryKind { slug name } fragment UserLink on User { __typename handle }";
    let response =
        w.app.http.post(format!("{}/graphql", w.app.url)).json(&json!({ "query": query, "variables": { "id": id } }));
    let text = response.send().await.unwrap().text().await.unwrap();
    let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} in {text}"));
    let keys = ["title", "kind", "slug", "name", "creator", "handle", "version", "id"];
    assert!(keys.windows(2).all(|pair| at(pair[0]) < at(pair[1])), "keys out of order: {text}");
    assert_eq!(text.matches("__typename").count(), 3, "one per object: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let expected = json!({ "__typename": "Entry", "title": "Harbor", "version": 1, "id": id,
        "kind": { "__typename": "EntryKind", "slug": "location", "name": "location" },
        "creator": { "__typename": "User", "handle": "alice" } });
    assert_eq!(body["data"]["entry"], expected, "{body}");

    // Fragments, aliases, a field asked twice, directives and __typename resolve as before.
    let query = "query($id: ID!, $skip: Boolean!) { entry(id: $id) { __typename t: title title ...Names \
        kind { slug } kind { name } version @skip(if: $skip) ... on Entry { id } creator { ... on User { handle } } } } \
        fragment Names on Entry { slug summary }";
    for skip in [true, false] {
        let body = w.app.gql(None, query, json!({ "id": id, "skip": skip })).await;
        let entry = &body["data"]["entry"];
        assert_eq!(
            (&entry["__typename"], &entry["t"], &entry["title"], &entry["slug"], &entry["id"]),
            (&json!("Entry"), &json!("Harbor"), &json!("Harbor"), &json!("harbor"), &json!(id)),
            "{body}"
        );
        assert_eq!(entry["kind"], json!({ "slug": "location", "name": "location" }), "{body}");
        assert_eq!(entry["creator"]["handle"], "alice", "{body}");
        assert_eq!(entry.get("version").is_some(), !skip, "{body}");
    }
}

#[tokio::test]
async fn history_pages_by_cursor_newest_first() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "v1" })).await;
    for n in 2..=6 {
        let s = w.submit(&w.alice, World::update(&id, n - 1, json!({ "title": format!("v{n}") }))).await;
        w.approve(&s).await;
    }
    let query = "query($id: ID!, $a: String) { entry(id: $id) { history(first: 4, after: $a) { edges { node { number snapshot { title } } } pageInfo { hasNextPage endCursor } } } }";
    let first = w.app.gql(None, query, json!({ "id": id })).await;
    let page = &first["data"]["entry"]["history"];
    let numbers: Vec<i64> =
        page["edges"].as_array().unwrap().iter().map(|e| e["node"]["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [6, 5, 4, 3]);
    assert_eq!(page["edges"][0]["node"]["snapshot"]["title"], "v6");
    let second = w.app.gql(None, query, json!({ "id": id, "a": page["pageInfo"]["endCursor"] })).await;
    let numbers: Vec<i64> = second["data"]["entry"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(second["data"]["entry"]["history"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn search_ranks_matching_entries() {
    let w = world().await;
    w.create(
        "ship",
        json!({ "slug": "aurora", "title": "Aurora", "body": "A nimble explorer with long range scanners." }),
    )
    .await;
    w.create("ship", json!({ "slug": "hauler", "title": "Hauler", "body": "Moves cargo slowly." })).await;
    let body = w.app.gql(None, "{ search(query: \"explorer scanners\") { edges { node { slug } } } }", json!({})).await;
    assert_eq!(body["data"]["search"]["edges"], json!([{ "node": { "slug": "aurora" } }]), "{body}");
    let none = w.app.gql(None, "{ search(query: \"submarine\") { edges { node { slug } } } }", json!({})).await;
    assert_eq!(none["data"]["search"]["edges"], json!([]));
}

#[tokio::test]
async fn racing_merges_on_one_entry_lose_no_update_and_number_revisions_densely() {
    let w = world_with(&["--max-open-submissions", "50"]).await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora", "attributes": { "crew": 1 } })).await;
    const EDITS: usize = 24;
    let mut submissions = Vec::new();
    for i in 0..EDITS {
        // Each edit sets a different attribute key on the same base: all merge cleanly.
        let mut attributes = json!({ "crew": 1 });
        attributes[format!("k{i}")] = json!(i);
        submissions.push(w.submit(&w.alice, World::update(&id, 1, json!({ "attributes": attributes }))).await);
    }
    let approvals = submissions.iter().map(|s| w.approve(s));
    let results = futures_util::future::join_all(approvals).await;
    assert!(results.iter().all(|r| r["merged"] == true), "{results:?}");
    let entry = w.entry(&id).await;
    assert_eq!(entry["version"], EDITS as i64 + 1);
    for i in 0..EDITS {
        assert_eq!(entry["attributes"][format!("k{i}")], i, "update {i} was kept");
    }
    let history = w
        .app
        .gql(
            None,
            "query($id: ID!) { entry(id: $id) { history(first: 100) { edges { node { number } } } } }",
            json!({ "id": id }),
        )
        .await;
    let mut numbers: Vec<i64> = history["data"]["entry"]["history"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["number"].as_i64().unwrap())
        .collect();
    numbers.reverse();
    assert_eq!(numbers, (1..=EDITS as i64 + 1).collect::<Vec<_>>(), "no duplicate or missing revision numbers");
}

#[tokio::test]
async fn history_pages_are_cached_and_never_stale_after_a_merge() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "v1" })).await;
    let query = "query($id: ID!) { entry(id: $id) { history(first: 10) { edges { node { number } } } } }";
    let read = || async {
        let before = w.app.sql_statements().await;
        let body = w.app.gql(None, query, json!({ "id": id })).await;
        let numbers: Vec<i64> = body["data"]["entry"]["history"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["number"].as_i64().unwrap())
            .collect();
        (numbers, w.app.sql_statements().await - before)
    };
    let (cold, cold_cost) = read().await;
    let (warm, warm_cost) = read().await;
    assert_eq!(cold, warm);
    assert!(warm_cost < cold_cost, "the second read comes from the cache: {cold_cost} then {warm_cost}");

    let edit = w.submit(&w.bob, World::update(&id, 1, json!({ "title": "v2" }))).await;
    w.approve(&edit).await;
    let (after_merge, _) = read().await;
    assert_eq!(after_merge, [2, 1], "the merge is visible at once");
}

#[tokio::test]
async fn the_tag_filter_matches_tags_whatever_their_case_or_spacing() {
    let w = world().await;
    let aurora = w.create("ship", json!({ "slug": "aurora", "title": "Aurora", "tags": ["starter"] })).await;
    w.create("ship", json!({ "slug": "hauler", "title": "Hauler", "tags": ["cargo"] })).await;
    let query = "query($t: String!) { entries(filter: { tag: $t }) { edges { node { id tags } } } }";
    for typed in ["starter", "Starter", " STARTER "] {
        let found = w.app.gql(None, query, json!({ "t": typed })).await;
        assert_eq!(
            found["data"]["entries"]["edges"],
            json!([{ "node": { "id": aurora, "tags": ["starter"] } }]),
            "filter {typed:?}: {found}"
        );
    }
}

const LIST: &str = "query($f: EntryFilter, $o: EntryOrder, $n: Int, $a: String) { entries(filter: $f, orderBy: $o, first: $n, after: $a) { \
    edges { node { title } } pageInfo { hasNextPage endCursor } } }";

/// The titles of an `entries` page and the cursor after it.
async fn titles(w: &World, variables: Value) -> (Vec<String>, Value) {
    let body = w.app.gql(None, LIST, variables).await;
    let list = &body["data"]["entries"];
    let titles = list["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect();
    let next =
        if list["pageInfo"]["hasNextPage"] == true { list["pageInfo"]["endCursor"].clone() } else { Value::Null };
    (titles, next)
}

#[tokio::test]
async fn entries_filter_by_tag_parent_and_text_and_page_by_title_and_update_time() {
    let w = world().await;
    let harbor = w.create("location", json!({ "slug": "harbor", "title": "Harbor" })).await;
    let starter =
        |slug: &str, title: &str| json!({ "slug": slug, "title": title, "tags": ["starter"], "parentId": harbor });
    w.create("ship", starter("borealis", "Borealis")).await;
    let aurora = w.create("ship", starter("aurora", "Aurora")).await;
    w.create("ship", json!({ "slug": "comet", "title": "Comet", "tags": ["cargo"] })).await;

    let (tagged, _) = titles(&w, json!({ "f": { "tag": "starter" } })).await;
    assert_eq!(tagged, ["Aurora", "Borealis"]);
    let (children, _) = titles(&w, json!({ "f": { "parent": harbor } })).await;
    assert_eq!(children, ["Aurora", "Borealis"]);
    let (text, _) = titles(&w, json!({ "f": { "text": "ORE" } })).await;
    assert_eq!(text, ["Borealis"], "a case-insensitive part of the title");
    let (both, _) = titles(&w, json!({ "f": { "tag": "starter", "text": "aur" } })).await;
    assert_eq!(both, ["Aurora"]);

    let (first, after) = titles(&w, json!({ "o": "TITLE", "n": 2 })).await;
    assert_eq!(first, ["Aurora", "Borealis"]);
    let (second, end) = titles(&w, json!({ "o": "TITLE", "n": 2, "a": after })).await;
    assert_eq!((second, end), (vec!["Comet".to_owned(), "Harbor".to_owned()], Value::Null));

    // An edit makes Aurora the most recently updated.
    let edit = w.submit(&w.bob, World::update(&aurora, 1, json!({ "summary": "Fast" }))).await;
    w.approve(&edit).await;
    let (first, after) = titles(&w, json!({ "o": "UPDATED_AT", "n": 2 })).await;
    assert_eq!(first, ["Aurora", "Comet"]);
    let (second, end) = titles(&w, json!({ "o": "UPDATED_AT", "n": 2, "a": after })).await;
    assert_eq!((second, end), (vec!["Borealis".to_owned(), "Harbor".to_owned()], Value::Null));
}

#[tokio::test]
async fn backlinks_list_the_entries_linking_here() {
    let w = world().await;
    let harbor = w.create("location", json!({ "slug": "harbor", "title": "Harbor" })).await;
    let link = |slug: &str, title: &str, kind: &str| json!({ "slug": slug, "title": title, "links": [{ "type": kind, "target": harbor }] });
    let aurora = w.create("ship", link("aurora", "Aurora", "docked-at")).await;
    let comet = w.create("ship", link("comet", "Comet", "built-at")).await;
    w.create("ship", json!({ "slug": "lone", "title": "Lone" })).await;
    let query = "query($id: ID!) { entry(id: $id) { backlinks { type entry { id } } links { type } } }";
    let body = w.app.gql(None, query, json!({ "id": harbor })).await;
    let mut backlinks: Vec<(String, String)> = body["data"]["entry"]["backlinks"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|l| (l["type"].as_str().unwrap().to_owned(), l["entry"]["id"].as_str().unwrap().to_owned()))
        .collect();
    backlinks.sort();
    assert_eq!(backlinks, [("built-at".to_owned(), comet), ("docked-at".to_owned(), aurora)]);
    assert_eq!(body["data"]["entry"]["links"], json!([]), "links go one way");
}

#[tokio::test]
async fn drafts_edit_and_remove_changes_and_changes_requested_take_new_ones() {
    let w = world().await;
    let create =
        |slug: &str, title: &str| json!({ "op": "CREATE", "kind": "ship", "fields": { "slug": slug, "title": title } });
    let body = w
        .gql(
            &w.alice,
            CREATE_SUBMISSION,
            json!({ "i": { "title": "Ships", "changes": [create("a", "A"), create("b", "B")] } }),
        )
        .await;
    let draft = body["data"]["createSubmission"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let (first, second) = (
        body["data"]["createSubmission"]["changes"][0]["id"].clone(),
        body["data"]["createSubmission"]["changes"][1]["id"].clone(),
    );

    let edit = "mutation($c: ID!, $x: ChangeInput!) { editChange(changeId: $c, change: $x) { id fields } }";
    let edited = w.gql(&w.alice, edit, json!({ "c": first, "x": create("a", "Alpha") })).await;
    assert_eq!(edited["data"]["editChange"]["id"], first, "{edited}");
    assert_eq!(edited["data"]["editChange"]["fields"]["title"], "Alpha");
    assert_eq!(code(&w.gql(&w.bob, edit, json!({ "c": first, "x": create("a", "Mine") })).await), "NOT_FOUND");
    let remove = "mutation($c: ID!) { removeChange(changeId: $c) { changes { id fields } } }";
    let removed = w.gql(&w.alice, remove, json!({ "c": second })).await;
    assert_eq!(
        removed["data"]["removeChange"]["changes"],
        json!([{ "id": first, "fields": { "slug": "a", "title": "Alpha" } }]),
        "{removed}"
    );

    assert_eq!(w.gql(&w.alice, SUBMIT, json!({ "id": draft })).await["data"]["submitForReview"]["status"], "PENDING");
    let request = "mutation($id: ID!) { requestChanges(submissionId: $id, reason: \"one more ship\") { status } }";
    assert_eq!(
        w.gql(&w.admin, request, json!({ "id": draft })).await["data"]["requestChanges"]["status"],
        "CHANGES_REQUESTED"
    );
    let add = "mutation($s: ID!, $c: ChangeInput!) { addChange(submissionId: $s, change: $c) { id fields } }";
    let added = w.gql(&w.alice, add, json!({ "s": draft, "c": create("c", "Gamma") })).await;
    assert_eq!(added["data"]["addChange"]["fields"]["title"], "Gamma", "{added}");
    assert_eq!(w.gql(&w.alice, SUBMIT, json!({ "id": draft })).await["data"]["submitForReview"]["status"], "PENDING");
    let merged = w.approve(&draft).await;
    assert_eq!(merged["merged"], true, "{merged}");
    let (ships, _) = titles(&w, json!({ "f": { "kind": "ship" } })).await;
    assert_eq!(ships, ["Alpha", "Gamma"], "the removed change made nothing");
}

#[tokio::test]
async fn a_conflict_resolved_with_theirs_keeps_the_merged_value_and_the_rest_of_the_change() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora" })).await;
    let first = w.submit(&w.alice, World::update(&id, 1, json!({ "title": "Dawn" }))).await;
    let second = w.submit(&w.bob, World::update(&id, 1, json!({ "title": "Sunrise", "summary": "Renamed" }))).await;
    w.approve(&first).await;
    let result = w.approve(&second).await;
    assert_eq!(result["submission"]["status"], "CONFLICTED", "{result}");
    let resolve = "mutation($i: ResolveConflictInput!) { resolveConflict(input: $i) { conflicts { field } fields baseRevision { number } } }";
    let change = result["conflicts"][0]["changeId"].clone();
    let resolved =
        w.gql(&w.bob, resolve, json!({ "i": { "changeId": change, "field": "title", "resolution": "THEIRS" } })).await;
    let resolved = &resolved["data"]["resolveConflict"];
    assert_eq!(resolved["conflicts"], json!([]), "{resolved}");
    assert_eq!(resolved["baseRevision"]["number"], 2, "now a patch against the revision it conflicted with");
    assert_eq!(resolved["fields"], json!({ "summary": "Renamed" }));
    assert_eq!(w.approve(&second).await["merged"], true);
    let entry = w.entry(&id).await;
    assert_eq!((&entry["title"], &entry["summary"], &entry["version"]), (&json!("Dawn"), &json!("Renamed"), &json!(3)));
}

#[tokio::test]
async fn a_submission_with_one_conflicting_update_merges_nothing() {
    let w = world().await;
    let a = w.create("ship", json!({ "slug": "a", "title": "A" })).await;
    let b = w.create("ship", json!({ "slug": "b", "title": "B" })).await;
    let edit_a = w.submit(&w.alice, World::update(&a, 1, json!({ "title": "A2" }))).await;
    let both = w
        .submit(
            &w.bob,
            json!([
                { "op": "UPDATE", "entryId": a, "baseRevision": 1, "fields": { "title": "A3" } },
                { "op": "UPDATE", "entryId": b, "baseRevision": 1, "fields": { "summary": "Clean edit" } }
            ]),
        )
        .await;
    w.approve(&edit_a).await;
    let result = w.approve(&both).await;
    assert_eq!((&result["merged"], &result["submission"]["status"]), (&json!(false), &json!("CONFLICTED")), "{result}");
    assert_eq!(result["revisions"], json!([]));
    assert_eq!(result["conflicts"].as_array().unwrap().len(), 1, "{result}");
    let b_now = w.entry(&b).await;
    assert_eq!((&b_now["version"], &b_now["summary"]), (&json!(1), &json!("")), "the clean update waits too");
    assert_eq!(w.entry(&a).await["title"], "A2");
}

#[tokio::test]
async fn a_change_previews_the_entry_before_approval() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora", "summary": "Old" })).await;
    let pending = w.submit(&w.bob, World::update(&id, 1, json!({ "title": "Aurora II" }))).await;
    let query = "query($id: ID!) { submission(id: $id) { changes { preview { title summary } } } }";
    let body = w.gql(&w.bob, query, json!({ "id": pending })).await;
    assert_eq!(
        body["data"]["submission"]["changes"][0]["preview"],
        json!({ "title": "Aurora II", "summary": "Old" }),
        "{body}"
    );
    assert_eq!(w.entry(&id).await["title"], "Aurora", "nothing merged yet");
}

#[tokio::test]
async fn a_body_edit_diffs_as_line_hunks_and_words() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "Aurora", "body": "one\ntwo\nthree\n" })).await;
    let edit = w.submit(&w.bob, World::update(&id, 1, json!({ "body": "one\ntwo too\nthree\n" }))).await;
    w.approve(&edit).await;
    let ids = w
        .app
        .gql(
            None,
            "query($id: ID!) { entry(id: $id) { a: revision(number: 1) { id } b: revision(number: 2) { id } } }",
            json!({ "id": id }),
        )
        .await;
    let (from, to) = (&ids["data"]["entry"]["a"]["id"], &ids["data"]["entry"]["b"]["id"]);
    let query = "query($f: ID!, $t: ID!) { diff(from: $f, to: $t) { changes { field kind \
        hunks { oldStart oldLines newStart newLines lines { kind text } } words { kind text } } } }";
    let diff = w.app.gql(None, query, json!({ "f": from, "t": to })).await;
    let change = &diff["data"]["diff"]["changes"][0];
    assert_eq!((&change["field"], &change["kind"]), (&json!("body"), &json!("MODIFIED")), "{diff}");
    assert_eq!(
        change["hunks"],
        json!([{ "oldStart": 1, "oldLines": 3, "newStart": 1, "newLines": 3, "lines": [
            { "kind": "CONTEXT", "text": "one" },
            { "kind": "REMOVED", "text": "two" },
            { "kind": "ADDED", "text": "two too" },
            { "kind": "CONTEXT", "text": "three" }
        ] }])
    );
    assert_eq!(
        change["words"],
        json!([
            { "kind": "CONTEXT", "text": "one\ntwo" },
            { "kind": "ADDED", "text": " too" },
            { "kind": "CONTEXT", "text": "\nthree\n" }
        ])
    );
}

#[tokio::test]
async fn an_entry_read_at_an_instant_shows_the_revision_then_in_force() {
    let w = world().await;
    let id = w.create("ship", json!({ "slug": "aurora", "title": "v1" })).await;
    let edit = w.submit(&w.bob, World::update(&id, 1, json!({ "title": "v2" }))).await;
    w.approve(&edit).await;
    let times = w
        .app
        .gql(None, "query($id: ID!) { entry(id: $id) { a: revision(number: 1) { createdAt } b: revision(number: 2) { createdAt } } }", json!({ "id": id }))
        .await;
    let at = |field: &str| {
        times["data"]["entry"][field]["createdAt"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap()
    };
    let (first, second) = (at("a"), at("b"));
    assert!(first < second, "{times}");
    let between = first + (second - first) / 2;
    let read = "query($id: ID!, $at: DateTime!) { entry(id: $id, at: { instant: $at }) { title version } }";
    for (instant, title) in [(first, "v1"), (between, "v1"), (second, "v2"), (second + chrono::Duration::days(1), "v2")]
    {
        let body = w.app.gql(None, read, json!({ "id": id, "at": instant.to_rfc3339() })).await;
        assert_eq!(body["data"]["entry"]["title"], title, "at {instant}: {body}");
    }
}

#[tokio::test]
async fn only_admins_create_entry_kinds_and_the_schema_must_be_valid() {
    let w = world().await;
    let create = "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }";
    let kind = |schema: Value| json!({ "i": { "slug": "park", "name": "Park", "attributeSchema": schema } });
    let by_member = w.gql(&w.alice, create, kind(json!({}))).await;
    assert_eq!(code(&by_member), "FORBIDDEN", "{by_member}");
    let invalid = w.gql(&w.admin, create, kind(json!({ "type": 12 }))).await;
    assert_eq!(code(&invalid), "BAD_USER_INPUT", "{invalid}");
    assert_eq!(invalid["errors"][0]["extensions"]["fields"][0]["field"], "attributeSchema");
    let kinds = w.app.gql(None, "{ entryKinds { slug } }", json!({})).await;
    assert_eq!(kinds["data"]["entryKinds"], json!([{ "slug": "location" }, { "slug": "ship" }]), "nothing was created");
}
