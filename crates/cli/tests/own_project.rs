//! stackbench on an app's own repository, outside this one: scenarios whose
//! paths are relative to their own folder, results beside them, `init`, and
//! the regression gate.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::bench_command::{files_in, temp_dir};
use crate::util::{engine_lock, text};

/// The Perl test server's build context (`docker/tests/context`).
fn test_context() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker/tests/context")
}

/// A project in `dir`: the test server's context copied to `dir/app/`, and
/// `dir/stackbench.toml` building it (`build = "app"`), one level of one second.
fn own_project(dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    for file in ["Dockerfile", "server.pl"] {
        std::fs::copy(test_context().join(file), dir.join("app").join(file)).unwrap();
    }
    let file = dir.join("stackbench.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"{name}\"\n[server]\nbuild = \"app\"\ncpus = 0.5\nmemory = \"64m\"\n\
             ready = {{ path = \"/health\", timeout = \"20s\" }}\n[workload]\nwarmup = \"0s\"\nduration = \"1s\"\n\
             pause = \"0s\"\nconnections = [4]\n[[workload.endpoints]]\nname = \"health\"\npath = \"/health\"\n"
        ),
    )
    .unwrap();
    file
}

/// `stackbench ARGS` run in `dir`, as a user of their own repository runs it
/// (no `--root`, no `--results`, no `STACKBENCH_REPORTS`).
fn stackbench_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .current_dir(dir)
        .args(args)
        .env_remove("STACKBENCH_REPORTS")
        .output()
        .expect("the stackbench binary runs")
}

