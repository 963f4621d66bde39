//! Numbers as wrk prints them, shared by every rendering.

/// Microseconds: `635.91us`, `12.92ms`, `1.50s`, `1.20m`.
pub fn time_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.2}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else if us < 60_000_000.0 {
        format!("{:.2}s", us / 1_000_000.0)
    } else {
        format!("{:.2}m", us / 60_000_000.0)
    }
}

/// A count with a metric suffix: `56.20k`, `1.20M`.
pub fn metric(x: f64) -> String {
    if x < 1000.0 {
        format!("{x:.2}")
    } else if x < 1_000_000.0 {
        format!("{:.2}k", x / 1000.0)
    } else {
        format!("{:.2}M", x / 1_000_000.0)
    }
}

/// Bytes with a binary suffix: `2.64GB` (wrk's spelling of GiB).
pub fn bytes(x: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut x = x;
    let mut unit = 0;
    while x >= 1024.0 && unit < UNITS.len() - 1 {
        x /= 1024.0;
        unit += 1;
    }
    format!("{x:.2}{}", UNITS[unit])
}

/// Objectives in words: `p99 <= 50.00ms, errors <= 0.1%`.
pub fn objectives(slo: &loadgen::capacity::Slo) -> String {
    let mut all: Vec<String> = slo.latency_us.iter().map(|(p, us)| format!("{p} <= {}", time_us(*us as f64))).collect();
    all.push(format!("errors <= {}%", slo.error_share * 100.0));
    // A mix's kinds' own: `; read: p99 <= 10.00ms, errors <= 0.1%`.
    let kinds = slo.kinds.iter().map(|(name, kind)| format!("; {name}: {}", objectives(kind)));
    all.join(", ") + &kinds.collect::<String>()
}

/// A mix's kinds in a few words, each with its share of the requests, its p99 and its failures:
/// `read 74% p99 12.00ms, login 21% p99 40.00ms (3 failed)`; `None` without a mix.
pub fn kinds_line(kinds: &[loadgen::KindResult]) -> Option<String> {
    let total: u64 = kinds.iter().map(|k| k.requests).sum();
    let each: Vec<String> = kinds
        .iter()
        .map(|k| {
            let share = if total > 0 { k.requests as f64 * 100.0 / total as f64 } else { 0.0 };
            let failed = if k.errors > 0 { format!(" ({} failed)", k.errors) } else { String::new() };
            format!("{} {share:.0}% p99 {}{failed}", k.name, time_us(k.latency_us.p99 as f64))
        })
        .collect();
    (!each.is_empty()).then(|| each.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(time_us(635.914), "635.91us");
        assert_eq!(time_us(12_920.0), "12.92ms");
        assert_eq!(time_us(1_500_000.0), "1.50s");
        assert_eq!(metric(56_200.0), "56.20k");
        assert_eq!(bytes(2.64 * 1024.0 * 1024.0 * 1024.0), "2.64GB");
    }

    #[test]
    fn a_mix_is_told_kind_by_kind() {
        use loadgen::{KindResult, LatencySummary};
        let kind = |name: &str, requests: u64, errors: u64, p99: u64| KindResult {
            name: name.into(),
            weight: 1,
            requests,
            errors,
            latency_us: LatencySummary { p99, ..LatencySummary::default() },
            latency_histogram: String::new(),
        };
        let line = kinds_line(&[kind("read", 750, 0, 12_000), kind("login", 250, 3, 40_000)]);
        assert_eq!(line.as_deref(), Some("read 75% p99 12.00ms, login 25% p99 40.00ms (3 failed)"));
        assert_eq!(kinds_line(&[]), None);
    }
}
