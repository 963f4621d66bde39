//! `stackbench load` as a user runs it: output, exit codes, messages, Ctrl-C.

use std::time::Duration;

use testserver::{Server, OK};

use crate::util::{stackbench, text};

#[test]
fn json_output_matches_the_schema() {
    let server = Server::fixed(OK);
    let url = server.url();
    let out = stackbench(&["load", &url, "-c", "4", "-n", "500", "--json", "-H", "Authorization: Bearer hunter2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    let schema: serde_json::Value = serde_json::from_str(include_str!("../../loadgen/schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(value["requests"], 500);
    assert_eq!(server.requests(), 500);
    assert!(!text(&out.stdout).contains("hunter2"), "the token must not be printed");
}

/// `--mix`: each request drawn by weight from the kinds given, each kind sent as given, counted apart in
/// the JSON and the summary, the counts summing to the whole.
#[test]
fn a_mix_sends_each_kind_by_its_weight_and_counts_it_apart() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
    let server = {
        let seen = seen.clone();
        Server::seeing(move |_, request| {
            let line = String::from_utf8_lossy(request).lines().next().unwrap_or_default().to_string();
            let path = line.split(' ').nth(1).unwrap_or_default();
            let kind = if path.starts_with("/items/") { "read" } else { path };
            *seen.lock().unwrap().entry(kind.to_string()).or_default() += 1;
            vec![testserver::write(OK)]
        })
    };
    let mix = ["--mix", "read=3:/items/{rand:1..1000}", "--mix", "list=1:/items"];
    let out = stackbench(&[&["load", &server.url(), "-c", "2", "-n", "4000", "--json"][..], &mix].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    let kinds = value["kinds"].as_array().expect("kinds");
    let count = |name: &str| kinds.iter().find(|k| k["name"] == name).and_then(|k| k["requests"].as_u64()).unwrap();
    assert_eq!(count("read") + count("list"), 4000);
    // 3 to 1 over 4000 draws: within 5 points of 75%.
    assert!((count("read") as f64 / 4000.0 - 0.75).abs() < 0.05, "{kinds:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.get("read"), Some(&count("read")), "{seen:?}");
    assert_eq!(seen.get("/items"), Some(&count("list")), "{seen:?}");
    let out = stackbench(&[&["load", &server.url(), "-c", "2", "-n", "400"][..], &mix].concat());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("a mix by weight: read 3 /items/{rand:1..1000}, list 1 /items"), "{stdout}");
    assert!(stdout.lines().any(|l| l.trim_start().starts_with("read ") && l.contains("weight 3")), "{stdout}");
}

#[test]
fn summary_output_is_wrk_shaped() {
    let server = Server::fixed(OK);
    let out = stackbench(&["load", &server.url(), "-c", "2", "-d", "1s", "--latency"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "Running 1.00s test @",
        "2 threads and 2 connections",
        "Latency Distribution",
        "Detailed Percentile spectrum",
        "Requests/sec:",
        "Transfer/sec:",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // Not a terminal: no progress line.
    assert!(!text(&out.stderr).contains("req/s"), "{}", text(&out.stderr));
}

#[test]
fn bad_input_gets_one_clear_error() {
    let server = Server::fixed(OK);
    let url = server.url();
    for (args, code, needle) in [
        (vec!["load", &url, "-c", "0"], 1, "--connections: every level needs at least 1 connection"),
        (vec!["load", "ftp://127.0.0.1:1/"], 1, "use http:// or https://"),
        (vec!["load", &url, "--tls-ca", "/nonexistent/ca.pem"], 1, "TLS settings need an https:// URL"),
        (
            vec!["load", "https://127.0.0.1:1/", "--tls-ca", "/nonexistent/ca.pem"],
            1,
            "--tls-ca: cannot read certificates",
        ),
        (vec!["load", "https://127.0.0.1:1/", "--tls-version", "1.1"], 2, "use 1.2 or 1.3"),
        (
            vec!["load", "https://127.0.0.1:1/", "--tls-ciphers", "TLS_NOPE"],
            1,
            "--tls-ciphers: no cipher suite 'TLS_NOPE'",
        ),
        (vec!["load", "not a url"], 1, "cannot use URL"),
        (vec!["load", &url, "-d", "soon"], 2, "try 10s, 500ms or 1m"),
        (vec!["load", &url, "--cpus", "1-0"], 1, "--cpus: range '1-0' runs backwards"),
        (vec!["load", &url, "-H", "NoColon"], 1, "expected \"Name: value\""),
        (vec!["load", &url, "--body-file", "/nonexistent/body.json"], 1, "--body-file: cannot read"),
        (vec!["load", &url, "-c", "5000000"], 1, "ulimit -Hn"),
        (vec!["load", &url, "--pipeline", "4", "--no-keepalive"], 1, "pipelining needs keep-alive"),
        (vec!["load", &url, "--frobnicate"], 2, "--frobnicate"),
        (vec!["load", &url, "--mix", "read:/a"], 2, "expected NAME=WEIGHT:PATH"),
        (vec!["load", &url, "--mix", "read=many:/a"], 2, "the weight 'many' is not a whole number"),
        (vec!["load", &url, "--mix", "read=0:/a"], 1, "--mix: the weights sum to 0"),
        (vec!["load", &url, "--mix", "read=1:/{wat:1}"], 1, "wat"),
    ] {
        let out = stackbench(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {needle:?} not in {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(server.requests(), 0, "no bad invocation sent anything");
}

#[test]
fn sigint_prints_the_partial_result() {
    let server = Server::fixed(OK);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(["load", &server.url(), "-c", "2", "-d", "60s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "stopping took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Interrupted: the figures cover the") && stdout.contains("Requests/sec:"), "{stdout}");
}

/// Runs `stackbench ARGS` to its end and returns its output and its peak
/// resident memory in KiB: the high-water mark of its own pages (`VmHWM`),
/// read every 10 ms while it runs. Not wait4's `ru_maxrss`: a child spawned
/// with vfork starts from this test process's own high-water mark, so that
/// figure was this process's memory (256 MiB once) whenever it exceeded the child's.
#[allow(clippy::zombie_processes)] // waitpid reaps it
fn run_measured(args: &[&str]) -> (std::process::ExitStatus, String, i64) {
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let pid = child.id() as i32;
    let (mut status, mut peak_kib) = (0, 0i64);
    loop {
        let hwm = std::fs::read_to_string(format!("/proc/{pid}/status")).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
        peak_kib = peak_kib.max(hwm.unwrap_or(0));
        // SAFETY: polling our own child with a valid out-pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if waited == pid {
            break;
        }
        assert_eq!(waited, 0, "waitpid failed");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(peak_kib > 0, "never read the generator's memory");
    (std::process::ExitStatus::from_raw(status), reader.join().unwrap(), peak_kib)
}

#[test]
fn endless_bodies_and_headers_keep_the_generators_memory_bounded() {
    use testserver::{write, Action};
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024)).into_bytes();
    let body = Server::start(move |_| {
        vec![write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), Action::Endless(chunk.clone())]
    });
    let line = format!("X-Big: {}\r\n", "a".repeat(1000)).into_bytes();
    let headers = Server::start(move |_| vec![write("HTTP/1.1 200 OK\r\n"), Action::Endless(line.clone())]);
    for (server, what) in [(&body, "body"), (&headers, "headers")] {
        let url = server.url();
        let (status, stdout, max_rss_kib) =
            run_measured(&["load", &url, "-c", "8", "-d", "2s", "--timeout", "500ms", "--json"]);
        assert!(status.success(), "endless {what}: {status:?}");
        let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(result["requests"], 0, "endless {what}: {stdout}");
        assert!(max_rss_kib < 32 * 1024, "endless {what}: the generator grew to {max_rss_kib} KiB");
        let bytes_read = result["bytes_read"].as_u64().unwrap();
        eprintln!("endless {what}: {bytes_read} bytes read, generator peak RSS {max_rss_kib} KiB");
        if what == "body" {
            // Far more streamed through than the generator ever held.
            assert!(result["errors"]["timeout"].as_u64().unwrap() > 0, "{stdout}");
            assert!(bytes_read > 8 * max_rss_kib as u64 * 1024, "{bytes_read} bytes read, peak {max_rss_kib} KiB");
        } else {
            assert!(result["errors"]["parse"].as_u64().unwrap() > 0, "{stdout}");
        }
    }
}

#[test]
fn shares_run_side_by_side_merge_into_the_whole() {
    let server = Server::fixed(OK);
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let start_at = (std::time::SystemTime::now() + Duration::from_millis(500))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        .to_string();
    let children: Vec<_> = ["0/2", "1/2"]
        .map(|share| {
            std::process::Command::new(env!("CARGO_BIN_EXE_stackbench"))
                .args(["load", &url, "-c", "5", "-R", "300", "-d", "1s", "--share", share, "--start-at", &start_at])
                .arg("--json")
                .output()
        })
        .into_iter()
        .collect();
    let mut files = Vec::new();
    for (idx, out) in children.into_iter().enumerate() {
        let out = out.unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let file = dir.path().join(format!("generator-{idx}.json"));
        std::fs::write(&file, &out.stdout).unwrap();
        files.push(file);
    }
    let part = |idx: usize| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&files[idx]).unwrap()).unwrap()
    };
    // The shares: 3 and 2 of the 5 connections, and 180 and 120 of the 300 requests per second.
    assert_eq!(
        (part(0)["options"]["connections"].as_u64(), part(1)["options"]["connections"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!((part(0)["options"]["rate"].as_f64(), part(1)["options"]["rate"].as_f64()), (Some(180.0), Some(120.0)));

    let paths: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let out = stackbench(&[&["merge", "--json"][..], &paths].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sum = part(0)["requests"].as_u64().unwrap() + part(1)["requests"].as_u64().unwrap();
    assert_eq!(merged["requests"].as_u64(), Some(sum));
    assert!((285..=315).contains(&sum), "{sum} requests for 300 req/s over 1 s");
    assert_eq!((merged["options"]["connections"].as_u64(), merged["rate"]["target"].as_f64()), (Some(5), Some(300.0)));
    let summary = text(&stackbench(&[&["merge"][..], &paths].concat()).stdout);
    assert!(summary.contains("generator-0.json: 3 connections") && summary.contains("Requests/sec:"), "{summary}");

    let out = stackbench(&["load", &url, "-c", "5", "--share", "2/2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("'2/2' is not a share I/N with 0 <= I < N"), "{}", text(&out.stderr));
}

#[test]
fn a_scenario_renders_as_kubernetes_objects() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = root.join("scenarios/gunicorn-flask.toml");
    let args = ["k8s", file.to_str().unwrap(), "--root", root.to_str().unwrap(), "--registry", "registry.example:5000"];
    let out = stackbench(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("one scenario is rendered at a time, and 13 variant(s) are picked"),
        "{}",
        text(&out.stderr)
    );
    let args = [&args[..], &["--only", "worker=gevent,workers=4,python=3.11"]].concat();
    let out = stackbench(&[&args[..], &["--generators", "3", "--endpoint", "sleep"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = list["items"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Pod", "Service", "Pod", "Service", "Job"]);
    assert_eq!(list["items"][4]["spec"]["parallelism"], 3);
    assert!(text(&out.stderr).contains("kubectl apply -f"), "{}", text(&out.stderr));
    let out = stackbench(&[&args[..], &["--endpoint", "nope"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no endpoint 'nope' in the scenario"), "{}", text(&out.stderr));
}

/// The command line a generator container or pod gets is one `stackbench load` takes, and it runs
/// the endpoint as the scenario says, with this generator's share.
#[test]
fn generator_command_lines_are_load_options() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pick = scenario::Pick { lists: Vec::new(), only: vec!["python=3.11,cpus=1".parse().unwrap()] };
    let loaded =
        scenario::load_file(&root.join("scenarios/fastapi-async.toml"), &root, &pick).unwrap().variants.remove(0);
    let plan = k8s::plan(&loaded, 2).unwrap();
    let login = plan.endpoints.iter().find(|e| e.name == "login").unwrap();
    let config = plan.load_config(login, 10, loadgen::Target::parse("http://127.0.0.1:9/login").unwrap());
    let args = plan::generator_args(&config, "1/3", 1.8e9).unwrap();
    let load = load_opts(args);
    assert_eq!(load.start_at, Some(1.8e9));
    let config = load.to_config().unwrap();
    // Shares of 10 over 3: 4, 3, 3.
    assert_eq!(config.n_connections, 3);
    assert_eq!(
        (config.method.as_str(), &config.body, config.expect.status),
        ("POST", &login.body, Some(login.expect_status))
    );
    assert_eq!(config.headers, login.headers);
    assert_eq!((config.warmup, config.timeout, config.keepalive), (plan.warmup, plan.timeout, login.keepalive));
    assert_eq!(config.stop, loadgen::RunLength::Duration(plan.duration));
}

/// `stackbench load` options from a generator's command line.
fn load_opts(args: Vec<String>) -> stackbench::LoadOpts {
    use clap::Parser;
    let opts = stackbench::Opts::try_parse_from(std::iter::once("stackbench".to_string()).chain(args)).unwrap();
    let stackbench::Command::Load(load) = opts.command else { panic!("not a load command") };
    load
}

/// Every kind of generator runs the level the generator in this process runs: a generator
/// container's command line (what `runner` starts them with, from the same `Config`) and the
/// Kubernetes Job's arguments parse back into that `Config`, threads, pinning, pipelining,
/// keep-alive, timeouts, rate and checks included. The Job differs in two things only, both by
/// design: it names the server's Service instead of an address, and it is not pinned (a pod's CPUs
/// are not known when it is rendered).
#[test]
fn every_kind_of_generator_runs_the_same_level() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    for (name, workload, endpoint) in [
        (
            "gen-pipelined",
            "threads = 3\npipeline = 2\ntimeout = \"1500ms\"\nwarmup = \"250ms\"\nduration = \"7s\"",
            "method = \"POST\"\nbody = \"{\\\"a\\\": 1}\"\nexpect_body = \"ok\"\nexpect_status = 201\n\
             headers = { Authorization = \"Bearer t\", \"Content-Type\" = \"application/json\" }",
        ),
        ("gen-open-loop", "rate = 250.5\nkeepalive = false\nthreads = 2\ntimeout = \"3s\"", ""),
        ("gen-poisson", "rate = 300\narrivals = \"poisson\"\nseed = 9", ""),
        ("gen-users", "think = \"250ms\"\nthink_spread = \"uniform\"\nseed = 3", ""),
    ] {
        let text = format!(
            "name = \"{name}\"\n[server]\nbuild = \"docker/tests/context\"\ncpus = 1\nmemory = \"64m\"\n\
             [workload]\nconnections = [10]\n{workload}\n[[workload.endpoints]]\nname = \"e\"\npath = \"/e?x=1\"\n{endpoint}\n"
        );
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(&file, &text).unwrap();
        let loaded = scenario::parse(&file, &text, &root).unwrap_or_else(|e| panic!("{e}"));
        let hosts = plan::Hosts::Apart { server: plan::Machine::detect(), generator: plan::Machine::detect() };
        let choices = plan::Choices { generator_cpus: vec![0, 1], ..plan::Choices::default() };
        let plan = plan::Plan::new(&loaded, &choices, &hosts).unwrap();
        let endpoint = &plan.endpoints[0];
        let target = plan::server_target("127.0.0.1:9".parse().unwrap(), &endpoint.path, false).unwrap();
        let here = plan.load_config(endpoint, 10, target);
        here.validate().unwrap();
        if name == "gen-poisson" {
            assert_eq!(here.arrivals, loadgen::Arrivals::Poisson { seed: 9 });
        }
        if name == "gen-users" {
            let think = loadgen::Think { mean: Duration::from_millis(250), spread: loadgen::Spread::Uniform, seed: 3 };
            assert_eq!(here.think, Some(think));
        }

        // A generator container (one of one): exactly the same settings.
        let container = load_opts(plan::generator_args(&here, "0/1", 1.8e9).unwrap()).to_config().unwrap();
        assert_eq!(container, here, "{name}: a generator container runs another level");
        // One of three: its share of the connections, threads and rate, the rest the same.
        let third = load_opts(plan::generator_args(&here, "2/3", 1.8e9).unwrap()).to_config().unwrap();
        let n = loadgen::shares(10, 3)[2];
        let share = loadgen::Config {
            n_connections: n,
            n_threads: here.n_threads.min(n),
            rate: here.rate.map(|r| r * n as f64 / 10.0),
            // Its own draws: the seed moved by its index.
            arrivals: match here.arrivals {
                loadgen::Arrivals::Poisson { seed } => loadgen::Arrivals::Poisson { seed: seed ^ (2 << 32) },
                constant => constant,
            },
            think: here.think.map(|t| loadgen::Think { seed: t.seed ^ (2 << 32), ..t }),
            seed: here.seed ^ (2 << 32),
            ..here.clone()
        };
        assert_eq!(third, share, "{name}: a share of the level");

        // The Kubernetes Job of the same plan.
        let options = k8s::RenderOptions {
            run_id: "t".into(),
            namespace: "stackbench".into(),
            registry: "r.example".into(),
            generator_tag: "0123".into(),
            endpoint: "e".into(),
            connections: 10,
            generators: 1,
            generator_cpus: 2,
            start_at: 1.8e9,
        };
        let objects = k8s::render(&plan, &options).unwrap();
        let job = objects.last().unwrap();
        let args: Vec<String> =
            serde_json::from_value(job["spec"]["template"]["spec"]["containers"][0]["args"].clone()).unwrap();
        let args = args.into_iter().map(|a| a.replace("$(JOB_COMPLETION_INDEX)", "0")).collect::<Vec<_>>();
        let url = args[1].clone();
        let in_job = load_opts(args).config_for(loadgen::Target::unresolved(&url).unwrap()).unwrap();
        let expected =
            loadgen::Config { target: loadgen::Target::unresolved(&url).unwrap(), cpus: None, ..here.clone() };
        assert_eq!(in_job, expected, "{name}: the Job runs another level");
    }
}