#[test]
fn a_scenario_outside_the_repository_builds_verifies_and_runs_with_results_beside_it() {
    let _engine = engine_lock();
    let dir = temp_dir("own");
    own_project(dir.path(), "cli-own");
    let out = stackbench_in(dir.path(), &["bench", "stackbench.toml"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("verified 1 endpoint(s)"), "{stderr}");
    let results = files_in(&dir.path().join("stackbench-results/results/cli-own"));
    assert_eq!(results.len(), 1, "{results:?}");
    let record = record::RunRecord::read(&results[0]).unwrap();
    assert_eq!(record.levels.len(), 1);
    assert!(record.levels[0].load.as_ref().is_some_and(|l| l.requests > 0), "{:?}", record.levels[0]);
    // The report goes beside them too.
    let out = stackbench_in(dir.path(), &["report"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let readme = std::fs::read_to_string(dir.path().join("stackbench-results/README.md")).unwrap();
    assert!(readme.contains("cli-own"), "{readme}");
}

#[test]
fn paths_leaving_the_project_are_refused_with_a_located_error() {
    let dir = temp_dir("escape");
    let project = dir.path().join("project");
    own_project(&project, "cli-escape");
    let file = project.join("stackbench.toml");
    let original = std::fs::read_to_string(&file).unwrap();
    let text_of = |build: &str| original.replace("build = \"app\"", build);
    // Up through `..`, to a folder that exists.
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::write(&file, text_of("build = \"../outside\"")).unwrap();
    let out = stackbench_in(&project, &["bench", "--verify-only", "stackbench.toml"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stackbench.toml:3:9: '../outside' leaves the project through '..'"), "{stderr}");
    // Through a symbolic link inside that points outside.
    std::os::unix::fs::symlink(dir.path().join("outside"), project.join("link")).unwrap();
    std::fs::write(&file, text_of("build = \"link\"")).unwrap();
    let out = stackbench_in(&project, &["bench", "--verify-only", "stackbench.toml"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stackbench.toml:3:9: 'link' leads outside the project"), "{stderr}");
    assert!(!project.join("stackbench-results").exists(), "a refused scenario writes nothing");
    // `--root` names a wider project, which the link stays inside: paths are then relative to it.
    for file in ["Dockerfile", "server.pl"] {
        std::fs::copy(test_context().join(file), dir.path().join("outside").join(file)).unwrap();
    }
    std::fs::write(&file, text_of("build = \"project/link\"")).unwrap();
    let root = dir.path().to_str().unwrap();
    let _engine = engine_lock();
    let out = stackbench_in(&project, &["bench", "--verify-only", "stackbench.toml", "--root", root]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A minimal app, `init` in its folder, then `bench --verify-only` on what it wrote.
fn init_and_verify(name: &str, files: &[(&str, &str)], found: &str) {
    let _engine = engine_lock();
    let dir = temp_dir(name);
    for (file, body) in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let out = stackbench_in(dir.path(), &["init"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(found), "{stderr}");
    for file in ["stackbench.toml", "stackbench.Dockerfile", ".dockerignore"] {
        assert!(dir.path().join(file).is_file(), "{file} not written: {stderr}");
    }
    // A second init leaves the files as they are.
    let again = stackbench_in(dir.path(), &["init"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("exists; leaving it as it is (--force overwrites it)"));
    let out = stackbench_in(dir.path(), &["bench", "--verify-only", "stackbench.toml"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Two routes and their mix, whose requests are verified one by one.
    assert!(stderr.contains("verified 3 endpoint(s)"), "{stderr}");
}

#[test]
fn init_writes_a_scenario_that_verifies_for_a_minimal_flask_app() {
    let app = "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route(\"/\")\ndef index():\n    return \"hello\"\n\n\n\
               @app.get(\"/health\")\ndef health():\n    return \"ok\"\n\n\n@app.post(\"/items\")\ndef add():\n    return \"\"\n";
    init_and_verify(
        "init-flask",
        &[("app.py", app), ("requirements.txt", "flask\n")],
        "found a Flask app (WSGI: served by gunicorn) at app:app, 2 GET route(s) without parameters (/, /health)",
    );
}

#[test]
fn init_writes_a_scenario_that_verifies_for_a_minimal_fastapi_app() {
    let app = "from fastapi import FastAPI\n\napi = FastAPI()\n\n\n@api.get(\"/ping\")\nasync def ping():\n    return {\"ok\": True}\n\n\n\
               @api.get(\"/items\")\nasync def items():\n    return []\n\n\n@api.get(\"/items/{item}\")\nasync def item(item: int):\n    return item\n";
    init_and_verify(
        "init-fastapi",
        &[("service/main.py", app), ("requirements.txt", "fastapi\nuvicorn\n")],
        "found a FastAPI app (ASGI: served by uvicorn) at service.main:api, 2 GET route(s) without parameters (/ping, /items)",
    );
}

#[test]
fn the_gate_passes_the_same_stack_and_fails_one_made_slower() {
    let _engine = engine_lock();
    let dir = temp_dir("gate");
    own_project(dir.path(), "cli-gate");
    // More than the gate's minimum: with 3 a side, an unchanged figure fails 0.7% of the time.
    let repeat = "5";
    // Too few repeats for the gate: refused before anything runs.
    let out = stackbench_in(dir.path(), &["bench", "stackbench.toml", "--baseline", "x", "--fail-on", "regression"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("pass --repeat 3 or more"), "{}", text(&out.stderr));
    let out = stackbench_in(dir.path(), &["bench", "stackbench.toml", "--repeat", repeat, "--reports", "baseline"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let gate = |reports: &str, extra: &[&str]| {
        let args = [
            &["bench", "stackbench.toml", "--repeat", repeat, "--reports", reports][..],
            &["--baseline", "baseline/results", "--fail-on", "regression", "--comparison", "comparison.md"],
            extra,
        ]
        .concat();
        let out = stackbench_in(dir.path(), &args);
        let markdown = std::fs::read_to_string(dir.path().join("comparison.md")).unwrap();
        (out, markdown)
    };
    let (out, markdown) = gate("same", &[]);
    assert_eq!(out.status.code(), Some(0), "{}\n{markdown}", text(&out.stderr));
    assert!(markdown.contains("**No regression** in 2 figure(s)"), "{markdown}");
    assert!(text(&out.stdout).contains(&markdown), "the comparison is printed too");
    // Every response 20 ms later: one process per connection, 4 connections, so at most 200 req/s.
    let (out, markdown) = gate("slower", &["--set", "server.SLOW=0.02"]);
    assert_eq!(out.status.code(), Some(3), "{}\n{markdown}", text(&out.stderr));
    assert!(markdown.contains("**2 regression(s)** in 2 figure(s)"), "{markdown}");
    assert!(markdown.contains("| cli-gate | GET /health (health), 4 connections | req/s |"), "{markdown}");
    assert!(text(&out.stderr).contains("2 figure(s) regressed against the baseline: exit 3"));
}

#[test]
fn setup_says_the_engine_answers() {
    let out = Command::new(env!("CARGO_BIN_EXE_stackbench")).arg("setup").output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Docker engine answers at /var/run/docker.sock") || stderr.contains("DOCKER_HOST"),
        "{stderr}"
    );
}
