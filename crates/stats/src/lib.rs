//! Numbers in, numbers out: the interval a figure's repeats give its median ([`Interval`]), paired
//! comparisons of two stacks measured in alternating windows ([`paired`]) and the order of those
//! windows ([`order`]).
//!
//! Architecture invariant: no I/O, no records, no clock; the same numbers give the same answer (the
//! orders are seeded).
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

pub mod order;
pub mod paired;

/// The confidence of every interval stackbench shows.
pub const CONFIDENCE: f64 = 0.95;

/// How far apart two figures must be to be told apart when either rests on one run: on a shared VM
/// like this project's, the same 3 s level read 569 to 1,460 req/s within an hour (ARCHITECTURE.md).
pub const ONE_RUN_FACTOR: f64 = 2.0;

/// How an [`Interval`] was found; ARCHITECTURE.md says why each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One run: nothing is known of its noise; `lo` and `hi` are the value.
    OneRun,
    /// Two to five runs: Student's t interval of the mean, widened to hold the median. So few runs cannot
    /// bound a median at 95% without assuming a shape (the widest distribution-free interval of five, their
    /// minimum to maximum, holds the median 94% of the time; of three, 75%).
    StudentT,
    /// Six runs or more: the order statistics that hold the median with at least 95% confidence whatever
    /// the distribution (the sign test, inverted).
    OrderStatistics,
}

impl Method {
    /// The method for `runs` values.
    pub fn for_runs(runs: usize) -> Method {
        match runs {
            0 | 1 => Method::OneRun,
            2..=5 => Method::StudentT,
            _ => Method::OrderStatistics,
        }
    }
}

/// A figure over repeated runs: the median, and a [`CONFIDENCE`] interval for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
    pub runs: usize,
    pub method: Method,
}

/// Student's t quantile at 0.975 for 1 to 4 degrees of freedom (the only ones [`Method::StudentT`] uses).
pub(crate) const T_975: [f64; 4] = [12.706, 4.303, 3.182, 2.776];

impl Interval {
    /// The median of `values` and its interval; `None` for no values. Figures that cannot be negative
    /// (all of stackbench's) keep a lower bound of at least 0.
    pub fn of(values: &[f64]) -> Option<Interval> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = median_sorted(&sorted)?;
        let method = Method::for_runs(n);
        let (mut lo, mut hi) = match method {
            Method::OneRun => (median, median),
            Method::StudentT => {
                let mean = sorted.iter().sum::<f64>() / n as f64;
                let var = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
                let half = T_975[n - 2] * (var / n as f64).sqrt();
                ((mean - half).min(median), (mean + half).max(median))
            }
            Method::OrderStatistics => {
                let k = order_statistic(n, 1.0 - CONFIDENCE).expect("six or more values reach 95%");
                (sorted[k - 1], sorted[n - k])
            }
        };
        if sorted[0] >= 0.0 {
            lo = lo.max(0.0);
            hi = hi.max(0.0);
        }
        Some(Interval { median, lo, hi, runs: n, method })
    }

    /// Whether it rests on one run (no interval known).
    pub fn one_run(&self) -> bool {
        self.method == Method::OneRun
    }

    /// Whether the two can be told apart: their intervals do not overlap; when either rests on one run
    /// (its noise unknown), their medians are more than [`ONE_RUN_FACTOR`] apart.
    pub fn apart(&self, other: &Interval) -> bool {
        if self.one_run() || other.one_run() {
            let (small, large) = (self.median.min(other.median), self.median.max(other.median));
            return large > small * ONE_RUN_FACTOR;
        }
        self.hi < other.lo || other.hi < self.lo
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` for none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_sorted(&sorted)
}

pub(crate) fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The largest `k >= 1` such that the `k`-th smallest and `k`-th largest of `n` values hold their median
/// with probability at least `1 - alpha` (`P(Binomial(n, 1/2) < k) <= alpha / 2`); `None` when even the
/// minimum and maximum do not.
pub fn order_statistic(n: usize, alpha: f64) -> Option<usize> {
    let mut below = 0.0; // P(X <= k - 1)
    let mut k = 0;
    for i in 0..n {
        below += binomial_half(n, i);
        if below > alpha / 2.0 {
            break;
        }
        k = i + 1;
    }
    (k >= 1).then_some(k)
}

/// P(X = i) for X ~ Binomial(n, 1/2).
fn binomial_half(n: usize, i: usize) -> f64 {
    // C(n, i) / 2^n as a running product, exact enough for the n of repeats and pairs (under a thousand).
    let mut p = 0.5f64.powi(n as i32);
    for j in 0..i {
        p *= (n - j) as f64 / (j + 1) as f64;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statistics_reach_the_confidence() {
        assert_eq!(order_statistic(5, 0.05), None);
        assert_eq!(order_statistic(6, 0.05), Some(1)); // 1 - 2/64 = 96.9%
        assert_eq!(order_statistic(8, 0.05), Some(1)); // x(2)..x(7) would hold it 93%
        assert_eq!(order_statistic(9, 0.05), Some(2));
        assert_eq!(order_statistic(20, 0.05), Some(6)); // the textbook's x(6)..x(15)
    }

    #[test]
    fn one_run_says_so() {
        let one = Interval::of(&[5.0]).unwrap();
        assert_eq!((one.lo, one.median, one.hi, one.method), (5.0, 5.0, 5.0, Method::OneRun));
        // One run's noise is unknown: only a difference of more than ONE_RUN_FACTOR tells it apart.
        assert!(!one.apart(&Interval::of(&[9.0]).unwrap()));
        assert!(one.apart(&Interval::of(&[11.0, 11.5, 12.0]).unwrap()));
        assert!(!Interval::of(&[9.0, 10.0]).unwrap().apart(&Interval::of(&[5.0, 5.5, 6.0]).unwrap()), "t(1) is wide");
        assert_eq!(Interval::of(&[]), None);
    }

    #[test]
    fn a_short_series_gets_a_t_interval_that_holds_its_median_and_stays_positive() {
        let i = Interval::of(&[100.0, 102.0, 98.0]).unwrap();
        assert_eq!(i.method, Method::StudentT);
        // mean 100, s 2, t(2) 4.303: 100 ± 4.97
        assert!((i.lo - 95.03).abs() < 0.01 && (i.hi - 104.97).abs() < 0.01, "{i:?}");
        let wide = Interval::of(&[1.0, 1.0, 100.0]).unwrap();
        assert_eq!(wide.lo, 0.0);
        assert_eq!(wide.median, 1.0);
    }
}
