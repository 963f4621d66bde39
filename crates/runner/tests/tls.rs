//! A TLS server (Go's net/http from the checkout's docker/go): it gets the run's certificate and key as
//! files, its readiness and checks go over TLS trusting the run's CA only, its load speaks TLS (HTTP/1.1,
//! and HTTP/2 agreed by ALPN with streams), and a server that does not agree to h2 fails its check.

use std::path::Path;

use record::{LevelStatus, RunStatus};
use runner::Cancel;

use crate::util::{options, run_with, temp_results};

/// A scenario of docker/go over TLS; `server_extra` goes into [server].
fn go_over_tls(name: &str, server_extra: &str) -> scenario::Loaded {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = format!(
        r#"
name = "{name}"
[server]
build = "docker/go"
cpus = 0.5
memory = "128m"
tls = true
http = "2"
ready = {{ path = "/health", timeout = "60s" }}
{server_extra}

[workload]
duration = "1s"
warmup = "200ms"
connections = [4]

[[workload.endpoints]]
name = "h2"
path = "/health"
streams = 8
expect_body = "ok"

[[workload.endpoints]]
name = "http1"
path = "/health"
http = "1.1"
expect_body = "ok"
"#
    );
    scenario::parse(Path::new(&format!("{name}.toml")), &text, &checkout).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_tls_server_is_checked_and_loaded_over_tls_trusting_the_runs_ca() {
    let results = temp_results("tls");
    let loaded = go_over_tls("runner-tls", "");
    let (_, record, events) = run_with(&loaded, options(results.path()), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.reason);
    assert!(events.iter().any(|e| e.contains("verified 2 endpoint")), "{events:#?}");
    assert_eq!(record.levels.len(), 2);
    for level in &record.levels {
        assert_eq!(level.status, LevelStatus::Ok, "{:?}", level.failure);
        let load = level.load.as_ref().unwrap();
        assert!(load.requests > 100 && load.errors.total() == 0, "{load:?}");
        let tls = load.tls.as_ref().expect("a TLS result");
        assert!(tls.verify, "the run's CA verifies the server: {tls:?}");
        let (alpn, streams) = match level.endpoint.as_str() {
            "h2" => ("h2", Some(8)),
            _ => ("http/1.1", None),
        };
        // Go's ALPN answer, or none if every connection was made before the window.
        assert!(tls.alpn.as_deref().is_none_or(|a| a == alpn), "{}: {tls:?}", level.endpoint);
        assert_eq!(load.http2.as_ref().map(|h| h.streams), streams, "{}", level.endpoint);
        if let Some(h2) = &load.http2 {
            assert_eq!(h2.server_max_streams, Some(250), "Go's default limit: {h2:?}");
        }
    }
}

#[tokio::test]
async fn a_server_that_does_not_agree_to_h2_fails_its_check_saying_so() {
    let results = temp_results("no-h2");
    let loaded = go_over_tls("runner-no-h2", "env = { GODEBUG = \"http2server=0\" }");
    let (_, record, _) = run_with(&loaded, options(results.path()), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains("endpoint 'h2' (GET /health) failed: it answered in HTTP/1.1, not HTTP/2"), "{reason}");
    assert!(record.levels.is_empty());
}
