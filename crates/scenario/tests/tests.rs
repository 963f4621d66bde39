//! Scenario parsing: a good file, and a table of bad ones, each error located.

mod matrix;
mod project;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture")
}

const GOOD: &str = r#"
name = "flask-gevent"
description = "Flask on gunicorn with gevent workers"

[server]
build = "docker/app"
command = ["gunicorn", "--bind", "{host}:{port}", "-w", "{workers}", "app:app"]
cpus = 1.5
memory = "512m"
env = { APP_MODE = "bench" }
ready = { path = "/health", timeout = "30s" }

[[sidecars]]
name = "db"
build = "docker/app"
cpus = 0.5
memory = "1g"

[workload]
duration = "5s"
warmup = 1
connections = [10, 100]

[[workload.endpoints]]
name = "health"
path = "/health"
expect_body = "ok"

[[workload.endpoints]]
name = "login"
method = "POST"
path = "/login"
headers = { Token = "t", "Content-Type" = "application/json" }
body_file = "bodies/login.json"
connections = [2000]
"#;

#[test]
fn good_scenario() {
    let l = scenario::parse(Path::new("good.toml"), GOOD, &root()).unwrap();
    let s = &l.scenario;
    assert_eq!(s.name.get_ref().as_str(), "flask-gevent");
    assert_eq!(s.server.cpus.get_ref().0, 1.5);
    assert_eq!(s.server.memory.0, 512 << 20);
    assert_eq!(s.server.pids, 1024);
    assert_eq!(s.server.ready.path.as_deref(), Some("/health"));
    assert_eq!(s.sidecars[0].name.as_ref().unwrap().as_str(), "db");
    assert_eq!(s.workload.duration.0.as_secs(), 5);
    assert_eq!(s.workload.warmup.0.as_secs(), 1);
    assert_eq!(s.workload.timeout.0.as_secs(), 2);
    let endpoints = s.workload.endpoints.get_ref();
    assert_eq!(endpoints[0].connections(&s.workload).get_ref(), &[10, 100]);
    assert_eq!(endpoints[1].connections(&s.workload).get_ref(), &[2000]);
    assert_eq!(endpoints[1].method, "POST");
    assert_eq!(endpoints[0].expect_status, 200);
}

/// Replaces `from` in the good scenario with `to` and checks the error.
fn check(from: &str, to: &str, expected: &str) {
    assert!(GOOD.contains(from), "{from:?} is not in the good scenario");
    let text = GOOD.replacen(from, to, 1);
    let err = scenario::parse(Path::new("bad.toml"), &text, &root()).unwrap_err().to_string();
    assert!(err.starts_with("bad.toml:"), "{err}");
    assert!(err.contains(expected), "expected {expected:?} in\n{err}");
}

