//! The dataset: entry kinds created through the API, and a JSON Lines file of
//! changes for `xpr import` (locations nested in locations, organizations,
//! ships with a parent, links, tags, attributes and Markdown bodies, then
//! rounds of edits so every entry has `revisions` revisions).

use std::{
    io::{BufWriter, Write},
    path::PathBuf,
};

use serde_json::{Value, json};

use crate::gql::Client;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    url: String,
    #[arg(long)]
    admin: String,
    #[arg(long)]
    password: String,
    #[arg(long, default_value_t = 10_000)]
    entries: usize,
    #[arg(long, default_value_t = 10)]
    revisions: usize,
    /// Where to write the import file.
    #[arg(long)]
    out: PathBuf,
}

const WORDS: [&str; 16] = [
    "hull", "engine", "harbor", "crew", "cargo", "route", "beacon", "station", "orbit", "drift", "signal", "dock",
    "fleet", "sector", "relay", "forge",
];

/// Deterministic filler text: `lines` lines of words picked by `seed`.
fn text(seed: usize, lines: usize) -> String {
    (0..lines)
        .map(|line| (0..10).map(|w| WORDS[(seed * 31 + line * 7 + w * 13) % WORDS.len()]).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let client = Client::new(&args.url);
    let admin = client.login(&args.admin, &args.password).await?;
    let kinds = [
        json!({ "slug": "location", "name": "Location", "attributeSchema": {}, "allowedParentKinds": ["location"] }),
        json!({ "slug": "organization", "name": "Organization", "attributeSchema": {} }),
        json!({ "slug": "ship", "name": "Ship", "allowedParentKinds": ["location"],
                "attributeSchema": { "type": "object", "properties": { "crew": { "type": "integer", "minimum": 1 } } } }),
    ];
    for kind in kinds {
        client
            .run(
                Some(&admin),
                "mutation($i: EntryKindInput!) { createEntryKind(input: $i) { slug } }",
                &json!({ "i": kind }),
            )
            .await?;
    }

    let locations = (args.entries / 10).max(1);
    let organizations = (args.entries / 10).max(1);
    let ships = args.entries.saturating_sub(locations + organizations);
    let mut out = BufWriter::new(std::fs::File::create(&args.out)?);
    let mut line = |value: Value| writeln!(out, "{value}");
    for i in 0..locations {
        let mut fields = json!({ "slug": format!("loc-{i}"), "title": format!("Location {i}"),
                                 "summary": "A place ships call at.", "body": text(i, 5), "tags": ["region"] });
        if i >= 10 {
            fields["parent"] = json!(format!("location/loc-{}", i / 10));
        }
        line(json!({ "op": "create", "kind": "location", "fields": fields }))?;
    }
    for i in 0..organizations {
        line(json!({ "op": "create", "kind": "organization", "fields": {
            "slug": format!("org-{i}"), "title": format!("Organization {i}"), "summary": "Runs ships.", "body": text(i, 8) } }))?;
    }
    for i in 0..ships {
        line(json!({ "op": "create", "kind": "ship", "fields": {
            "slug": format!("ship-{i}"), "title": format!("Ship {i}"), "summary": "A ship.", "body": text(i, 12),
            "parent": format!("location/loc-{}", i % locations),
            "attributes": { "crew": i % 50 + 1 },
            "tags": [format!("class-{}", i % 7), format!("era-{}", i % 3)],
            "links": [{ "type": "operated-by", "target": format!("organization/org-{}", i % organizations) },
                      { "type": "docked-at", "target": format!("location/loc-{}", (i * 7) % locations) }] } }))?;
    }
    let slugs = (0..locations)
        .map(|i| ("location", format!("loc-{i}")))
        .chain((0..organizations).map(|i| ("organization", format!("org-{i}"))))
        .chain((0..ships).map(|i| ("ship", format!("ship-{i}"))));
    let slugs: Vec<_> = slugs.collect();
    for round in 1..args.revisions {
        for (n, (kind, slug)) in slugs.iter().enumerate() {
            line(json!({ "op": "update", "kind": kind, "slug": slug, "fields": {
                "summary": format!("Edited in round {round}."), "body": text(n + round, 12 + round) } }))?;
        }
    }
    out.flush()?;
    Ok(())
}
