//! Moderation through the API: checks on submit and merge, the queue and
//! claims, trust and reputation, reports, suspensions and bans, and the log.

use serde_json::{Value, json};
use xpr_tests::{Actor, TestApp, code};

const CREATE: &str = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
const SUBMIT: &str =
    "mutation($id: ID!) { submitForReview(submissionId: $id) { id status checkWarnings { changeId field message } } }";
const APPROVE: &str = "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged } }";
const CLAIM: &str =
    "mutation($id: ID!) { claimSubmission(submissionId: $id) { id claim { moderator { handle } expiresAt } } }";
const REJECT: &str =
    "mutation($id: ID!, $r: String!) { rejectSubmission(submissionId: $id, reason: $r) { status decisionReason } }";
const STATUS: &str = "query($id: ID!) { submission(id: $id) { status decisionReason } }";
const QUEUE: &str = "query($f: QueueFilter) { moderationQueue(filter: $f) { edges { node { id title } } } }";
const REPORT: &str = "mutation($i: ReportInput!) { createReport(input: $i) { id status targetType } }";
const LOG: &str = "query($f: ModerationLogFilter) { moderationLog(filter: $f, first: 50) { edges { node { action targetType targetId reason actor { handle } } } } }";

struct World {
    app: TestApp,
    admin: Actor,
    mod1: Actor,
    mod2: Actor,
    alice: Actor,
    bob: Actor,
}

async fn world_with(args: &[&str]) -> World {
    let app = TestApp::spawn_with(args).await;
    let admin = app.admin("root_admin").await;
    let kind = json!({ "i": { "slug": "ship", "name": "Ship", "attributeSchema": {} } });
    app.gql(Some(&admin.access), "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }", kind).await;
    let mut mods = Vec::new();
    for handle in ["mod_one", "mod_two"] {
        let user = app.verified(handle).await;
        let set = "mutation($u: ID!) { setUserRole(userId: $u, role: MODERATOR) { role } }";
        let body = app.gql(Some(&admin.access), set, json!({ "u": user.id })).await;
        assert_eq!(body["data"]["setUserRole"]["role"], "MODERATOR", "{body}");
        mods.push(user);
    }
    let (mod2, mod1) = (mods.pop().unwrap(), mods.pop().unwrap());
    let (alice, bob) = (app.verified("alice").await, app.verified("bob").await);
    World { app, admin, mod1, mod2, alice, bob }
}

async fn world() -> World {
    world_with(&[]).await
}

fn create(slug: &str, title: &str) -> Value {
    json!([{ "op": "CREATE", "kind": "ship", "fields": { "slug": slug, "title": title } }])
}

impl World {
    async fn gql(&self, who: &Actor, query: &str, variables: Value) -> Value {
        self.app.gql(Some(&who.access), query, variables).await
    }

