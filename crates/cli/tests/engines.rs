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
        make_certificates(&dir.path().join("certs"));
        let dockerd = launch(dir.path(), &endpoint, &bridge.name);
        let engine = SecondEngine { dockerd, endpoint, dir, _bridge: bridge };
        engine.wait_until_it_answers();
        engine
    }

    /// Kills dockerd as the host's OOM killer would (SIGKILL: it stops nothing on its way out).
    fn kill(&mut self) {
        self.dockerd.kill().unwrap();
        self.dockerd.wait().unwrap();
    }

    /// Starts dockerd again on the same data, once it was killed.
    fn restart(&mut self) {
        self.dockerd = launch(self.dir.path(), &self.endpoint, &self._bridge.name);
        self.wait_until_it_answers();
    }

    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            let log = std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "the second dockerd did not answer:\n{log}");
            std::thread::sleep(Duration::from_millis(200));
        }
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

/// dockerd on the data in `dir`, answering on its own socket there and on `endpoint` (TLS), with bridge `bridge`.
fn launch(dir: &Path, endpoint: &str, bridge: &str) -> Child {
    let path = |name: &str| dir.join(name).display().to_string();
    let cert = |name: &str| dir.join("certs").join(name).display().to_string();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("dockerd.log")).unwrap();
    Command::new("dockerd")
        .args(["--data-root", &path("data"), "--exec-root", &path("exec"), "--pidfile", &path("dockerd.pid")])
        .args(["-H", &format!("unix://{}", path("docker.sock")), "-H", endpoint])
        // TCP with TLS both ways, as a remote engine should be.
        .args(["--tlsverify", "--tlscacert", &cert("ca.pem")])
        .args(["--tlscert", &cert("server-cert.pem"), "--tlskey", &cert("server-key.pem")])
        // A bridge of its own and no iptables, forwarding or masquerading: the first engine's network
        // (the same namespace) stays as it is.
        .args(["--bridge", bridge, "--iptables=false", "--ip-forward=false", "--ip-masq=false"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("dockerd is installed with the first engine (cargo xtask setup)")
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
        // Killed and not started again (a test that failed half-way): its containers still run under their
        // shims; a dockerd started on the same data stops them, then it is stopped as below.
        if self.dockerd.try_wait().ok().flatten().is_some() {
            self.dockerd = launch(self.dir.path(), &self.endpoint, &self._bridge.name);
            let deadline = Instant::now() + Duration::from_secs(30);
            while !self.answers() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
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
        let server = record.levels[0].server.as_ref().expect("server figures through the stats API");
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

/// `stackbench clean` on an engine where a killed run left its server: that
/// container and the image stackbench built go, the base image it did not
/// build, an unlabelled `stackbench/...` image and a user's image built FROM
/// stackbench's outside stackbench stay (and are named), a
/// temporary folder of a run goes, and it says how much disk it freed.
#[test]
fn clean_removes_what_stackbench_made_and_nothing_else() {
    let _engine = crate::util::engine_lock();
    let second = SecondEngine::start();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path());
    let results = dir.path().join("results");
    let flags = ["--server-engine", second.endpoint.as_str()];
    let killed = crate::bench_command::bench_with_until(
        &file,
        &results,
        &flags,
        &second.tls_env(),
        "GET /health: 4 connections",
    );
    killed.kill();
    let run_id = crate::bench_command::record_of(&results, "cli-engines").run_id;
    assert_eq!(containers_of_run(&second.socket(), &run_id).len(), 1, "the killed run's server is left");
    let docker = |args: &[&str]| {
        let out = Command::new("docker").args(["-H", &second.socket()]).args(args).output().unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    docker(&["tag", "debian:bookworm", "stackbench/unlabelled:1"]);
    // A user's own image built on one of stackbench's, outside stackbench: it inherits the label.
    let user = dir.path().join("user-image");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(user.join("Dockerfile"), "FROM stackbench/cli-engines:latest\nENV USER_APP=1\n").unwrap();
    let out = Command::new("docker")
        .args(["-H", &second.socket(), "build", "-q", "-t", "myapp:1", user.to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "docker build: {}", text(&out.stderr));
    let inherited = docker(&["inspect", "--format", "{{index .Config.Labels \"stackbench.image\"}}", "myapp:1"]);
    assert_eq!(inherited.trim(), "stackbench/cli-engines:latest", "the user's image inherits the label");
    let temporary = std::env::temp_dir().join("stackbench-tmp-profiler-clean-test");
    std::fs::create_dir_all(&temporary).unwrap();
    std::fs::write(temporary.join("Dockerfile"), "FROM debian:bookworm\n").unwrap();

    let out = crate::util::stackbench(&["clean", "--engine", &second.socket()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("removed 1 container(s) of runs that are gone: stackbench-cli-engines-"), "{stdout}");
    assert!(stdout.contains("removed 1 image(s): stackbench/cli-engines:latest"), "{stdout}");
    assert!(stdout.contains("stackbench-tmp-profiler-clean-test"), "{stdout}");
    assert!(
        stdout.contains("left alone: 1 image(s) named stackbench/... without the stackbench.image label"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "left alone: 1 image(s) built FROM an image of stackbench's, not by stackbench (they carry \
                         the stackbench.image label only through it): myapp:1"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("freed ") && stdout.contains(" GiB free of "), "{stdout}");
    assert!(containers_of_run(&second.socket(), &run_id).is_empty());
    let images = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut images: Vec<&str> = images.lines().collect();
    images.sort_unstable();
    assert_eq!(images, ["debian:bookworm", "myapp:1", "stackbench/unlabelled:1"], "only what stackbench made went");
    assert!(!temporary.exists());
}

/// The server's engine killed mid-level (as an upgrade or the host's OOM
/// killer would): the level in progress runs to its end against the server,
/// which still answers, and is kept with the one before; the run ends saying
/// what happened, what was left running and what to do. Once the engine is
/// back, `--resume` removes what was left and measures the rest.
#[test]
fn an_engine_lost_mid_level_keeps_the_level_and_resume_goes_on() {
    let _engine = crate::util::engine_lock();
    let mut second = SecondEngine::start();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path());
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap().replace("connections = [4]", "connections = [2, 4, 6]"),
    )
    .unwrap();
    let results = dir.path().join("results");
    let endpoint = second.endpoint.clone();
    let flags = ["--server-engine", endpoint.as_str()];
    let tls = second.tls_env();
    let bench = crate::bench_command::bench_with_until(&file, &results, &flags, &tls, "GET /health: 4 connections");
    // 1 s of warm-up, then 1.5 s of the 3 s window with figures.
    std::thread::sleep(Duration::from_millis(2500));
    second.kill();
    let out = bench.finish();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The level under way is shown as any other, then what happened, what is kept and left, what to do.
    let said =
        ["4 conns: ", "a Docker engine stopped answering", "2 level(s)", "left running: stackbench-cli-engines-"];
    for words in [&said[..], &["--resume"]].concat() {
        assert!(stderr.contains(words), "{words:?} in:\n{stderr}");
    }
    let record = crate::bench_command::record_of(&results, "cli-engines");
    assert_eq!(record.status, RunStatus::Interrupted, "{record:#?}");
    let connections: Vec<usize> = record.levels.iter().map(|l| l.connections).collect();
    assert_eq!(connections, [2, 4], "the level in progress is kept: {record:#?}");
    let level = &record.levels[1];
    assert!(level.failure.is_none() && level.load.as_ref().unwrap().requests > 0, "{level:#?}");
    // The engine's API gave the server's figures until it went.
    let server = level.server.as_ref().expect("figures from before the engine went");
    assert!(server.missing_s > 0.0, "{server:?}");

    second.restart();
    let out = crate::bench_command::bench_to_end_with(&file, &results, &[&flags[..], &["--resume"]].concat(), &tls);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(2 level(s) and 0 capacity search(es) kept)"), "{stderr}");
    let record = crate::bench_command::record_of(&results, "cli-engines");
    assert_eq!(record.status, RunStatus::Complete, "{record:#?}");
    assert_eq!(record.levels.iter().map(|l| l.connections).collect::<Vec<_>>(), [2, 4, 6]);
    for endpoint in [second.socket().as_str(), "unix:///var/run/docker.sock"] {
        assert!(containers_of_run(endpoint, &record.run_id).is_empty(), "left on {endpoint}");
    }
}
