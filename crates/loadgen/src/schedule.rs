//! When requests are due: each connection's schedule in rate mode ([`crate::Arrivals`]), and users'
//! think times in a closed loop ([`crate::Think`]).

use std::time::Duration;

use crate::config::{Arrivals, Spread, Think};

/// One connection's due times, in nanoseconds from the run's start. Architecture invariant: a due time
/// is passed over only by sending its request, so every due time before [`Schedule::next_ns`] was sent.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    /// Nanoseconds between two due times (constant), or their mean (Poisson).
    interval_ns: f64,
    /// Constant: the first due time; the `seq`-th is `offset_ns + seq * interval_ns`, free of drift.
    offset_ns: f64,
    seq: u64,
    /// Poisson: the connection's own seeded generator of gaps.
    rng: Option<fastrand::Rng>,
    next_ns: f64,
}

/// A user's next think time.
pub(crate) fn think_time(think: &Think, rng: &mut fastrand::Rng) -> Duration {
    let mean = think.mean.as_secs_f64();
    Duration::from_secs_f64(match think.spread {
        Spread::Exponential => mean * exponential(rng),
        Spread::Uniform => 2.0 * mean * rng.f64(),
        Spread::Constant => mean,
    })
}

/// A draw from the exponential distribution of mean 1.
fn exponential(rng: &mut fastrand::Rng) -> f64 {
    -(1.0 - rng.f64()).ln() // 1 - [0, 1) is in (0, 1]: never ln(0)
}

