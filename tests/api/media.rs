//! Media through the API: multipart uploads checked by their bytes, size
//! limit, per-owner deduplication, attachment to reviews, `/media/{id}`
//! headers, and the cleanup of unattached uploads.

use serde_json::{Value, json};
use xpr_api::modules::{media, versioning};
use xpr_tests::{TestApp, code, images};

/// The media cleanup as `xpr cleanup-media` runs it.
async fn cleanup(
    db: &sea_orm::DatabaseConnection,
    store: &media::store::MediaStore,
    before: chrono::DateTime<chrono::Utc>,
) -> xpr_api::error::AppResult<u64> {
    media::service::cleanup(db, store, before, versioning::selectors::open_changes_citing, |_| {}).await
}

/// A 3×2 PNG.
pub(crate) fn png() -> Vec<u8> {
    images::png(3, 2)
}

fn media(body: &Value) -> &Value {
    assert!(body["errors"].is_null(), "upload failed: {body}");
    &body["data"]["uploadMedia"]
}

#[tokio::test]
async fn an_uploaded_image_is_served_with_type_length_etag_and_cache_headers() {
    let app = TestApp::spawn().await;
    let alice = app.verified("alice").await;
    let body = app.upload(&alice.access, "photo.jpg", png()).await;
    let uploaded = media(&body);
    assert_eq!(
        (&uploaded["contentType"], &uploaded["width"], &uploaded["height"], &uploaded["byteSize"]),
        (&json!("image/png"), &json!(3), &json!(2), &json!(png().len())),
        "the type comes from the bytes, not the name"
    );
    let url = format!("{}{}", app.url, uploaded["url"].as_str().unwrap());
    let response = app.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let etag = header("etag").unwrap();
    assert_eq!(etag, format!("\"{}\"", uploaded["sha256"].as_str().unwrap()));
    assert_eq!(header("content-type").as_deref(), Some("image/png"));
    assert_eq!(header("content-length"), Some(png().len().to_string()));
    assert!(header("cache-control").unwrap().contains("immutable"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(response.bytes().await.unwrap().to_vec(), png());

    let cached = app.http.get(&url).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers().get("etag").unwrap().to_str().unwrap(), etag);
    assert!(cached.bytes().await.unwrap().is_empty());
    let stale = app.http.get(&url).header("If-None-Match", "\"something-else\"").send().await.unwrap();
    assert_eq!(stale.status(), 200);
    for missing in ["/media/0190a0a0-0000-7000-8000-000000000000", "/media/not-an-id"] {
        assert_eq!(app.http.get(format!("{}{missing}", app.url)).send().await.unwrap().status(), 404);
    }
}

#[tokio::test]
async fn a_text_file_named_png_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.verified("alice").await;
    let body = app.upload(&alice.access, "picture.png", b"definitely not a picture\n".to_vec()).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "file");
    let bmp = app
        .upload(&alice.access, "picture.png", b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0".to_vec())
        .await;
    assert_eq!(code(&bmp), "BAD_USER_INPUT", "only PNG, JPEG, WebP and GIF: {bmp}");
}

