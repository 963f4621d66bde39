//! `[matrix]` files: expansion, substitution where it is allowed, names, the
//! command line's picks, and errors located in the file as written.

use std::path::Path;

use scenario::{parse_file, Pick, Scalar};

use super::root;

/// A matrix that varies every kind of value that may vary.
const MATRIX: &str = r#"
name = "gunicorn-flask"
description = "Flask on gunicorn, {matrix.worker} workers"

[matrix]
worker = ["sync", "gevent", "meinheld"]
workers = [1, 2]
cpus = [0.5, 1]
exclude = [{ worker = "meinheld", workers = 2 }]
include = [{ worker = "gthread", workers = 4, cpus = 1 }]

[server]
build = "docker/app"
dockerfile = "Dockerfile"
build_args = { WORKER = "{matrix.worker}" }
command = ["gunicorn", "--worker-class", "{matrix.worker}", "--workers", "{matrix.workers}", "app:app"]
cpus = "{matrix.cpus}"
memory = "512m"
env = { CLASS = "worker-{matrix.worker}", N = "{matrix.workers}" }

[workload]
connections = [10, "{matrix.workers}"]
slo = { p99 = "{matrix.workers}0ms" }

[[workload.endpoints]]
name = "health"
path = "/health"
connections = ["{matrix.workers}"]
"#;

fn expand(text: &str, pick: &Pick) -> Result<scenario::Expanded, String> {
    parse_file(Path::new("m.toml"), text, &root(), pick).map_err(|e| e.to_string())
}

#[test]
fn a_matrix_is_the_product_less_excludes_plus_includes() {
    let e = expand(MATRIX, &Pick::default()).unwrap();
    assert_eq!(e.keys, ["worker", "workers", "cpus"]);
    let names: Vec<String> = e.variants.iter().map(|l| l.stack_name()).collect();
    assert_eq!(
        names,
        [
            "gunicorn-flask[worker=sync,workers=1,cpus=0.5]",
            "gunicorn-flask[worker=sync,workers=1,cpus=1]",
            "gunicorn-flask[worker=sync,workers=2,cpus=0.5]",
            "gunicorn-flask[worker=sync,workers=2,cpus=1]",
            "gunicorn-flask[worker=gevent,workers=1,cpus=0.5]",
            "gunicorn-flask[worker=gevent,workers=1,cpus=1]",
            "gunicorn-flask[worker=gevent,workers=2,cpus=0.5]",
            "gunicorn-flask[worker=gevent,workers=2,cpus=1]",
            "gunicorn-flask[worker=meinheld,workers=1,cpus=0.5]",
            "gunicorn-flask[worker=meinheld,workers=1,cpus=1]",
            "gunicorn-flask[worker=gthread,workers=4,cpus=1]",
        ]
    );
    assert_eq!(e.total, 11);
    assert_eq!(e.variants[6].slug(), "gunicorn-flask_worker-gevent_workers-2_cpus-0.5");
    // Every variant of a file keeps the file as written (its hash is the file's).
    assert!(e.variants.iter().all(|l| l.text == MATRIX));
}

#[test]
fn values_are_substituted_everywhere_they_may_vary() {
    let e = expand(MATRIX, &Pick::default()).unwrap();
    let l = &e.variants[6]; // gevent, 2 workers, half a CPU
    let s = &l.scenario;
    assert_eq!(s.description, "Flask on gunicorn, gevent workers");
    assert_eq!(s.server.command.get_ref()[2..5], ["gevent", "--workers", "2"]);
    assert_eq!(s.server.build_args["WORKER"], "gevent");
    assert_eq!(s.server.env["CLASS"], "worker-gevent");
    assert_eq!(s.server.env["N"], "2");
    assert_eq!(s.server.cpus.get_ref().0, 0.5);
    assert_eq!(s.workload.connections.get_ref(), &[10, 2]);
    let endpoint = &s.workload.endpoints.get_ref()[0];
    assert_eq!(endpoint.connections(&s.workload).get_ref(), &[2]);
    let slo = endpoint.slo(&s.workload).unwrap();
    assert_eq!(slo.latency_us.iter().map(|(_, us)| *us).collect::<Vec<_>>(), [20_000]);
    assert_eq!(l.variant.as_ref().unwrap().get("cpus").as_deref(), Some("0.5"));
    // The included variant.
    let last = &e.variants[10].scenario;
    assert_eq!(last.server.command.get_ref()[2], "gthread");
    assert_eq!(last.server.cpus.get_ref().0, 1.0);
    // memory, dockerfile and rate too.
    let text = r#"
name = "m"
[matrix]
mem = ["256m", "1g"]
file = ["Dockerfile"]
rate = [100.5]
[server]
build = "docker/app"
dockerfile = "{matrix.file}"
cpus = 1
memory = "{matrix.mem}"
[workload]
connections = [10]
rate = "{matrix.rate}"
[[workload.endpoints]]
name = "a"
path = "/"
"#;
    let e = expand(text, &Pick::default()).unwrap();
    assert_eq!(e.variants[1].scenario.server.memory.0, 1 << 30);
    assert_eq!(e.variants[1].scenario.server.dockerfile, "Dockerfile");
    assert_eq!(*e.variants[1].scenario.workload.rate.as_ref().unwrap().get_ref(), 100.5);
}

