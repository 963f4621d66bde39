//! Diagnoses in words: known patterns in the figures, each found by one rule
//! with its own test. Per level ([`level`]) they join a row's notes; across a
//! stack's levels of one workload ([`across`]) they lead its summary row.
//!
//! Invariant: a rule reads figures the tables show, and its words name the
//! figures it read, so a reader can check it.

use crate::model::{Row, Verdict};
use crate::units::{metric, time_us};

/// Errors (timeouts included) in the first second of the window at this share
/// of the level's errors or more are a storm at the start, not a steady state.
pub const EARLY_ERRORS: f64 = 0.8;
/// req/s within this share of each other across levels is flat.
pub const FLAT: f64 = 0.10;
/// A server under this share of its CPU limit is mostly idle.
pub const IDLE_CPU: f64 = 0.6;

/// What one level's figures show (what the server's own figures show, its
/// memory at the limit among them, is [`super::trouble`]).
pub fn level(row: &Row) -> Vec<String> {
    [errors_at_start(row), nagle(row)].into_iter().flatten().collect()
}

/// What a stack's levels of one workload show together, fewest connections first.
pub fn across(levels: &[(usize, &Row)]) -> Vec<String> {
    [pool_limit(levels), queue_past_timeout(levels)].into_iter().flatten().collect()
}

/// Most of the level's errors came in the first second of the window: they
/// are requests held since the warm-up, which count as timeouts as the window
/// opens. The server queued them longer than the timeout from the start, the
/// connections opened at once overflowed its listen backlog, or it never took
/// some of them (a connection limit); the figures cannot tell which.
fn errors_at_start(row: &Row) -> Option<String> {
    let total = row.errors + row.timeouts;
    let first = row.per_second.first()?.errors;
    (total > 0 && first as f64 >= EARLY_ERRORS * total as f64).then(|| {
        format!(
            "{first} of {total} errors in the window's first second: requests held since the warm-up (a \
             queue longer than the timeout from the start, a listen backlog overflow in the connect storm, or a \
             connection limit)"
        )
    })
}

/// Linux's delayed ACK timer (40 ms) in latency: a p50 this far from it at most.
const DELAYED_ACK_US: (u64, u64) = (36_000, 48_000);

/// Latency stuck near 40 ms while the server idles: a response written in two
/// pieces meets Nagle's algorithm on the server (the second piece waits for
/// the ACK of the first) and delayed ACKs on the client (which waits up to 40
/// ms for more data before acknowledging). Seen on loopback with tshark
/// against flask-pywsgi (gevent's pywsgi), one connection, 22.5 req/s at p50
/// 43.9 ms: each response leaves as a 115-byte head at once and a 2-byte body
/// 41 ms later, right after the client's delayed ACK of the head; the next
/// request follows within 0.1 ms.
fn nagle(row: &Row) -> Option<String> {
    let (cpu, limit) = (row.server_cpu_pct?, row.server_cpu_limit_pct?);
    let p50 = row.latency_p50_us;
    ((DELAYED_ACK_US.0..=DELAYED_ACK_US.1).contains(&p50) && cpu < IDLE_CPU * limit && row.requests > 0).then(
        || {
            format!(
                "latency flat near 40 ms (p50 {}) with the server's CPU at {cpu:.0}%: Nagle's algorithm meeting \
                 delayed ACKs (a response written in two pieces; the server should set TCP_NODELAY or write it at once)",
                time_us(p50 as f64)
            )
        },
    )
}

/// req/s stayed flat while connections grew and the server's CPU stayed low:
/// a fixed pool of threads or workers (or a lock) sets the pace, not the CPU.
/// Levels whose generator was the limit, or with no response, say nothing of the server.
fn pool_limit(levels: &[(usize, &Row)]) -> Option<String> {
    let ok: Vec<&(usize, &Row)> =
        levels.iter().filter(|(_, r)| r.verdict != Verdict::GeneratorBound && r.requests > 0).collect();
    let (&&(c0, first), &&(c1, last)) = (ok.first()?, ok.last()?);
    let (cpu, limit) = (last.server_cpu_pct?, last.server_cpu_limit_pct?);
    let flat = (last.rps.median - first.rps.median).abs() <= FLAT * first.rps.median.max(1.0);
    (c1 >= 4 * c0 && flat && first.rps.median > 0.0 && cpu < IDLE_CPU * limit).then(|| {
        format!(
            "req/s flat near {} from {c0} to {c1} connections with the server's CPU at {cpu:.0}%: a fixed pool of \
             threads or workers (or a lock) is the limit, not the CPU",
            metric(last.rps.median)
        )
    })
}

/// Errors went from almost none at one level to most requests at a higher
/// one: the server queues what it cannot serve, and the queue grew longer
/// than the timeout.
fn queue_past_timeout(levels: &[(usize, &Row)]) -> Option<String> {
    let share = |r: &Row| (r.errors + r.timeouts) as f64 / (r.requests + r.timeouts).max(1) as f64;
    let calm = levels.iter().find(|(_, r)| r.requests > 0 && share(r) < 0.01)?;
    let flooded = levels.iter().rev().find(|(c, r)| *c > calm.0 && share(r) > 0.5)?;
    let latency = match flooded.1.requests {
        0 => "no response in the window".to_string(),
        _ => format!("p50 {}", time_us(flooded.1.latency_p50_us as f64)),
    };
    Some(format!(
        "errors from {:.1}% at {} to {:.0}% at {} connections ({latency}): the queue grew longer than the timeout",
        share(calm.1) * 100.0,
        calm.0,
        share(flooded.1) * 100.0,
        flooded.0,
    ))
}