/// The upload's error message, after checking it is a `BAD_USER_INPUT` on `file`.
fn refusal(body: &Value) -> String {
    assert_eq!(code(body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "file", "{body}");
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn image_bombs_are_refused_from_their_headers_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let alice = app.verified("alice").await;
    let bombs = [
        ("100000² PNG", images::png_header(100_000, 100_000)),
        ("(2³¹−1)² PNG", images::png_header(i32::MAX as u32, i32::MAX as u32)),
        ("65535² GIF", images::gif_header(u16::MAX, u16::MAX)),
        ("65500² JPEG", images::jpeg_header(65_500, 65_500)),
        // Within 16,384 on each side, over 50 M pixels in all.
        ("8000² PNG", images::png_header(8_000, 8_000)),
    ];
    for (name, bytes) in bombs {
        let message = refusal(&app.upload(&alice.access, "bomb.png", bytes).await);
        assert!(message.contains("pixels"), "{name}: {message}");
    }
    assert_eq!(std::fs::read_dir(app.data_dir.path().join("media")).map_or(0, |dir| dir.count()), 0, "no bytes kept");
}

#[tokio::test]
async fn image_bounds_are_configurable() {
    let app =
        TestApp::spawn_with(&["--media-max-width", "40", "--media-max-height", "30", "--media-max-pixels", "1000"])
            .await;
    let alice = app.verified("alice").await;
    for (width, height) in [(41, 1), (1, 31), (40, 26)] {
        let message = refusal(&app.upload(&alice.access, "wide.png", images::png(width, height)).await);
        assert!(
            message.contains(&format!("{width} × {height} pixels")) && message.contains("40 × 30 and 1000"),
            "{message}"
        );
    }
    assert_eq!(media(&app.upload(&alice.access, "fits.png", images::png(40, 25)).await)["width"], 40);
    // Every frame of an animation counts: 4 frames of 16×16 are 1,024 pixels.
    refusal(&app.upload(&alice.access, "long.gif", images::gif(16, 16, 4)).await);
    assert_eq!(media(&app.upload(&alice.access, "short.gif", images::gif(16, 16, 3)).await)["height"], 16);
}

#[tokio::test]
async fn damaged_or_disguised_images_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.verified("alice").await;
    let html = b"<html><script>alert(document.cookie)</script></html>".as_slice();
    let cut = |bytes: Vec<u8>| bytes[..bytes.len() - 8].to_vec();
    let cases = [
        ("a PNG signature and header, then HTML", [images::png_header(3, 2), html.to_vec()].concat()),
        ("a whole PNG, then HTML", [png(), html.to_vec()].concat()),
        ("a PNG cut short", cut(png())),
        ("a GIF cut short", cut(images::gif(8, 8, 2))),
        ("a WebP, then HTML", [images::webp(5, 7), html.to_vec()].concat()),
        ("a WebP cut short", cut(images::webp(5, 7))),
        ("a JPEG header without a picture", images::jpeg_header(640, 480)),
        ("a JPEG cut in half", images::jpeg()[..2000].to_vec()),
    ];
    for (name, bytes) in cases {
        let message = refusal(&app.upload(&alice.access, "x.png", bytes).await);
        assert!(message.contains("well-formed"), "{name}: {message}");
    }
    // A flipped bit in the compressed pixels fails the PNG's checksum.
    let mut flipped = png();
    let data = flipped.len() - 12 - 8;
    flipped[data] ^= 1;
    refusal(&app.upload(&alice.access, "x.png", flipped).await);
}

#[tokio::test]
async fn an_oversized_upload_is_refused() {
    let app = TestApp::spawn_with(&["--media-max-bytes", "1000"]).await;
    let alice = app.verified("alice").await;
    let body = app.upload(&alice.access, "big.png", images::png_of_size(1001)).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["fields"][0]["field"], "file");
    let huge = images::png_of_size(3 * 1024 * 1024);
    assert_eq!(code(&app.upload(&alice.access, "huge.png", huge).await), "BAD_USER_INPUT", "past the body limit too");
    assert_eq!(media(&app.upload(&alice.access, "fits.png", images::png_of_size(1000)).await)["byteSize"], 1000);
}

#[tokio::test]
async fn uploads_need_a_verified_writer_and_the_preflight_header() {
    let app = TestApp::spawn().await;
    let unverified = app.register("unverified").await;
    assert_eq!(code(&app.upload(&unverified.access, "a.png", png()).await), "FORBIDDEN");

    let alice = app.verified("alice").await;
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({ "query": "mutation($f: Upload!) { uploadMedia(file: $f) { id } }", "variables": { "f": null } })
                .to_string(),
        )
        .text("map", json!({ "0": ["variables.f"] }).to_string())
        .part("0", reqwest::multipart::Part::bytes(png()).file_name("a.png"));
    let response =
        app.http.post(format!("{}/graphql", app.url)).bearer_auth(&alice.access).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 415, "a multipart POST without the preflight header could come from any site's form");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn the_same_bytes_uploaded_twice_by_one_owner_are_one_media() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.verified("alice").await, app.verified("bob").await);
    let first = media(&app.upload(&alice.access, "a.gif", images::gif(1, 1, 1)).await).clone();
    assert_eq!((&first["contentType"], &first["width"]), (&json!("image/gif"), &json!(1)));
    let again = media(&app.upload(&alice.access, "b.gif", images::gif(1, 1, 1)).await).clone();
    assert_eq!(again["id"], first["id"]);
    let bobs = media(&app.upload(&bob.access, "a.gif", images::gif(1, 1, 1)).await).clone();
    assert_ne!(bobs["id"], first["id"], "another owner's upload is their own");
}