#[test]
fn bad_scenarios_name_line_and_column() {
    check("cpus = 1.5", "cpus = 0", "bad.toml:8:8: cpus = 0 is not a CPU limit");
    check("cpus = 1.5", "cpus = -2", "bad.toml:8:8: cpus = -2 is not a CPU limit");
    check("cpus = 1.5", "cpus = \"one\"", "bad.toml:8:8: invalid type: string \"one\"");
    check("cpus = 1.5", "cpu = 1.5", "bad.toml:8:1: unknown field `cpu` (hint: expected one of");
    check("memory = \"512m\"", "memory = \"lots\"", "bad.toml:9:10: 'lots' is not a size");
    check("memory = \"512m\"", "memory = \"1k\"", "bad.toml:9:10: '1k' is too small");
    check("duration = \"5s\"", "duration = \"5 parsecs\"", "bad.toml:20:12: '5 parsecs' is not a duration");
    check("duration = \"5s\"", "duration = -5", "bad.toml:20:12: -5 is negative");
    check(
        "build = \"docker/app\"\ncommand",
        "build = \"../outside\"\ncommand",
        "bad.toml:6:9: '../outside' leaves the project through '..'",
    );
    check(
        "build = \"docker/app\"\ncommand",
        "build = \"/etc\"\ncommand",
        "bad.toml:6:9: '/etc' is not a path inside the project",
    );
    check(
        "build = \"docker/app\"\ncommand",
        "build = \"docker/none\"\ncommand",
        "bad.toml:6:9: build context 'docker/none' is not a folder",
    );
    check(
        "body_file = \"bodies/login.json\"",
        "body_file = \"bodies/none.json\"",
        "body file 'bodies/none.json' does not exist",
    );
    check("body_file = \"bodies/login.json\"", "body_file = \"../../Cargo.toml\"", "leaves the project");
    check("connections = [10, 100]", "connections = []", "bad.toml:22:15: the connection sweep is empty");
    check("connections = [10, 100]", "connections = [10, 0]", "a level of 0 connections");
    check("connections = [10, 100]", "connections = [10, -1]", "bad.toml:22:20: invalid value: integer `-1`");
    check("name = \"flask-gevent\"", "name = \"Flask Gevent\"", "bad.toml:2:8: 'Flask Gevent' is not a valid name");
    check("name = \"db\"\n", "", "bad.toml:14:9: sidecar 1 has no name (hint: add `name = \"db\"`");
    check("path = \"/health\"\nexpect_body", "path = \"health\"\nexpect_body", "path 'health' does not start with '/'");
    check("[workload]\n", "[workload]\nrate = -5.0\n", "bad.toml:20:8: rate = -5 is not a positive number");
    check(
        "[workload]\n",
        "[workload]\narrivals = \"bursty\"\n",
        "bad.toml:20:12: arrivals = 'bursty' is not an arrival process: constant or poisson",
    );
    check(
        "[workload]\n",
        "[workload]\nthink = \"1s\"\nrate = 10.0\n",
        "bad.toml:20:9: think = think time is for users in a closed loop",
    );
    check(
        "[workload]\n",
        "[workload]\nthink = \"1s\"\nthink_spread = \"normal\"\n",
        "bad.toml:21:16: think_spread = 'normal' is not a spread of think times",
    );
    check("[server]", "[server\n", "bad.toml:5:8: ");
    check("[workload]\n", "[workload]\nslo = { p98 = \"5ms\" }\n", "bad.toml:20:15: slo: 'p98' is not an objective");
    check("[workload]\n", "[workload]\nslo = { p99 = \"soon\" }\n", "bad.toml:20:15: slo: 'soon' is not a duration");
    check("[workload]\n", "[workload]\nslo = { errors = \"1\" }\n", "bad.toml:20:18: slo: errors = '1' is not a share");
    check(
        "path = \"/health\"\n",
        "path = \"/health\"\nslo = { p50 = \"0s\" }\n",
        "slo: p50 = '0s': a latency bound must be longer than 0",
    );
    check(
        "[workload]\n",
        "[workload]\npipeline = 2\nkeepalive = false\n",
        "bad.toml:20:12: pipeline = 2 does not fit endpoint",
    );
    check("Token = \"t\"", "Token = \"t\\r\\nHost: elsewhere\"", "endpoint 'login': header 'Token' cannot be sent");
    check("Token = \"t\"", "\"To ken\" = \"t\"", "endpoint 'login': header 'To ken' cannot be sent");
    check(
        "description =",
        "descripton =",
        "bad.toml:3:1: unknown field `descripton` (hint: expected one of `name`, `description`",
    );
}

#[test]
fn links_out_of_the_project_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("Dockerfile"), "FROM debian:bookworm\n").unwrap();
    std::fs::write(outside.path().join("secret.json"), "{}").unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("docker/app")).unwrap();
    std::fs::create_dir_all(root.path().join("bodies")).unwrap();
    std::fs::write(root.path().join("docker/app/Dockerfile"), "FROM debian:bookworm\n").unwrap();
    std::fs::write(root.path().join("bodies/login.json"), "{}").unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("docker/elsewhere")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.json"), root.path().join("bodies/secret.json")).unwrap();
    assert!(scenario::parse(Path::new("good.toml"), GOOD, root.path()).is_ok());
    for (from, to, at) in [
        ("build = \"docker/app\"\ncommand", "build = \"docker/elsewhere\"\ncommand", "bad.toml:6:9:"),
        ("body_file = \"bodies/login.json\"", "body_file = \"bodies/secret.json\"", "bad.toml:34:13:"),
    ] {
        let text = GOOD.replacen(from, to, 1);
        let err = scenario::parse(Path::new("bad.toml"), &text, root.path()).unwrap_err().to_string();
        assert!(err.starts_with(at) && err.contains("leads outside the project, to "), "{err}");
        assert!(err.contains("(hint: a symbolic link there points outside"), "{err}");
    }
}

