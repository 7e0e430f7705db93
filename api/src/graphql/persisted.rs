//! Persisted documents: operations sent by id instead of text, for every
//! transport. Ids resolve from the persisted-query manifests that the
//! first-party clients' builds write (trusted documents, loaded once at start)
//! or from the cache of automatic persisted queries (APQ), which a client
//! fills by sending text with its SHA-256 and which is never trusted. In
//! `require` mode only manifest documents run, unless an API token sent the
//! request (ADR 0023). Owns nothing else: limits and execution come after.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::Context as _;
use async_graphql::{Name, Request, ServerError, Value};
use lru::LruCache;
use serde::Deserialize;

use super::coded;
use crate::{
    auth::{Auth, Credential, hash_token},
    config::TrustedDocuments,
};

/// Apollo's `persisted-query-manifest` format, version 1 (the fields we read).
#[derive(Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    operations: Vec<ManifestOperation>,
}

#[derive(Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

pub struct Persisted {
    mode: TrustedDocuments,
    /// Manifest id → document text.
    trusted: HashMap<String, String>,
    /// SHA-256 (hex) → text, registered by clients: a cache, never an allow-list.
    apq: Mutex<LruCache<String, String>>,
}

impl Persisted {
    const APQ_CAPACITY: usize = 512;
    /// Longer texts are not cached, so the cache holds at most 8 MiB.
    const APQ_MAX_BYTES: usize = 16 * 1024;

    /// Reads every `*.json` manifest in `dir` (none when it doesn't exist,
    /// unless `require` needs them). A manifest that doesn't parse, or an id
    /// that names two different documents, stops the server from starting.
    pub fn load(mode: TrustedDocuments, dir: &Path) -> anyhow::Result<Self> {
        let mut trusted = HashMap::new();
        if mode != TrustedDocuments::Off {
            for path in manifests(dir)? {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                let manifest: Manifest =
                    serde_json::from_str(&text).with_context(|| format!("{} is not a manifest", path.display()))?;
                anyhow::ensure!(
                    manifest.format == "apollo-persisted-query-manifest" && manifest.version == 1,
                    "{}: expected format apollo-persisted-query-manifest, version 1",
                    path.display()
                );
                for operation in manifest.operations {
                    async_graphql::parser::parse_query(&operation.body)
                        .with_context(|| format!("{}: operation {} does not parse", path.display(), operation.id))?;
                    if let Some(other) = trusted.insert(operation.id.clone(), operation.body.clone()) {
                        anyhow::ensure!(
                            other == operation.body,
                            "{}: id {} names two different documents",
                            path.display(),
                            operation.id
                        );
                    }
                }
            }
        }
        anyhow::ensure!(
            mode != TrustedDocuments::Require || !trusted.is_empty(),
            "XPR_TRUSTED_DOCUMENTS=require needs a persisted-query manifest in {}",
            dir.display()
        );
        tracing::info!(mode = ?mode, operations = trusted.len(), dir = %dir.display(), "trusted documents");
        let capacity = NonZeroUsize::new(Self::APQ_CAPACITY).expect("non-zero");
        Ok(Self { mode, trusted, apq: Mutex::new(LruCache::new(capacity)) })
    }

    /// Whether the request names a manifest document; if so, its text is now the request's.
    pub fn trusted(&self, request: &mut Request) -> bool {
        let body = persisted_id(request).and_then(|id| self.trusted.get(id)).cloned();
        body.map(|body| request.query = body).is_some()
    }

    /// Whether a request by `auth` may run a document that no manifest holds.
    pub fn admits_untrusted(&self, auth: &Auth) -> bool {
        self.mode != TrustedDocuments::Require
            || auth.viewer().is_some_and(|viewer| matches!(viewer.credential, Credential::ApiToken { .. }))
    }

    /// Resolves a request that [`trusted`](Self::trusted) did not: its text,
    /// or its id from the APQ cache, where text sent with a matching hash is
    /// registered. `admitted` says whether such a document may run at all.
    pub fn untrusted(&self, request: &mut Request, admitted: bool) -> Result<(), ServerError> {
        let id = persisted_id(request).map(str::to_owned);
        match id {
            // In `require` mode the cache is not consulted: it would be an allow-list anyone can fill.
            Some(_) if !admitted => Err(not_found()),
            None if !admitted => Err(coded(
                "this server runs only trusted documents: send a `documentId` from your client's manifest",
                "PERSISTED_QUERY_ID_REQUIRED",
            )),
            None => Ok(()),
            Some(id) if request.query.is_empty() => {
                let text = self.apq.lock().expect("apq lock").get(&id).cloned();
                request.query = text.ok_or_else(not_found)?;
                Ok(())
            }
            Some(id) if hash_token(&request.query) != id => {
                Err(coded("the document's SHA-256 does not match its id", "PERSISTED_QUERY_HASH_MISMATCH"))
            }
            Some(id) => {
                if request.query.len() <= Self::APQ_MAX_BYTES {
                    self.apq.lock().expect("apq lock").put(id, request.query.clone());
                }
                Ok(())
            }
        }
    }

