//! Outgrowing one machine, on one machine: a second Docker engine (its own
//! data root, listening on a loopback TCP port with TLS) stands in for a remote
//! server host, and generator containers on the first engine drive the server there.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use record::{RunRecord, RunStatus};

use crate::util::text;

/// A second dockerd, removed with everything it holds when dropped.
struct SecondEngine {
    dockerd: Child,
    endpoint: String,
    dir: tempfile::TempDir,
    /// A bridge of its own (with `--bridge none` dockerd deletes `docker0`, the
    /// first engine's, from the shared namespace); deleted after dockerd has
    /// stopped: fields drop after `Drop::drop`.
    _bridge: testserver::bridge::Bridge,
}

impl SecondEngine {
    fn start() -> SecondEngine {
        let bridge = testserver::bridge::Bridge::create("sb2");
        let dir = tempfile::Builder::new().prefix("sb-engine-").tempdir_in("/tmp").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let endpoint = format!("tcp://127.0.0.1:{port}");
        let path = |name: &str| dir.path().join(name).display().to_string();
        make_certificates(&dir.path().join("certs"));
        let cert = |name: &str| dir.path().join("certs").join(name).display().to_string();
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let dockerd = Command::new("dockerd")
            .args(["--data-root", &path("data"), "--exec-root", &path("exec"), "--pidfile", &path("dockerd.pid")])
            .args(["-H", &format!("unix://{}", path("docker.sock")), "-H", &endpoint])
            // TCP with TLS both ways, as a remote engine should be.
            .args(["--tlsverify", "--tlscacert", &cert("ca.pem")])
            .args(["--tlscert", &cert("server-cert.pem"), "--tlskey", &cert("server-key.pem")])
            // A bridge of its own and no iptables, forwarding or masquerading: the first engine's network
            // (the same namespace) stays as it is.
            .args(["--bridge", &bridge.name, "--iptables=false", "--ip-forward=false", "--ip-masq=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd is installed with the first engine (cargo xtask setup)");
        let engine = SecondEngine { dockerd, endpoint, dir, _bridge: bridge };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !engine.answers() {
            let log = std::fs::read_to_string(engine.dir.path().join("dockerd.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "the second dockerd did not answer:\n{log}");
            std::thread::sleep(Duration::from_millis(200));
        }
        engine
    }

    /// Its own socket answers a ping (the TCP port wants a client certificate).
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(self.dir.path().join("docker.sock")) else {
            return false;
        };
        let _ = s.write_all(b"GET /_ping HTTP/1.0\r\n\r\n");
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply.ends_with("OK")
    }

    /// What a client needs to reach it over TLS, as for the docker CLI.
    fn tls_env(&self) -> [(&'static str, String); 2] {
        [("DOCKER_TLS_VERIFY", "1".into()), ("DOCKER_CERT_PATH", self.dir.path().join("certs").display().to_string())]
    }

    /// Its unix socket: for the test's own look at what is left, without TLS.
    fn socket(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in
/// `dir` under the names dockerd's docs and DOCKER_CERT_PATH use.
fn make_certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
    };
    let day = ["-days", "1"];
    openssl(
        &[
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem"][..],
            &day,
            &["-subj", "/CN=stackbench test CA"],
        ]
        .concat(),
    );
    for (who, usage, san) in [("server", "serverAuth", "subjectAltName=IP:127.0.0.1\n"), ("client", "clientAuth", "")] {
        std::fs::write(
            dir.join(format!("{who}.ext")),
            format!("{san}extendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"),
        )
        .unwrap();
        let (key, cert) = if who == "server" { ("server-key.pem", "server-cert.pem") } else { ("key.pem", "cert.pem") };
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            "req.csr",
            "-subj",
            &format!("/CN={who}"),
        ]);
        openssl(
            &[
                &["x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial"][..],
                &day,
                &["-out", cert, "-extfile", &format!("{who}.ext")],
            ]
            .concat(),
        );
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        // SAFETY: signalling our own child; dockerd unmounts and stops its containerd on SIGTERM.
        unsafe { libc::kill(self.dockerd.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.dockerd.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.dockerd.kill();
        let _ = self.dockerd.wait();
        // dockerd leaves its network namespace mounted under its exec root.
        docker::remove_tree(self.dir.path());
    }
}

fn scenario(dir: &Path) -> PathBuf {
    let file = dir.join("cli-engines.toml");
    let text = r#"
name = "cli-engines"
[server]
build = "docker/tests/context"
cpus = 0.5
memory = "64m"
ready = { path = "/health", timeout = "20s" }
[workload]
duration = "3s"
warmup = "1s"
rate = 200.0
connections = [4]
[[workload.endpoints]]
name = "health"
path = "/health"
"#;
    std::fs::write(&file, text).unwrap();
    file
}

/// `stackbench bench` with `flags` and environment `env`; returns the one record it wrote.
fn bench(file: &Path, results: &Path, flags: &[&str], env: &[(&str, String)]) -> RunRecord {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut args = vec!["bench", file.to_str().unwrap(), "--root", root.to_str().unwrap()];
    args.extend(["--results", results.to_str().unwrap()]);
    args.extend(flags);
    let out = Command::new(env!("CARGO_BIN_EXE_stackbench")).args(&args).envs(env.iter().cloned()).output().unwrap();
    assert!(out.status.success(), "{flags:?}:\n{}", text(&out.stderr));
    let dir = results.join("cli-engines");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    RunRecord::read(&files[0]).unwrap()
}

fn containers_of_run(endpoint: &str, run_id: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { docker::Engine::connect_to(endpoint).await.unwrap().containers_of_run(run_id).await.unwrap() })
}

#[test]
fn a_server_on_a_second_engine_loaded_by_two_generator_containers() {
    let _engine = crate::util::engine_lock();
    let second = SecondEngine::start();
    let first_bridge = || Command::new("ip").args(["link", "show", "docker0"]).output().unwrap().status.success();
    assert!(first_bridge(), "the first engine's docker0 is there");
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path());
    let server_engine = ["--server-engine", second.endpoint.as_str()];

    // The same total load (200 req/s over 4 connections) from this process, then from two containers.
    // Without the client certificate the engine is out of reach, and the message says where.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(["bench", file.to_str().unwrap(), "--root", root.to_str().unwrap(), "--server-engine", &second.endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("no Docker engine answers at {}", second.endpoint)), "{stderr}");
    let tls = second.tls_env();
    let single = bench(&file, &dir.path().join("single"), &server_engine, &tls);
    let split = bench(&file, &dir.path().join("split"), &[&server_engine[..], &["--generators", "2"]].concat(), &tls);

    for record in [&single, &split] {
        assert_eq!(record.status, RunStatus::Complete, "{:?}", record.reason);
        assert_eq!(record.provenance.server_engine, second.endpoint);
        // Its cgroup is not this machine's to read (for all stackbench knows): the engine's API gives the figures.
        let server = record.levels[0].server.expect("server figures through the stats API");
        assert!(server.cpu_pct_mean > 0.0 && server.memory_peak > 0, "{server:?}");
        for endpoint in [second.socket().as_str(), "unix:///var/run/docker.sock"] {
            assert!(containers_of_run(endpoint, &record.run_id).is_empty(), "left on {endpoint}");
        }
    }
    let (one, merged) = (single.levels[0].load.as_ref().unwrap(), split.levels[0].load.as_ref().unwrap());
    let parts = &split.levels[0].generators;
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(split.provenance.generator_engines.len(), 2);
    assert!(parts.iter().all(|p| p.connections == 2 && p.requests > 0 && p.cpu_pct > 0.0), "{parts:?}");
    // Exact: the merged histogram holds every part's responses, and its count is the merged total.
    let merged_count = loadgen::decode_histogram(&merged.latency_histogram).unwrap().len();
    assert_eq!(merged_count, parts.iter().map(|p| p.requests).sum::<u64>());
    assert_eq!(merged_count, merged.requests);
    assert_eq!((merged.options.connections, merged.rate.unwrap().target), (4, 200.0));
    // The same load measured two ways: both ran at the rate asked for (600 in 3 s) within 2%.
    for load in [one, merged] {
        assert!((588..=612).contains(&load.requests), "{} requests", load.requests);
        assert_eq!(load.errors.total(), 0, "{:?}", load.errors);
    }
    drop(second);
    assert!(first_bridge(), "the second engine left the first one's docker0 alone");
    eprintln!(
        "single generator: {} requests, p50 {}us, p99 {}us; two generators: {} requests ({} + {}), p50 {}us, p99 {}us",
        one.requests,
        one.latency_us.p50,
        one.latency_us.p99,
        merged.requests,
        parts[0].requests,
        parts[1].requests,
        merged.latency_us.p50,
        merged.latency_us.p99
    );
}