#[test]
fn the_command_line_replaces_lists_and_picks_variants() {
    let pick = Pick { lists: vec!["workers=4,8".parse().unwrap()], only: vec![] };
    let e = expand(MATRIX, &pick).unwrap();
    assert!(e
        .variants
        .iter()
        .all(|l| ["4", "8"].contains(&l.variant.as_ref().unwrap().get("workers").unwrap().as_str())));
    // The exclude (meinheld with 2 workers) now matches nothing; the include is added as it is.
    assert_eq!(e.variants.len(), 3 * 2 * 2 + 1);
    let pick =
        Pick { lists: vec![], only: vec!["worker=gevent,cpus=1".parse().unwrap(), "worker=gthread".parse().unwrap()] };
    let e = expand(MATRIX, &pick).unwrap();
    let names: Vec<String> = e.variants.iter().map(|l| l.stack_name()).collect();
    assert_eq!(
        names,
        [
            "gunicorn-flask[worker=gevent,workers=1,cpus=1]",
            "gunicorn-flask[worker=gevent,workers=2,cpus=1]",
            "gunicorn-flask[worker=gthread,workers=4,cpus=1]"
        ]
    );
    assert_eq!(e.total, 11);
    // A file without a matrix has no variant --only could name.
    let file = "name = \"p\"\n[server]\nbuild = \"docker/app\"\ncpus = 1\nmemory = \"1g\"\n[workload]\nconnections = [1]\n[[workload.endpoints]]\nname = \"a\"\npath = \"/\"\n";
    assert_eq!(expand(file, &Pick::default()).unwrap().variants.len(), 1);
    let only = Pick { lists: vec![], only: vec!["worker=gevent".parse().unwrap()] };
    assert_eq!(expand(file, &only).unwrap().variants.len(), 0);
    // A value given on the command line that makes a variant invalid is said like one in the file.
    let pick = Pick {
        lists: vec![scenario::MatrixList { key: "cpus".into(), values: vec![Scalar::Str("lots".into())] }],
        only: vec![],
    };
    let err = expand(MATRIX, &pick).unwrap_err();
    assert!(
        err.starts_with(
            "m.toml:17:8: variant gunicorn-flask[worker=sync,workers=1,cpus=lots]: invalid type: string \"lots\""
        ),
        "{err}"
    );
}

#[test]
fn one_scenario_is_expected_where_a_matrix_cannot_go() {
    let err = scenario::parse(Path::new("m.toml"), MATRIX, &root()).unwrap_err().to_string();
    assert_eq!(
        err,
        "m.toml:5:1: this file is a matrix of 11 variants, where one scenario is expected \
         (hint: `bench` runs every variant (pick some with --only KEY=VALUE))"
    );
}

/// Each bad matrix, and where its error points: (what changes, line:col, message start).
#[test]
fn bad_matrices_are_located() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("workers = [1, 2]", "workers = []", "m.toml:7:11:", "matrix key 'workers' has no values"),
        ("workers = [1, 2]", "workers = 2", "m.toml:7:11:", "matrix key 'workers' must be a list"),
        ("\"--workers\", \"{matrix.workers}\"", "\"--workers\", \"{matrix.worker_count}\"", "m.toml:16:74:", "{matrix.worker_count}: the matrix has no key 'worker_count'"),
        ("workers = [1, 2]", "workers = [1, 2]\nunused = [1]", "m.toml:8:10:", "matrix key 'unused' is used nowhere"),
        ("{ worker = \"meinheld\", workers = 2 }", "{ worker = \"waitress\" }", "m.toml:9:23:", "exclude: 'waitress' is not one of worker's values"),
        ("{ worker = \"gthread\", workers = 4, cpus = 1 }", "{ worker = \"gthread\", cpus = 1 }", "m.toml:10:12:", "an include gives no value for 'workers'"),
        ("{ worker = \"meinheld\", workers = 2 }", "{ threads = 2 }", "m.toml:9:24:", "exclude: the matrix has no key 'threads'"),
        ("build = \"docker/app\"", "build = \"docker/{matrix.worker}\"", "m.toml:13:9:", "`server.build` cannot take a matrix value"),
        ("path = \"/health\"", "path = \"/{matrix.worker}\"", "m.toml:27:8:", "`workload.endpoints.0.path` cannot take a matrix value"),
        ("[\"gunicorn\", \"--worker-class\"", "[\"{matrix.worker} run\", \"--worker-class\"", "m.toml:16:11:", "variant gunicorn-flask[worker=sync,workers=1,cpus=0.5]: the command's program \"sync run\" cannot be started"),
        ("memory = \"512m\"", "memory = \"{matrix.worker}\"", "m.toml:18:10:", "variant gunicorn-flask[worker=sync,workers=1,cpus=0.5]: 'sync' is not a size"),
    ];
    let mut wrong = Vec::new();
    for (from, to, at, message) in cases {
        assert!(MATRIX.contains(from), "{from}");
        let text = MATRIX.replacen(from, to, 1);
        let err = expand(&text, &Pick::default()).unwrap_err();
        if !err.starts_with(&format!("{at} {message}")) {
            wrong.push(format!("{to}:\n  got:  {err}\n  want: {at} {message}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A placeholder in a file without [matrix].
    let text = MATRIX.replace("[matrix]", "[other]");
    let err = expand(&text, &Pick::default()).unwrap_err();
    assert!(err.starts_with("m.toml:3:15: '"), "{err}");
    assert!(err.contains("names a matrix key, but the file has no [matrix]"), "{err}");
}
