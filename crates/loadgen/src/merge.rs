//! Load split over several generators, and one result from theirs: each ran
//! its share of the connections (and of the rate) at the same time.
//! Histograms are added exactly (never percentiles averaged) and counters summed.

use crate::result::{
    decode_histogram, encode_histogram, GeneratorUsage, HistogramDecodeError, LatencySummary, LoadResult, RateSummary,
    SecondSummary,
};

/// `total` connections over at most `n` generators, as evenly as they go
/// (no generator gets none).
pub fn shares(total: usize, n: usize) -> Vec<usize> {
    let n = n.min(total).max(1);
    (0..n).map(|i| total / n + usize::from(i < total % n)).collect()
}

/// Merges `parts` (at least one). The measured window is the longest part's;
/// per-second percentiles are not kept (a second's histogram is not stored).
pub fn merge(parts: &[LoadResult]) -> Result<LoadResult, HistogramDecodeError> {
    let (first, rest) = parts.split_first().expect("merge needs at least one result");
    let mut latency = decode_histogram(&first.latency_histogram)?;
    let mut raw = first.latency_raw_histogram.as_deref().map(decode_histogram).transpose()?;
    let mut merged = first.clone();
    // Goodput is stored as a rate: back to a count to add it up.
    let good = |r: &LoadResult| (r.goodput_rps * r.duration_s).round();
    let mut n_good = good(first);
    for part in rest {
        latency.add(decode_histogram(&part.latency_histogram)?).expect("histograms with equal bounds add");
        raw = match (raw, part.latency_raw_histogram.as_deref()) {
            (Some(mut r), Some(p)) => {
                r.add(decode_histogram(p)?).expect("histograms with equal bounds add");
                Some(r)
            }
            _ => None,
        };
        merged.requests += part.requests;
        n_good += good(part);
        merged.late_responses += part.late_responses;
        merged.abandoned += part.abandoned;
        merged.in_flight_at_end += part.in_flight_at_end;
        merged.sent += part.sent;
        merged.bytes_read += part.bytes_read;
        merged.connections_opened += part.connections_opened;
        merged.interrupted |= part.interrupted;
        merged.duration_s = merged.duration_s.max(part.duration_s);
        merged.connect_s = merged.connect_s.max(part.connect_s);
        merged.errors.add(&part.errors);
        merged.rate = match (merged.rate, part.rate) {
            (Some(a), Some(b)) => Some(RateSummary {
                target: a.target + b.target,
                achieved: a.achieved + b.achieved,
                late: a.late + b.late,
                unsent: a.unsent + b.unsent,
            }),
            _ => None,
        };
        merged.generator = GeneratorUsage {
            threads: merged.generator.threads + part.generator.threads,
            cpu_user_s: merged.generator.cpu_user_s + part.generator.cpu_user_s,
            cpu_sys_s: merged.generator.cpu_sys_s + part.generator.cpu_sys_s,
            throttled_periods: merged.generator.throttled_periods + part.generator.throttled_periods,
        };
        merged.options.connections += part.options.connections;
        merged.options.threads += part.options.threads;
        merged.options.rate = merged.options.rate.zip(part.options.rate).map(|(a, b)| a + b);
        add_seconds(&mut merged.per_second, &part.per_second);
        // A mix's kinds, by their place in the mix (every part ran the same mix).
        for (kind, other) in merged.kinds.iter_mut().zip(&part.kinds) {
            let mut h = decode_histogram(&kind.latency_histogram)?;
            h.add(decode_histogram(&other.latency_histogram)?).expect("histograms with equal bounds add");
            kind.requests += other.requests;
            kind.errors += other.errors;
            kind.latency_us = LatencySummary::from_histogram(&h);
            kind.latency_histogram = encode_histogram(&h);
        }
    }
    if !rest.is_empty() {
        for second in &mut merged.per_second {
            (second.p50_us, second.p99_us) = (None, None);
        }
    }
    let per_s = |n: f64| if merged.duration_s > 0.0 { n / merged.duration_s } else { 0.0 };
    merged.rps = per_s(merged.requests as f64);
    merged.goodput_rps = per_s(n_good);
    merged.latency_us = LatencySummary::from_histogram(&latency);
    merged.latency_histogram = encode_histogram(&latency);
    merged.latency_raw_us = raw.as_ref().map(LatencySummary::from_histogram);
    merged.latency_raw_histogram = raw.as_ref().map(encode_histogram);
    Ok(merged)
}

fn add_seconds(into: &mut Vec<SecondSummary>, other: &[SecondSummary]) {
    for s in other {
        match into.iter_mut().find(|i| i.second == s.second) {
            Some(i) => {
                i.requests += s.requests;
                i.errors += s.errors;
            }
            None => into.push(*s),
        }
    }
    into.sort_by_key(|s| s.second);
}

#[cfg(test)]
mod tests {
    #[test]
    fn connections_are_shared_evenly_and_none_gets_nothing() {
        assert_eq!(super::shares(10, 3), [4, 3, 3]);
        assert_eq!(super::shares(2, 4), [1, 1]);
        assert_eq!(super::shares(8, 2), [4, 4]);
        assert_eq!(super::shares(5, 1), [5]);
    }
}
