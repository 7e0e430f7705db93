//! GraphiQL at `/`. Its assets come from the `graphiql` npm package installed
//! into a local folder (README: "GraphiQL offline"), served by this binary, so
//! the page works without internet. Nothing third-party is in the repository.

use std::path::Path;

use axum::{Router, response::Html, routing::get};
use tower_http::services::ServeDir;

const ASSETS: &str = "/graphiql/assets";

pub fn routes(dir: &Path) -> Router {
    let modules = dir.join("node_modules");
    let local = modules.join("graphiql").is_dir();
    let base = if local {
        ASSETS.to_owned()
    } else {
        tracing::info!(
            dir = %dir.display(),
            "GraphiQL assets are not installed locally: the page at / loads them from unpkg.com (see README)"
        );
        "https://unpkg.com".to_owned()
    };
    let page = Html(page(&base));
    Router::new().route("/", get(move || async move { page.clone() })).nest_service(ASSETS, ServeDir::new(modules))
}

fn page(base: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>XP-R API · GraphiQL</title>
  <link rel="stylesheet" href="{base}/graphiql/graphiql.min.css">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{base}/react/umd/react.production.min.js"></script>
  <script src="{base}/react-dom/umd/react-dom.production.min.js"></script>
  <script src="{base}/graphiql/graphiql.min.js"></script>
  <script>
    const url = new URL("/graphql", window.location.href);
    const subscriptionUrl = url.href.replace(/^http/, "ws");
    const fetcher = GraphiQL.createFetcher({{ url: url.href, subscriptionUrl }});
    ReactDOM.createRoot(document.getElementById("graphiql"))
      .render(React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }}));
  </script>
</body>
</html>
"#
    )
}
