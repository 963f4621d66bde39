//! The HTML page: tables and charts, self-contained, and really drawable.

use std::process::Command;

use report::charts::count_points;
use report::Exporter;

use crate::render::fixture;
use crate::util::{level, named, record, searched, Level};
use loadgen::capacity::Status;

fn html() -> String {
    report::Html.render(&fixture())
}

/// The page with every chart reduced to its title and point count, so that
/// the snapshot shows structure and tables, not thousands of coordinates.
fn normalized(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    while let Some(start) = rest.find("<svg") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("</svg>").expect("every svg closes") + start + "</svg>".len();
        let svg = &rest[start..end];
        let title = svg
            .split("<text")
            .nth(1)
            .and_then(|t| t.split_once('>'))
            .and_then(|(_, rest)| rest.split('<').next())
            .map_or("", str::trim);
        let (points, bars) = (count_points(svg), svg.matches("<rect").count());
        out.push_str(&format!("<svg title=\"{title}\" points=\"{points}\" rects=\"{bars}\"/>"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn page_snapshot() {
    insta::assert_snapshot!(normalized(&html()));
}

#[test]
fn pages_are_self_contained() {
    let pages = std::iter::once(("index.html".to_string(), html())).chain(report::html::scenario_pages(&fixture()));
    for (name, page) in pages {
        // An inline script (the summary's filter) is fine; nothing is fetched from anywhere.
        for banned in ["http://", "https://", "<script src", "src=", "<link", "@import", "url("] {
            assert!(!page.contains(banned), "{name} contains {banned:?}");
        }
    }
}

/// A page per stack with its levels' second-by-second charts, linked from the summary.
#[test]
fn a_page_per_stack() {
    let pages = report::html::scenario_pages(&fixture());
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["flask-gevent.html", "go-nethttp.html"]);
    let (_, go) = &pages[1];
    // Two levels, each with its req/s and p99 each second.
    assert_eq!(go.matches("<svg").count(), 4, "{go}");
    assert!(go.contains("req/s each second, 100 connections") && go.contains("p99 each second, 10 connections"));
    assert!(html().contains("<a href=\"go-nethttp.html\">go-nethttp</a>"));
    // What the stack is and how it ran: its scenario file, its own runs' limits and CPUs.
    let facts = go.split("<h2 id=\"environment\">Scenario, build and environment</h2>").nth(1).expect(go);
    for fact in [
        "scenario file: scenarios&#x2F;go-nethttp.toml (sha256 000000000000)",
        "server limits: 1 CPUs, 512 MiB",
        "generator CPUs: [0]",
        "runs (",
    ] {
        assert!(facts.contains(fact), "{fact} not in {facts}");
    }
    assert!(!facts.contains("flask-gevent"), "another stack's runs on go's page: {facts}");
    assert_eq!(report::html::scenario_pages(&fixture()), pages, "same inputs, same bytes");
}

/// A stack's page shows each profile: the level's and the one at the
/// capacity, each in words (the capacity's cost read in p99), with its top
/// functions and an inline flame graph without script.
#[test]
fn profiles_are_on_the_stack_page() {
    let folded = "process 7:\"python app.py\";serve (app.py:20);burn_cpu_here (app.py:5) 30\n";
    let profile = record::ProfileRecord {
        tool: "py-spy 0.4.1".into(),
        rate_hz: 20,
        folded: folded.into(),
        idle_sampled: false,
        states: None,
        profiled_rps: 4000.0,
        profiler_cpu_pct: Some(5.0),
        offered_rps: None,
        p99_us: None,
        unprofiled_again_rps: Some(5200.0),
        unavailable: None,
    };
    let mut run = record("flask-gevent", "01", &[level(10, 5000.0, 1900)]);
    run.levels[0].profile = Some(profile.clone());
    let mut search = searched("flask-gevent", "01", Status::Found, &[(500.0, true, 4000), (1000.0, true, 9000)]);
    let at_capacity = record::ProfileRecord {
        offered_rps: Some(1000.0),
        p99_us: Some([9000, 9900, 9000]),
        profiled_rps: 990.0,
        ..profile
    };
    search.capacities[0].profile = Some(at_capacity);
    run.capacities = search.capacities;
    let pages = report::html::scenario_pages(&report::build(&named(vec![run])));
    // Tera escapes `/` and `'`.
    let page = pages[0].1.replace("&#x2F;", "/").replace("&#x27;", "'");
    for said in [
        "<h3>Profile at 10 connections</h3>",
        "req/s 5.00k and 5.20k without the profiler (before and after), 4.00k with it: 21.6% fewer",
        "<h3>Profile at the capacity</h3>",
        "at the capacity, 1.00k req/s offered (990.00 achieved with the profiler)",
        "p99 9.00ms and 9.00ms without the profiler (the confirming hold and after), 9.90ms with it: 10.0% higher",
        "the profiler used 5.0% of a CPU itself",
        "<td class=\"text\">burn_cpu_here (app.py)</td>",
    ] {
        assert!(
            page.contains(said),
            "{said:?} not on the page:
{page}"
        );
    }
    let flames = page.matches("<div class=\"flame\">").count();
    assert_eq!(flames, 2, "a flame graph per profile");
    assert!(!page.contains("<script"), "no script in the page");
}

#[test]
fn every_chart_has_points() {
    let page = html();
    let charts: Vec<&str> = page.split("<svg").skip(1).collect();
    // The main page: the summary's bars per workload, and nothing that grows with levels.
    assert_eq!(charts.len(), 1);
    // A bar per stack (and the background).
    assert_eq!(charts[0].matches("<rect").count(), 1 + 2, "{}", charts[0]);
    // The stack pages: req/s and p99 each second of each level.
    for (name, page) in report::html::scenario_pages(&fixture()) {
        let charts: Vec<&str> = page.split("<svg").skip(1).collect();
        assert!(!charts.is_empty(), "{name} has no chart");
        for chart in &charts {
            let title = chart.split("<text").nth(1).unwrap_or_default();
            assert!(count_points(chart) >= 2, "{name}: a chart without data: {title}");
        }
    }
}

/// Headless Chromium (Debian's `chromium`, which `cargo xtask test`
/// installs) on `page` in a window of `size`, with `mode` (`--screenshot=…`
/// or `--dump-dom`); returns what it printed.
fn chromium(page: &std::path::Path, size: (u32, u32), mode: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ])
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs (Debian package `chromium`; `cargo xtask test` installs it)")
}