#[test]
fn missing_file_is_named() {
    let err = scenario::load(Path::new("/nonexistent/s.toml"), &root()).unwrap_err().to_string();
    assert!(err.starts_with("cannot read scenario '/nonexistent/s.toml'"), "{err}");
}

/// Replays the committed corpus of the `scenario_parse` fuzz target, and every
/// input that once broke it (`fuzz/regressions/`), through the same property.
#[test]
fn scenario_parse_corpus_keeps_the_parser_property() {
    testserver::fuzz::replay("scenario_parse", 22, |bytes| {
        if let Ok(text) = std::str::from_utf8(bytes) {
            scenario::fuzzing::check(text, &root());
        }
    });
}

#[test]
fn a_mix_is_read_with_its_requests_and_bad_mixes_are_located() {
    let mix = "name = \"health\"\nrequests = [\n  { name = \"read\", path = \"/db?id={rand:1..9}\", weight = 75 },\n  \
               { name = \"login\", method = \"POST\", path = \"/login\", body_file = \"bodies/login.json\", weight = 20 },\n  \
               { name = \"health\", path = \"/health\", weight = 5, expect_body = \"ok\" },\n]";
    let text = GOOD.replacen("name = \"health\"\npath = \"/health\"\nexpect_body = \"ok\"", mix, 1);
    assert_ne!(text, GOOD);
    let loaded = scenario::parse(Path::new("mix.toml"), &text, &root()).unwrap_or_else(|e| panic!("{e}"));
    let requests = loaded.scenario.workload.endpoints.get_ref()[0].requests.as_ref().unwrap().get_ref();
    let read: Vec<(&str, u32, &str)> =
        requests.iter().map(|r| (r.name.as_str(), r.weight, r.method.as_str())).collect();
    assert_eq!(read, [("read", 75, "GET"), ("login", 20, "POST"), ("health", 5, "GET")]);
    // A kind's own objectives, besides the whole's.
    let with_slo = text.replacen("weight = 75 }", "weight = 75, slo = { p99 = \"10ms\" } }", 1);
    let loaded = scenario::parse(Path::new("mix.toml"), &with_slo, &root()).unwrap_or_else(|e| panic!("{e}"));
    let e = &loaded.scenario.workload.endpoints.get_ref()[0];
    let slo = e.slo(&loaded.scenario.workload).expect("objectives");
    assert_eq!(slo.kinds.keys().collect::<Vec<_>>(), ["read"]);
    assert_eq!(slo.kinds["read"].latency_us, [(loadgen::capacity::Percentile::P99, 10_000)]);
    let bad_slo = text.replacen("weight = 75 }", "weight = 75, slo = { p98 = \"10ms\" } }", 1);
    let err = scenario::parse(Path::new("bad.toml"), &bad_slo, &root()).unwrap_err().to_string();
    assert!(err.starts_with("bad.toml:") && err.contains("'p98' is not an objective"), "{err}");

    let bad = |from: &str, to: &str, expected: &str| {
        let text = text.replacen(from, to, 1);
        let err = scenario::parse(Path::new("bad.toml"), &text, &root()).unwrap_err().to_string();
        assert!(err.starts_with("bad.toml:") && err.contains(expected), "expected {expected:?} in\n{err}");
    };
    let zero = text
        .replace("weight = 75", "weight = 0")
        .replace("weight = 20", "weight = 0")
        .replace("weight = 5,", "weight = 0,");
    let err = scenario::parse(Path::new("bad.toml"), &zero, &root()).unwrap_err().to_string();
    assert!(err.contains("endpoint 'health': the requests' weights sum to 0"), "{err}");
    bad("name = \"login\"", "name = \"read\"", "endpoint 'health': two requests are named 'read'");
    bad(
        "path = \"/login\"",
        "path = \"login\"",
        "endpoint 'health' request 'login': path 'login' does not start with '/'",
    );
    bad("method = \"POST\"", "method = \"HEAD\"", "request 'login': a HEAD request cannot be part of a mix");
    bad("bodies/login.json", "bodies/none.json", "body file 'bodies/none.json' does not exist");
    bad("requests = [", "path = \"/x\"\nrequests = [", "endpoint 'health' is a mix: its requests give their own paths");
    bad("weight = 75 }", "wieght = 75 }", "unknown field `wieght`");
    bad(
        "weight = 75 }",
        "weight = 75, headers = { Authorization = \"Bearer {capture:token}\" } }",
        "request 'read': {capture:token} names no capture of the mix",
    );
    let flow = text
        .replacen("weight = 20 }", "weight = 0, first = true, capture = { token = \"token\" } }", 1)
        .replacen("weight = 75 }", "weight = 75, headers = { Authorization = \"Bearer {capture:token}\" } }", 1);
    let loaded = scenario::parse(Path::new("flow.toml"), &flow, &root()).unwrap_or_else(|e| panic!("{e}"));
    let login = &loaded.scenario.workload.endpoints.get_ref()[0].requests.as_ref().unwrap().get_ref()[1];
    assert!(login.first && login.capture["token"] == "token");
    bad(
        "requests = [",
        "expect_body = \"ok\"\nrequests = [",
        "endpoint 'health' is a mix: its requests carry their own",
    );
}

