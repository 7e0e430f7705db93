use xpr_tests::WsEvent;

#[test]
fn schema_graphql_matches_the_exported_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap();
    assert!(
        committed == xpr_api::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- export-schema > schema.graphql` and review the diff"
    );
}

/// The guides' example operations, one by one (comments dropped, split at top-level braces).
fn guide_operations() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/guides");
    let mut operations = Vec::new();
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for block in text.split("```graphql\n").skip(1).filter_map(|rest| rest.split("```").next()) {
            let code: String = block.lines().map(|line| line.split('#').next().unwrap()).collect::<Vec<_>>().join("\n");
            let (mut depth, mut start) = (0, 0);
            for (i, c) in code.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            operations.push((path.display().to_string(), code[start..=i].trim().to_owned()));
                            start = i + 1;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    operations
}

#[tokio::test]
async fn every_operation_in_the_guides_is_valid_against_the_schema() {
    let app = xpr_tests::TestApp::spawn().await;
    let operations = guide_operations();
    assert!(operations.len() > 20, "the guides show operations");
    for (file, operation) in operations {
        // Run anonymously without variables: only parse and validation errors matter here.
        if operation.starts_with("subscription") {
            // Over WebSocket, validation errors come without an `extensions.code` (ours always have one).
            let mut socket = app.ws(None).await;
            socket.subscribe("1", &operation, serde_json::json!({})).await;
            if let Some(WsEvent::Message(reply)) = socket.next(std::time::Duration::from_secs(2)).await {
                let errors = if reply["type"] == "error" { &reply["payload"] } else { &reply["payload"]["errors"] };
                for error in errors.as_array().into_iter().flatten() {
                    let message = error["message"].as_str().unwrap_or_default();
                    let ours = error["extensions"]["code"].is_string();
                    assert!(ours || message.contains("ariable"), "{file}: {message}\n{operation}");
                }
            }
            continue;
        }
        let body = app.gql(None, &operation, serde_json::json!({})).await;
        for error in body["errors"].as_array().into_iter().flatten() {
            let code = error["extensions"]["code"].as_str().unwrap_or_default();
            let message = error["message"].as_str().unwrap_or_default();
            assert!(!code.starts_with("GRAPHQL_") || message.contains("ariable"), "{file}: {message}\n{operation}");
        }
    }
}
