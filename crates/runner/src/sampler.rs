//! Samples a container's counters through a measured window and sums them up.

use std::time::Duration;

use docker::{CgroupCounters, Engine, Sample};
use tokio::sync::oneshot;

use record::ServerUsage;

const EVERY: Duration = Duration::from_millis(250);

/// Where a container's counters are read.
#[derive(Clone)]
pub(crate) enum Probe {
    /// Its cgroup files, on this machine (exact and cheap).
    Cgroup(CgroupCounters),
    /// The engine's stats API: the container runs on another machine.
    Api(Engine, String),
}

impl Probe {
    /// The server's probe: its cgroup when it runs here, else the engine's API.
    pub fn of(engine: &Engine, running: &docker::Running) -> Option<Probe> {
        match &running.counters {
            Some(counters) => Some(Probe::Cgroup(counters.clone())),
            None => (!engine.is_local()).then(|| Probe::Api(engine.clone(), running.id.clone())),
        }
    }

    async fn sample(&self) -> Option<Sample> {
        match self {
            Probe::Cgroup(counters) => Some(counters.sample()),
            Probe::Api(engine, id) => engine.stats_sample(id).await.ok(),
        }
    }
}

/// Starts sampling through `probe` after `delay` (the warm-up) until `stop` fires.
pub(crate) fn spawn(
    probe: Probe,
    delay: Duration,
    mut stop: oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<Vec<Sample>> {
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut stop => return Vec::new(),
        }
        let mut samples: Vec<Sample> = probe.sample().await.into_iter().collect();
        let mut tick = tokio::time::interval(EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => samples.extend(probe.sample().await),
                _ = &mut stop => {
                    samples.extend(probe.sample().await);
                    return samples;
                }
            }
        }
    })
}

/// CPU mean and max (over 1 s spans), memory mean and peak, throttling.
pub(crate) fn summarize(samples: &[Sample], cpu_limit: f64) -> Option<ServerUsage> {
    let (first, last) = (samples.first()?, samples.last()?);
    let span = last.at.duration_since(first.at).as_secs_f64();
    if samples.len() < 2 || span <= 0.0 {
        return None;
    }
    let pct = |a: &Sample, b: &Sample| {
        let secs = b.at.duration_since(a.at).as_secs_f64();
        (b.cpu_ns.saturating_sub(a.cpu_ns)) as f64 / 1e9 / secs * 100.0
    };
    let mut cpu_max: f64 = 0.0;
    for (i, a) in samples.iter().enumerate() {
        if let Some(b) = samples[i..].iter().find(|b| b.at.duration_since(a.at) >= Duration::from_secs(1)) {
            cpu_max = cpu_max.max(pct(a, b));
        }
    }
    let cpu_mean = pct(first, last);
    Some(ServerUsage {
        cpu_pct_mean: cpu_mean,
        cpu_pct_max: if cpu_max > 0.0 { cpu_max } else { cpu_mean },
        cpu_limit_pct: cpu_limit * 100.0,
        memory_mean: samples.iter().map(|s| s.memory).sum::<u64>() / samples.len() as u64,
        memory_peak: samples.iter().map(|s| s.memory).max().unwrap_or(0),
        nr_throttled: last.nr_throttled.saturating_sub(first.nr_throttled),
        throttled_s: last.throttled_ns.saturating_sub(first.throttled_ns) as f64 / 1e9,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn summary_of_samples() {
        let t = Instant::now();
        let s = |ms: u64, cpu_ms: u64, memory: u64, thr: u64| Sample {
            at: t + Duration::from_millis(ms),
            cpu_ns: cpu_ms * 1_000_000,
            memory,
            nr_throttled: thr,
            throttled_ns: thr * 1_000_000,
        };
        // 0.5 CPU for the first second, 1.0 for the second.
        let samples = [s(0, 0, 10, 0), s(1000, 500, 30, 2), s(2000, 1500, 20, 5)];
        let u = summarize(&samples, 1.0).unwrap();
        assert!((u.cpu_pct_mean - 75.0).abs() < 1e-6, "{u:?}");
        assert!((u.cpu_pct_max - 100.0).abs() < 1e-6, "{u:?}");
        assert_eq!((u.memory_mean, u.memory_peak, u.nr_throttled), (20, 30, 5));
        assert!(summarize(&samples[..1], 1.0).is_none());
    }
}
