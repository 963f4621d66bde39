//! What `stackbench compare` stores: two stacks measured in alternating windows, per endpoint the
//! figures' paired ratios and what they decide. Written to `RESULTS/comparisons/` (apart from the
//! results files the report reads).

use serde::{Deserialize, Serialize};

use crate::Workload;

/// The format's version; a reader of an older one fills what it lacks with defaults.
pub const COMPARISON_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRecord {
    pub schema_version: u32,
    /// The two stacks, as their runs would name them (`BASE` and `CANDIDATE` when the names are equal).
    pub base: String,
    pub candidate: String,
    /// Where each came from: a scenario file, with the git ref of a `--baseline-ref` worktree.
    pub base_source: String,
    pub candidate_source: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `complete`, `interrupted`, or why it could not go on.
    pub status: String,
    /// Each window's measured length and warm-up, seconds; the seed of the window order.
    pub window_s: f64,
    pub warmup_s: f64,
    pub seed: u64,
    /// Both servers run on these CPUs at once (only one under load at a time); the load on these.
    pub server_cpuset: String,
    pub generator_cpus: Vec<usize>,
    pub endpoints: Vec<EndpointComparison>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointComparison {
    #[serde(flatten)]
    pub workload: Workload,
    /// The fixed offered rate of the open-loop windows, and where it came from; `None`: no open-loop figures.
    pub rate: Option<f64>,
    pub rate_from: String,
    /// The connections of the closed-loop windows.
    pub connections: usize,
    /// The most pairs of windows any figure had (a mode whose figures were decided stopped sooner; each
    /// figure's `ratios` are its own), and the wall time the endpoint took.
    pub pairs: usize,
    pub elapsed_s: f64,
    pub figures: Vec<FigureComparison>,
}

/// A figure a comparison's windows give: three at a fixed offered rate (open loop), one at fixed connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    CpuUsPerRequest,
    P99Us,
    GoodputRps,
    Rps,
}

impl Figure {
    pub const ALL: [Figure; 4] = [Figure::CpuUsPerRequest, Figure::P99Us, Figure::GoodputRps, Figure::Rps];

    /// Its name in records (serde's) and in progress lines.
    pub fn name(self) -> &'static str {
        match self {
            Figure::CpuUsPerRequest => "cpu_us_per_request",
            Figure::P99Us => "p99_us",
            Figure::GoodputRps => "goodput_rps",
            Figure::Rps => "rps",
        }
    }

    pub fn higher_is_better(self) -> bool {
        matches!(self, Figure::GoodputRps | Figure::Rps)
    }

    /// Measured at the fixed offered rate (else at fixed connections).
    pub fn open_loop(self) -> bool {
        self != Figure::Rps
    }
}

/// One figure's pairs: each pair's ratio CANDIDATE / BASE, their estimate and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureComparison {
    /// `cpu_us_per_request`, `p99_us`, `goodput_rps` (open loop at `rate`), `rps` (closed loop).
    pub figure: Figure,
    pub higher_is_better: bool,
    /// The smallest change that matters (0.03: 3%).
    pub min_effect: f64,
    pub base_median: f64,
    pub candidate_median: f64,
    /// CANDIDATE / BASE: Hodges-Lehmann estimate and its 95% interval; p-value that the candidate is worse.
    pub ratio: f64,
    pub lo: f64,
    pub hi: f64,
    pub p_worse: f64,
    /// `worse`, `better`, `within the minimum effect` or `undecided`.
    pub verdict: String,
    pub ratios: Vec<f64>,
}

impl ComparisonRecord {
    /// Writes it atomically (temp + rename), as results files are.
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        crate::write_json(self, path)
    }

    pub fn read(path: &std::path::Path) -> std::io::Result<ComparisonRecord> {
        crate::read_json(path)
    }
}
