//! A paired comparison of two stacks measured in alternating windows: each pair of adjacent windows
//! (one of each side) gives a ratio CANDIDATE / BASE per figure. A figure's result is the
//! Hodges-Lehmann median of its ratios (on a log scale) with the Wilcoxon signed-rank interval, and
//! one-sided p-values from the same test; Holm's correction runs across the figures, and each figure's
//! [`Verdict`] weighs its interval against a minimum effect. [`Sequence`] says after each block whether
//! the comparison is decided.

use crate::CONFIDENCE;

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// What a comparison asks of one figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub better: Better,
    /// The smallest change that matters, as a fraction (0.03: 3%).
    pub min_effect: f64,
}

/// Each direction's test is one-sided at this level: a worse and a better change at 2.5% each, as the
/// two sides of a 95% interval.
pub const ALPHA_ONE_SIDED: f64 = (1.0 - CONFIDENCE) / 2.0;

/// One figure's pairs summed up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// CANDIDATE / BASE: the median of the pairwise means of the log ratios (Hodges-Lehmann), as a ratio.
    pub ratio: f64,
    /// Its 95% interval (Wilcoxon signed-rank from six pairs; Student's t on the log ratios below).
    pub lo: f64,
    pub hi: f64,
    pub pairs: usize,
    /// One-sided p-values of the signed-rank test: that the candidate is worse, that it is better.
    pub p_worse: f64,
    pub p_better: f64,
}

impl Estimate {
    /// The summary of `ratios` (CANDIDATE / BASE, each above 0) for a figure where `better` is better;
    /// `None` without a ratio.
    pub fn of(ratios: &[f64], better: Better) -> Option<Estimate> {
        let logs: Vec<f64> = ratios.iter().filter(|r| **r > 0.0 && r.is_finite()).map(|r| r.ln()).collect();
        let n = logs.len();
        if n == 0 {
            return None;
        }
        let mut walsh = Vec::with_capacity(n * (n + 1) / 2);
        for i in 0..n {
            for j in i..n {
                walsh.push((logs[i] + logs[j]) / 2.0);
            }
        }
        walsh.sort_by(f64::total_cmp);
        let center = crate::median_sorted(&walsh).expect("at least one");
        let (lo, hi) = match signed_rank_k(n, 1.0 - CONFIDENCE) {
            Some(k) => (walsh[k - 1], walsh[walsh.len() - k]),
            // Student's t on the logs, as [`crate::Interval`] does for a short series.
            None if n >= 2 => t_on_logs(&logs),
            None => (center, center),
        };
        let (greater, less) = signed_rank_p(&logs);
        let (p_worse, p_better) = match better {
            Better::Lower => (greater, less),
            Better::Higher => (less, greater),
        };
        Some(Estimate { ratio: center.exp(), lo: lo.exp(), hi: hi.exp(), pairs: n, p_worse, p_better })
    }

    /// The interval as a factor of worse (above 1: the candidate is worse), low to high.
    fn worse_factor(&self, better: Better) -> (f64, f64) {
        match better {
            Better::Lower => (self.lo, self.hi),
            Better::Higher => (1.0 / self.hi, 1.0 / self.lo),
        }
    }
}

/// The t interval of the logs' mean (the log scale may go negative, so no clamping at 0).
fn t_on_logs(logs: &[f64]) -> (f64, f64) {
    let n = logs.len();
    let mean = logs.iter().sum::<f64>() / n as f64;
    let var = logs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = crate::T_975[n - 2] * (var / n as f64).sqrt();
    (mean - half, mean + half)
}

/// The number of subsets of {1..n} with each rank sum: the signed-rank statistic's distribution
/// (times 2^n) when there is no change.
fn signed_rank_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0.0; max + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for s in (rank..=max).rev() {
            counts[s] += counts[s - rank];
        }
    }
    counts
}

/// The largest `k >= 1` such that the `k`-th smallest and largest Walsh averages of `n` pairs hold the
/// center with probability at least `1 - alpha`; `None` below six pairs, where even the extremes do not
/// reach 95%.
fn signed_rank_k(n: usize, alpha: f64) -> Option<usize> {
    let counts = signed_rank_counts(n);
    let total = 2f64.powi(n as i32);
    let mut below = 0.0;
    let mut k = 0;
    for c in &counts {
        below += c / total;
        if below > alpha / 2.0 {
            break;
        }
        k += 1;
    }
    (k >= 1).then_some(k)
}