/// Renders the page in headless Chromium and checks that the screenshot is not blank.
#[test]
fn page_renders_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("index.html");
    std::fs::write(&page, html()).unwrap();
    let shot = tmp.path().join("shot.png");
    let out = chromium(&page, (1200, 1600), &format!("--screenshot={}", shot.display()));
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    let step = info.color_type.samples();
    let dark = pixels.chunks(step).filter(|p| p[..3].iter().map(|&c| u32::from(c)).sum::<u32>() < 300).count();
    let total = pixels.len() / step;
    // Text, table borders and chart lines: a real page has a few percent of dark pixels.
    assert!(dark * 1000 > total * 5, "the screenshot looks blank: {dark} dark of {total} pixels");
}

/// The answer first: on the committed suite's page, on a desktop screen and on
/// a phone's, the summary's first ranked table starts within the first screen,
/// with its leader's row in view. Chromium lays the page out; a script added
/// to a copy of the page (the page itself has none) writes where they landed.
#[test]
fn the_summary_is_in_the_first_screen() {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/index.html");
    let page = std::fs::read_to_string(&committed).unwrap();
    let probe = r#"<script>
const first = document.querySelector('#summary table tr:nth-child(2)');
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = 'leader-bottom=' + Math.ceil(first.getBoundingClientRect().bottom) + ' screen=' + window.innerHeight;
document.body.appendChild(out);
</script></body>"#;
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("index.html");
    std::fs::write(&copy, page.replace("</body>", probe)).unwrap();
    for size in [(1400, 900), (400, 800)] {
        let out = chromium(&copy, size, "--dump-dom");
        let dom = String::from_utf8_lossy(&out.stdout);
        let probe = dom
            .split("<pre id=\"probe\">")
            .nth(1)
            .and_then(|p| p.split('<').next())
            .unwrap_or_else(|| panic!("no probe in the DOM at {size:?}: {}", String::from_utf8_lossy(&out.stderr)));
        let number = |key: &str| -> u32 {
            probe.split(' ').find_map(|kv| kv.strip_prefix(key)).and_then(|v| v.parse().ok()).expect(probe)
        };
        let (bottom, screen) = (number("leader-bottom="), number("screen="));
        assert!(
            screen > 0 && bottom <= screen,
            "at {size:?} the summary's first row ends at {bottom} px, below the first screen ({screen} px)"
        );
    }
}

/// `n` stacks in families of ten variants (matrix key `workers`), each measured at three levels of four
/// workloads with a capacity search of each: a field far larger than this project's.
fn synthetic_field(n: usize) -> report::Report {
    let mut runs = Vec::new();
    for i in 0..n {
        let (family, workers) = (format!("family{:02}", i / 10), i % 10 + 1);
        let stack = format!("{family}[workers={workers}]");
        let rps = 1000.0 + 37.0 * i as f64;
        let mut run =
            record(&stack, "01", &[level(10, rps, 900), level(100, rps * 1.1, 9000), level(1000, rps, 90_000)]);
        run.scenario.family = family.clone();
        run.scenario.matrix = [("workers".to_string(), workers.to_string())].into();
        let search =
            searched(&stack, "01", Status::Found, &[(rps, true, 9000), (rps * 2.0, false, 90_000), (rps, true, 9000)]);
        for (endpoint, path, keepalive) in [
            ("health", "/health", true),
            ("sleep", "/sleep", true),
            ("db", "/db", true),
            ("health-close", "/health", false),
        ] {
            for l in run.levels.clone().iter().filter(|l| l.endpoint == "health" && l.keepalive) {
                if endpoint != "health" {
                    run.levels.push(record::LevelRecord {
                        endpoint: endpoint.into(),
                        path: path.into(),
                        keepalive,
                        ..l.clone()
                    });
                }
            }
            let mut c = search.capacities[0].clone();
            (c.endpoint, c.path, c.keepalive) = (endpoint.into(), path.into(), keepalive);
            run.capacities.push(c);
        }
        runs.push(run);
    }
    report::build(&named(runs))
}