    async fn draft(&self, who: &Actor, changes: Value) -> String {
        let body = self.gql(who, CREATE, json!({ "i": { "title": "An edit", "changes": changes } })).await;
        body["data"]["createSubmission"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
    }

    /// Drafts and submits; returns the id and the submit response.
    async fn submit(&self, who: &Actor, changes: Value) -> (String, Value) {
        let id = self.draft(who, changes).await;
        let body = self.gql(who, SUBMIT, json!({ "id": id })).await;
        (id, body)
    }

    async fn pending(&self, who: &Actor, changes: Value) -> String {
        let (id, body) = self.submit(who, changes).await;
        assert_eq!(body["data"]["submitForReview"]["status"], "PENDING", "{body}");
        id
    }

    async fn status(&self, id: &str) -> Value {
        self.gql(&self.admin, STATUS, json!({ "id": id })).await["data"]["submission"].clone()
    }

    async fn reputation(&self, who: &Actor) -> i64 {
        let body = self
            .app
            .gql(None, "query($h: String!) { user(handle: $h) { reputation } }", json!({ "h": who.handle }))
            .await;
        body["data"]["user"]["reputation"].as_i64().unwrap()
    }

    async fn block(&self, kind: &str, value: &str) -> Value {
        let add =
            "mutation($k: BlocklistKind!, $v: String!) { addBlocklistEntry(kind: $k, value: $v) { id kind value } }";
        self.gql(&self.admin, add, json!({ "k": kind, "v": value })).await
    }
}

fn fields(body: &Value) -> Vec<&str> {
    body["errors"][0]["extensions"]["fields"]
        .as_array()
        .map_or_else(Vec::new, |f| f.iter().map(|e| e["field"].as_str().unwrap()).collect())
}

#[tokio::test]
async fn unverified_users_read_but_cannot_submit_or_report() {
    let w = world().await;
    let carol = w.app.register("carol").await;
    assert!(
        w.app.gql(Some(&carol.access), "{ entries { edges { node { id } } } }", json!({})).await["errors"].is_null()
    );
    let draft = w.draft(&carol, create("a", "A")).await;
    let submit = w.gql(&carol, SUBMIT, json!({ "id": draft })).await;
    assert_eq!(code(&submit), "FORBIDDEN");
    assert!(submit["errors"][0]["message"].as_str().unwrap().contains("verify your email"), "{submit}");
    let report = w
        .gql(&carol, REPORT, json!({ "i": { "targetType": "USER", "targetId": w.bob.id, "reason": "spam account" } }))
        .await;
    assert_eq!(code(&report), "FORBIDDEN");
    assert_eq!(w.status(&draft).await["status"], "DRAFT", "nothing changed");
}

#[tokio::test]
async fn blocked_terms_and_link_domains_refuse_a_submission_field_by_field() {
    let w = world().await;
    assert_eq!(w.block("TERM", "Free Gold").await["data"]["addBlocklistEntry"]["value"], "free gold");
    assert!(w.block("LINK_DOMAIN", "evil.test").await["errors"].is_null());
    assert_eq!(code(&w.block("LINK_DOMAIN", "https://x.test/a").await), "BAD_USER_INPUT");
    let by_moderator =
        w.gql(&w.mod1, "mutation { addBlocklistEntry(kind: TERM, value: \"nope\") { id } }", json!({})).await;
    assert_eq!(code(&by_moderator), "FORBIDDEN", "admins manage the blocklist");

    let changes = json!([{ "op": "CREATE", "kind": "ship", "fields": { "slug": "gold", "title": "Free gold here", "body": "see [this](https://www.EVIL.test/x)" } }]);
    let (id, body) = w.submit(&w.alice, changes).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(fields(&body), ["changes.0.fields.title", "changes.0.fields.body"]);
    assert_eq!(w.status(&id).await["status"], "DRAFT");
    // A term added after submitting is caught again on merge, and nothing merges.
    let later = w.pending(&w.alice, create("clean", "A clean ship")).await;
    w.block("TERM", "clean").await;
    let approve = w.gql(&w.mod1, APPROVE, json!({ "id": later })).await;
    assert_eq!(
        (code(&approve), fields(&approve)),
        ("BAD_USER_INPUT", vec!["changes.0.fields.slug", "changes.0.fields.title"])
    );
    assert_eq!(w.status(&later).await["status"], "PENDING");
    let entries = w.app.gql(None, "{ entries { edges { node { id } } } }", json!({})).await;
    assert_eq!(entries["data"]["entries"]["edges"], json!([]));
}

#[tokio::test]
async fn likely_duplicates_are_warnings_and_wait_for_a_moderator() {
    let w = world().await;
    let first = w.pending(&w.alice, create("black-pearl", "Black Pearl")).await;
    assert_eq!(w.gql(&w.mod1, APPROVE, json!({ "id": first })).await["data"]["approveSubmission"]["merged"], true);
    // Bob is trusted, but a warning keeps his submission for review.
    w.gql(&w.admin, "mutation($u: ID!) { setUserRole(userId: $u, role: TRUSTED) { role } }", json!({ "u": w.bob.id }))
        .await;
    let (id, body) = w.submit(&w.bob, create("pearl-2", "  BLACK pearl! ")).await;
    let submitted = &body["data"]["submitForReview"];
    assert_eq!(submitted["status"], "PENDING", "{body}");
    assert_eq!(submitted["checkWarnings"][0]["field"], "title");
    assert!(submitted["checkWarnings"][0]["message"].as_str().unwrap().contains("duplicate of the Ship `Black Pearl`"));
    let queue =
        w.gql(&w.mod1, "{ moderationQueue { edges { node { id checkWarnings { field } } } } }", json!({})).await;
    assert_eq!(
        queue["data"]["moderationQueue"]["edges"][0]["node"],
        json!({ "id": id, "checkWarnings": [{ "field": "title" }] })
    );
}

#[tokio::test]
async fn per_user_limits_cap_open_submissions_and_the_hourly_rate() {
    let w = world_with(&["--max-open-submissions", "2", "--submissions-per-hour", "3"]).await;
    let s1 = w.pending(&w.alice, create("s1", "S1")).await;
    let s2 = w.pending(&w.alice, create("s2", "S2")).await;
    let (s3, body) = w.submit(&w.alice, create("s3", "S3")).await;
    assert_eq!((code(&body), fields(&body)), ("BAD_USER_INPUT", vec!["submissionId"]));
    let withdraw = "mutation($id: ID!) { withdrawSubmission(submissionId: $id) { status } }";
    w.gql(&w.alice, withdraw, json!({ "id": s1 })).await;
    assert_eq!(w.gql(&w.alice, SUBMIT, json!({ "id": s3 })).await["data"]["submitForReview"]["status"], "PENDING");
    w.gql(&w.alice, withdraw, json!({ "id": s2 })).await;
    let (_, body) = w.submit(&w.alice, create("s4", "S4")).await;
    assert_eq!(code(&body), "RATE_LIMITED", "three submitted within the hour");
    assert!(body["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() > 3000);
    assert_eq!(w.status(&s3).await["status"], "PENDING");
}

#[tokio::test]
async fn reverting_an_entry_goes_through_the_limits_checks_queue_and_trust_of_a_submit() {
    let world = world_with(&["--max-open-submissions", "1"]).await;
    let w = &world;
    let revert = "mutation($e: ID!, $to: Int!) { revertEntry(entryId: $e, toRevision: $to, reason: \"restore it\") { id status checkWarnings { field } } }";
    let merged = |slug: &'static str, title: &'static str| async move {
        let id = w.pending(&w.alice, create(slug, title)).await;
        assert_eq!(w.gql(&w.mod1, APPROVE, json!({ "id": id })).await["data"]["approveSubmission"]["merged"], true);
        let entry = w
            .gql(&w.alice, "query($s: String!) { entry(kind: \"ship\", slug: $s) { id } }", json!({ "s": slug }))
            .await;
        entry["data"]["entry"]["id"].as_str().unwrap().to_owned()
    };
    let renamed = |entry: String, title: &'static str| async move {
        let changes = json!([{ "op": "UPDATE", "entryId": entry, "baseRevision": 1, "fields": { "title": title } }]);
        let id = w.pending(&w.alice, changes).await;
        assert_eq!(w.gql(&w.mod1, APPROVE, json!({ "id": id })).await["data"]["approveSubmission"]["merged"], true);
    };
    // Revision 1 of `pearl` now duplicates another entry's title; revision 1 of `junk` has a blocked term.
    let pearl = merged("pearl", "Black Pearl").await;
    renamed(pearl.clone(), "Pearl").await;
    merged("pearl-2", "Black Pearl").await;
    let junk = merged("junk", "Junk Spamword").await;
    renamed(junk.clone(), "Junk").await;
    let aurora = merged("aurora", "Aurora").await;
    renamed(aurora.clone(), "Aurora II").await;
    w.block("TERM", "spamword").await;

    let waiting = w.pending(&w.alice, create("other", "Other")).await;
    let refused = w.gql(&w.alice, revert, json!({ "e": pearl, "to": 1 })).await;
    assert_eq!((code(&refused), fields(&refused)), ("BAD_USER_INPUT", vec!["submissionId"]), "one waiting at most");
    w.gql(
        &w.alice,
        "mutation($id: ID!) { withdrawSubmission(submissionId: $id) { status } }",
        json!({ "id": waiting }),
    )
    .await;

    let blocked = w.gql(&w.alice, revert, json!({ "e": junk, "to": 1 })).await;
    assert_eq!((code(&blocked), fields(&blocked)), ("BAD_USER_INPUT", vec!["changes.0.fields.title"]));
    let mut queue = w.app.ws(Some(&w.mod1.access)).await;
    queue.subscribe("q", "subscription { moderationQueueChanged { kind submission { id } } }", json!({})).await;
    queue.silent(std::time::Duration::from_millis(300)).await;
    let reverted = w.gql(&w.alice, revert, json!({ "e": pearl, "to": 1 })).await["data"]["revertEntry"].clone();
    assert_eq!((&reverted["status"], &reverted["checkWarnings"]), (&json!("PENDING"), &json!([{ "field": "title" }])));
    assert_eq!(
        queue.next_data("q").await["data"]["moderationQueueChanged"],
        json!({ "kind": "SUBMITTED", "submission": { "id": reverted["id"] } })
    );

    w.gql(&w.admin, "mutation($u: ID!) { setUserRole(userId: $u, role: TRUSTED) { role } }", json!({ "u": w.bob.id }))
        .await;
    let by_trusted = w.gql(&w.bob, revert, json!({ "e": aurora, "to": 1 })).await;
    assert_eq!(by_trusted["data"]["revertEntry"]["status"], "MERGED", "{by_trusted}");
    let entry = w.app.gql(None, "query($id: ID!) { entry(id: $id) { title version } }", json!({ "id": aurora })).await;
    assert_eq!(entry["data"]["entry"], json!({ "title": "Aurora", "version": 3 }));
}

#[tokio::test]
async fn concurrent_submits_never_pass_the_open_submissions_limit() {
    let w = world_with(&["--max-open-submissions", "1"]).await;
    let mut drafts = Vec::new();
    for i in 0..10 {
        drafts.push(w.draft(&w.alice, create(&format!("ship-{i}"), &format!("Ship {i}"))).await);
    }
    let submits = drafts.iter().map(|id| w.gql(&w.alice, SUBMIT, json!({ "id": id })));
    let bodies = futures_util::future::join_all(submits).await;
    let passed = bodies.iter().filter(|b| b["data"]["submitForReview"]["status"] == "PENDING").count();
    let refused: Vec<&str> = bodies.iter().filter(|b| b["errors"].is_array()).map(code).collect();
    assert_eq!((passed, refused), (1, vec!["BAD_USER_INPUT"; 9]), "{bodies:?}");
    let waiting =
        w.gql(&w.alice, "{ submissions(filter: { status: PENDING }) { edges { node { id } } } }", json!({})).await;
    assert_eq!(waiting["data"]["submissions"]["edges"].as_array().map(Vec::len), Some(1), "{waiting}");
}

#[tokio::test]
async fn claims_keep_other_moderators_out_until_they_expire() {
    let w = world_with(&["--claim-ttl-secs", "2"]).await;
    let id = w.pending(&w.alice, create("a", "A")).await;
    let by_member = w.gql(&w.bob, CLAIM, json!({ "id": id })).await;
    assert_eq!(code(&by_member), "FORBIDDEN");
    let claimed = w.gql(&w.mod1, CLAIM, json!({ "id": id })).await;
    assert_eq!(claimed["data"]["claimSubmission"]["claim"]["moderator"]["handle"], "mod_one", "{claimed}");

    for (query, vars) in [
        (CLAIM, json!({ "id": id })),
        (APPROVE, json!({ "id": id })),
        (REJECT, json!({ "id": id, "r": "not like this" })),
    ] {
        let refused = w.gql(&w.mod2, query, vars).await;
        assert_eq!(code(&refused), "CONFLICT", "{refused}");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("claimed"));
    }
    let release = "mutation($id: ID!) { releaseSubmissionClaim(submissionId: $id) { id } }";
    assert_eq!(code(&w.gql(&w.mod2, release, json!({ "id": id })).await), "CONFLICT", "not their claim");
    let queue = |who: &Actor, claim: &str| {
        let vars = json!({ "f": { "claim": claim } });
        let app = &w.app;
        let token = who.access.clone();
        async move { app.gql(Some(&token), QUEUE, vars).await["data"]["moderationQueue"]["edges"].as_array().unwrap().len() }
    };
    assert_eq!(
        (queue(&w.mod1, "MINE").await, queue(&w.mod2, "OTHERS").await, queue(&w.mod2, "UNCLAIMED").await),
        (1, 1, 0)
    );
    assert_eq!(w.status(&id).await["status"], "PENDING", "refused actions changed nothing");

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(queue(&w.mod2, "UNCLAIMED").await, 1, "the claim expired");
    let rejected = w.gql(&w.mod2, REJECT, json!({ "id": id, "r": "duplicate of an existing ship" })).await;
    assert_eq!(rejected["data"]["rejectSubmission"]["status"], "REJECTED", "{rejected}");
    let seen = w.gql(&w.alice, STATUS, json!({ "id": id })).await;
    assert_eq!(seen["data"]["submission"]["decisionReason"], "duplicate of an existing ship", "the author sees why");
    assert_eq!(
        code(&w.gql(&w.mod1, CLAIM, json!({ "id": id })).await),
        "CONFLICT",
        "decided submissions can't be claimed"
    );

    // Admins may act on a claimed submission.
    let other = w.pending(&w.alice, create("b", "B")).await;
    w.gql(&w.mod1, CLAIM, json!({ "id": other })).await;
    assert_eq!(w.gql(&w.admin, APPROVE, json!({ "id": other })).await["data"]["approveSubmission"]["merged"], true);
}

#[tokio::test]
async fn the_queue_lists_pending_submissions_oldest_first_by_kind() {
    let w = world().await;
    let kind = json!({ "i": { "slug": "port", "name": "Port", "attributeSchema": {} } });
    w.gql(&w.admin, "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }", kind).await;
    let a = w.pending(&w.alice, create("a", "A")).await;
    let port =
        w.pending(&w.bob, json!([{ "op": "CREATE", "kind": "port", "fields": { "slug": "p", "title": "P" } }])).await;
    let draft = w.draft(&w.alice, create("d", "D")).await;
    let b = w.pending(&w.bob, create("b", "B")).await;
    let ids = |body: Value| -> Vec<String> {
        body["data"]["moderationQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(w.gql(&w.mod1, QUEUE, json!({})).await), [a.clone(), port.clone(), b.clone()]);
    assert_eq!(ids(w.gql(&w.mod1, QUEUE, json!({ "f": { "kind": "ship" } })).await), [a.clone(), b.clone()]);
    assert!(!ids(w.gql(&w.mod1, QUEUE, json!({})).await).contains(&draft));
    let page = "query($a: String) { moderationQueue(first: 2, after: $a) { edges { node { id } } pageInfo { endCursor hasNextPage } } }";
    let first = w.gql(&w.mod1, page, json!({})).await;
    let next = w.gql(&w.mod1, page, json!({ "a": first["data"]["moderationQueue"]["pageInfo"]["endCursor"] })).await;
    assert_eq!(next["data"]["moderationQueue"]["edges"], json!([{ "node": { "id": b } }]));
    assert_eq!(code(&w.gql(&w.alice, QUEUE, json!({})).await), "FORBIDDEN");
}

#[tokio::test]
async fn two_moderators_approving_at_once_merge_exactly_once() {
    let w = world().await;
    for i in 0..5 {
        let id = w.pending(&w.alice, create(&format!("race-{i}"), &format!("Race {i}"))).await;
        let (one, two) =
            tokio::join!(w.gql(&w.mod1, APPROVE, json!({ "id": id })), w.gql(&w.mod2, APPROVE, json!({ "id": id })));
        let merged = [&one, &two].iter().filter(|b| b["data"]["approveSubmission"]["merged"] == true).count();
        let conflicts = [&one, &two].iter().filter(|b| b["errors"][0]["extensions"]["code"] == "CONFLICT").count();
        assert_eq!((merged, conflicts), (1, 1), "{one} {two}");
    }
    let entries = w.app.gql(None, "{ entries(first: 100) { edges { node { version } } } }", json!({})).await;
    let versions = entries["data"]["entries"]["edges"].as_array().unwrap();
    assert_eq!(versions.len(), 5);
    assert!(versions.iter().all(|e| e["node"]["version"] == 1), "each merged once: {versions:?}");
    let log = w.gql(&w.admin, LOG, json!({ "f": { "action": "APPROVE_SUBMISSION" } })).await;
    assert_eq!(
        log["data"]["moderationLog"]["edges"].as_array().unwrap().len(),
        5,
        "refused approvals leave no log entry"
    );
}

#[tokio::test]
async fn trusted_authors_merge_on_submit_and_reputation_follows_decisions() {
    let w = world_with(&["--trust-reputation", "20"]).await;
    let first = w.pending(&w.alice, create("a", "A")).await;
    w.gql(&w.mod1, APPROVE, json!({ "id": first })).await;
    assert_eq!(w.reputation(&w.alice).await, 10);
    let bad = w.pending(&w.alice, create("b", "B")).await;
    w.gql(&w.mod1, REJECT, json!({ "id": bad, "r": "not notable" })).await;
    assert_eq!(w.reputation(&w.alice).await, 5);
    for slug in ["c", "d"] {
        let id = w.pending(&w.alice, create(slug, &slug.to_uppercase())).await;
        w.gql(&w.mod1, APPROVE, json!({ "id": id })).await;
    }
    assert_eq!(w.reputation(&w.alice).await, 25);
    let (_, auto) = w.submit(&w.alice, create("e", "E")).await;
    assert_eq!(auto["data"]["submitForReview"]["status"], "MERGED", "reputation above the threshold merges on submit");
    assert_eq!(w.reputation(&w.alice).await, 35);
    // Bob starts at zero: role TRUSTED is enough.
    w.gql(&w.admin, "mutation($u: ID!) { setUserRole(userId: $u, role: TRUSTED) { role } }", json!({ "u": w.bob.id }))
        .await;
    let (_, auto) = w.submit(&w.bob, create("f", "F")).await;
    assert_eq!(auto["data"]["submitForReview"]["status"], "MERGED");
    // Rejections never take reputation below zero.
    let carol = w.app.verified("carol").await;
    let id = w.pending(&carol, create("g", "G")).await;
    w.gql(&w.mod1, REJECT, json!({ "id": id, "r": "not notable" })).await;
    assert_eq!(w.reputation(&carol).await, 0);
}

#[tokio::test]
async fn reports_are_one_open_per_target_and_resolved_by_moderators() {
    let w = world().await;
    let id = w.pending(&w.alice, create("a", "A")).await;
    w.gql(&w.mod1, APPROVE, json!({ "id": id })).await;
    let entry = w.app.gql(None, "{ entries { edges { node { id } } } }", json!({})).await["data"]["entries"]["edges"]
        [0]["node"]["id"]
        .clone();
    let report = |target: &str, target_id: &Value| json!({ "i": { "targetType": target, "targetId": target_id, "reason": "this looks like spam" } });

    let filed = w.gql(&w.bob, REPORT, report("ENTRY", &entry)).await;
    assert_eq!(filed["data"]["createReport"]["status"], "OPEN", "{filed}");
    assert_eq!(code(&w.gql(&w.bob, REPORT, report("ENTRY", &entry)).await), "CONFLICT", "one open report per target");
    assert!(w.gql(&w.bob, REPORT, report("USER", &json!(w.alice.id))).await["errors"].is_null());
    assert_eq!(code(&w.gql(&w.bob, REPORT, report("USER", &json!(w.bob.id))).await), "BAD_USER_INPUT");
    assert_eq!(code(&w.gql(&w.bob, REPORT, report("REVISION", &entry)).await), "NOT_FOUND");
    assert_eq!(code(&w.gql(&w.bob, REPORT, report("ENTRY", &json!("not-an-id"))).await), "BAD_USER_INPUT");

    let list = "query($s: ReportStatus) { reports(status: $s) { edges { node { id targetType status resolutionNote reporter { handle } } } } }";
    let count = |body: Value| body["data"]["reports"]["edges"].as_array().unwrap().len();
    assert_eq!(count(w.gql(&w.alice, list, json!({})).await), 0, "others' reports stay private");
    assert_eq!(count(w.gql(&w.bob, list, json!({})).await), 2);
    assert_eq!(count(w.gql(&w.mod1, list, json!({ "s": "OPEN" })).await), 2);

    let report_id = filed["data"]["createReport"]["id"].clone();
    let resolve = "mutation($id: ID!, $r: ReportStatus!) { resolveReport(reportId: $id, resolution: $r, note: \"checked, it is fine\") { status resolutionNote resolvedBy { handle } } }";
    assert_eq!(code(&w.gql(&w.bob, resolve, json!({ "id": report_id, "r": "DISMISSED" })).await), "FORBIDDEN");
    assert_eq!(code(&w.gql(&w.mod1, resolve, json!({ "id": report_id, "r": "OPEN" })).await), "BAD_USER_INPUT");
    let done = w.gql(&w.mod1, resolve, json!({ "id": report_id, "r": "DISMISSED" })).await;
    assert_eq!(
        done["data"]["resolveReport"],
        json!({ "status": "DISMISSED", "resolutionNote": "checked, it is fine", "resolvedBy": { "handle": "mod_one" } })
    );
    assert_eq!(code(&w.gql(&w.mod2, resolve, json!({ "id": report_id, "r": "ACTIONED" })).await), "CONFLICT");
    assert!(
        w.gql(&w.bob, REPORT, report("ENTRY", &entry)).await["errors"].is_null(),
        "a new report once the old one is closed"
    );
}

#[tokio::test]
async fn suspended_and_banned_users_cannot_contribute_and_a_ban_withdraws_their_submissions() {
    let w = world().await;
    let suspend = "mutation($u: ID!) { suspendUser(userId: $u, reason: \"cool down\") { status } }";
    assert_eq!(w.gql(&w.mod1, suspend, json!({ "u": w.bob.id })).await["data"]["suspendUser"]["status"], "SUSPENDED");
    let draft = w.draft(&w.alice, create("x", "X")).await;
    let bob_draft = w.gql(&w.bob, CREATE, json!({ "i": { "title": "t" } })).await;
    assert_eq!(code(&bob_draft), "FORBIDDEN");
    let report = json!({ "i": { "targetType": "USER", "targetId": w.alice.id, "reason": "retaliation" } });
    assert_eq!(code(&w.gql(&w.bob, REPORT, report).await), "FORBIDDEN");

    let pending = w.pending(&w.alice, create("y", "Y")).await;
    let ban = "mutation($u: ID!, $t: DateTime) { banUser(userId: $u, until: $t, reason: \"spam\") { status } }";
    assert_eq!(
        code(&w.gql(&w.mod1, ban, json!({ "u": w.mod2.id })).await),
        "FORBIDDEN",
        "moderators can't ban moderators"
    );
    let until = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    assert_eq!(
        w.gql(&w.mod1, ban, json!({ "u": w.alice.id, "t": until })).await["data"]["banUser"]["status"],
        "BANNED"
    );
    assert_eq!(w.status(&pending).await["status"], "WITHDRAWN");
    assert_eq!(w.status(&draft).await["status"], "WITHDRAWN");
    let login = w.app.gql(None, "mutation { login(input: { login: \"alice\", password: \"correct horse battery staple\" }) { accessToken } }", json!({})).await;
    assert_eq!(code(&login), "FORBIDDEN");
}

#[tokio::test]
async fn the_moderation_log_records_actions_and_only_moderators_read_it() {
    let w = world().await;
    let id = w.pending(&w.alice, create("a", "A")).await;
    w.gql(&w.mod1, CLAIM, json!({ "id": id })).await;
    w.gql(&w.mod1, REJECT, json!({ "id": id, "r": "needs sources" })).await;
    w.gql(
        &w.mod2,
        "mutation($u: ID!) { suspendUser(userId: $u, reason: \"spamming links\") { id } }",
        json!({ "u": w.bob.id }),
    )
    .await;

    let log = w.gql(&w.mod2, LOG, json!({})).await;
    let actions: Vec<(&str, &str)> = log["data"]["moderationLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["action"].as_str().unwrap(), e["node"]["actor"]["handle"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("SUSPEND_USER", "mod_two"),
            ("REJECT_SUBMISSION", "mod_one"),
            ("CLAIM_SUBMISSION", "mod_one"),
            ("SET_ROLE", "root_admin"),
            ("SET_ROLE", "root_admin"),
            ("CREATE_ENTRY_KIND", "root_admin"),
        ]
    );
    let rejected = w.gql(&w.mod2, LOG, json!({ "f": { "targetId": id, "action": "REJECT_SUBMISSION" } })).await;
    assert_eq!(
        rejected["data"]["moderationLog"]["edges"][0]["node"],
        json!({ "action": "REJECT_SUBMISSION", "targetType": "SUBMISSION", "targetId": id, "reason": "needs sources", "actor": { "handle": "mod_one" } })
    );
    let by_actor = w.gql(&w.mod2, LOG, json!({ "f": { "actor": "MOD_TWO" } })).await;
    assert_eq!(by_actor["data"]["moderationLog"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(code(&w.gql(&w.alice, LOG, json!({})).await), "FORBIDDEN");
    // Append-only: the API has no way to change or remove an entry.
    let mutations = w.app.gql(None, "{ __schema { mutationType { fields { name } } } }", json!({})).await;
    let names = mutations["data"]["__schema"]["mutationType"]["fields"].as_array().unwrap();
    assert!(names.iter().all(|f| !f["name"].as_str().unwrap().to_lowercase().contains("moderationlog")));
}

#[tokio::test]
async fn illegal_transitions_are_refused_and_change_nothing() {
    let w = world().await;
    let draft = w.draft(&w.alice, create("a", "A")).await;
    assert_eq!(code(&w.gql(&w.mod1, APPROVE, json!({ "id": draft })).await), "CONFLICT", "drafts aren't approved");
    assert_eq!(code(&w.gql(&w.mod1, CLAIM, json!({ "id": draft })).await), "CONFLICT");
    let id = w.pending(&w.alice, create("b", "B")).await;
    assert_eq!(code(&w.gql(&w.alice, REJECT, json!({ "id": id, "r": "changed my mind" })).await), "FORBIDDEN");
    assert_eq!(
        code(&w.gql(&w.mod1, REJECT, json!({ "id": id, "r": "" })).await),
        "BAD_USER_INPUT",
        "a reason is required"
    );
    w.gql(&w.mod1, APPROVE, json!({ "id": id })).await;
    assert_eq!(code(&w.gql(&w.mod1, REJECT, json!({ "id": id, "r": "too late now" })).await), "CONFLICT");
    let withdraw = "mutation($id: ID!) { withdrawSubmission(submissionId: $id) { status } }";
    assert_eq!(code(&w.gql(&w.bob, withdraw, json!({ "id": draft })).await), "NOT_FOUND", "not bob's");
    assert_eq!(w.status(&draft).await["status"], "DRAFT");
    assert_eq!(w.status(&id).await["status"], "MERGED");
}

#[tokio::test]
async fn blocked_reviews_wait_for_a_moderator_and_review_moderation_is_logged() {
    let w = world().await;
    let id = w.pending(&w.alice, create("a", "A")).await;
    w.gql(&w.mod1, APPROVE, json!({ "id": id })).await;
    let entry = w.app.gql(None, "{ entries { edges { node { id } } } }", json!({})).await["data"]["entries"]["edges"]
        [0]["node"]["id"]
        .clone();
    w.block("TERM", "free gold").await;
    let upsert = "mutation($i: ReviewInput!) { upsertReview(input: $i) { id status } }";
    let held =
        w.gql(&w.bob, upsert, json!({ "i": { "entryId": entry, "rating": 5, "body": "FREE GOLD inside!" } })).await;
    assert_eq!(held["data"]["upsertReview"]["status"], "PENDING", "{held}");
    let count = "query($id: ID!) { entry(id: $id) { ratingCount } }";
    assert_eq!(w.app.gql(None, count, json!({ "id": entry })).await["data"]["entry"]["ratingCount"], 0);

    let review = held["data"]["upsertReview"]["id"].clone();
    let show = "mutation($id: ID!) { showReview(id: $id, reason: \"false positive\") { status } }";
    assert_eq!(w.gql(&w.mod1, show, json!({ "id": review })).await["data"]["showReview"]["status"], "PUBLISHED");
    assert_eq!(w.app.gql(None, count, json!({ "id": entry })).await["data"]["entry"]["ratingCount"], 1);
    let logged = w.gql(&w.mod2, LOG, json!({ "f": { "targetId": review } })).await;
    assert_eq!(logged["data"]["moderationLog"]["edges"][0]["node"]["action"], "SHOW_REVIEW");

    let report = json!({ "i": { "targetType": "REVIEW", "targetId": review, "reason": "advertising gold" } });
    assert_eq!(w.gql(&w.alice, REPORT, report).await["data"]["createReport"]["targetType"], "REVIEW");
}

#[tokio::test]
async fn a_trusted_submit_that_fails_to_merge_leaves_the_submission_a_draft() {
    use sea_orm::{ConnectionTrait, DbBackend};
    let w = world().await;
    w.gql(&w.admin, "mutation($u: ID!) { setUserRole(userId: $u, role: TRUSTED) { role } }", json!({ "u": w.bob.id }))
        .await;
    // A database fault in the middle of the merge: writing the revision fails.
    let (fail, heal) = match w.app.db().get_database_backend() {
        DbBackend::Postgres => (
            "CREATE FUNCTION fault() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'fault'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER fault BEFORE INSERT ON revisions FOR EACH ROW EXECUTE FUNCTION fault();",
            "DROP TRIGGER fault ON revisions; DROP FUNCTION fault();",
        ),
        _ => (
            "CREATE TRIGGER fault BEFORE INSERT ON revisions BEGIN SELECT RAISE(ABORT, 'fault'); END;",
            "DROP TRIGGER fault;",
        ),
    };
    w.app.db().execute_unprepared(fail).await.unwrap();
    let (id, body) = w.submit(&w.bob, create("g", "G")).await;
    assert_eq!(code(&body), "INTERNAL", "{body}");
    // Submit and merge are one transaction: the failure leaves nothing half done.
    assert_eq!(w.status(&id).await["status"], "DRAFT");
    w.app.db().execute_unprepared(heal).await.unwrap();
    let body = w.gql(&w.bob, SUBMIT, json!({ "id": id })).await;
    assert_eq!(body["data"]["submitForReview"]["status"], "MERGED", "{body}");
}