/// One-sided p-values of the signed-rank test on `logs`: that their center is above 0, that it is
/// below. Zeros are dropped; tied magnitudes share their mean rank (against the untied distribution).
fn signed_rank_p(logs: &[f64]) -> (f64, f64) {
    let mut nonzero: Vec<f64> = logs.iter().copied().filter(|d| *d != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return (1.0, 1.0);
    }
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut t_plus = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && nonzero[j + 1].abs() == nonzero[i].abs() {
            j += 1;
        }
        let rank = (i + j + 2) as f64 / 2.0;
        t_plus += rank * nonzero[i..=j].iter().filter(|d| **d > 0.0).count() as f64;
        i = j + 1;
    }
    let counts = signed_rank_counts(n);
    let total = 2f64.powi(n as i32);
    let at_least =
        |t: f64| counts.iter().enumerate().filter(|(s, _)| *s as f64 >= t - 1e-9).map(|(_, c)| c).sum::<f64>() / total;
    let max = (n * (n + 1) / 2) as f64;
    (at_least(t_plus), at_least(max - t_plus))
}

/// Holm's step-down correction: which of `p` are significant at family-wise level `alpha`.
pub fn holm(p: &[f64], alpha: f64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut significant = vec![false; p.len()];
    for (step, &i) in order.iter().enumerate() {
        if p[i] > alpha / (p.len() - step) as f64 {
            break;
        }
        significant[i] = true;
    }
    significant
}

/// What a comparison says of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Worse beyond its interval (Holm-corrected across the figures), and not shown to be smaller than
    /// the minimum effect.
    Worse,
    /// Better beyond its interval, and not shown to be smaller than the minimum effect.
    Better,
    /// Its whole interval lies within the minimum effect either way: no change that matters.
    Within,
    /// Neither yet.
    Undecided,
}

impl Verdict {
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Worse => "worse",
            Verdict::Better => "better",
            Verdict::Within => "within the minimum effect",
            Verdict::Undecided => "undecided",
        }
    }
}

/// Each figure's verdict. Before the `last` look a figure is judged worse (better) only when its whole
/// interval lies beyond the minimum effect, so that looking after every block adds next to no false
/// alarms; at the last, a change beyond its interval that the interval does not show to be smaller than
/// the minimum effect is judged too.
pub fn judge(figures: &[(Estimate, Figure)], last: bool) -> Vec<Verdict> {
    let worse = holm(&figures.iter().map(|(e, _)| e.p_worse).collect::<Vec<_>>(), ALPHA_ONE_SIDED);
    let better = holm(&figures.iter().map(|(e, _)| e.p_better).collect::<Vec<_>>(), ALPHA_ONE_SIDED);
    figures
        .iter()
        .enumerate()
        .map(|(i, (e, f))| {
            let (lo, hi) = e.worse_factor(f.better);
            let (up, down) = (1.0 + f.min_effect, 1.0 - f.min_effect);
            if worse[i] && (lo > up || (last && hi > up)) {
                Verdict::Worse
            } else if better[i] && (hi < down || (last && lo < down)) {
                Verdict::Better
            } else if lo >= down && hi <= up {
                Verdict::Within
            } else {
                Verdict::Undecided
            }
        })
        .collect()
}

/// When a comparison looks and stops: after each block from `min_pairs` pairs on, until every figure is
/// decided or some figure has `max_pairs`. A figure's pairs may stop early (its windows are no longer run
/// once it and the figures measured with it are decided), so each figure is judged on its own count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequence {
    pub min_pairs: usize,
    pub max_pairs: usize,
}

/// The first look: six pairs are the fewest whose signed-rank interval reaches 95%, and eight the fewest
/// whose smallest p-value (1/256) passes Holm's correction over four figures (0.025 / 4).
pub const MIN_PAIRS: usize = 8;

