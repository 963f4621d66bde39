//! Snapshots of the Markdown and CSV exports, and the JSON's shape.

use record::RunStatus;
use report::Exporter;

use crate::util::{level, named, record, searched};

pub fn fixture() -> report::Report {
    let mut broken = record("broken-stack", "01", &[]);
    broken.status = RunStatus::Failed;
    broken.reason = Some("meinheld 1.0.2 does not build on Python 3.11: greenlet<0.5 fails to compile\nmore".into());
    report::build(&named(vec![
        record("flask-gevent", "01", &[level(10, 5200.0, 1900), level(100, 4600.0, 21_000)]),
        record("flask-gevent", "02", &[level(10, 5000.0, 2000), level(100, 4700.0, 20_500)]),
        record("go-nethttp", "01", &[level(10, 36_000.0, 270), level(100, 38_000.0, 2600)]),
        broken,
    ]))
}

#[test]
fn markdown() {
    insta::assert_snapshot!(report::export::Markdown.render(&fixture()));
}

#[test]
fn csv() {
    insta::assert_snapshot!(report::export::Csv.render(&fixture()));
}

#[test]
fn json_has_the_rows() {
    let json: serde_json::Value = serde_json::from_str(&report::export::Json.render(&fixture())).unwrap();
    let groups = json["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["rows"][0]["stack"], "go-nethttp");
    assert_eq!(groups[0]["rows"][1]["runs"], 2);
    assert_eq!(json["not_runnable"][0][0], "broken-stack");
}

/// A run of capacity searches alone (`--capacity-only`) has no levels by choice: it ran.
#[test]
fn a_capacity_only_run_is_not_called_not_runnable() {
    let searched = searched("go-nethttp", "02", loadgen::capacity::Status::Found, &[(1000.0, true, 900)]);
    let report = report::build(&named(vec![record("flask-gevent", "01", &[level(10, 5000.0, 1900)]), searched]));
    assert!(report.not_runnable.is_empty(), "{:?}", report.not_runnable);
    assert_eq!(report.capacities[0].rows[0].stack, "go-nethttp");
}

#[test]
fn same_inputs_same_bytes() {
    let a = report::export::Markdown.render(&fixture());
    let b = report::export::Markdown.render(&fixture());
    assert_eq!(a, b);
}

/// Three stacks searched at one objective: ranked by capacity, a generator-bound one after the found
/// ones ("at least"), and the figures at the capacity taken from the passing hold.
#[test]
fn capacity_tables() {
    use loadgen::capacity::Status;
    let report = report::build(&named(vec![
        searched("go-nethttp", "01", Status::GeneratorBound, &[(8000.0, true, 900), (16000.0, false, 90_000)]),
        searched(
            "flask-gevent",
            "01",
            Status::Found,
            &[(2000.0, true, 9000), (4000.0, false, 40_000), (2000.0, true, 9500)],
        ),
        searched("sanic", "01", Status::Found, &[(3000.0, true, 6000), (6000.0, false, 60_000), (3000.0, true, 7000)]),
    ]));
    let stacks: Vec<&str> = report.capacities[0].rows.iter().map(|r| r.stack.as_str()).collect();
    assert_eq!(stacks, ["sanic", "flask-gevent", "go-nethttp"]);
    let sanic = &report.capacities[0].rows[0];
    assert_eq!((sanic.capacity_rps, sanic.p99_us, sanic.server_cpu_pct), (Some(3000.0), Some(7000), Some(30.0)));
    // 30% of a CPU at 3000 completed req/s: 100 µs of CPU a request.
    assert!(sanic.cpu_us_per_request.is_some_and(|us| (us - 100.0).abs() < 1e-6), "{:?}", sanic.cpu_us_per_request);
    insta::assert_snapshot!(report::export::Markdown.render(&report));
    insta::assert_snapshot!("capacity_csv", report::export::CapacityCsv.render(&report));
    // In HTML, each stack's probes and the knee of its latency by offered load are on its own page.
    let pages = report::html::scenario_pages(&report);
    let (_, sanic) = pages.iter().find(|(name, _)| name == "sanic.html").unwrap();
    assert!(
        sanic.contains("<th>offered req/s</th>") && sanic.contains("latency by offered load: GET /health"),
        "{sanic}"
    );
}

/// The summary ranks a found capacity first, then a lower bound, then peak req/s alone; its peak
/// is the busiest level that was not error-bound.
#[test]
fn summary_ranks_capacity_then_peak() {
    use loadgen::capacity::Status;
    let mut flask = searched("flask-gevent", "01", Status::Found, &[(2000.0, true, 9000), (2000.0, true, 9500)]);
    let failing = crate::util::Level { timeouts: 90_000, ..level(1000, 9000.0, 50_000) };
    flask.levels = record("flask-gevent", "01", &[level(10, 5000.0, 2000), failing]).levels;
    let go = record("go-nethttp", "01", &[level(10, 36_000.0, 270)]);
    let sanic = searched("sanic", "01", Status::GeneratorBound, &[(8000.0, true, 900), (16000.0, false, 90_000)]);
    let report = report::build(&named(vec![go, flask, sanic]));
    let rows = &report.summary[0].rows;
    let stacks: Vec<&str> = rows.iter().map(|r| r.stack.as_str()).collect();
    assert_eq!(stacks, ["flask-gevent", "sanic", "go-nethttp"]);
    // flask-gevent's 1000 connections had more req/s, but mostly timed out.
    assert_eq!(rows[0].peak.as_ref().map(|(n, r)| (*n, r.rps.median)), Some((10, 5000.0)));
    assert!(rows[1].peak.is_none() && rows[2].capacity.is_none());
    insta::assert_snapshot!(report::export::Markdown.render(&report).split("## Environment").next().unwrap());
}

/// Ties: a stack whose 95% interval overlaps that of the first stack of the rank above shares it (`2=`);
/// one that rests on one run is told apart only by more than `stats::ONE_RUN_FACTOR`.
#[test]
fn stacks_that_cannot_be_told_apart_share_a_rank() {
    let runs = |stack: &str, rps: &[f64]| -> Vec<record::RunRecord> {
        rps.iter().enumerate().map(|(i, &r)| record(stack, &format!("0{i}"), &[level(10, r, 2000)])).collect()
    };
    let mut records = Vec::new();
    records.extend(runs("a", &[5000.0, 5050.0, 4950.0])); // t interval about 4876-5124
    records.extend(runs("b", &[4900.0, 4950.0, 4850.0])); // overlaps a's: tied
    records.extend(runs("c", &[4000.0, 4040.0, 3960.0])); // apart from both
    records.extend(runs("d", &[3500.0])); // one run, within 2x of c: tied with it
    records.extend(runs("e", &[1000.0])); // one run, more than 2x below c: apart
                                          // Each stack's runs are one suite, so the report folds them.
    for r in &mut records {
        r.suite_id = format!("suite-{}", r.scenario.name);
        r.repeat = r.levels[0].repeat;
    }
    let report = report::build(&named(records));
    let ranks: Vec<(String, String)> =
        report.summary[0].rows.iter().map(|r| (r.stack.clone(), r.rank_label())).collect();
    let expected = [("a", "1"), ("b", "1="), ("c", "3"), ("d", "3="), ("e", "5")];
    assert_eq!(ranks, expected.map(|(s, r)| (s.to_string(), r.to_string())));
    let a = &report.summary[0].rows[0];
    let cells = report::export::summary_cells(a);
    assert!(cells[4].starts_with("5.00k (4.8") && cells[4].ends_with(')'), "{cells:?}");
    let e = report::export::summary_cells(&report.summary[0].rows[4]);
    assert_eq!(e[4], "1.00k (1 run)");
}

/// The environment states the CPU's speed once per suite, however the suites' runs are ordered.
#[test]
fn the_environment_says_each_suites_cpu_speed_once() {
    let speed = |cv: f64| record::MachineSpeed { cpu: 1, slices: 20, slice_ms: 100, cv, slowest: 0.5, fastest: 1.1 };
    let mut records = Vec::new();
    for (stack, suite, cv) in [("a", "01", 0.02), ("b", "02", 0.08), ("c", "01", 0.02)] {
        let mut r = record(stack, suite, &[level(10, 1000.0, 2000)]);
        r.provenance.machine_speed = Some(speed(cv));
        records.push(r);
    }
    let report = report::build(&named(records));
    let said = report.environment.iter().find(|(k, _)| k == "CPU speed before each suite").map(|(_, v)| v.clone());
    assert_eq!(
        said.as_deref(),
        Some("over 2 suites, a fixed loop in 100 ms slices varied 2.0-8.0% (CV); the slowest slice ran at 50% of its suite's median")
    );
}

/// The committed results (written by earlier versions of the format) and references still render, to
/// the very bytes of the committed report: `cargo xtask report` reproduces `reports/`.
#[test]
fn the_committed_results_render_to_the_committed_report() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let records = report::select(&root.join("reports/results"), &report::Selection::Latest, &root).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut built = report::build(&records);
    let all = report::select(&root.join("reports/results"), &report::Selection::All, &root).unwrap();
    report::with_history(&mut built, &all);
    let references = report::reference::Reference::read_dir(&root.join("references")).unwrap();
    report::with_references(&mut built, &references);
    built.command = "cargo xtask report".into();
    let written = report::write(&built, out.path()).unwrap();
    for path in &written.files {
        let name = path.file_name().unwrap();
        let committed = std::fs::read(root.join("reports").join(name)).unwrap();
        assert!(std::fs::read(path).unwrap() == committed, "{} differs from the committed one", name.to_string_lossy());
    }
    // And no page of a stack that left it stays among them.
    let pages = |dir: &std::path::Path| -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".html"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(pages(&root.join("reports")), pages(out.path()));
}

