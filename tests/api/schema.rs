#[test]
fn schema_graphql_matches_the_exported_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap();
    assert!(
        committed == xpr_api::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- export-schema > schema.graphql` and review the diff"
    );
}