impl Default for Sequence {
    fn default() -> Sequence {
        Sequence { min_pairs: MIN_PAIRS, max_pairs: 20 }
    }
}

/// A look at the pairs so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub estimates: Vec<Estimate>,
    pub verdicts: Vec<Verdict>,
    /// No more pairs are needed: every figure is decided, or the last look was taken.
    pub done: bool,
}

impl Sequence {
    /// The figures' ratios so far (`ratios[i]` for `figures[i]`, one per pair); `None` while a figure
    /// has no ratio.
    pub fn look(&self, ratios: &[Vec<f64>], figures: &[Figure]) -> Option<Look> {
        let estimates: Vec<Estimate> =
            ratios.iter().zip(figures).map(|(r, f)| Estimate::of(r, f.better)).collect::<Option<_>>()?;
        let last = estimates.iter().any(|e| e.pairs >= self.max_pairs);
        let judged: Vec<(Estimate, Figure)> = estimates.iter().copied().zip(figures.iter().copied()).collect();
        let verdicts: Vec<Verdict> = judge(&judged, last)
            .into_iter()
            .zip(&estimates)
            .map(|(v, e)| if e.pairs >= self.min_pairs { v } else { Verdict::Undecided })
            .collect();
        let done = last || verdicts.iter().all(|v| *v != Verdict::Undecided);
        Some(Look { estimates, verdicts, done })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_rank_interval_needs_six_pairs() {
        assert_eq!(signed_rank_k(5, 0.05), None);
        assert_eq!(signed_rank_k(6, 0.05), Some(1)); // 2/64
        assert_eq!(signed_rank_k(10, 0.05), Some(9)); // the table's critical value 8, plus one
        assert_eq!(signed_rank_k(20, 0.05), Some(53)); // 52, plus one
    }

    #[test]
    fn p_values_of_a_clear_change() {
        let worse = Estimate::of(&[1.1; 8], Better::Lower).unwrap();
        assert!((worse.p_worse - 1.0 / 256.0).abs() < 1e-12, "{worse:?}");
        assert!((worse.p_better - 1.0).abs() < 1e-12);
        assert!((worse.ratio - 1.1).abs() < 1e-12);
        // The same ratios for a figure where higher is better: the candidate is better.
        let better = Estimate::of(&[1.1; 8], Better::Higher).unwrap();
        assert_eq!((better.p_worse, better.p_better), (worse.p_better, worse.p_worse));
    }

    #[test]
    fn a_figure_whose_pairs_stopped_keeps_its_verdict_and_the_last_look_counts_the_most_pairs() {
        let figures =
            [Figure { better: Better::Lower, min_effect: 0.03 }, Figure { better: Better::Lower, min_effect: 0.10 }];
        let sequence = Sequence { min_pairs: 8, max_pairs: 12 };
        // The first figure decided within at 8 pairs; the second, noisy, goes on alone.
        let steady = vec![1.0, 1.001, 0.999, 1.002, 0.998, 1.0, 1.001, 0.999];
        let noisy: Vec<f64> = (0..11).map(|i| if i % 2 == 0 { 1.3 } else { 0.75 }).collect();
        let look = sequence.look(&[steady.clone(), noisy.clone()], &figures).unwrap();
        assert_eq!(look.verdicts, vec![Verdict::Within, Verdict::Undecided]);
        assert!(!look.done);
        let mut more = noisy;
        more.push(1.3);
        let look = sequence.look(&[steady, more], &figures).unwrap();
        assert_eq!(look.verdicts[0], Verdict::Within);
        assert!(look.done, "12 pairs of the second figure are the last look");
        // A figure short of the first look is not judged, however clear.
        let look = sequence.look(&[vec![1.5; 7], vec![1.0; 8]], &figures).unwrap();
        assert_eq!(look.verdicts[0], Verdict::Undecided);
    }

    #[test]
    fn holm_steps_down() {
        assert_eq!(holm(&[0.01, 0.04, 0.03], 0.05), vec![true, false, false]);
        assert_eq!(holm(&[0.01, 0.02, 0.03], 0.05), vec![true, true, true]);
        assert_eq!(holm(&[0.02, 0.02], 0.025), vec![false, false]);
    }
}