impl Schedule {
    /// Connection `index` of `connections` sharing `rate` requests per second.
    pub(crate) fn new(arrivals: Arrivals, rate: f64, connections: usize, index: usize) -> Schedule {
        let interval_ns = connections as f64 / rate * 1e9;
        match arrivals {
            Arrivals::Constant => {
                let offset_ns = index as f64 / rate * 1e9;
                Schedule { interval_ns, offset_ns, seq: 0, rng: None, next_ns: offset_ns }
            }
            Arrivals::Poisson { seed } => {
                // Each connection its own stream: the seed moved by the golden ratio times its index.
                let mut rng =
                    fastrand::Rng::with_seed(seed.wrapping_add((index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
                let next_ns = interval_ns * exponential(&mut rng);
                Schedule { interval_ns, offset_ns: 0.0, seq: 0, rng: Some(rng), next_ns }
            }
        }
    }

    /// The next request's due time.
    pub(crate) fn next_ns(&self) -> f64 {
        self.next_ns
    }

    /// Its request was sent: the one after it is due next.
    pub(crate) fn advance(&mut self) {
        self.seq += 1;
        self.next_ns = match &mut self.rng {
            None => self.offset_ns + self.seq as f64 * self.interval_ns,
            Some(rng) => self.next_ns + self.interval_ns * exponential(rng),
        };
    }

    /// The due times from the next on that fall in `[lo, hi)`: requests due then that were never sent.
    pub(crate) fn unsent_between(&self, lo: f64, hi: f64) -> u64 {
        let mut ahead = self.clone();
        if ahead.rng.is_none() {
            // Closed form: the due times at or past both the next and `lo`, and before `hi`.
            let index = |t: f64| ((t - ahead.offset_ns) / ahead.interval_ns).ceil().max(0.0) as u64;
            let first = index(lo).max(ahead.seq);
            return index(hi).saturating_sub(first);
        }
        let mut count = 0;
        while ahead.next_ns < hi {
            count += u64::from(ahead.next_ns >= lo);
            ahead.advance();
        }
        count
    }
}

/// Poisson arrivals for one thread (`Arrivals::Poisson`): one stream at the thread's share of the rate,
/// each arrival sent on whichever of the thread's connections is idle (or, when none is, on the next to
/// become idle, late). Binding arrivals to connections instead would make a request wait behind its own
/// connection's previous one whenever two gaps fall close: at 42 req/s over 17 connections, a /sleep of
/// 100 ms read p99 294 ms that the server never caused.
#[derive(Debug)]
pub(crate) struct Dispatch {
    arrivals: Schedule,
    /// Connections idle, oldest first (one may have closed since: the caller checks).
    idle: std::collections::VecDeque<usize>,
    /// Arrivals due while no connection was idle, oldest first (ns from the run's start).
    waiting: std::collections::VecDeque<f64>,
}

impl Dispatch {
    /// Thread `thread`'s stream at `rate` requests per second.
    pub(crate) fn new(seed: u64, rate: f64, thread: usize) -> Dispatch {
        let arrivals = Schedule::new(Arrivals::Poisson { seed }, rate, 1, thread);
        Dispatch { arrivals, idle: Default::default(), waiting: Default::default() }
    }

    /// When the next arrival is due.
    pub(crate) fn next_ns(&self) -> f64 {
        self.arrivals.next_ns()
    }

    /// Connection `idx` is free: an arrival that waited for one to send on it now (its due time), else
    /// it waits for the next arrival.
    pub(crate) fn free(&mut self, idx: usize) -> Option<f64> {
        let due = self.waiting.pop_front();
        if due.is_none() {
            self.idle.push_back(idx);
        }
        due
    }

    /// The next arrival due by `now_ns` that has an idle connection (`usable` says which still are):
    /// its due time and the connection. Arrivals due with none idle wait (`free`).
    pub(crate) fn due(&mut self, now_ns: f64, usable: impl Fn(usize) -> bool) -> Option<(f64, usize)> {
        while self.arrivals.next_ns() <= now_ns {
            let due = self.arrivals.next_ns();
            self.arrivals.advance();
            while let Some(idx) = self.idle.pop_front() {
                if usable(idx) {
                    return Some((due, idx));
                }
            }
            self.waiting.push_back(due);
        }
        None
    }

    /// Arrivals due in `[lo, hi)` that were never sent: those still waiting and those not yet drawn.
    pub(crate) fn unsent_between(&self, lo: f64, hi: f64) -> u64 {
        let waiting = self.waiting.iter().filter(|&&d| d >= lo && d < hi).count() as u64;
        waiting + self.arrivals.unsent_between(lo, hi)
    }
}

/// The first whole nanosecond at or after `ns` nanoseconds from `t0`: when a timer for a time
/// `ns` is due may fire without firing early.
pub(crate) fn instant_after(t0: std::time::Instant, ns: f64) -> std::time::Instant {
    t0 + Duration::from_nanos(ns.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_for_a_fractional_nanosecond_is_not_early() {
        let t0 = std::time::Instant::now();
        // Now is 1,000 ns in: an arrival at 1,000.4 ns is not due yet, and its timer is after now.
        let now = t0 + Duration::from_nanos(1000);
        assert!(instant_after(t0, 1000.4) > now);
        assert_eq!(instant_after(t0, 1000.0), now);
        let mut s = Dispatch::new(3, 10_000.0, 0);
        for _ in 0..100_000 {
            let next = s.next_ns();
            assert!(instant_after(t0, next).duration_since(t0).as_nanos() as f64 >= next);
            s.arrivals.advance();
        }
    }

    #[test]
    fn think_times_have_their_mean_and_spread() {
        let mut rng = fastrand::Rng::with_seed(5);
        let draws = |spread, rng: &mut fastrand::Rng| -> Vec<f64> {
            let think = Think { mean: Duration::from_millis(100), spread, seed: 5 };
            (0..20_000).map(|_| think_time(&think, rng).as_secs_f64()).collect()
        };
        let mean_sd = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt())
        };
        let (m, sd) = mean_sd(&draws(Spread::Exponential, &mut rng));
        assert!((m / 0.1 - 1.0).abs() < 0.03 && (sd / m - 1.0).abs() < 0.05, "exponential: {m} {sd}");
        let uniform = draws(Spread::Uniform, &mut rng);
        let (m, sd) = mean_sd(&uniform);
        // Uniform on [0, 0.2]: sd 0.2 / sqrt(12).
        assert!((m / 0.1 - 1.0).abs() < 0.03 && (sd / (0.2 / 12f64.sqrt()) - 1.0).abs() < 0.03, "uniform: {m} {sd}");
        assert!(uniform.iter().all(|x| (0.0..0.2).contains(x)));
        assert!(draws(Spread::Constant, &mut rng).iter().all(|x| *x == 0.1));
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced_and_staggered() {
        // 4 connections at 1,000 req/s: each every 4 ms, connection 1 from 1 ms.
        let mut s = Schedule::new(Arrivals::Constant, 1000.0, 4, 1);
        assert_eq!(s.next_ns(), 1e6);
        s.advance();
        assert_eq!(s.next_ns(), 5e6);
        // Due at 5, 9, 13, 17 ms: three in [6, 18) ms, four from the next on in [0, 18).
        assert_eq!(s.unsent_between(6e6, 18e6), 3);
        assert_eq!(s.unsent_between(0.0, 18e6), 4);
    }

    #[test]
    fn poisson_arrivals_are_seeded_with_exponential_gaps_of_the_mean() {
        let gaps = |seed: u64, index: usize| {
            let mut s = Schedule::new(Arrivals::Poisson { seed }, 1000.0, 10, index);
            let mut last = 0.0;
            (0..20_000)
                .map(|_| {
                    let gap = s.next_ns() - last;
                    last = s.next_ns();
                    s.advance();
                    gap
                })
                .collect::<Vec<f64>>()
        };
        let g = gaps(7, 3);
        assert_eq!(g, gaps(7, 3), "seeded");
        assert_ne!(g[..10], gaps(7, 4)[..10], "each connection its own stream");
        // Mean 10 ms; an exponential's standard deviation equals its mean.
        let mean = g.iter().sum::<f64>() / g.len() as f64;
        let sd = (g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / g.len() as f64).sqrt();
        assert!((mean / 1e7 - 1.0).abs() < 0.03, "mean {mean}");
        assert!((sd / mean - 1.0).abs() < 0.05, "sd {sd} against mean {mean}");
        // Counting ahead leaves the schedule as it was.
        let s = Schedule::new(Arrivals::Poisson { seed: 7 }, 1000.0, 10, 3);
        let before = s.next_ns();
        assert!(s.unsent_between(0.0, 1e9) > 50);
        assert_eq!(s.next_ns(), before);
    }
}
