//! Shared set-up: one engine connection and the test image, built once.

use std::collections::HashMap;
use std::path::PathBuf;

use docker::{BuildSpec, ContainerSpec, Engine};
use tokio::sync::OnceCell;

pub const TEST_IMAGE: &str = "stackbench-test/perl-server:latest";

pub fn context() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/context")
}

/// The engine, with the base image present and the test image built (once per test binary).
pub async fn engine() -> Engine {
    static READY: OnceCell<Engine> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let engine = Engine::connect().await.unwrap_or_else(|e| panic!("{e}"));
            docker::ensure_base_image(&engine, "debian:bookworm", |l| eprintln!("base image: {l}")).await.unwrap();
            let spec = build_spec(TEST_IMAGE);
            docker::build_image(&engine, &spec, |l| eprintln!("build: {l}")).await.unwrap();
            engine
        })
        .await
        .clone()
}

pub fn build_spec(tag: &str) -> BuildSpec {
    BuildSpec {
        context: context(),
        dockerfile: "Dockerfile".into(),
        tag: tag.into(),
        build_args: Default::default(),
        labels: HashMap::from([("stackbench.test".into(), "1".into())]),
        ca_bundle: Some("/etc/ssl/certs/ca-certificates.crt".into()).filter(|p: &PathBuf| p.exists()),
    }
}

/// A limited container spec for the test image, labelled with `run`.
pub fn spec(name: &str, run: &str, port: u16, env: &[&str]) -> ContainerSpec {
    let mut all_env = vec![format!("PORT={port}")];
    all_env.extend(env.iter().map(|e| e.to_string()));
    ContainerSpec {
        name: name.into(),
        image: TEST_IMAGE.into(),
        cmd: vec![],
        env: all_env,
        labels: HashMap::from([
            (docker::RUN_LABEL.into(), run.into()),
            (docker::PID_LABEL.into(), std::process::id().to_string()),
        ]),
        cpus: 0.5,
        cpuset: "1".into(),
        memory: 64 << 20,
        pids: 64,
        host_network: true,
        open_files: 1024,
        pid_namespace_of: None,
        capabilities: Vec::new(),
        seccomp_unconfined: false,
        files: Vec::new(),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A unique name for this test's containers.
pub fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("stackbench-test-{what}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}