#[test]
fn tls_and_http2_are_read_per_server_and_endpoint() {
    let text = GOOD
        .replacen("memory = \"512m\"\n", "memory = \"512m\"\ntls = true\nhttp = \"2\"\n", 1)
        .replacen("\"app:app\"]", "\"--certfile\", \"{tls_cert}\", \"--keyfile\", \"{tls_key}\", \"app:app\"]", 1)
        .replacen("expect_body = \"ok\"\n", "expect_body = \"ok\"\nstreams = 100\n", 1)
        .replacen("connections = [2000]\n", "connections = [2000]\nhttp = \"1.1\"\n", 1);
    let l = scenario::parse(Path::new("tls.toml"), &text, &root()).unwrap();
    let (server, endpoints) = (&l.scenario.server, l.scenario.workload.endpoints.get_ref());
    assert!(server.tls());
    assert_eq!(server.http(), scenario::Http::V2);
    assert_eq!(endpoints[0].http2_streams(server), Some(100));
    assert_eq!(endpoints[1].http(server), scenario::Http::V1_1);
    assert_eq!(endpoints[1].http2_streams(server), None);
    // Without either key: HTTP/1.1 in the clear.
    let plain = scenario::parse(Path::new("good.toml"), GOOD, &root()).unwrap();
    assert!(!plain.scenario.server.tls());
    assert_eq!(plain.scenario.workload.endpoints.get_ref()[0].http2_streams(&plain.scenario.server), None);
}

#[test]
fn bad_tls_and_http2_settings_are_located() {
    check(
        "memory = \"512m\"\nenv",
        "memory = \"512m\"\nhttp = \"3\"\nenv",
        "bad.toml:10:8: http = '3' is not an HTTP version",
    );
    check(
        "\"app:app\"]",
        "\"--certfile\", \"{tls_cert}\", \"app:app\"]",
        "bad.toml:7:11: the command names {tls_cert}, but the server does not speak TLS (hint: add `tls = true`",
    );
    check(
        "expect_body = \"ok\"\n",
        "expect_body = \"ok\"\nstreams = 10\n",
        "endpoint 'health': streams are HTTP/2's, and it speaks HTTP/1.1 (hint: add http = \"2\"",
    );
    check(
        "expect_body = \"ok\"\n",
        "expect_body = \"ok\"\nhttp = \"2\"\nstreams = 0\n",
        "endpoint 'health' speaks HTTP/2: streams: 0 streams per connection: use 1 to 10000",
    );
    check(
        "expect_body = \"ok\"\n",
        "expect_body = \"ok\"\nhttp = \"2\"\nkeepalive = false\n",
        "endpoint 'health' speaks HTTP/2: keepalive: HTTP/2 keeps its connections",
    );
    let text = GOOD.replacen("[workload]\n", "[workload]\npipeline = 4\n", 1).replacen(
        "memory = \"512m\"\n",
        "memory = \"512m\"\nhttp = \"2\"\n",
        1,
    );
    let err = scenario::parse(Path::new("bad.toml"), &text, &root()).unwrap_err().to_string();
    let want = "bad.toml:21:12: endpoint 'health' speaks HTTP/2: pipeline: HTTP/2 sends requests on streams";
    assert!(err.starts_with(want), "{err}");
    check(
        "memory = \"1g\"",
        "memory = \"1g\"\ntls = true",
        "sidecar 'db' takes no `tls`: the load and its checks speak to the server only",
    );
}