#[tokio::test]
async fn reviews_show_their_authors_media_and_cleanup_removes_only_unattached_uploads() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let entry = app.places(&admin, &["Harbor".into()]).await.remove(0);
    let (alice, bob) = (app.verified("alice").await, app.verified("bob").await);
    let photo = media(&app.upload(&alice.access, "a.png", png()).await)["id"].clone();
    let unused = media(&app.upload(&alice.access, "b.gif", images::gif(1, 1, 1)).await)["id"].clone();
    let bobs = media(&app.upload(&bob.access, "c.png", png()).await)["id"].clone();

    let upsert = "mutation($i: ReviewInput!) { upsertReview(input: $i) { media { id url width } } }";
    let foreign = app
        .gql(Some(&alice.access), upsert, json!({ "i": { "entryId": entry, "rating": 4, "mediaIds": [bobs] } }))
        .await;
    assert_eq!(code(&foreign), "BAD_USER_INPUT", "only your own media: {foreign}");
    let review = app
        .gql(Some(&alice.access), upsert, json!({ "i": { "entryId": entry, "rating": 4, "mediaIds": [photo] } }))
        .await;
    assert_eq!(review["data"]["upsertReview"]["media"][0]["id"], photo, "{review}");
    assert_eq!(review["data"]["upsertReview"]["media"][0]["width"], 3);

    let url = |id: &Value| format!("{}/media/{}", app.url, id.as_str().unwrap());
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let store = &app.state.media;
    let deleted = cleanup(app.db(), store, later).await;
    assert_eq!(deleted.ok(), Some(2), "Alice's unused upload and Bob's");
    assert_eq!(app.http.get(url(&photo)).send().await.unwrap().status(), 200, "attached media stay");
    for gone in [&unused, &bobs] {
        assert_eq!(app.http.get(url(gone)).send().await.unwrap().status(), 404);
        assert!(!app.data_dir.path().join("media").join(gone.as_str().unwrap()).exists(), "bytes removed");
    }
    let recent = cleanup(app.db(), store, chrono::Utc::now() - chrono::Duration::hours(24)).await;
    assert_eq!(recent.ok(), Some(0));
}

#[tokio::test]
async fn entries_show_media_attached_through_submissions_and_cleanup_keeps_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let entry = app.places(&admin, &["Harbor".into()]).await.remove(0);
    let alice = app.verified("alice").await;
    let photo = media(&app.upload(&admin.access, "a.png", png()).await)["id"].clone();
    let alices = media(&app.upload(&alice.access, "b.gif", images::gif(1, 1, 1)).await)["id"].clone();
    let base = app
        .gql(None, "query($id: ID!) { entry(id: $id) { currentRevision { number } } }", json!({ "id": entry }))
        .await;
    let base = base["data"]["entry"]["currentRevision"]["number"].clone();

    let create = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
    let change = |ids: Vec<&Value>| {
        json!({ "i": { "title": "Photo", "changes": [
            { "op": "UPDATE", "entryId": entry, "baseRevision": base, "fields": { "mediaIds": ids } }
        ] } })
    };
    let foreign = app.gql(Some(&admin.access), create, change(vec![&alices])).await;
    assert_eq!(code(&foreign), "BAD_USER_INPUT", "only your own uploads: {foreign}");
    assert_eq!(foreign["errors"][0]["extensions"]["fields"][0]["field"], "changes.0.fields.mediaIds");

    let created = app.gql(Some(&admin.access), create, change(vec![&photo])).await;
    let submission = created["data"]["createSubmission"]["id"].clone();
    let submit = "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }";
    let merged = app.gql(Some(&admin.access), submit, json!({ "id": submission })).await;
    assert_eq!(merged["data"]["submitForReview"]["status"], "MERGED", "{merged}");

    let read = app
        .gql(
            None,
            "query($id: ID!) { entry(id: $id) { media { id width } currentRevision { snapshot { mediaIds } } } }",
            json!({ "id": entry }),
        )
        .await;
    assert_eq!(read["data"]["entry"]["media"], json!([{ "id": photo, "width": 3 }]), "{read}");
    assert_eq!(read["data"]["entry"]["currentRevision"]["snapshot"]["mediaIds"], json!([photo]));

    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let deleted = cleanup(app.db(), &app.state.media, later).await;
    assert_eq!(deleted.ok(), Some(1), "only Alice's unattached upload goes");
    let url = format!("{}/media/{}", app.url, photo.as_str().unwrap());
    assert_eq!(app.http.get(url).send().await.unwrap().status(), 200, "an entry's image stays");
}

