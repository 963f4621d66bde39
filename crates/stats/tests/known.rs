//! The intervals and the sequential stop against samples whose truth is known (seeded, so every run
//! draws the same).

use stats::paired::{Better, Estimate, Figure, Sequence, Verdict};
use stats::Interval;

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let (u, v) = (rng.f64().max(1e-300), rng.f64());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// How often the interval of `n` draws from `draw` holds `truth`.
fn coverage(n: usize, trials: usize, truth: f64, mut draw: impl FnMut(&mut fastrand::Rng) -> f64) -> f64 {
    let mut rng = fastrand::Rng::with_seed(n as u64);
    let held = (0..trials)
        .filter(|_| {
            let values: Vec<f64> = (0..n).map(|_| draw(&mut rng)).collect();
            let i = Interval::of(&values).unwrap();
            i.lo <= truth && truth <= i.hi
        })
        .count();
    held as f64 / trials as f64
}

#[test]
fn the_interval_of_repeats_holds_the_median_95_percent_of_the_time() {
    // Normal noise, as the t interval assumes: 95% by construction, within the simulation's error.
    for n in [2, 3, 5] {
        let c = coverage(n, 4000, 1000.0, |rng| 1000.0 + 50.0 * normal(rng));
        assert!((0.935..=0.965).contains(&c), "n = {n}: {c}");
    }
    // From six runs on, order statistics: at least 95% whatever the shape (exponential: skewed).
    for n in [6, 9, 20] {
        let c = coverage(n, 4000, 1000.0 * std::f64::consts::LN_2, |rng| -1000.0 * (1.0 - rng.f64()).ln());
        assert!(c >= 0.94, "n = {n}: {c}");
        let c = coverage(n, 4000, 1000.0, |rng| 1000.0 + 50.0 * normal(rng));
        assert!((0.94..=0.995).contains(&c), "n = {n}: {c}");
    }
}

#[test]
fn the_paired_interval_holds_the_true_ratio_95_percent_of_the_time() {
    for n in [3, 6, 10, 20] {
        let mut rng = fastrand::Rng::with_seed(100 + n as u64);
        let trials = 3000;
        let held = (0..trials)
            .filter(|_| {
                let ratios: Vec<f64> = (0..n).map(|_| (0.05f64.ln_1p() + 0.03 * normal(&mut rng)).exp()).collect();
                let e = Estimate::of(&ratios, Better::Lower).unwrap();
                e.lo <= 1.05 && 1.05 <= e.hi
            })
            .count();
        let c = held as f64 / trials as f64;
        assert!((0.935..=0.985).contains(&c), "n = {n}: {c}");
    }
}

/// How a sequence of `figures` ends when the first figure's true ratio is `effect` (worse for its
/// direction) and the others' are 1, each pair's log ratio noisy by `sigma`: the first figure's verdict
/// and whether any figure was judged worse, over many comparisons.
fn sequences(effect: f64, sigma: f64, trials: usize, seed: u64) -> (usize, usize, f64) {
    let figures = [
        Figure { better: Better::Lower, min_effect: 0.03 },
        Figure { better: Better::Higher, min_effect: 0.03 },
        Figure { better: Better::Lower, min_effect: 0.10 },
        Figure { better: Better::Higher, min_effect: 0.03 },
    ];
    let sequence = Sequence::default();
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut caught, mut any_worse, mut pairs) = (0, 0, 0);
    for _ in 0..trials {
        let mut ratios = vec![Vec::new(); figures.len()];
        loop {
            // A block: two pairs.
            for _ in 0..2 {
                for (i, r) in ratios.iter_mut().enumerate() {
                    let truth = if i == 0 { effect.ln_1p() } else { 0.0 };
                    r.push((truth + sigma * normal(&mut rng)).exp());
                }
            }
            let look = sequence.look(&ratios, &figures).unwrap();
            if look.done {
                caught += usize::from(look.verdicts[0] == Verdict::Worse);
                any_worse += usize::from(look.verdicts.contains(&Verdict::Worse));
                pairs += ratios[0].len();
                break;
            }
        }
    }
    (caught, any_worse, pairs as f64 / trials as f64)
}

#[test]
fn the_sequential_stop_keeps_false_alarms_rare_and_catches_the_minimum_effect() {
    // No change anywhere: at most 1 comparison in 20 calls anything worse.
    let (_, false_alarms, pairs) = sequences(0.0, 0.03, 1000, 1);
    assert!(false_alarms <= 50, "{false_alarms} of 1000 (mean {pairs:.1} pairs)");
    // +5% with 3% noise a pair: caught in at least 19 of 20.
    let (caught, _, pairs5) = sequences(0.05, 0.03, 1000, 2);
    assert!(caught >= 950, "+5%: {caught} of 1000 (mean {pairs5:.1} pairs)");
    // +3% (the minimum effect itself) with 2% noise a pair: at least 16 of 20.
    let (caught, _, pairs3) = sequences(0.03, 0.02, 1000, 3);
    assert!(caught >= 800, "+3%: {caught} of 1000 (mean {pairs3:.1} pairs)");
    eprintln!("A/A: {false_alarms}/1000 over {pairs:.1} pairs; +5%: {pairs5:.1} pairs; +3%: {pairs3:.1} pairs");
}
