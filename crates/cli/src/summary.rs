//! The human summary of a load run, laid out like wrk's (and wrk2's with
//! `--latency`) so that its users find each figure where they expect it.

use std::fmt::Write as _;

use loadgen::result::LoadResult;
use loadgen::{Config, Histogram, LatencySummary, RunLength};
pub use report::units::{bytes, metric, time_us};

/// The line printed before the run starts.
pub fn header(config: &Config) -> String {
    let what = match config.stop {
        RunLength::Duration(d) => format!("Running {} test", duration(d.as_secs_f64())),
        RunLength::Requests(n) => format!("Running {n} requests"),
    };
    let mut out = format!("{what} @ {}", config.target.url);
    if !config.warmup.is_zero() {
        let _ = write!(out, " after a {} warm-up", duration(config.warmup.as_secs_f64()));
    }
    let _ = write!(out, "\n  {} threads and {} connections", config.n_threads, config.n_connections);
    if let Some(http2) = &config.http2 {
        let how = if config.target.tls { "over TLS" } else { "h2c, with prior knowledge" };
        let _ = write!(out, " of HTTP/2 ({how}), {} streams each", http2.streams);
    }
    if let Some(cpus) = &config.cpus {
        let list: Vec<_> = cpus.iter().map(ToString::to_string).collect();
        let _ = write!(out, ", generator pinned to CPU {}", list.join(","));
    }
    if let Some(rate) = config.rate {
        let _ = write!(out, ", open loop at {} req/s", metric(rate));
    }
    if !config.keepalive {
        out.push_str(", a new connection per request");
    }
    if config.pipeline > 1 {
        let _ = write!(out, ", pipeline {}", config.pipeline);
    }
    if !config.mix.is_empty() {
        let kinds: Vec<String> = config.mix.iter().map(|k| format!("{} {} {}", k.name, k.weight, k.path)).collect();
        let _ = write!(out, "\n  a mix by weight: {}", kinds.join(", "));
    }
    out
}

/// The summary printed after the run.
pub fn render(r: &LoadResult, detailed: bool) -> Result<String, loadgen::result::HistogramDecodeError> {
    let latency = loadgen::decode_histogram(&r.latency_histogram)?;
    let mut out = String::new();
    let rate_mode = r.rate.is_some();
    let _ = writeln!(out, "  Stats           Avg       Stdev       Max   +/- Stdev");
    let _ = writeln!(
        out,
        "    Latency  {:>9}   {:>9} {:>9}   {:>8}",
        time_us(r.latency_us.mean),
        time_us(r.latency_us.stdev),
        time_us(r.latency_us.max as f64),
        percent(within_stdev(&latency, &r.latency_us)),
    );
    let per_second: Vec<f64> = r.per_second.iter().map(|s| s.requests as f64).collect();
    if let Some((mean, stdev, max, within)) = series_stats(&per_second) {
        let _ = writeln!(
            out,
            "    Req/Sec  {:>9}   {:>9} {:>9}   {:>8}",
            metric(mean),
            metric(stdev),
            metric(max),
            percent(within)
        );
    }
    let title =
        if rate_mode { "Latency Distribution (corrected, from intended send time)" } else { "Latency Distribution" };
    let _ = writeln!(out, "  {title}");
    distribution(&mut out, &r.latency_us);
    if let Some(raw) = &r.latency_raw_us {
        let _ = writeln!(out, "  Latency Distribution (uncorrected, from actual send time)");
        distribution(&mut out, raw);
    }
    if detailed {
        spectrum(&mut out, &latency, "Recorded Latency");
        if let Some(raw) = &r.latency_raw_histogram {
            let raw = loadgen::decode_histogram(raw)?;
            spectrum(&mut out, &raw, "Uncorrected Latency (measured without taking delayed starts into account)");
        }
    }
    let _ =
        writeln!(out, "  {} requests in {}, {} read", r.requests, duration(r.duration_s), bytes(r.bytes_read as f64));
    for kind in &r.kinds {
        let share = kind.requests as f64 / r.requests.max(1) as f64 * 100.0;
        let _ = writeln!(
            out,
            "    {:<10} {:>9} requests ({share:.1}%, weight {}), p50 {}, p99 {}, {} errors",
            kind.name,
            kind.requests,
            kind.weight,
            time_us(kind.latency_us.p50 as f64),
            time_us(kind.latency_us.p99 as f64),
            kind.errors
        );
    }
    failures(&mut out, r);
    if let Some(tls) = &r.tls {
        handshakes(&mut out, tls);
    }
    if let Some(http2) = &r.http2 {
        streams(&mut out, http2);
    }
    if let Some(rate) = &r.rate {
        let _ = writeln!(
            out,
            "  Rate: target {} req/s, achieved {} req/s; {} sent late (>{} ms), {} never sent",
            metric(rate.target),
            metric(rate.achieved),
            rate.late,
            loadgen::LATE_AFTER.as_millis(),
            rate.unsent
        );
    }
    let cpu = r.generator.cpu_user_s + r.generator.cpu_sys_s;
    let _ = writeln!(
        out,
        "  Generator CPU: {:.2}s user + {:.2}s sys over {} threads",
        r.generator.cpu_user_s, r.generator.cpu_sys_s, r.generator.threads
    );
    if cpu > 0.0 {
        let _ = writeln!(out, "  Requests per generator CPU-second: {}", metric(r.requests as f64 / cpu));
    }
    if r.interrupted {
        let _ = writeln!(out, "  Interrupted: the figures cover the {} that ran", duration(r.duration_s));
    }
    let _ = writeln!(out, "Requests/sec: {:>10.2}", r.rps);
    if r.schema_version >= 2 && r.goodput_rps < r.rps {
        // Only when it tells something (every response valid and in time makes it req/s), and only
        // for results that measured it (version 1 results have none).
        let _ = writeln!(out, "Goodput/sec: {:>11.2}  (valid responses within the timeout)", r.goodput_rps);
    }
    let transfer = if r.duration_s > 0.0 { r.bytes_read as f64 / r.duration_s } else { 0.0 };
    let _ = writeln!(out, "Transfer/sec: {:>10}", bytes(transfer));
    Ok(out)
}

