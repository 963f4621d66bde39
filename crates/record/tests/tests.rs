//! The results file format: every kind of record survives a write and a
//! read, files written by earlier versions still read, and a write that fails
//! leaves the file that was there untouched.

use std::path::Path;

use record::{
    Failure, FailureKind, GeneratorRecord, LevelRecord, LevelStatus, RunRecord, RunStatus, ServerUsage, RECORD_VERSION,
};

/// The oldest results file of this format in the project's history (2026-11-24, the first committed
/// run): no overrides, no engines, no generator parts.
const OLDEST: &str = include_str!("fixtures/v1-2026-11-24.json");

fn oldest() -> RunRecord {
    serde_json::from_str(OLDEST).unwrap_or_else(|e| panic!("the oldest file no longer reads: {e}"))
}

/// A record with every kind of level, status and failure in it.
fn every_kind() -> Vec<RunRecord> {
    let base = oldest();
    let measured = base.levels[0].clone();
    let failed =
        |kind| measured.clone().failed(Failure::new(kind, format!("{kind:?} on purpose"), "last\nlines\n".into()));
    let mut with_everything = base.clone();
    with_everything.scenario.overrides = vec!["db.DB_ROWS=1000".into()];
    with_everything.provenance.server_engine = "tcp://127.0.0.1:2376".into();
    with_everything.provenance.generator_engines = vec!["unix:///var/run/docker.sock".into(); 2];
    with_everything.provenance.machine_speed =
        Some(record::MachineSpeed { cpu: 1, slices: 20, slice_ms: 100, cv: 0.0625, slowest: 0.5, fastest: 1.25 });
    with_everything.build_logs.insert("server".into(), "/tmp/x.build-server.log".into());
    with_everything.levels = vec![
        measured.clone(),
        LevelRecord {
            generators: vec![GeneratorRecord {
                engine: "unix:///var/run/docker.sock".into(),
                container: "stackbench-x-generator0-1".into(),
                connections: 5,
                requests: 100,
                rps: 10.5,
                errors: 1,
                cpu_pct: 97.25,
            }],
            server: Some(ServerUsage {
                cpu_pct_mean: 50.125,
                cpu_pct_max: 99.5,
                cpu_limit_pct: 100.0,
                memory_mean: 1 << 20,
                memory_peak: 2 << 20,
                nr_throttled: 3,
                throttled_s: 0.25,
                memory_limit: 64 << 20,
                oom_kills: 1,
                processes: Some(record::Churn { ended: 2, started: 1 }),
                interference_pct: Some(2.5),
                own_kernel_pct: Some(9.5),
                busiest_others: vec![record::Interferer { name: "dockerd".into(), cpu_pct: 1.5 }],
                missing_s: 1.25,
            }),
            ..measured.clone()
        },
        failed(FailureKind::ServerExited),
        failed(FailureKind::NoResponses),
        failed(FailureKind::Interrupted),
        LevelRecord { load: None, server: None, ..failed(FailureKind::Generator) },
    ];
    [RunStatus::Running, RunStatus::Complete, RunStatus::Interrupted, RunStatus::Failed]
        .into_iter()
        .map(|status| RunRecord {
            status,
            reason: (status != RunStatus::Complete).then(|| format!("{status} because")),
            ..with_everything.clone()
        })
        .collect()
}

#[test]
fn every_kind_of_record_survives_a_write_and_a_read() {
    let dir = tempfile::tempdir().unwrap();
    for (idx, record) in every_kind().iter().enumerate() {
        let path = dir.path().join(format!("{idx}.json"));
        record.write(&path).unwrap();
        assert_eq!(&RunRecord::read(&path).unwrap(), record, "{}", record.status);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&format!("\"status\": \"{}\"", record.status)), "Display is the stored name");
    }
    let statuses: Vec<LevelStatus> = every_kind()[0].levels.iter().map(|l| l.status).collect();
    assert!(statuses.contains(&LevelStatus::Ok) && statuses.contains(&LevelStatus::Failed));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A comparison is written and read back whole, beside results files that the folder's listing keeps
/// apart from it.
#[test]
fn a_comparison_survives_a_write_and_a_read_and_is_not_a_results_file() {
    use record::comparison::{ComparisonRecord, FigureComparison};
    let dir = tempfile::tempdir().unwrap();
    let figure = FigureComparison {
        figure: record::comparison::Figure::CpuUsPerRequest,
        higher_is_better: false,
        min_effect: 0.03,
        base_median: 100.5,
        candidate_median: 105.25,
        ratio: 1.046875,
        lo: 1.03125,
        hi: 1.0625,
        p_worse: 0.0009765625,
        verdict: "worse".into(),
        ratios: vec![1.03125, 1.046875, 1.0625],
    };
    let c = record::fixture::comparison(600.0, 3, vec![figure]);
    let path = record::folder::comparison_file(dir.path(), "20261204T200000Z");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    c.write(&path).unwrap();
    assert_eq!(ComparisonRecord::read(&path).unwrap(), c);
    // Each figure is stored under the name progress lines give it.
    for f in record::comparison::Figure::ALL {
        assert_eq!(serde_json::to_value(f).unwrap(), f.name());
    }
    oldest().write(&dir.path().join("run.json")).unwrap();
    assert_eq!(record::folder::files(dir.path()).unwrap(), [dir.path().join("run.json")]);
}

#[test]
fn files_of_earlier_versions_still_read() {
    let record = oldest();
    assert_eq!(record.schema_version, 1);
    assert!(RECORD_VERSION > record.schema_version);
    assert_eq!(record.status, RunStatus::Complete);
    // Fields added since read as their defaults.
    assert!(record.scenario.overrides.is_empty());
    assert_eq!(record.provenance.server_engine, "");
    assert!(record.provenance.generator_engines.is_empty());
    assert!(record.levels.iter().all(|l| l.generators.is_empty()));
    let load = record.levels[0].load.as_ref().expect("the first level was measured");
    assert!(load.requests > 0 && load.latency_raw_histogram.is_none());
    assert_eq!((load.schema_version, load.late_responses, load.abandoned, load.goodput_rps), (1, 0, 0, 0.0));
    assert!(loadgen::decode_histogram(&load.latency_histogram).unwrap().len() == load.requests);
    // Every results file committed in the project reads too, the archived ones as well.
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports");
    let mut n_files = 0;
    let folders =
        std::fs::read_dir(reports.join("results")).unwrap().chain(std::fs::read_dir(reports.join("archive")).unwrap());
    for scenario in folders.filter(|e| e.as_ref().unwrap().path().is_dir()) {
        for file in std::fs::read_dir(scenario.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                RunRecord::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                n_files += 1;
            }
        }
    }
    assert!(n_files >= 22, "{n_files} results files");
}

#[test]
fn a_failed_write_leaves_the_earlier_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let record = oldest();
    record.write(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let changed = RunRecord { status: RunStatus::Failed, ..record.clone() };

    // The temporary file cannot be written (a folder stands in its place).
    let tmp = dir.path().join("run.json.tmp");
    std::fs::create_dir(&tmp).unwrap();
    assert!(changed.write(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before, "a failed write changed the file");
    std::fs::remove_dir(&tmp).unwrap();

    // The rename cannot happen (a non-empty folder stands where the file goes): the temporary file is removed.
    let busy = dir.path().join("busy.json");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep"), "x").unwrap();
    assert!(changed.write(&busy).is_err());
    assert!(!dir.path().join("busy.json.tmp").exists(), "the temporary file was left behind");
    assert_eq!(std::fs::read(busy.join("keep")).unwrap(), b"x");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
