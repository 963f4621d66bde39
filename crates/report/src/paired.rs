//! A paired comparison (`stackbench compare`) in words: per endpoint, each figure on both sides, the
//! ratio CANDIDATE / BASE with its 95% interval, and the verdict; the same rows for the terminal and
//! for Markdown, and what the comparison as a whole says.

use std::fmt::Write as _;

use record::comparison::{ComparisonRecord, Figure, FigureComparison};

use crate::units::{metric, time_us};

/// What a comparison says as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No figure worse; every one decided.
    Passed,
    /// This many figures worse.
    Regressed(usize),
    /// None worse, but this many undecided after the most pairs.
    Undecided(usize),
}

pub fn outcome(c: &ComparisonRecord) -> Outcome {
    let figures = || c.endpoints.iter().flat_map(|e| &e.figures);
    let worse = figures().filter(|f| f.verdict == stats::paired::Verdict::Worse.words()).count();
    let undecided = figures().filter(|f| f.verdict == stats::paired::Verdict::Undecided.words()).count();
    match (worse, undecided) {
        (0, 0) => Outcome::Passed,
        (0, n) => Outcome::Undecided(n),
        (n, _) => Outcome::Regressed(n),
    }
}

pub const HEADERS: [&str; 7] = ["endpoint", "figure", "BASE", "CANDIDATE", "CANDIDATE/BASE", "pairs", "verdict"];

fn value(f: &FigureComparison, v: f64) -> String {
    match f.figure {
        Figure::CpuUsPerRequest | Figure::P99Us => time_us(v),
        Figure::GoodputRps | Figure::Rps => metric(v),
    }
}

/// As the report's tables name it.
fn name(f: &FigureComparison) -> &'static str {
    match f.figure {
        Figure::CpuUsPerRequest => "CPU/req",
        Figure::P99Us => "p99",
        Figure::GoodputRps => "goodput",
        Figure::Rps => "req/s",
    }
}

/// Each undecided figure in one sentence: its interval against its minimum effect, and what would decide
/// it (a wider minimum effect when the interval is wider than the effect's whole band, else more pairs).
pub fn undecided(c: &ComparisonRecord) -> Vec<String> {
    let mut lines = Vec::new();
    for e in &c.endpoints {
        for f in e.figures.iter().filter(|f| f.verdict == stats::paired::Verdict::Undecided.words()) {
            let flag = if f.figure == Figure::P99Us { "--min-effect-p99" } else { "--min-effect" };
            let band = (1.0 + f.min_effect) / (1.0 - f.min_effect);
            let width = if f.lo > 0.0 { f.hi / f.lo } else { f64::INFINITY };
            let hint = if width > band {
                format!(
                    "its interval is {width:.2}x wide, wider than the +-{:.0}% it would have to fit in: its noise here is \
                     larger than the effect asked for (judge it against a larger one with {flag} PERCENT)",
                    f.min_effect * 100.0
                )
            } else {
                "more pairs (--max-pairs) would decide it".to_string()
            };
            lines.push(format!(
                "{} on {}: x{:.3} ({:.3}-{:.3}) after {} pairs; {hint}",
                name(f),
                e.workload,
                f.ratio,
                f.lo,
                f.hi,
                f.ratios.len()
            ));
        }
    }
    lines
}

/// One row per endpoint and figure.
pub fn rows(c: &ComparisonRecord) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for e in &c.endpoints {
        for f in &e.figures {
            let at = if !f.figure.open_loop() {
                format!("{} conns", e.connections)
            } else {
                format!("{} req/s", e.rate.map_or("-".into(), metric))
            };
            let ratio =
                if f.ratios.is_empty() { "-".into() } else { format!("{:.3} ({:.3}-{:.3})", f.ratio, f.lo, f.hi) };
            rows.push(vec![
                e.workload.to_string(),
                format!("{} at {at}", name(f)),
                value(f, f.base_median),
                value(f, f.candidate_median),
                ratio,
                f.ratios.len().to_string(),
                format!("{} (min. effect {:.0}%)", f.verdict, f.min_effect * 100.0),
            ]);
        }
    }
    rows
}