/// TLS: what was agreed on, the handshakes in the window (apart from the requests' latency), and why
/// handshakes failed, with what to do about it.
fn handshakes(out: &mut String, tls: &loadgen::result::TlsResult) {
    let verified = if tls.verify { "certificate verified" } else { "certificate not verified (--insecure)" };
    if !tls.version.is_empty() {
        let alpn = tls.alpn.as_deref().map_or(String::new(), |p| format!(", ALPN {p}"));
        let _ = writeln!(out, "  TLS: {} {}{alpn}, {verified}", tls.version, tls.cipher);
    }
    if tls.handshakes > 0 {
        let resumption = if tls.resumption { "" } else { ", resumption off" };
        let _ = writeln!(
            out,
            "  Handshakes in the window: {} ({} resumed{resumption}), p50 {}, p99 {}, max {}",
            tls.handshakes,
            tls.resumed,
            time_us(tls.handshake_us.p50 as f64),
            time_us(tls.handshake_us.p99 as f64),
            time_us(tls.handshake_us.max as f64)
        );
    }
    if let Some(why) = &tls.first_failure {
        let hint = if why.contains("CaUsedAsEndEntity") {
            "; the server's certificate is a CA's (self-signed, CA:TRUE), which no verifier accepts as a \
             server's: skip verification with --insecure, or serve a certificate its CA signed"
        } else if why.contains("certificate") && tls.verify {
            "; trust the server's CA with --tls-ca FILE, or skip verification with --insecure"
        } else {
            ""
        };
        let _ = writeln!(out, "  TLS handshakes failed: {} in the window, the first because: {why}{hint}", tls.failed);
    }
}

/// HTTP/2: the streams asked for and allowed, and what went wrong on them, with the first error's words.
fn streams(out: &mut String, h: &loadgen::Http2Result) {
    let allowed = h.server_max_streams.map_or(String::new(), |n| format!(" (the server allows {n})"));
    let _ = writeln!(out, "  HTTP/2: {} streams per connection{allowed}", h.streams);
    if h.resets > 0 || h.retried > 0 {
        let _ = writeln!(
            out,
            "  Streams in the window: {} reset by the server, {} refused by its GOAWAY and sent again on a new connection",
            h.resets, h.retried
        );
    }
    if let Some(why) = &h.first_error {
        let _ = writeln!(out, "  HTTP/2 went wrong, first: {why}");
    }
}

