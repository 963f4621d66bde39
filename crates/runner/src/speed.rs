//! How steady this machine's CPU runs: a fixed loop counted in short slices on one CPU (pinned), before
//! a suite measures anything. On a shared VM the same work runs up to 2x faster or slower within seconds
//! with no other process to show for it; this puts a figure on it, in every record of the suite.

use std::time::{Duration, Instant};

use record::MachineSpeed;

/// Slices of this length, this many: two seconds in all.
const SLICE: Duration = Duration::from_millis(100);
const SLICES: usize = 20;

/// Counts the loop per slice on `cpu`; `None` when the thread cannot be pinned there.
pub(crate) fn measure(cpu: usize) -> Option<MachineSpeed> {
    std::thread::spawn(move || {
        // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes within it; the call only reads it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return None;
            }
        }
        let counts: Vec<f64> = (0..SLICES).map(|_| slice() as f64).collect();
        summarize(cpu, &counts)
    })
    .join()
    .ok()
    .flatten()
}

/// Rounds of a fixed arithmetic block in one slice.
fn slice() -> u64 {
    let start = Instant::now();
    let (mut rounds, mut x) = (0u64, 1u64);
    while start.elapsed() < SLICE {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
        }
        rounds += 1;
    }
    rounds
}

fn summarize(cpu: usize, counts: &[f64]) -> Option<MachineSpeed> {
    let median = stats::median(counts).filter(|m| *m > 0.0)?;
    let mean = counts.iter().sum::<f64>() / counts.len() as f64;
    let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (counts.len() - 1).max(1) as f64;
    Some(MachineSpeed {
        cpu,
        slices: counts.len(),
        slice_ms: SLICE.as_millis() as u64,
        cv: var.sqrt() / mean,
        slowest: counts.iter().copied().fold(f64::INFINITY, f64::min) / median,
        fastest: counts.iter().copied().fold(0.0, f64::max) / median,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_loop_and_a_halved_one() {
        let steady = summarize(1, &[100.0; 10]).unwrap();
        assert_eq!((steady.cv, steady.slowest, steady.fastest), (0.0, 1.0, 1.0));
        let halved = summarize(1, &[100.0, 100.0, 100.0, 50.0, 100.0]).unwrap();
        assert_eq!(halved.slowest, 0.5);
        assert!(halved.to_string().contains("slowest 50%"), "{halved}");
        // The real loop runs and is pinned.
        let here = measure(0).unwrap();
        assert_eq!((here.cpu, here.slices), (0, SLICES));
    }
}