    /// Both steps, for a transport whose credentials are known up front (WebSocket).
    pub fn resolve(&self, request: &mut Request, auth: &Auth) -> Result<(), ServerError> {
        if self.trusted(request) { Ok(()) } else { self.untrusted(request, self.admits_untrusted(auth)) }
    }
}

fn manifests(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// The id in `extensions.persistedQuery.sha256Hash`, where transports also
/// put a `documentId` ([`lift_document_id`]); `sha256:` prefixes dropped.
fn persisted_id(request: &Request) -> Option<&str> {
    let Some(Value::Object(persisted)) = request.extensions.get("persistedQuery") else { return None };
    let Some(Value::String(id)) = persisted.get("sha256Hash") else { return None };
    Some(id.strip_prefix("sha256:").unwrap_or(id))
}

/// Whether a JSON text may hold a `documentId`: most hold none, and skip the
/// detour through `serde_json::Value` that [`lift_document_id`] needs.
pub fn mentions_document_id(json: &[u8]) -> bool {
    json.windows(b"documentId".len()).any(|w| w == b"documentId")
}

/// Moves a GraphQL-over-HTTP `documentId` from a request's JSON into
/// `extensions.persistedQuery.sha256Hash`, the one place ids are read from
/// (async-graphql's `Request` has no field for it).
pub fn lift_document_id(request: &mut serde_json::Value) {
    let Some(object) = request.as_object_mut() else { return };
    let Some(id) = object.remove("documentId") else { return };
    let extensions = object.entry("extensions").or_insert_with(|| serde_json::json!({}));
    if let Some(extensions) = extensions.as_object_mut() {
        extensions.insert("persistedQuery".into(), serde_json::json!({ "version": 1, "sha256Hash": id }));
    }
}

/// Sets a `documentId` that came outside a JSON body (a GET's query string).
pub fn set_document_id(request: &mut Request, id: String) {
    let persisted = [(Name::new("version"), Value::from(1)), (Name::new("sha256Hash"), Value::String(id))];
    request.extensions.insert("persistedQuery".into(), Value::Object(persisted.into_iter().collect()));
}

fn not_found() -> ServerError {
    coded("PersistedQueryNotFound: no document has this id", "PERSISTED_QUERY_NOT_FOUND")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_id(id: &str, query: &str) -> Request {
        let mut json = serde_json::json!({ "query": query, "documentId": id });
        lift_document_id(&mut json);
        serde_json::from_value(json).unwrap()
    }

    fn code(error: ServerError) -> String {
        error.extensions.and_then(|e| e.get("code").cloned()).map(|c| c.to_string()).unwrap_or_default()
    }

    #[test]
    fn apq_registers_verified_text_and_never_trusts_it() {
        let persisted = Persisted::load(TrustedDocuments::Allow, Path::new("/nonexistent")).unwrap();
        let text = "{ __typename }";
        let hash = hash_token(text);
        let mut miss = by_id(&hash, "");
        assert!(!persisted.trusted(&mut miss));
        assert_eq!(persisted.untrusted(&mut miss, true).map_err(code), Err("\"PERSISTED_QUERY_NOT_FOUND\"".into()));
        let mut wrong = by_id(&hash, "{ viewer { id } }");
        assert_eq!(
            persisted.untrusted(&mut wrong, true).map_err(code),
            Err("\"PERSISTED_QUERY_HASH_MISMATCH\"".into())
        );
        persisted.untrusted(&mut by_id(&format!("sha256:{hash}"), text), true).unwrap();
        let mut hit = by_id(&hash, "");
        assert!(!persisted.trusted(&mut hit), "a registered document is not trusted");
        persisted.untrusted(&mut hit, true).unwrap();
        assert_eq!(hit.query, text);
        assert!(persisted.untrusted(&mut by_id(&hash, ""), false).is_err(), "nor is it when only trusted ones run");
    }

    #[test]
    fn a_manifest_that_would_fail_at_runtime_fails_the_start() {
        let dir = std::env::temp_dir().join(format!("xpr-manifests-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let load = |mode| Persisted::load(mode, &dir).map(|p| p.trusted.len()).map_err(|e| format!("{e:#}"));
        assert!(load(TrustedDocuments::Require).unwrap_err().contains("needs a persisted-query manifest"));
        assert_eq!(load(TrustedDocuments::Allow), Ok(0));

        let manifest = |operations: serde_json::Value| {
            let json = serde_json::json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": operations });
            std::fs::write(dir.join("app.json"), json.to_string()).unwrap();
        };
        manifest(serde_json::json!([{ "id": "a", "name": "A", "type": "query", "body": "{ a }" }]));
        assert_eq!(load(TrustedDocuments::Require), Ok(1));
        assert_eq!(load(TrustedDocuments::Off), Ok(0), "off reads no manifest");
        manifest(serde_json::json!([{ "id": "a", "body": "{ a" }]));
        assert!(load(TrustedDocuments::Allow).unwrap_err().contains("operation a does not parse"));
        manifest(serde_json::json!([{ "id": "a", "body": "{ a }" }, { "id": "a", "body": "{ b }" }]));
        assert!(load(TrustedDocuments::Allow).unwrap_err().contains("id a names two different documents"));
        std::fs::write(dir.join("app.json"), "{}").unwrap();
        assert!(load(TrustedDocuments::Allow).unwrap_err().contains("is not a manifest"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
