//! `stackbench new NAME --like STACK`: the scaffold is written, checked, and
//! builds and verifies against the real engine; bad requests leave nothing.

use std::path::{Path, PathBuf};

use crate::util::{stackbench, text};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().parent().unwrap().to_path_buf()
}

/// A project holding the repository's node-http scenario and its build context.
fn project() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("stackbench-cli-new-").tempdir().unwrap();
    let (repo, root) = (repo_root(), dir.path());
    std::fs::create_dir_all(root.join("scenarios")).unwrap();
    std::fs::create_dir_all(root.join("docker/node")).unwrap();
    std::fs::copy(repo.join("scenarios/node-http.toml"), root.join("scenarios/node-http.toml")).unwrap();
    for file in ["Dockerfile", "server.js"] {
        std::fs::copy(repo.join("docker/node").join(file), root.join("docker/node").join(file)).unwrap();
    }
    dir
}

fn new(root: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["new", "--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    stackbench(&all)
}

#[test]
fn scaffolded_scenario_validates_builds_and_verifies() {
    let _engine = crate::util::engine_lock();
    let dir = project();
    let root = dir.path();
    let out = new(root, &["my-node", "--like", "node-http"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The next steps name the command as it was typed: `stackbench` here, `cargo xtask` through xtask.
    assert!(
        text(&out.stdout).contains("stackbench bench --verify-only scenarios/my-node.toml"),
        "{}",
        text(&out.stdout)
    );

    // The copy is the model's context; the scenario points at it under the new name.
    for file in ["Dockerfile", "server.js"] {
        assert_eq!(
            std::fs::read(root.join("docker/my-node").join(file)).unwrap(),
            std::fs::read(root.join("docker/node").join(file)).unwrap()
        );
    }
    // node-http is a matrix (a CPU budget sweep): the copy is one too, each variant under the new name.
    let file = root.join("scenarios/my-node.toml");
    let pick = scenario::Pick::default();
    let variants = scenario::load_file(&file, root, &pick).unwrap().variants;
    let names: Vec<String> = variants.iter().map(scenario::Loaded::stack_name).collect();
    assert_eq!(names, ["my-node[cpus=0.25]", "my-node[cpus=0.5]", "my-node[cpus=1]"]);
    let loaded = &variants[0];
    assert_eq!(loaded.scenario.name.get_ref().as_str(), "my-node");
    assert_eq!(loaded.scenario.server.build.get_ref().to_string(), "docker/my-node");
    assert!(loaded.scenario.description.contains("scaffolded from node-http"), "{}", loaded.scenario.description);
    assert!(loaded.text.starts_with("# Scaffolded from scenarios/node-http.toml"), "{}", loaded.text);
    assert!(loaded.text.contains("# A new connection per request, like `ab` without -k."), "comments are kept");
    let model = scenario::load_file(&root.join("scenarios/node-http.toml"), root, &pick).unwrap().variants.remove(0);
    let workload = |text: &str| text[text.find("[workload]").unwrap()..].to_string();
    assert_eq!(workload(&loaded.text), workload(&model.text), "the workload is kept as written");

    // It builds, starts and answers every endpoint.
    let results = root.join("results");
    let out = stackbench(&[
        "bench",
        "--verify-only",
        "--root",
        root.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("my-node[cpus=0.25]  verified"), "{stdout}");
    assert!(stdout.contains("3 of 3 scenario(s) verified"), "{stdout}");
    let records: Vec<_> =
        std::fs::read_dir(results.join("my-node_cpus-0.25")).unwrap().map(|e| e.unwrap().path()).collect();
    let record = record::RunRecord::read(&records[0]).unwrap();
    assert_eq!(record.status, record::RunStatus::Complete);
    assert!(record.levels.is_empty(), "verification runs no load");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let left = rt.block_on(async {
        let engine = docker::Engine::connect().await.unwrap();
        engine.containers_of_run(&record.run_id).await.unwrap()
    });
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn refused_requests_say_why_and_leave_nothing() {
    let dir = project();
    let root = dir.path();
    let before = listing(root);

    let out = new(root, &["my-node", "--like", "no-such-stack"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--like no-such-stack: there is no"), "{stderr}");
    assert!(stderr.contains("scenarios you can start from: node-http"), "{stderr}");

    let out = new(root, &["My_Node", "--like", "node-http"]);
    assert!(text(&out.stderr).contains("'My_Node' is not a valid name"), "{}", text(&out.stderr));
    let out = new(root, &["base-node", "--like", "node-http"]);
    assert!(text(&out.stderr).contains("kept for project base images"), "{}", text(&out.stderr));
    assert_eq!(listing(root), before, "nothing is written for a refused request");

    // A name already taken, as a scenario or as a build context, is not overwritten.
    let out = new(root, &["node-http", "--like", "node-http"]);
    assert!(text(&out.stderr).contains("node-http.toml already exists"), "{}", text(&out.stderr));
    let out = new(root, &["node", "--like", "node-http"]);
    assert!(text(&out.stderr).contains("docker/node already exists"), "{}", text(&out.stderr));
    assert_eq!(listing(root), before);
}

/// Every path under `root`, sorted.
fn listing(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            }
            out.push(path);
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out.sort();
    out
}