/// The lines about requests that failed or came late, each only when it has something to say.
fn failures(out: &mut String, r: &LoadResult) {
    let e = &r.errors;
    if e.socket() > 0 {
        let _ = write!(
            out,
            "  Socket errors: connect {}, read {}, write {}, timeout {}",
            e.connect, e.read, e.write, e.timeout
        );
        if e.addr_unavailable > 0 {
            let _ = write!(out, ", address unavailable {}", e.addr_unavailable);
        }
        out.push('\n');
    }
    if r.late_responses + r.abandoned + r.in_flight_at_end > 0 {
        let _ = writeln!(
            out,
            "  Past the timeout: {} answered late (completed, latency included), {} abandoned at {}, {} unanswered \
             at the end",
            r.late_responses,
            r.abandoned,
            duration(r.options.give_up_s),
            r.in_flight_at_end
        );
    }
    if e.status > 0 {
        match &r.options.expect_status {
            Some(want) => writeln!(out, "  Status not {want}: {}", e.status),
            None => writeln!(out, "  Non-2xx or 3xx responses: {}", e.status),
        }
        .ok();
    }
    if e.body > 0 {
        let _ = writeln!(out, "  Body without the expected text: {}", e.body);
    }
    if e.parse > 0 {
        let _ = writeln!(out, "  Malformed responses: {}", e.parse);
    }
}

fn distribution(out: &mut String, l: &LatencySummary) {
    for (label, v) in
        [("50%", l.p50), ("75%", l.p75), ("90%", l.p90), ("99%", l.p99), ("99.9%", l.p99_9), ("99.99%", l.p99_99)]
    {
        let _ = writeln!(out, "   {label:>6}  {:>9}", time_us(v as f64));
    }
}

/// wrk2's "Detailed Percentile spectrum", values in milliseconds.
fn spectrum(out: &mut String, h: &Histogram<u64>, what: &str) {
    let _ = writeln!(out, "\n  Latency Distribution (HdrHistogram - {what})");
    for q in [0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0] {
        let _ = writeln!(out, "{:>7.3}%  {:>9}", q * 100.0, time_us(h.value_at_quantile(q) as f64));
    }
    let _ = writeln!(out, "\n  Detailed Percentile spectrum:");
    let _ = writeln!(out, "       Value   Percentile   TotalCount 1/(1-Percentile)\n");
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let value_ms = v.value_iterated_to() as f64 / 1000.0;
        let q = v.quantile_iterated_to();
        if q < 1.0 {
            let _ = writeln!(out, "{value_ms:12.3} {q:12.6} {total:12} {:12.2}", 1.0 / (1.0 - q));
        } else {
            let _ = writeln!(out, "{value_ms:12.3} {q:12.6} {total:12}");
        }
    }
    let sub_buckets = 1u64 << (2.0 * 10f64.powi(i32::from(h.sigfig()))).log2().ceil() as u32;
    let _ = writeln!(out, "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]", h.mean() / 1000.0, h.stdev() / 1000.0);
    let _ = writeln!(out, "#[Max     = {:12.3}, Total count    = {:12}]", h.max() as f64 / 1000.0, h.len());
    let _ = writeln!(out, "#[Buckets = {:12}, SubBuckets     = {:12}]", h.buckets(), sub_buckets);
    let _ = writeln!(out, "----------------------------------------------------------");
}

/// The share of recorded values within one standard deviation of the mean.
fn within_stdev(h: &Histogram<u64>, l: &LatencySummary) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    let lo = (l.mean - l.stdev).max(0.0) as u64;
    let hi = (l.mean + l.stdev) as u64;
    h.count_between(lo, hi) as f64 / h.len() as f64 * 100.0
}

/// Mean, standard deviation, max and share within one deviation of a series.
fn series_stats(xs: &[f64]) -> Option<(f64, f64, f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let stdev =
        if xs.len() > 1 { (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    let max = xs.iter().copied().fold(0.0, f64::max);
    let within = xs.iter().filter(|&&x| (x - mean).abs() <= stdev).count() as f64 / n * 100.0;
    Some((mean, stdev, max, within))
}

fn percent(p: f64) -> String {
    format!("{p:.2}%")
}

fn duration(secs: f64) -> String {
    time_us(secs * 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series() {
        let (mean, stdev, max, within) = series_stats(&[10.0, 10.0, 10.0, 50.0]).unwrap();
        assert_eq!((mean, max), (20.0, 50.0));
        assert!((stdev - 20.0).abs() < 1e-9);
        assert_eq!(within, 75.0);
        assert!(series_stats(&[]).is_none());
    }
}
