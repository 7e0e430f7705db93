//! GraphiQL at `/`. The page loads GraphiQL 3's UMD bundle (it includes the
//! `graphql-ws` client) and React 18 at exact versions with SRI hashes: from the
//! local folder when those versions are installed there (README: "GraphiQL
//! offline"), else from jsDelivr. The folder is looked at on every page load,
//! so installing the assets needs no restart. Nothing third-party is in the
//! repository.

use std::path::{Path, PathBuf};

use axum::{Router, response::Html, routing::get};
use tower_http::services::ServeDir;

const ASSETS: &str = "/graphiql/assets";
const CDN: &str = "https://cdn.jsdelivr.net/npm";

#[derive(Clone, Copy)]
struct Package {
    name: &'static str,
    version: &'static str,
}

// A page without a build step needs UMD bundles: graphiql 5 ships none (4
// deprecated its own), React 19 none at all. So the last graphiql 3 on React 18.
const GRAPHIQL: Package = Package { name: "graphiql", version: "3.9.0" };
const REACT: Package = Package { name: "react", version: "18.3.1" };
const REACT_DOM: Package = Package { name: "react-dom", version: "18.3.1" };
const PACKAGES: [Package; 3] = [GRAPHIQL, REACT, REACT_DOM];

/// A file the page loads, with its hash (`openssl dgst -sha384 -binary FILE | openssl base64 -A`
/// over the file in the package's npm tarball).
struct Asset {
    package: Package,
    path: &'static str,
    integrity: &'static str,
}

const STYLE: Asset = Asset {
    package: GRAPHIQL,
    path: "graphiql.min.css",
    integrity: "sha384-QMux00XgRtwRLSYIY3kw2rj1ovk5AuuliAchk+HSQbqdbGFnz9GYuqIlOqxhwCE2",
};
const SCRIPTS: [Asset; 3] = [
    Asset {
        package: REACT,
        path: "umd/react.production.min.js",
        integrity: "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    },
    Asset {
        package: REACT_DOM,
        path: "umd/react-dom.production.min.js",
        integrity: "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    },
    Asset {
        package: GRAPHIQL,
        path: "graphiql.min.js",
        integrity: "sha384-8NGfVj4CVlqHajlZj+bPJT4thxPMHMJYn7DWK2CvtopLd02E7qsPHazniBYvVjOO",
    },
];

pub fn routes(dir: &Path) -> Router {
    tracing::info!(
        dir = %dir.display(),
        "GraphiQL at / loads its assets from this folder once installed there (`{}`), from {CDN} until then",
        install_command(dir)
    );
    let assets = ServeDir::new(dir.join("node_modules"));
    let dir = dir.to_path_buf();
    Router::new().route("/", get(move || index(dir.clone()))).nest_service(ASSETS, assets)
}

async fn index(dir: PathBuf) -> Html<String> {
    let local = match installed(&dir.join("node_modules")).await {
        Installed::Pinned => true,
        Installed::Nothing => false,
        Installed::Other(found) => {
            tracing::warn!(
                dir = %dir.display(),
                found,
                "GraphiQL assets installed there are not the versions the page pins, so it loads them from {CDN}: run `{}`",
                install_command(&dir)
            );
            false
        }
    };
    Html(page(local))
}

enum Installed {
    Pinned,
    Nothing,
    /// Some package missing or at another version: what is there, for the log.
    Other(String),
}

/// Three small `package.json` reads per page load: cheap, and the page follows
/// the folder without a restart.
async fn installed(modules: &Path) -> Installed {
    #[derive(serde::Deserialize)]
    struct Manifest {
        version: String,
    }
    let mut found = Vec::new();
    for package in PACKAGES {
        let manifest = tokio::fs::read(modules.join(package.name).join("package.json")).await.ok();
        let version = manifest.and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok()).map(|m| m.version);
        found.push((package, version));
    }
    if found.iter().all(|(package, version)| version.as_deref() == Some(package.version)) {
        Installed::Pinned
    } else if found.iter().all(|(_, version)| version.is_none()) {
        Installed::Nothing
    } else {
        let found = found.iter().map(|(package, version)| match version {
            Some(version) => format!("{}@{version}", package.name),
            None => format!("{} (missing)", package.name),
        });
        Installed::Other(found.collect::<Vec<_>>().join(", "))
    }
}

fn install_command(dir: &Path) -> String {
    let packages: Vec<String> = PACKAGES.iter().map(|p| format!("{}@{}", p.name, p.version)).collect();
    format!("npm install --prefix {} {}", dir.display(), packages.join(" "))
}

fn page(local: bool) -> String {
    let url = |asset: &Asset| {
        let Package { name, version } = asset.package;
        if local { format!("{ASSETS}/{name}/{}", asset.path) } else { format!("{CDN}/{name}@{version}/{}", asset.path) }
    };
    // `onerror`: an asset that can't load (offline without the local install)
    // or doesn't match its hash says so instead of "Loading…" forever.
    let attributes =
        |asset: &Asset| format!(r#"integrity="{}" crossorigin="anonymous" onerror="failed(this)""#, asset.integrity);
    let scripts: Vec<String> =
        SCRIPTS.iter().map(|s| format!(r#"  <script src="{}" {}></script>"#, url(s), attributes(s))).collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>XP-R API · GraphiQL</title>
  <link rel="icon" href="data:,">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
  <script>
    function failed(element) {{
      document.getElementById("graphiql").textContent = "GraphiQL could not load "
        + (element.src || element.href) + " (offline? see README, \"GraphiQL offline\").";
    }}
  </script>
  <link rel="stylesheet" href="{style}" {style_attributes}>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
{scripts}
  <script>
    const url = new URL("/graphql", window.location.href).href;
    // Subscriptions go over WebSocket (graphql-transport-ws, ws:// or wss:// as
    // the page) on the same path. The fetcher opens a client per subscription
    // whose connection_init payload is the header editor's headers, so
    // {{"Authorization": "Bearer …"}} signs the socket in as it does queries.
    const fetcher = GraphiQL.createFetcher({{ url, subscriptionUrl: url.replace(/^http/, "ws") }});
    ReactDOM.createRoot(document.getElementById("graphiql"))
      .render(React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }}));
  </script>
</body>
</html>
"#,
        style = url(&STYLE),
        style_attributes = attributes(&STYLE),
        scripts = scripts.join("\n"),
    )
}
