//! The results file (one JSON object a line) as Markdown tables and a JSON array.

use std::{fmt::Write, path::Path};

use serde_json::Value;

fn ms(result: &Value, p: &str) -> String {
    format!("{}", result["latency"][format!("{p}_ms")])
}

/// `a / b`, to two decimals.
fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}×", a / b) } else { "–".into() }
}

pub fn write(results: &Path, markdown: &Path, json: &Path) -> anyhow::Result<()> {
    let lines: Vec<Value> = std::fs::read_to_string(results)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    std::fs::write(json, serde_json::to_string_pretty(&lines)?)?;
    let of = |kind: &'static str| lines.iter().filter(move |l| l["kind"] == kind);
    let mut md = String::new();

    for meta in of("meta") {
        writeln!(
            md,
            "Run of {} ({} mode) on {} cores, commit {}.",
            meta["date"], meta["mode"], meta["cores"], meta["commit"]
        )?;
        writeln!(md, "Dataset: {}.\n", meta["dataset"].as_str().unwrap_or_default())?;
    }

    writeln!(md, "| HTTP scenario | server | processes | clients | req/s | p50 ms | p95 ms | p99 ms | errors |")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|")?;
    for r in of("http") {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or_default(),
            r["target"].as_str().unwrap_or_default(),
            r["processes"],
            r["concurrency"],
            r["rps"],
            ms(r, "p50"),
            ms(r, "p95"),
            ms(r, "p99"),
            r["errors"]
        )?;
    }
    // Ratios between runs of one scenario: against the peer, and two processes against one.
    // A scenario run in several rounds counts with its mean throughput.
    let rps = |scenario: &str, target: &str, processes: u64| {
        let runs: Vec<f64> = of("http")
            .filter(|r| r["scenario"] == scenario && r["target"] == target && r["processes"] == processes)
            .filter_map(|r| r["rps"].as_f64())
            .collect();
        (!runs.is_empty()).then(|| runs.iter().sum::<f64>() / runs.len() as f64)
    };
    let mut ratios = Vec::new();
    let mut seen = Vec::new();
    for r in of("http") {
        let (scenario, target) = (r["scenario"].as_str().unwrap_or_default(), r["target"].as_str().unwrap_or_default());
        let processes = r["processes"].as_u64().unwrap_or(1);
        if seen.contains(&(scenario, target, processes)) {
            continue;
        }
        seen.push((scenario, target, processes));
        let (ours, theirs) = (rps(scenario, "xpr", 1), rps(scenario, target, processes));
        ratios.extend(match (target, processes, ours.zip(theirs)) {
            ("xpr", 1, _) | (_, _, None) => None,
            ("xpr", _, Some((one, two))) => {
                Some(format!("- {scenario}: two processes / one = **{}**", ratio(two, one)))
            }
            (peer, _, Some((ours, theirs))) => {
                Some(format!("- {scenario}: XP-R / {peer} throughput = **{}**", ratio(ours, theirs)))
            }
        });
    }
    let latency =
        |scenario: &str| of("http").find(|r| r["scenario"] == scenario).and_then(|r| r["latency"]["p50_ms"].as_f64());
    if let (Some(long), Some(short)) = (latency("history, 10,000 revisions"), latency("history, 10 revisions")) {
        ratios.push(format!("- history paging p50, 10,000 revisions / 10 = **{}**", ratio(long, short)));
    }
    if !ratios.is_empty() {
        writeln!(md, "\n{}", ratios.join("\n"))?;
    }

    writeln!(md, "\n| SQL statements per request | page sizes → statements |\n|---|---|")?;
    for r in of("statements") {
        let counts: Vec<String> = r["statements"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("first {k}: {v}")).collect())
            .unwrap_or_default();
        writeln!(md, "| {} | {} |", r["scenario"].as_str().unwrap_or_default(), counts.join(", "))?;
    }

    writeln!(md, "\n| Merge | approvals | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")?;
    for r in of("merge") {
        let samples = &r["latency"]["samples"];
        let name = r["scenario"].as_str().unwrap_or_default();
        writeln!(md, "| {name} | {samples} | {} | {} | {} |", ms(r, "p50"), ms(r, "p95"), ms(r, "max"))?;
    }

    writeln!(
        md,
        "\n| Fan-out | processes | sockets | frames | missing | sockets closed | p50 ms | p99 ms | max ms | p99 after the merge's response ms | merging request ms | KiB per socket | CPU µs per frame | clients' CPU µs per frame | server RSS KiB (open, …) | connect s |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for r in of("fanout") {
        let memory: Vec<String> = r["rss_kib"].as_array().into_iter().flatten().map(Value::to_string).collect();
        writeln!(
            md,
            "| {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or_default(),
            r["mode"].as_str().unwrap_or_default(),
            r["processes"],
            r["subscribers"],
            r["expected"],
            r["missing"],
            r["closed"],
            ms(r, "p50"),
            ms(r, "p99"),
            ms(r, "max"),
            r["latency_after_merge"]["p99_ms"].as_f64().map_or_else(|| "–".to_owned(), |p99| p99.to_string()),
            r["merge_ms"].as_array().into_iter().flatten().map(Value::to_string).collect::<Vec<_>>().join(", "),
            r["kib_per_subscriber"],
            r["cpu_us_per_frame"],
            r["client_cpu_us_per_frame"],
            memory.join(", "),
            r["connect_s"]
        )?;
    }
    std::fs::write(markdown, md)?;
    Ok(())
}