/// The main page grows with workloads and stacks, not stacks times levels: 200 stacks stay under 1 MB
/// (level tables live on the stack pages).
#[test]
fn the_main_page_of_200_stacks_stays_under_a_megabyte() {
    let report = synthetic_field(200);
    assert_eq!(report.summary.len(), 4);
    assert!(report.summary.iter().all(|g| g.rows.len() == 200));
    let page = report::Html.render(&report);
    eprintln!("200 stacks, 4 workloads: {} bytes", page.len());
    assert!(page.len() <= 1_000_000, "{} bytes", page.len());
    assert!(!page.contains("every level</summary>"), "no level tables on the main page");
}

/// A variant is shown by its family and values (the full name on hover), the best of each family marked
/// once per table, and rows carry what the filter needs.
#[test]
fn variants_by_family_with_the_best_marked() {
    let page = report::Html.render(&synthetic_field(20));
    assert!(
        page.contains(r#"title="family01[workers=10]"><a href="family01[workers=10].html">family01 10</a>"#),
        "the short name"
    );
    // Two families on four workloads: eight marks, each on the family's best-ranked (its last variant here).
    assert_eq!(page.matches("best of family</span>").count(), 8);
    assert!(page.contains(r#"<tr data-family="family00" data-matrix=" workers=10 ">"#));
    assert!(page.contains(r#"<select id="family">"#) && page.contains("<option>family01</option>"));
}

/// A stack's page has each search's probes with their outcome (pass, or the objectives failed) and the
/// knee: latency by offered load, the p99 objective drawn across and the capacity found drawn up.
#[test]
fn a_stack_page_has_its_probes_and_the_knee() {
    let run =
        searched("sanic", "01", Status::Found, &[(3000.0, true, 6000), (6000.0, false, 60_000), (3000.0, true, 7000)]);
    let pages = report::html::scenario_pages(&report::build(&named(vec![run])));
    let page = normalized(&pages[0].1);
    let from = page.find("<h2>").unwrap();
    let to = page.find("<h2 id=\"environment\">").unwrap_or(page.len());
    insta::assert_snapshot!(&page[from..to]);
    let knee = pages[0].1.split("<svg").nth(1).unwrap();
    for said in ["objective: p99 &lt;= 20.00ms", "capacity: 3.00k"] {
        assert!(knee.contains(said) || knee.contains(&said.replace("&lt;", "<")), "the knee chart lacks {said:?}");
    }
}

/// A level's notes are a line under its row, as wide as the row, not a last column that either wraps
/// into a tall cell or pushes the table past the screen; a level without notes gets no such line.
#[test]
fn a_levels_notes_are_a_line_under_its_row() {
    let quiet = Level { server_cpu: 40.0, ..level(50, 5100.0, 9000) };
    let mut run = record("s", "01", &[level(10, 5000.0, 2000), quiet]);
    run.provenance.server_memory = 50 << 20;
    run.levels[0].server.as_mut().unwrap().memory_peak = (50 << 20) - (1 << 20) / 2;
    run.levels[1].server.as_mut().unwrap().memory_peak = 20 << 20;
    let pages = report::html::scenario_pages(&report::build(&named(vec![run])));
    let page = &pages[0].1;
    let table = &page[page.find("<table class=\"levels\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let header = table.lines().nth(1).unwrap();
    assert!(header.starts_with("<tr><th>connections</th>") && !header.contains("notes"), "{header}");
    let cells = header.matches("<th").count() - 1;
    let notes: Vec<&str> = table.lines().filter(|l| l.starts_with("<tr class=\"notes\">")).collect();
    assert_eq!(notes.len(), 1, "{table}");
    assert!(notes[0].contains(&format!("colspan=\"{cells}\"")), "{}", notes[0]);
    assert!(notes[0].contains("memory at its limit of 50 MiB"), "{}", notes[0]);
    // The line follows the row of the level at 10 connections.
    let row = table.lines().position(|l| l.starts_with("<tr><td>10</td>")).unwrap();
    assert!(table.lines().nth(row + 1).unwrap().starts_with("<tr class=\"notes\">"), "{table}");
}