/// The verdict in one sentence.
pub fn verdict(c: &ComparisonRecord) -> String {
    match outcome(c) {
        Outcome::Passed => "No regression: every figure is decided, none worse.".into(),
        Outcome::Regressed(n) => {
            format!("**{n} figure(s) worse**: beyond their interval and not shown smaller than the minimum effect.")
        }
        Outcome::Undecided(n) => format!(
            "**Undecided**: {n} figure(s) neither worse nor shown within the minimum effect after the most pairs \
             (none worse). {}.",
            undecided(c).join("; ")
        ),
    }
}

/// How the figures were measured, in words.
pub fn method(c: &ComparisonRecord) -> String {
    format!(
        "Both stacks ran at once on CPU(s) {} (the load, from CPU(s) {}, went to one at a time), in windows of \
         {:.1} s after {:.1} s of warm-up, ordered in balanced blocks (ABBA, BAAB; seed {}). Each pair of adjacent \
         windows gives CANDIDATE/BASE; shown is their Hodges-Lehmann median with its 95% interval (Wilcoxon \
         signed-rank), Holm-corrected across each endpoint's figures. BASE and CANDIDATE columns are the medians \
         of the windows.",
        c.server_cpuset,
        c.generator_cpus.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
        c.window_s,
        c.warmup_s,
        c.seed
    )
}

/// The comparison as Markdown, for a pull request's comment.
pub fn markdown(c: &ComparisonRecord) -> String {
    let mut md = format!("## stackbench compare: {} against {}\n\n", c.candidate, c.base);
    let _ = writeln!(md, "{}\n", verdict(c));
    let _ = writeln!(md, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(md, "|---|---|--:|--:|--:|--:|---|");
    for row in rows(c) {
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    let _ =
        writeln!(md, "\nBASE: {} ({}). CANDIDATE: {} ({}).", c.base, c.base_source, c.candidate, c.candidate_source);
    for e in &c.endpoints {
        let _ =
            writeln!(md, "{}: open-loop rate {}; {} pairs in {:.0} s.", e.workload, e.rate_from, e.pairs, e.elapsed_s);
    }
    let _ = writeln!(md, "\n{}", method(c));
    if c.status != "complete" {
        let _ = writeln!(md, "\nNot complete: {}", c.status);
    }
    md
}

#[cfg(test)]
mod tests {
    use record::comparison::FigureComparison;

    use super::*;

    fn figure(figure: Figure, min_effect: f64, (ratio, lo, hi): (f64, f64, f64), verdict: &str) -> FigureComparison {
        FigureComparison {
            figure,
            higher_is_better: !matches!(figure, Figure::CpuUsPerRequest | Figure::P99Us),
            min_effect,
            base_median: 100.0,
            candidate_median: 100.0 * ratio,
            ratio,
            lo,
            hi,
            p_worse: 0.5,
            verdict: verdict.into(),
            ratios: vec![ratio; 20],
        }
    }

    #[test]
    fn an_undecided_figure_says_whether_its_noise_or_its_pairs_keep_it_undecided() {
        let figures = vec![
            figure(Figure::CpuUsPerRequest, 0.03, (0.999, 0.988, 1.009), "within the minimum effect"),
            // As bench-gate's A/A on this machine: p99's interval wider than the +-10% band.
            figure(Figure::P99Us, 0.10, (1.02, 0.78, 1.31), "undecided"),
            // Narrow enough to fit the band, but straddling its edge: more pairs would decide it.
            figure(Figure::Rps, 0.03, (0.975, 0.960, 0.990), "undecided"),
        ];
        let c = record::fixture::comparison(434.0, 20, figures);
        assert_eq!(outcome(&c), Outcome::Undecided(2));
        let lines = undecided(&c);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("p99 on GET /work (work): x1.020 (0.780-1.310) after 20 pairs"), "{}", lines[0]);
        assert!(lines[0].contains("1.68x wide") && lines[0].contains("--min-effect-p99 PERCENT"), "{}", lines[0]);
        assert!(lines[1].starts_with("req/s on GET /work (work)") && lines[1].contains("--max-pairs"), "{}", lines[1]);
        assert!(verdict(&c).contains(&lines[0]));
    }
}
