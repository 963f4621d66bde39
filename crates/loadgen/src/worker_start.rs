//! Before the clock starts: a thread opens all its connections and waits until they are established, so
//! that the connect storm (and the listen backlog's dropped SYNs, sent again after 1 s and 3 s) falls
//! before the warm-up rather than in the measured window.

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::Events;

use super::{Phase, Worker, TIMER};
use crate::config::{Config, RunLength};

/// When a run's load starts (`t0`: due times count from it), its measured window opens, and it ends
/// (with a request count, when the last is answered).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub t0: Instant,
    pub measure_start: Instant,
    pub end: Option<Instant>,
}

impl Clock {
    /// The clock of `config`'s run, its load starting at `t0`.
    pub fn starting(t0: Instant, config: &Config) -> Clock {
        let measure_start = t0 + config.warmup;
        let end = match config.stop {
            RunLength::Duration(d) => Some(measure_start + d),
            RunLength::Requests(_) => None,
        };
        Clock { t0, measure_start, end }
    }
}

/// How long a thread waits for its connections before the run starts without those still pending (they go
/// on connecting in the run, and fail at its timeout): past a SYN's second retry.
pub(crate) const ESTABLISH_AT_MOST: Duration = Duration::from_secs(5);

impl Worker<'_> {
    /// Opens every connection and waits until none is still connecting (nor in its TLS handshake), for at most `ESTABLISH_AT_MOST`
    /// (or the run's timeout, when longer) or until the run is cancelled. A connection refused or reset
    /// is left closed: the run opens it again, and counts its failure if it fails again in the window.
    pub fn establish(&mut self) -> io::Result<()> {
        let start = Instant::now();
        let deadline = start + ESTABLISH_AT_MOST.max(self.shared.config.timeout);
        for idx in 0..self.conns.len() {
            if self.open(idx, start).is_err() {
                self.close(idx);
            }
        }
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            let pending = self.conns.iter().any(|c| matches!(c.phase, Phase::Connecting | Phase::Handshaking));
            if !pending || now >= deadline || self.shared.cancelled.load(Ordering::Relaxed) {
                return Ok(());
            }
            self.flush_muxes();
            match self.poll.poll(&mut events, Some((deadline - now).min(super::MAX_WAIT))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                let idx = event.token().0;
                if idx >= super::h2w::MUX_TOKEN && event.token() != TIMER {
                    self.on_mux_event(idx - super::h2w::MUX_TOKEN, super::Wakeup::of(event));
                    continue;
                }
                let step = match event.token() {
                    TIMER => continue,
                    _ => match self.conns[idx].phase {
                        Phase::Connecting => self.connected(idx),
                        Phase::Handshaking => self.shake(idx),
                        _ => continue,
                    },
                };
                if step.is_err() {
                    self.close(idx);
                }
            }
        }
    }
}
