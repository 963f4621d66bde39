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
        (vec!["load", &url, "-c", "0"], 1, "--connections: must be at least 1"),
        (vec!["load", "https://127.0.0.1:1/"], 1, "use http://"),
        (vec!["load", "not a url"], 1, "cannot use URL"),
        (vec!["load", &url, "-d", "soon"], 2, "try 10s, 500ms or 1m"),
        (vec!["load", &url, "--cpus", "1-0"], 1, "--cpus: range '1-0' runs backwards"),
        (vec!["load", &url, "-H", "NoColon"], 1, "expected \"Name: value\""),
        (vec!["load", &url, "--body-file", "/nonexistent/body.json"], 1, "--body-file: cannot read"),
        (vec!["load", &url, "-c", "5000000"], 1, "ulimit -Hn"),
        (vec!["load", &url, "--pipeline", "4", "--no-keepalive"], 1, "pipelining needs keep-alive"),
        (vec!["load", &url, "--frobnicate"], 2, "--frobnicate"),
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