const CREATE: &str = "mutation($i: CreateSubmissionInput!) { createSubmission(input: $i) { id } }";
const SUBMIT: &str = "mutation($id: ID!) { submitForReview(submissionId: $id) { status } }";
const ENTRY_MEDIA: &str = "query($id: ID!) { entry(id: $id) { media { id } currentRevision { number } } }";

/// Submits (as `actor`) one update of `entry` setting its images, and returns the submission's id and status.
async fn submit_media(app: &TestApp, actor: &xpr_tests::Actor, entry: &str, ids: Vec<&Value>) -> (Value, String) {
    let read = app.gql(None, ENTRY_MEDIA, json!({ "id": entry })).await;
    let base = read["data"]["entry"]["currentRevision"]["number"].clone();
    let change = json!({ "i": { "title": "Photos", "changes": [
        { "op": "UPDATE", "entryId": entry, "baseRevision": base, "fields": { "mediaIds": ids } }
    ] } });
    let created = app.gql(Some(&actor.access), CREATE, change).await;
    let id = created["data"]["createSubmission"]["id"].clone();
    assert!(id.is_string(), "{created}");
    let submitted = app.gql(Some(&actor.access), SUBMIT, json!({ "id": id })).await;
    let status = submitted["data"]["submitForReview"]["status"].as_str().unwrap_or_else(|| panic!("{submitted}"));
    (id.clone(), status.to_owned())
}

async fn cleanup_everything_unused(app: &TestApp) -> u64 {
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    cleanup(app.db(), &app.state.media, later).await.unwrap()
}

#[tokio::test]
async fn an_upload_cited_only_by_a_pending_submission_survives_cleanup_and_shows_after_the_merge() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let places = app.places(&admin, &["Harbor".into(), "Lighthouse".into()]).await;
    let (entry, other) = (&places[0], &places[1]);
    let alice = app.verified("alice").await;
    let photo = media(&app.upload(&alice.access, "a.png", png()).await)["id"].clone();
    let draft_photo = media(&app.upload(&alice.access, "b.gif", images::gif(1, 1, 1)).await)["id"].clone();
    let unused = media(&app.upload(&alice.access, "c.png", images::png(4, 2)).await)["id"].clone();
    let (submission, status) = submit_media(&app, &alice, entry, vec![&photo]).await;
    assert_eq!(status, "PENDING");
    // A draft of another entry cites the second upload.
    let read = app.gql(None, ENTRY_MEDIA, json!({ "id": other })).await;
    let draft = json!({ "i": { "title": "Draft", "changes": [{ "op": "UPDATE", "entryId": other,
        "baseRevision": read["data"]["entry"]["currentRevision"]["number"], "fields": { "mediaIds": [draft_photo] } }] } });
    assert!(app.gql(Some(&alice.access), CREATE, draft).await["errors"].is_null());

    assert_eq!(cleanup_everything_unused(&app).await, 1, "only the upload nothing cites goes");
    let url = |id: &Value| format!("{}/media/{}", app.url, id.as_str().unwrap());
    assert_eq!(app.http.get(url(&unused)).send().await.unwrap().status(), 404);
    for kept in [&photo, &draft_photo] {
        assert_eq!(app.http.get(url(kept)).send().await.unwrap().status(), 200, "open submissions keep their images");
    }

    let approve = "mutation($id: ID!) { approveSubmission(submissionId: $id) { merged } }";
    let approved = app.gql(Some(&admin.access), approve, json!({ "id": submission })).await;
    assert_eq!(approved["data"]["approveSubmission"]["merged"], true, "{approved}");
    let read = app.gql(None, ENTRY_MEDIA, json!({ "id": entry })).await;
    assert_eq!(read["data"]["entry"]["media"], json!([{ "id": photo }]), "{read}");
}

