//! Bulk import: chunked, bad lines reported, idempotent.

use serde_json::json;
use xpr_api::modules::{identity::selectors::operator, versioning::import::import};
use xpr_tests::TestApp;

const FILE: &str = r#"{"op":"create","kind":"location","fields":{"slug":"harbor","title":"Harbor"}}
{"op":"create","kind":"ship","fields":{"slug":"aurora","title":"Aurora","parent":"location/harbor","attributes":{"crew":3}}}
this is not json
{"op":"create","kind":"ship","fields":{"slug":"broken","title":"Broken","attributes":{"crew":0}}}

{"op":"update","kind":"ship","slug":"aurora","fields":{"summary":"Fast","links":[{"type":"docked-at","target":"location/harbor"}]}}
{"op":"create","kind":"ship","fields":{"slug":"hauler","title":"Hauler","tags":["cargo"]}}
{"op":"update","kind":"ship","slug":"ghost","fields":{"title":"Nope"}}
{"op":"delete","kind":"ship","slug":"hauler"}
"#;

#[tokio::test]
async fn imports_in_chunks_reports_bad_lines_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let schema = json!({ "type": "object", "properties": { "crew": { "type": "integer", "minimum": 1 } } });
    for (slug, parents) in [("location", json!([])), ("ship", json!(["location"]))] {
        let input =
            json!({ "i": { "slug": slug, "name": slug, "attributeSchema": schema, "allowedParentKinds": parents } });
        app.gql(Some(&admin.access), "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }", input)
            .await;
    }
    let viewer = operator(app.db(), "root_admin").await.unwrap_or_else(|_| panic!("operator"));
    let lines = || FILE.lines().map(str::to_owned).collect::<Vec<_>>();

    let report = import(&app.state, &viewer, lines(), 2, |_| {}).await.unwrap_or_else(|_| panic!("import"));
    assert_eq!(report.applied, 5, "{report:?}");
    let failed: Vec<usize> = report.failed.iter().map(|(line, _)| *line).collect();
    assert_eq!(failed, [3, 4, 8], "{report:?}");
    assert!(report.failed[1].1.contains("attributes.crew"), "reasons name the field: {report:?}");
    assert!(report.failed[2].1.contains("ship/ghost"));

    let aurora = app
        .gql(None, "{ entry(kind: \"ship\", slug: \"aurora\") { summary version parent { title } links { type entry { title } } } }", json!({}))
        .await;
    assert_eq!(aurora["data"]["entry"]["summary"], "Fast");
    assert_eq!(aurora["data"]["entry"]["version"], 2);
    assert_eq!(aurora["data"]["entry"]["parent"]["title"], "Harbor");
    assert_eq!(aurora["data"]["entry"]["links"][0]["entry"]["title"], "Harbor");
    let hauler = app.gql(None, "{ entry(kind: \"ship\", slug: \"hauler\") { deleted } }", json!({})).await;
    assert_eq!(hauler["data"]["entry"]["deleted"], true);

    let again = import(&app.state, &viewer, lines(), 2, |_| {}).await.unwrap_or_else(|_| panic!("import"));
    assert_eq!(again.applied, 0, "nothing is applied twice: {again:?}");
    assert_eq!(again.unchanged, 5, "{again:?}");
    let revisions: i64 = app
        .gql(None, "{ entries(first: 10) { edges { node { version } } } }", json!({}))
        .await["data"]["entries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["version"].as_i64().unwrap())
        .sum();
    assert_eq!(revisions, 3, "harbor 1 + aurora 2; the deleted hauler is not listed");
}

#[tokio::test]
async fn imported_tags_are_trimmed_and_lower_cased_like_the_apis() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root_admin").await;
    let kind = json!({ "i": { "slug": "ship", "name": "Ship", "attributeSchema": {} } });
    app.gql(Some(&admin.access), "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }", kind).await;
    let viewer = operator(app.db(), "root_admin").await.unwrap_or_else(|_| panic!("operator"));
    let line = r#"{"op":"create","kind":"ship","fields":{"slug":"hauler","title":"Hauler","tags":["Cargo"," Heavy-Lift ","cargo"]}}"#;
    let report = import(&app.state, &viewer, [line.to_owned()], 10, |_| {}).await.unwrap_or_else(|_| panic!("import"));
    assert_eq!((report.applied, report.failed.len()), (1, 0), "{report:?}");
    let hauler = app.gql(None, "{ entry(kind: \"ship\", slug: \"hauler\") { tags } }", json!({})).await;
    assert_eq!(hauler["data"]["entry"]["tags"], json!(["cargo", "heavy-lift"]), "{hauler}");
    let tagged = app.gql(None, "{ entries(filter: { tag: \"cargo\" }) { edges { node { title } } } }", json!({})).await;
    assert_eq!(tagged["data"]["entries"]["edges"][0]["node"]["title"], "Hauler", "{tagged}");
}
