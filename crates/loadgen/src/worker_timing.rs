//! When a connection sends next: at once (closed loop), after its user's think time, at its constant
//! schedule's due time, or on the thread's Poisson arrivals (`Dispatch`); what was due but never sent;
//! and what becomes of requests that outlive the timeout.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::{Phase, Worker, ARRIVAL};
use crate::config::RunLength;
use crate::schedule::{self, Dispatch};
use crate::stats::ErrorKind;

impl Worker<'_> {
    /// Connection `idx` is connected and idle: send now, or (rate mode) when
    /// the next request is due.
    pub(super) fn next_request(&mut self, idx: usize, now: Instant) {
        if self.quota == Some(0) && !self.conns[idx].reserved {
            return self.retire(idx);
        }
        let conn = &mut self.conns[idx];
        if let Some(dispatch) = self.dispatch.as_mut() {
            conn.phase = Phase::Idle;
            if let Some(due) = dispatch.free(idx) {
                self.send(idx, now, self.clock.t0 + Duration::from_nanos(due as u64));
            }
        } else if self.open_loop {
            let due = conn.next_intended;
            if due > now {
                conn.phase = Phase::Idle;
                self.timers.push(Reverse((due, idx)));
                return;
            }
            self.send(idx, now, due);
        } else if conn.think_until > now {
            conn.phase = Phase::Idle;
            self.timers.push(Reverse((conn.think_until, idx)));
        } else {
            self.send(idx, now, now);
        }
    }

    /// Poisson arrivals due by `now`: each sent on an idle connection (the rest wait for one), then the
    /// timer set for the next.
    pub(super) fn arrive(&mut self, now: Instant) {
        let now_ns = now.saturating_duration_since(self.clock.t0).as_nanos() as f64;
        loop {
            let conns = &self.conns;
            // An HTTP/2 lane is idle only while its connection is ready.
            let h2 = self.streams > 0;
            let usable = |i: usize| conns[i].phase == Phase::Idle && (h2 || conns[i].stream.is_some());
            let Some((due, idx)) = self.dispatch.as_mut().and_then(|d| d.due(now_ns, usable)) else { break };
            self.send(idx, now, self.at(due));
        }
        if let Some(next) = self.dispatch.as_ref().map(Dispatch::next_ns) {
            self.timers.push(Reverse((self.timer_at(next), ARRIVAL)));
        }
    }

    /// The instant `ns` nanoseconds after the run's start (to the nanosecond below: a due time, past).
    pub(super) fn at(&self, ns: f64) -> Instant {
        self.clock.t0 + Duration::from_nanos(ns as u64)
    }

    /// The timer for what is due `ns` nanoseconds after the run's start: the nanosecond above, so that
    /// it fires only once the arrival is due. (Rounded down, an arrival due within a nanosecond after
    /// `now` set a timer at `now`, which fired at once, found nothing due and set it again, forever: the
    /// thread spun at a full CPU and never saw its end. A Poisson probe at 10k req/s hung so.)
    pub(super) fn timer_at(&self, ns: f64) -> Instant {
        schedule::instant_after(self.clock.t0, ns)
    }

    /// Closed loop with users: connection `idx`'s user thinks from `now` on; how long.
    pub(super) fn think(&mut self, idx: usize, now: Instant) -> Duration {
        let Some((think, rng)) = self.think.as_mut() else {
            return Duration::ZERO;
        };
        let wait = schedule::think_time(think, rng);
        self.conns[idx].think_until = now + wait;
        wait
    }

    /// Gets a closed connection going again: reconnect after `delay`, or in
    /// rate mode when its next request is due, whichever is later.
    pub(super) fn restart(&mut self, idx: usize, now: Instant, delay: Duration) {
        if self.quota == Some(0) {
            return self.retire(idx);
        }
        let mut at = now + delay;
        if self.open_loop {
            at = at.max(self.conns[idx].next_intended);
        }
        if at <= now {
            self.connect(idx, now);
        } else {
            self.timers.push(Reverse((at, idx)));
        }
    }

    /// Rate mode: requests whose intended time fell in the measured window
    /// (up to `stopped_at`) but that were never written.
    pub(super) fn count_unsent(&mut self, stopped_at: Instant) {
        if !matches!(self.shared.config.stop, RunLength::Duration(_)) {
            return;
        }
        let window_end = self.clock.end.map_or(stopped_at, |end| end.min(stopped_at));
        let from_t0 = |t: Instant| t.saturating_duration_since(self.clock.t0).as_nanos() as f64;
        let (lo, hi) = (from_t0(self.clock.measure_start), from_t0(window_end));
        for schedule in self.conns.iter().filter_map(|c| c.schedule.as_ref()) {
            self.stats.unsent += schedule.unsent_between(lo, hi);
        }
        self.stats.unsent += self.dispatch.as_ref().map_or(0, |d| d.unsent_between(lo, hi));
    }

    /// Counts requests older than the timeout as timeouts (once; their
    /// connection stays open), abandons those older than the give-up bound
    /// (their connection is closed and reopened), and fails connects pending
    /// longer than the timeout.
    pub(super) fn scan_timeouts(&mut self, now: Instant) {
        let timeout = self.shared.config.timeout;
        let give_up = self.shared.config.give_up();
        for idx in 0..self.conns.len() {
            let conn = &self.conns[idx];
            match conn.phase {
                Phase::Writing | Phase::Reading => {
                    let age = now.saturating_duration_since(conn.sent_at);
                    if age > timeout && !conn.timeout_counted {
                        self.time_out(idx, now);
                    }
                    if age > give_up {
                        self.abandon(idx, now);
                    }
                }
                // An HTTP/2 lane waits for its connection, which has a timeout of its own (`scan_muxes`).
                Phase::Connecting | Phase::Handshaking
                    if self.streams == 0 && now.saturating_duration_since(conn.connect_started) > timeout =>
                {
                    self.fail(idx, ErrorKind::Connect)
                }
                _ => {}
            }
        }
        self.scan_muxes(now);
    }

    /// The requests in flight on `idx` passed their timeout: kept waiting
    /// for, and counted once, as soon as the measured window is open (until
    /// then, every scan finds them again).
    pub(super) fn time_out(&mut self, idx: usize, now: Instant) {
        let window_open = now >= self.clock.measure_start && self.in_window(now);
        let conn = &mut self.conns[idx];
        if window_open {
            conn.timeout_counted = true;
            let n = u64::from(conn.in_flight);
            self.stats.record_errors(ErrorKind::Timeout, n, now, self.clock.measure_start);
            self.stats.record_kind(conn.session.kind, None, n);
        }
    }

    /// The requests in flight on `idx` passed the give-up bound: the
    /// connection is closed and a new one opened.
    pub(super) fn abandon(&mut self, idx: usize, now: Instant) {
        if now >= self.clock.measure_start && self.in_window(now) {
            self.stats.abandoned += u64::from(self.conns[idx].in_flight);
        }
        self.close(idx);
        self.restart(idx, now, Duration::ZERO);
    }
}