#[tokio::test]
async fn an_image_only_a_past_revision_showed_survives_cleanup_and_a_revert_restores_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let entry = app.places(&admin, &["Harbor".into()]).await.remove(0);
    let photo = media(&app.upload(&admin.access, "a.png", png()).await)["id"].clone();
    assert_eq!(submit_media(&app, &admin, &entry, vec![&photo]).await.1, "MERGED");
    let shown = app.gql(None, ENTRY_MEDIA, json!({ "id": entry })).await;
    let with_photo = shown["data"]["entry"]["currentRevision"]["number"].clone();
    assert_eq!(submit_media(&app, &admin, &entry, vec![]).await.1, "MERGED");
    let read = app.gql(None, ENTRY_MEDIA, json!({ "id": entry })).await;
    assert_eq!(read["data"]["entry"]["media"], json!([]), "{read}");

    assert_eq!(cleanup_everything_unused(&app).await, 0, "revision {with_photo} still shows it");
    let revert = "mutation($id: ID!, $to: Int!) { revertEntry(entryId: $id, toRevision: $to, reason: \"bring the photo back\") { id status } }";
    let reverted = app.gql(Some(&admin.access), revert, json!({ "id": entry, "to": with_photo })).await;
    // An admin is trusted: the revert merges at once, as their submissions do.
    assert_eq!(reverted["data"]["revertEntry"]["status"], "MERGED", "{reverted}");
    let read = app.gql(None, ENTRY_MEDIA, json!({ "id": entry })).await;
    assert_eq!(read["data"]["entry"]["media"], json!([{ "id": photo }]), "{read}");
}

#[tokio::test]
async fn jpeg_and_webp_uploads_are_recognised_with_their_dimensions() {
    let app = TestApp::spawn().await;
    let alice = app.verified("alice").await;
    for (name, bytes, kind, width, height) in
        [("a.bin", images::jpeg(), "image/jpeg", 320, 240), ("b.png", images::webp(5, 7), "image/webp", 5, 7)]
    {
        let body = app.upload(&alice.access, name, bytes.clone()).await;
        let uploaded = media(&body);
        assert_eq!(
            (&uploaded["contentType"], &uploaded["width"], &uploaded["height"], &uploaded["byteSize"]),
            (&json!(kind), &json!(width), &json!(height), &json!(bytes.len())),
            "{name}: {body}"
        );
    }
}

#[tokio::test]
async fn an_uploads_operations_part_keeps_to_the_json_body_limit() {
    let app = TestApp::spawn().await;
    let alice = app.verified("alice").await;
    // 2 MiB of `__typename` beside a small file: within body + media limits, over the JSON limit.
    let query = format!("mutation($f: Upload!) {{ uploadMedia(file: $f) {{ id }} {} }}", "__typename ".repeat(200_000));
    let form = reqwest::multipart::Form::new()
        .text("operations", json!({ "query": query, "variables": { "f": null } }).to_string())
        .text("map", json!({ "0": ["variables.f"] }).to_string())
        .part("0", reqwest::multipart::Part::bytes(png()).file_name("a.png"));
    let response = app
        .http
        .post(format!("{}/graphql", app.url))
        .bearer_auth(&alice.access)
        .header("GraphQL-Require-Preflight", "1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    // A normal upload still goes through.
    assert!(app.upload(&alice.access, "a.png", png()).await["errors"].is_null());
}