/// A page of a stack that left the report is removed when the report is written again; other files stay.
#[test]
fn pages_of_stacks_that_left_the_report_are_removed() {
    let out = tempfile::tempdir().unwrap();
    let stale = out.path().join("gone-stack.html");
    std::fs::write(&stale, "<!doctype html>\n<html lang=\"en\">\n<head>\n<title>stackbench: gone-stack</title>")
        .unwrap();
    let mine = out.path().join("notes.html");
    std::fs::write(&mine, "<title>my notes</title>").unwrap();
    let records = named(vec![record("flask-gevent", "01", &[level(10, 5000.0, 1900)])]);
    let written = report::write(&report::build(&records), out.path()).unwrap();
    assert_eq!(written.removed, std::slice::from_ref(&stale));
    assert!(!stale.exists() && mine.exists());
    assert!(written.files.iter().any(|f| f.ends_with("index.html")), "{:?}", written.files);
}

/// Every committed results file, archived ones too, whatever version of the format
/// wrote it, renders in every export.
#[test]
fn every_committed_results_file_renders() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let folders = vec![root.join("reports/results"), root.join("reports/archive")];
    let records = report::select(&root.join("reports/results"), &report::Selection::Paths(folders), &root).unwrap();
    assert!(records.iter().any(|(_, r)| r.schema_version < record::RECORD_VERSION), "older files are among them");
    let out = tempfile::tempdir().unwrap();
    let written = report::write(&report::build(&records), out.path()).unwrap().files;
    assert!(written.iter().any(|p| p.ends_with("index.html")) && written.len() > 20, "{written:?}");
}

