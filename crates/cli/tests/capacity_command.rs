//! `stackbench capacity`: its objectives, its output, and a generator that
//! cannot keep up told apart from a server that cannot.

use std::process::Command;

use testserver::{Server, OK};

use crate::util::{stackbench, text};

#[test]
fn bad_objectives_get_one_clear_error() {
    let server = Server::fixed(OK);
    let url = server.url();
    for (args, code, needle) in [
        (
            vec!["capacity", &url, "--slo", "p98=5ms"],
            2,
            "'p98' is not an objective; use p50, p90, p99, p99.9 or errors",
        ),
        (vec!["capacity", &url, "--slo", "p99=soon"], 2, "'soon' is not a duration"),
        (vec!["capacity", &url, "--slo", "p99=0ms"], 2, "a latency bound must be longer than 0"),
        (vec!["capacity", &url, "--slo", "errors=lots"], 2, "errors = 'lots' is not a share such as 0.1%"),
        (vec!["capacity", &url, "--slo", "p99"], 2, "'p99' is not NAME=VALUE"),
        (vec!["capacity", &url], 2, "--slo <NAME=VALUE>"),
        (vec!["capacity", &url, "--slo", "p99=5ms", "--rate", "10"], 1, "--rate: the capacity search chooses"),
        (vec!["capacity", &url, "--slo", "p99=5ms", "--precision", "0%"], 2, "'0%' is not a share"),
        (vec!["capacity", &url, "--slo", "p99=5ms", "--max-probes", "0"], 1, "--max-probes: must be at least 1"),
    ] {
        let out = stackbench(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {needle:?} not in {stderr}");
    }
    assert_eq!(server.requests(), 0, "no bad invocation sent anything");
}

#[test]
fn the_search_prints_each_probe_and_its_json_has_the_documented_shape() {
    let server = Server::fixed(OK);
    let url = server.url();
    let common = ["--slo", "p99=50ms", "--start-rate", "200", "--max-probes", "3", "--probe-duration", "500ms"];
    let out = stackbench(&[&["capacity", &url, "-d", "500ms"][..], &common].concat());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.starts_with(&format!("Capacity of {url} at p99 <= 50.00ms, errors <= 0.1%")), "{stdout}");
    for n in 1..=3 {
        assert!(stdout.contains(&format!("  probe  {n}: offered")), "{stdout}");
    }
    // Three passing probes (200, 400, 800 req/s) and no failure: the budget ran out first.
    assert!(
        stdout.contains("No capacity yet: the 3 probes ran out with it between 800.00 and 800.00 req/s"),
        "{stdout}"
    );

    let out = stackbench(&[&["capacity", &url, "-d", "500ms", "--json"][..], &common].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["schema_version", "capacity_rps", "status", "slo", "bracket", "probes", "confirm"] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!((json["status"].as_str(), json["capacity_rps"].is_null()), (Some("budget_exhausted"), true));
    let offered: Vec<f64> = json["probes"].as_array().unwrap().iter().map(|p| p["offered"].as_f64().unwrap()).collect();
    assert_eq!(offered, [200.0, 400.0, 800.0]);
    for probe in json["probes"].as_array().unwrap() {
        for key in ["offered", "achieved", "latency_us", "latency_raw_us", "errors", "passed", "failed"] {
            assert!(probe.get(key).is_some(), "{key} missing from a probe");
        }
        assert!(probe["latency_us"]["p99"].as_u64().unwrap() > 0);
        assert_eq!(probe["passed"], true);
    }
}

/// A CPU cgroup with a quota of `share` of one CPU, removed when dropped.
struct Quota(std::path::PathBuf);

impl Quota {
    fn new(share: f64) -> Quota {
        let name = format!("stackbench-test-{}", std::process::id());
        let (dir, files) = if std::path::Path::new("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").exists() {
            let dir = std::path::Path::new("/sys/fs/cgroup/cpu").join(&name);
            let quota = ((share * 100_000.0) as u64).to_string();
            (dir, vec![("cpu.cfs_period_us", "100000".to_string()), ("cpu.cfs_quota_us", quota)])
        } else {
            let dir = std::path::Path::new("/sys/fs/cgroup").join(&name);
            (dir, vec![("cpu.max", format!("{} 100000", (share * 100_000.0) as u64))])
        };
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot make cgroup {}: {e}", dir.display()));
        for (file, value) in files {
            std::fs::write(dir.join(file), value).unwrap_or_else(|e| panic!("cannot write {file}: {e}"));
        }
        Quota(dir)
    }
}

impl Drop for Quota {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_generator_held_to_a_fraction_of_a_cpu_is_generator_bound() {
    let server = Server::fixed(OK);
    let quota = Quota::new(0.03);
    let procs = quota.0.join("cgroup.procs");
    // The shell moves itself into the cgroup, then becomes stackbench there.
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"echo $$ > "$0" && exec "$@""#)
        .arg(&procs)
        .arg(env!("CARGO_BIN_EXE_stackbench"))
        .args(["capacity", &server.url(), "--slo", "p99=20ms", "--start-rate", "1000", "--max-probes", "6"])
        .args(["--probe-duration", "1s", "-d", "1s", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let probes = json["probes"].as_array().unwrap();
    let last = probes.last().unwrap();
    assert_eq!(json["status"], "generator_bound", "{}", serde_json::to_string_pretty(&probes).unwrap());
    assert!(json["capacity_rps"].is_null());
    assert!(last["load"]["generator"]["throttled_periods"].as_u64().unwrap() > 0, "{last}");
    // The bracket's floor is the highest rate that passed: "at least" that much.
    let passed: Vec<f64> =
        probes.iter().filter(|p| p["passed"] == true).map(|p| p["offered"].as_f64().unwrap()).collect();
    assert_eq!(json["bracket"][0].as_f64().unwrap(), passed.iter().copied().fold(0.0, f64::max));
}
