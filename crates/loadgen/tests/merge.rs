//! Results of generators that ran side by side, merged into one.

use loadgen::{decode_histogram, RunLength};

use crate::util::{config_for, run, secs, Server, OK};

#[test]
fn merged_histograms_and_counters_are_exact_sums() {
    let server = Server::fixed(OK);
    let parts: Vec<_> = [2, 3]
        .into_iter()
        .map(|n| {
            let config = loadgen::Config {
                rate: Some(200.0 * n as f64),
                ..config_for(&server, n, RunLength::Duration(secs(1.0)))
            };
            run(&config)
        })
        .collect();
    let merged = loadgen::merge(&parts).unwrap();
    let count = |encoded: &str| decode_histogram(encoded).unwrap().len();
    assert_eq!(
        count(&merged.latency_histogram),
        count(&parts[0].latency_histogram) + count(&parts[1].latency_histogram)
    );
    assert_eq!(count(&merged.latency_histogram), merged.requests);
    let raw = |r: &loadgen::LoadResult| decode_histogram(r.latency_raw_histogram.as_ref().unwrap()).unwrap().len();
    assert_eq!(raw(&merged), raw(&parts[0]) + raw(&parts[1]));
    assert_eq!(merged.requests, parts[0].requests + parts[1].requests);
    assert_eq!(merged.sent, parts[0].sent + parts[1].sent);
    assert_eq!(merged.errors.total(), parts[0].errors.total() + parts[1].errors.total());
    assert_eq!((merged.options.connections, merged.options.rate), (5, Some(1000.0)));
    let rate = merged.rate.unwrap();
    assert_eq!(rate.target, 1000.0);
    assert_eq!(rate.achieved, parts[0].rate.unwrap().achieved + parts[1].rate.unwrap().achieved);
    assert_eq!(merged.duration_s, parts[0].duration_s.max(parts[1].duration_s));
    assert_eq!(merged.latency_us.max, parts[0].latency_us.max.max(parts[1].latency_us.max));
    let per_second: u64 = merged.per_second.iter().map(|s| s.requests).sum();
    assert_eq!(per_second, merged.requests);
    assert!(merged.per_second.iter().all(|s| s.p99_us.is_none()), "a second's percentiles cannot be merged");
    // One part is itself.
    assert_eq!(loadgen::merge(&parts[..1]).unwrap(), parts[0]);
}