/// Figures over TLS or HTTP/2 are workloads of their own: never ranked with HTTP/1.1 in the clear, and
/// named by their protocol.
#[test]
fn each_protocol_is_ranked_apart_and_named() {
    let over = |stack: &str, rps: f64, protocol: record::Protocol| {
        let mut r = record(stack, "01", &[level(10, rps, 2000)]);
        r.levels[0].protocol = protocol;
        r
    };
    let tls = record::Protocol { tls: true, http2_streams: None };
    let h2 = record::Protocol { tls: true, http2_streams: Some(100) };
    let records = vec![
        over("go", 30_000.0, record::Protocol::default()),
        over("go-tls", 20_000.0, tls),
        over("go-h2", 50_000.0, h2),
        over("flask", 2_000.0, record::Protocol::default()),
    ];
    let report = report::build(&named(records));
    let groups: Vec<(String, Vec<&str>)> = report
        .summary
        .iter()
        .map(|g| (g.workload.to_string(), g.rows.iter().map(|r| r.stack.as_str()).collect()))
        .collect();
    let expected = [
        ("GET /health (health)", vec!["go", "flask"]),
        ("GET /health (health), HTTP/1.1 over TLS", vec!["go-tls"]),
        ("GET /health (health), HTTP/2 over TLS, 100 streams per connection", vec!["go-h2"]),
    ];
    assert_eq!(groups, expected.map(|(w, s)| (w.to_string(), s)));
}

