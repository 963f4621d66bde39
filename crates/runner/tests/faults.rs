//! Servers that misbehave under load, redirects, base images that cannot be
//! had, and secrets: each ends in a stated reason, nothing is left behind.

use record::{FailureKind, LevelStatus, RunStatus};
use runner::Cancel;

use crate::util::{root, run, scenario, temp_results};

/// Every endpoint answers "ok" until the server has run 1.5 s (verification
/// and the primer), then misbehaves its own way; each level's measured window
/// starts after its 2 s warm-up, so it sees only the fault.
const FAULTS: [(&str, &str); 6] = [
    ("status", "bad statuses"),
    ("stall", "timeouts"),
    ("close", "read errors"),
    ("malformed", "malformed responses"),
    ("endless", "timeouts"),
    ("huge-headers", "malformed responses"),
];

#[tokio::test]
async fn each_server_fault_fails_its_level_with_the_reason_and_the_logs() {
    let results = temp_results("faults");
    // Giving up at the timeout: each level's own requests are sent, and fail, within its 1 s window (by
    // default a stalled request holds its connection for ten timeouts; see the next test).
    let mut workload = String::from(
        "[workload]\nduration = \"1s\"\nwarmup = \"2s\"\ntimeout = \"500ms\"\ngive_up = \"500ms\"\npause = \"0s\"\n\
         connections = [2]\n",
    );
    for (fault, _) in FAULTS {
        workload.push_str(&format!(
            "[[workload.endpoints]]\nname = \"{fault}\"\npath = \"/fault/{fault}\"\n\
             headers = {{ Authorization = \"Bearer hunter2\" }}\n"
        ));
    }
    let loaded = scenario("runner-faults", "env = { FAULT_AFTER = \"1.5\" }", &workload);
    let (path, record, _) = run(&loaded, results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Complete, "the sweep went on past each fault: {:?}", record.reason);
    assert_eq!(record.levels.len(), FAULTS.len(), "{record:#?}");
    for (level, (fault, error)) in record.levels.iter().zip(FAULTS) {
        assert_eq!(level.endpoint, fault);
        assert_eq!(level.status, LevelStatus::Failed, "{fault}: {level:#?}");
        let failure = level.failure.as_ref().unwrap();
        assert_eq!(failure.kind, FailureKind::NoResponses, "{fault}: {failure:?}");
        assert!(failure.message.starts_with("no valid responses in the measured window ("), "{failure:?}");
        assert!(failure.message.contains(error), "{fault}: expected {error:?} in {failure:?}");
        assert!(failure.logs_tail.contains(&format!("faulting on purpose: {fault}")), "{fault}: {failure:?}");
    }
    // The endless body streamed through the generator without being kept.
    let endless = record.levels.iter().find(|l| l.endpoint == "endless").unwrap().load.as_ref().unwrap();
    assert!(endless.bytes_read > 1 << 20, "{}", endless.bytes_read);
    let stored = std::fs::read_to_string(&path).unwrap();
    assert!(!stored.contains("hunter2"), "a secret header value reached the results file");
    assert!(stored.contains("Authorization: <redacted>"));
}

/// By default a request past its timeout keeps its connection: a server that stalls from the warm-up
/// on holds both connections through the window, and the reason says so instead of blaming nothing.
#[tokio::test]
async fn a_stall_that_holds_every_connection_through_the_window_is_told() {
    let results = temp_results("held");
    let workload = "[workload]\nduration = \"1s\"\nwarmup = \"2s\"\ntimeout = \"500ms\"\npause = \"0s\"\n\
                    connections = [2]\n[[workload.endpoints]]\nname = \"stall\"\npath = \"/fault/stall\"\n";
    let loaded = scenario("runner-held", "env = { FAULT_AFTER = \"1.5\" }", workload);
    let (_, record, _) = run(&loaded, results.path(), Cancel::new()).await;
    let failure = record.levels[0].failure.as_ref().expect("the level failed");
    assert_eq!(failure.kind, FailureKind::NoResponses, "{failure:?}");
    assert!(failure.message.contains("2 requests still unanswered at its end"), "{failure:?}");
    let load = record.levels[0].load.as_ref().unwrap();
    assert_eq!((load.sent, load.abandoned, load.in_flight_at_end), (0, 0, 2), "{load:?}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_anywhere() {
    let results = temp_results("redirect");
    // Another loopback address, so that only a followed redirect reaches it.
    let elsewhere = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let workload = "[workload]\nconnections = [1]\n[[workload.endpoints]]\nname = \"moved\"\npath = \"/redirect\"\n";
    let server = format!("env = {{ REDIRECT_TO = \"http://{}/\" }}", elsewhere.local_addr().unwrap());
    let (_, record, _) = run(&scenario("runner-redirect", &server, workload), results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains("status 302, expected 200"), "{reason}");
    assert!(
        elsewhere.accept().is_err(),
        "the verification followed the redirect to {}",
        elsewhere.local_addr().unwrap()
    );
}

#[tokio::test]
async fn a_base_image_that_cannot_be_had_says_what_to_do() {
    let results = temp_results("no-base");
    let text = scenario("runner-no-base", "", crate::runs::WORKLOAD)
        .text
        .replace("docker/tests/context", "runner/tests/missing-base-context");
    let loaded = scenario::parse(std::path::Path::new("runner-no-base.toml"), &text, &root()).unwrap();
    let (_, record, _) = run(&loaded, results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.clone().unwrap();
    assert!(reason.contains("cannot provide base image 'stackbench-test/no-such-base:1'"), "{reason}");
    assert!(reason.contains("start the Dockerfile from debian:bookworm, or load the image"), "{reason}");
    assert!(record.levels.is_empty() && record.provenance.images.is_empty(), "{:?}", record.levels);
}

#[tokio::test]
async fn a_server_that_listens_beyond_loopback_is_stopped() {
    // An address on an interface that is not loopback but reaches no network.
    let bridge = testserver::bridge::Bridge::create("sbx");
    let server = format!("env = {{ ALSO_BIND = \"{}\" }}", testserver::bridge::ADDRESS);
    let results = temp_results("exposed");
    let loaded = scenario("runner-exposed", &server, crate::runs::WORKLOAD);
    let (_, record, _) = run(&loaded, results.path(), Cancel::new()).await;
    drop(bridge);
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains(&format!("server listens on {}:", testserver::bridge::ADDRESS)), "{reason}");
    assert!(reason.contains("bind it to 127.0.0.1"), "{reason}");
    assert!(record.levels.is_empty());
}
