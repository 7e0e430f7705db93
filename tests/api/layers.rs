//! The import order of `api/src` (STYLE.md, "Layers point one way"): the core
//! imports nothing above it; the domain modules import only earlier modules
//! and the core (identity → media → content → versioning → reviews →
//! moderation → activity / notifications); nothing imports the assembly (`app`,
//! `graphql`, `http`, and each module's `graphql.rs` or `graphql/` object types).

use std::{collections::BTreeSet, fs, path::Path};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/src");

/// Where a unit sits: lower ranks may not import higher ones; `None` is the assembly.
fn rank(unit: &str) -> Option<u8> {
    match unit {
        "modules::identity" => Some(1),
        "modules::media" => Some(2),
        "modules::content" => Some(3),
        "modules::versioning" => Some(4),
        "modules::reviews" => Some(5),
        "modules::moderation" => Some(6),
        "modules::activity" | "modules::notifications" => Some(7),
        "app" | "graphql" | "http" | "main" | "lib" => None,
        _ => Some(0),
    }
}

/// The unit a `crate::` path names: a top-level module, or `modules::<domain>`.
fn unit_of(path: &str) -> String {
    let mut segments = path.split("::").map(str::trim);
    match (segments.next(), segments.next()) {
        (Some("modules"), Some(domain)) => format!("modules::{domain}"),
        // `crate::transaction!` is the db module's macro.
        (Some("transaction"), _) => "db".into(),
        (Some(first), _) => first.into(),
        _ => String::new(),
    }
}

/// Every path a `use` tree names, e.g. `{a::{b, c}, d}` → `a::b`, `a::c`, `d`.
fn flatten(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let (mut depth, mut start) = (0, 0);
    let mut items = Vec::new();
    for (i, c) in tree.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&tree[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&tree[start..]);
    for item in items.into_iter().map(str::trim).filter(|item| !item.is_empty()) {
        match item.split_once('{') {
            Some((head, rest)) => {
                flatten(rest.rsplit_once('}').map_or(rest, |(inner, _)| inner), &format!("{prefix}{head}"), out)
            }
            None => out.push(format!("{prefix}{}", item.split(" as ").next().unwrap_or(item))),
        }
    }
}

/// The `crate::` paths a source file names, in `use` trees and inline.
fn crate_paths(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if source[..at].trim_end().ends_with("use") && rest.starts_with('{') {
            let mut depth = 0;
            let end = rest
                .char_indices()
                .find_map(|(i, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    (depth == 0).then_some(i)
                })
                .unwrap_or(rest.len() - 1);
            flatten(&rest[1..end], "", &mut paths);
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            paths.push(rest[..end].trim_end_matches(':').to_owned());
        }
    }
    paths
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_point_down_the_layers() {
    let root = Path::new(SRC);
    let mut files = Vec::new();
    sources(root, &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        let own = unit_of(&relative.trim_end_matches(".rs").replace('/', "::"));
        // A module's GraphQL object types belong to the assembly.
        let graphql = relative.ends_with("/graphql.rs") || relative.contains("/graphql/");
        let own_rank = if graphql { None } else { rank(&own) };
        let Some(own_rank) = own_rank else { continue };
        for unit in crate_paths(&fs::read_to_string(&file).unwrap()).iter().map(|p| unit_of(p)) {
            let allowed = unit == own || rank(&unit).is_some_and(|r| r < own_rank || (r == 0 && own_rank == 0));
            if !allowed {
                found.insert(format!("{relative} -> {unit}"));
            }
        }
    }
    let found: String = found.iter().map(|l| format!("\n{l}")).collect();
    assert!(found.is_empty(), "imports against the layer order (STYLE.md):{found}");
}