/// A stack measured in several protocols gets its figures side by side, each against HTTP/1.1, with the
/// noise rule of the summary: a matrix over `tls` is one stack in two protocols, and so are one stack's
/// endpoints in HTTP/1.1 and HTTP/2.
#[test]
fn what_tls_and_http2_cost_is_told_within_the_noise() {
    let runs = |name: &str, tls: Option<&str>, endpoint: &str, protocol: record::Protocol, rps: [f64; 3]| {
        rps.iter()
            .enumerate()
            .map(|(i, &r)| {
                let mut run = record(name, &format!("0{i}"), &[level(100, r, 2000)]);
                run.suite_id = format!("suite-{name}");
                run.repeat = i as u32 + 1;
                if let Some(tls) = tls {
                    run.scenario.family = "tls-go".into();
                    run.scenario.matrix = [("tls".to_string(), tls.to_string())].into();
                }
                for l in &mut run.levels {
                    (l.endpoint, l.protocol, l.repeat) = (endpoint.into(), protocol, i as u32 + 1);
                }
                run
            })
            .collect::<Vec<_>>()
    };
    let tls = record::Protocol { tls: true, http2_streams: None };
    let h2 = |streams| record::Protocol { tls: true, http2_streams: Some(streams) };
    let mut records = Vec::new();
    records.extend(runs(
        "tls-go[tls=false]",
        Some("false"),
        "health",
        record::Protocol::default(),
        [30e3, 30.5e3, 29.5e3],
    ));
    records.extend(runs("tls-go[tls=true]", Some("true"), "health", tls, [24e3, 24.4e3, 23.6e3]));
    let mut h2go = runs("h2-go", None, "http1", tls, [20e3, 21e3, 19e3]);
    for (run, (one, many)) in h2go.iter_mut().zip([(20.5e3, 45e3), (19.5e3, 46e3), (21.5e3, 44e3)]) {
        let level = run.levels[0].clone();
        run.levels.push(record::LevelRecord { endpoint: "h2".into(), protocol: h2(1), ..level.clone() });
        run.levels.push(record::LevelRecord { endpoint: "h2-100".into(), protocol: h2(100), ..level });
        run.levels[1].load.as_mut().unwrap().rps = one;
        run.levels[2].load.as_mut().unwrap().rps = many;
    }
    records.extend(h2go);
    let report = report::build(&named(records));
    let titles: Vec<&str> = report.protocols.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["h2-go: GET /health", "tls-go: GET /health"]);
    let cells = |i: usize| -> Vec<Vec<String>> {
        let p = &report.protocols[i];
        p.rows.iter().map(|r| report::protocols::cells(p, r)).collect()
    };
    let (h2go, tlsgo) = (cells(0), cells(1));
    assert_eq!(tlsgo[0][3], "reference");
    assert_eq!(tlsgo[1][3], "-20% (beyond the noise)");
    assert_eq!(h2go[1][3], "+2% (within noise)", "{h2go:?}");
    assert_eq!(h2go[2][3], "+125% (beyond the noise)", "{h2go:?}");
    let markdown = report::export::Markdown.render(&report);
    let section = markdown.split("## What TLS and HTTP/2 cost").nth(1).unwrap().split("\n## ").next().unwrap();
    insta::assert_snapshot!(section);
}
