//! One generator thread: an epoll loop (mio) that owns its connections.
//!
//! Architecture invariant: nothing here is shared with other threads but the
//! read-only run description and one progress slot that only this thread
//! writes. Per request the loop makes one `write` and usually one `read`; the
//! request bytes are the same buffer every time, and over plain TCP no
//! allocation happens after the connections are set up (over TLS, rustls
//! buffers each record it encrypts).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::config::Arrivals;
use crate::config::{Config, Think};
use crate::http::{BodyMatch, Response, ResponseParser};
use crate::request::Prepared;
use crate::schedule::{Dispatch, Schedule};
use crate::session::Session;
use crate::stats::{ErrorKind, ThreadStats};
use crate::sys::{self, TimerFd};
use crate::template::Renderer;
use crate::tls::Stream;
use crate::LATE_AFTER;

const TIMER: Token = Token(usize::MAX);
/// The timers' mark for the thread's next Poisson arrival (`Dispatch`), beside connections' indexes.
const ARRIVAL: usize = usize::MAX;
/// The longest the loop sleeps, so that cancellation and progress stay prompt.
const MAX_WAIT: Duration = Duration::from_millis(50);
/// Pause before reconnecting after a failed connect, so that a dead port
/// costs a bounded number of attempts instead of a spin.
const RETRY_DELAY: Duration = Duration::from_millis(10);
const READ_BUF: usize = 64 * 1024;

/// The run as every thread sees it: read-only.
pub(crate) struct Shared {
    pub config: Config,
    /// `https://`: what every connection's TLS shares.
    pub tls: Option<TlsClient>,
    pub total_connections: usize,
    /// The kinds of request sent: a mix's, else the one.
    pub kinds: Vec<Prepared>,
    /// A mix's running sums of weights (empty without a mix): a draw below `weights[i]` sends kind `i`.
    pub weights: Vec<u64>,
    /// The run's instants, fixed once every thread's connections are established (`Worker::establish`).
    pub clock: Arc<OnceLock<Clock>>,
    /// Threads whose connections are established (or that could not start): the clock starts at all.
    pub established: AtomicUsize,
    pub cancelled: Arc<AtomicBool>,
    /// End now, as at the end of the window: the outcome an early stop waits for is certain, or every
    /// thread is done.
    pub finish: AtomicBool,
}

/// The client side of a run's TLS: its configuration, and the name the server's certificate must carry.
pub(crate) struct TlsClient {
    pub config: Arc<rustls::ClientConfig>,
    pub name: rustls::pki_types::ServerName<'static>,
}

/// Live counters of one thread, written only by it. Aligned so that threads
/// do not share a cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Slot {
    pub completed: AtomicU64,
    pub errors: AtomicU64,
    /// Measured responses, and of them those over the early stop's bound.
    pub measured: AtomicU64,
    pub over: AtomicU64,
}

/// Which connections and how many requests a thread gets.
pub(crate) struct Share {
    pub thread: usize,
    pub first_conn: usize,
    pub n_conns: usize,
    /// `RunLength::Requests`: how many measured requests this thread sends.
    pub quota: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No socket; a timer may be pending to open one.
    Closed,
    Connecting,
    /// Connected over TCP, the TLS handshake under way.
    Handshaking,
    /// Connected, nothing in flight (rate mode: waiting for the next send time).
    Idle,
    Writing,
    Reading,
    /// Finished for good (its thread's request quota is spent).
    Done,
}

/// What an epoll event reported for one socket.
#[derive(Debug, Clone, Copy)]
struct Wakeup {
    read: bool,
    write: bool,
    hup: bool,
}

impl Wakeup {
    fn of(event: &mio::event::Event) -> Wakeup {
        Wakeup {
            read: event.is_readable() || event.is_read_closed() || event.is_error(),
            write: event.is_writable() || event.is_error(),
            // EOF or an error is already queued behind any data: read on
            // past a short read, since no further edge will announce it.
            hup: event.is_read_closed() || event.is_error(),
        }
    }
}

struct Conn {
    stream: Option<Stream>,
    phase: Phase,
    parser: ResponseParser,
    body: BodyMatch,
    /// Bytes of the current send already written, and its length.
    written: usize,
    send_len: usize,
    in_flight: u32,
    /// With a request count: this connection holds one request of the quota,
    /// taken when it was opened so that no connection opens in vain (the last
    /// requests would otherwise open a connection per idle slot); given back
    /// if it closes before sending.
    reserved: bool,
    /// The requests in flight were sent in the measured window.
    measured: bool,
    /// The requests in flight passed their timeout and were counted as
    /// timeouts, once: when they passed it inside the measured window, or,
    /// sent in the warm-up and still unanswered, when the window opened (a
    /// request the server still holds is a timeout of the window whenever it
    /// was sent). Their responses, if they come, are late.
    timeout_counted: bool,
    sent_at: Instant,
    intended_at: Instant,
    connect_started: Instant,
    /// When its TCP connection was established (the TLS handshake's start).
    handshake_started: Instant,
    /// Rate mode: this connection's due times, and the next as an instant.
    schedule: Option<Schedule>,
    next_intended: Instant,
    /// Closed loop with think time: its user sends nothing before this.
    think_until: Instant,
    /// Which request it sends next, its bytes when rendered, what it captured.
    session: Session,
    /// HTTP/2: its request's stream (0: none open), and the status its response's headers gave.
    h2_stream: u32,
    h2_status: u16,
}

pub(crate) struct Worker<'a> {
    shared: &'a Shared,
    /// The run's clock once it started (`run`); until then a window already closed, so that nothing counts.
    clock: Clock,
    slot: &'a Slot,
    poll: Poll,
    conns: Vec<Conn>,
    buf: Box<[u8]>,
    stats: ThreadStats,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    timer: TimerFd,
    armed: Option<Instant>,
    quota: Option<u64>,
    n_retired: usize,
    completed_all: u64,
    /// The early stop's latency bound (µs; never passed without one), and the measured responses over it.
    over_bound: u64,
    over: u64,
    /// Rate mode (an open loop): requests are sent when due.
    open_loop: bool,
    /// Closed loop with users: their think time, drawn from this thread's own generator.
    think: Option<(Think, fastrand::Rng)>,
    /// Requests that draw values: this thread's draws.
    renderer: Option<Renderer>,
    /// Poisson arrivals: the thread's stream and its idle connections.
    dispatch: Option<Dispatch>,
    /// Closed loop: connections whose answers are all in, written together
    /// once the event batch is read. The server then gets requests in
    /// bursts, as from wrk, and wakes less often per request.
    to_send: Vec<usize>,
    /// HTTP/2: lanes (`conns`) per connection (0 with HTTP/1.1), the connections, those with frames to
    /// write, and a read's finished streams (kept for its allocation).
    streams: usize,
    mux: Vec<h2w::Mux>,
    to_flush: Vec<usize>,
    h2_done: Vec<h2w::Done>,
    /// The clock runs (`run`): lanes whose connection gets ready send at once.
    running: bool,
}

impl<'a> Worker<'a> {
    pub fn new(shared: &'a Shared, slot: &'a Slot, share: &Share) -> io::Result<Worker<'a>> {
        let poll = Poll::new()?;
        let timer = TimerFd::new()?;
        poll.registry().register(&mut SourceFd(&std::os::fd::AsRawFd::as_raw_fd(&timer)), TIMER, Interest::READABLE)?;
        let head_request = shared.config.is_head_request();
        let now = Instant::now();
        // HTTP/2: each connection's streams are the request slots (lanes), as connections are with HTTP/1.1.
        let streams = shared.config.http2.map_or(0, |h| h.streams as usize);
        let per_conn = streams.max(1);
        let total_slots = shared.total_connections * per_conn;
        let conns = (share.first_conn * per_conn..(share.first_conn + share.n_conns) * per_conn)
            .map(|global_idx| {
                // Constant arrivals: each slot its own schedule (Poisson ones are the thread's, `Dispatch`).
                let constant = shared.config.rate.filter(|_| shared.config.arrivals == Arrivals::Constant);
                let schedule = constant.map(|rate| Schedule::new(Arrivals::Constant, rate, total_slots, global_idx));
                Conn {
                    stream: None,
                    phase: Phase::Closed,
                    parser: ResponseParser::new(head_request),
                    body: BodyMatch::default(),
                    written: 0,
                    send_len: 0,
                    in_flight: 0,
                    reserved: false,
                    measured: false,
                    timeout_counted: false,
                    sent_at: now,
                    intended_at: now,
                    connect_started: now,
                    handshake_started: now,
                    schedule,
                    // Set when the clock starts (`run`).
                    next_intended: now,
                    think_until: now,
                    session: Session::default(),
                    h2_stream: 0,
                    h2_status: 0,
                }
            })
            .collect::<Vec<_>>();
        let mux = match streams {
            0 => Vec::new(),
            _ => (0..share.n_conns).map(|m| h2w::Mux::new(m * streams, now)).collect(),
        };
        Ok(Worker {
            shared,
            clock: Clock { t0: now, measure_start: now, end: Some(now) },
            slot,
            poll,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            stats: ThreadStats::new(shared.config.rate.is_some(), shared.weights.len()),
            timers: BinaryHeap::new(),
            timer,
            armed: None,
            quota: share.quota,
            n_retired: 0,
            completed_all: 0,
            over_bound: shared.config.early_stop.map_or(u64::MAX, |e| e.bound_us),
            over: 0,
            open_loop: shared.config.rate.is_some(),
            dispatch: match (shared.config.rate, shared.config.arrivals) {
                (Some(rate), Arrivals::Poisson { seed }) => {
                    let share_of_rate = rate * conns.len() as f64 / total_slots as f64;
                    Some(Dispatch::new(seed, share_of_rate, share.thread))
                }
                _ => None,
            },
            think: shared.config.think.map(|t| (t, fastrand::Rng::with_seed(t.seed ^ share.first_conn as u64))),
            renderer: (!shared.weights.is_empty() || shared.kinds.iter().any(|k| k.template.is_some()))
                .then(|| Renderer::new(shared.config.seed, share.thread, shared.config.n_threads)),
            to_send: Vec::with_capacity(conns.len()),
            conns,
            streams,
            mux,
            to_flush: Vec::new(),
            h2_done: Vec::new(),
            running: false,
        })
    }

    /// Runs on `clock` until the end of the run, cancellation, or (with a request count) until every
    /// request is answered; returns what was measured. Connections `establish` left open start sending
    /// at once, the others connect.
    pub fn run(mut self, clock: Clock) -> io::Result<ThreadStats> {
        self.clock = clock;
        self.running = true;
        let mut events = Events::with_capacity(1024);
        let timeout = self.shared.config.timeout;
        let scan_every = (timeout / 20).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let start = Instant::now();
        for idx in 0..self.conns.len() {
            let conn = &mut self.conns[idx];
            if let Some(schedule) = &conn.schedule {
                conn.next_intended = clock.t0 + Duration::from_nanos(schedule.next_ns() as u64);
            }
            match conn.phase {
                Phase::Idle => self.next_request(idx, start),
                Phase::Closed => self.connect(idx, start),
                _ => {}
            }
        }
        if let Some(dispatch) = &self.dispatch {
            self.timers.push(Reverse((self.timer_at(dispatch.next_ns()), ARRIVAL)));
        }
        let mut next_scan = start + scan_every;
        let stopped_at = loop {
            let now = Instant::now();
            if self.shared.cancelled.load(Ordering::Relaxed)
                || self.shared.finish.load(Ordering::Relaxed)
                || self.clock.end.is_some_and(|end| now >= end)
                || self.n_retired == self.conns.len()
            {
                break now;
            }
            self.fire_timers(now);
            if now >= next_scan {
                self.scan_timeouts(now);
                next_scan = now + scan_every;
            }
            self.publish();
            self.flush_muxes();
            self.arm_timer(now)?;
            let mut wait = next_scan.saturating_duration_since(now).min(MAX_WAIT);
            if let Some(end) = self.clock.end {
                wait = wait.min(end.saturating_duration_since(now));
            }
            match self.poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                if event.token() == TIMER {
                    self.timer.clear();
                    self.armed = None;
                    continue;
                }
                let ready = Wakeup::of(event);
                match event.token().0 {
                    m if m >= h2w::MUX_TOKEN => self.on_mux_event(m - h2w::MUX_TOKEN, ready),
                    idx => self.on_event(idx, ready),
                }
            }
            self.flush_sends();
        };
        self.publish();
        self.count_unsent(stopped_at);
        // Unanswered when the window closed, whenever they were sent: a request of the warm-up that a
        // stalled server still holds kept its connection from measuring anything.
        self.stats.in_flight_at_end = self
            .conns
            .iter()
            .filter(|c| matches!(c.phase, Phase::Writing | Phase::Reading))
            .map(|c| u64::from(c.in_flight))
            .sum();
        let (user, sys) = sys::thread_cpu_time();
        self.stats.cpu_user = user;
        self.stats.cpu_sys = sys;
        Ok(self.stats)
    }

    fn publish(&self) {
        self.slot.completed.store(self.completed_all, Ordering::Relaxed);
        self.slot.errors.store(self.stats.error_total(), Ordering::Relaxed);
        self.slot.measured.store(self.stats.requests, Ordering::Relaxed);
        self.slot.over.store(self.over, Ordering::Relaxed);
    }

    fn arm_timer(&mut self, now: Instant) -> io::Result<()> {
        if let Some(&Reverse((deadline, _))) = self.timers.peek() {
            if self.armed != Some(deadline) {
                self.timer.arm(deadline.saturating_duration_since(now))?;
                self.armed = Some(deadline);
            }
        }
        Ok(())
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((deadline, idx))) = self.timers.peek() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            if idx == ARRIVAL {
                self.arrive(now);
                continue;
            }
            match self.conns[idx].phase {
                Phase::Idle => self.next_request(idx, now),
                Phase::Closed => self.connect(idx, now),
                _ => {}
            }
        }
    }

    fn on_event(&mut self, idx: usize, ready: Wakeup) {
        match self.conns[idx].phase {
            Phase::Connecting => {
                let step = self.connected(idx);
                self.after_setup_step(idx, step);
            }
            Phase::Handshaking => {
                let step = self.shake(idx);
                self.after_setup_step(idx, step);
            }
            Phase::Writing => {
                if ready.write {
                    self.continue_write(idx);
                }
                if ready.read && matches!(self.conns[idx].phase, Phase::Writing | Phase::Reading) {
                    self.on_readable(idx, ready.hup);
                }
            }
            Phase::Reading | Phase::Idle => {
                // TLS: ciphertext of the request the socket did not take at once.
                if ready.write && self.conns[idx].stream.as_mut().is_some_and(|s| s.flush_pending().is_err()) {
                    return self.fail(idx, ErrorKind::Write);
                }
                if ready.read {
                    self.on_readable(idx, ready.hup);
                }
            }
            Phase::Closed | Phase::Done => {}
        }
    }

    /// Opens connection `idx`, unless the request quota is spent.
    fn connect(&mut self, idx: usize, now: Instant) {
        if self.quota == Some(0) {
            return self.retire(idx);
        }
        if let Some(quota) = self.quota.as_mut() {
            if now >= self.clock.measure_start {
                *quota -= 1;
                self.conns[idx].reserved = true;
            }
        }
        if let Err(kind) = self.open(idx, now) {
            self.fail(idx, kind);
        }
    }

    fn send(&mut self, idx: usize, now: Instant, intended: Instant) {
        let (shared, clock) = (self.shared, self.clock);
        let conn = &mut self.conns[idx];
        let measured = intended >= clock.measure_start || conn.reserved;
        let mut n_requests = shared.config.pipeline;
        if measured {
            if let Some(quota) = self.quota.as_mut() {
                // The reservation guarantees at least one request here.
                *quota += u64::from(std::mem::take(&mut conn.reserved));
                n_requests = n_requests.min(*quota as u32);
                *quota -= u64::from(n_requests);
            }
            self.stats.sent += u64::from(n_requests);
        }
        conn.measured = measured;
        conn.sent_at = now;
        conn.intended_at = intended;
        if let Some(schedule) = conn.schedule.as_mut() {
            schedule.advance();
            conn.next_intended = clock.t0 + Duration::from_nanos(schedule.next_ns() as u64);
        }
        if self.open_loop && measured && now.saturating_duration_since(intended) > LATE_AFTER {
            self.stats.late += 1;
        }
        conn.in_flight = n_requests;
        conn.written = 0;
        conn.send_len = conn.session.next(&shared.kinds, &shared.weights, self.renderer.as_mut(), n_requests);
        conn.phase = Phase::Writing;
        self.continue_write(idx);
    }

    fn continue_write(&mut self, idx: usize) {
        if self.streams > 0 {
            return self.submit(idx);
        }
        let conn = &mut self.conns[idx];
        let Some(stream) = conn.stream.as_mut() else {
            return;
        };
        let bytes = conn.session.bytes(&self.shared.kinds, conn.send_len);
        loop {
            match stream.write(&bytes[conn.written..]) {
                Ok(0) => return self.fail(idx, ErrorKind::Write),
                Ok(n) => {
                    conn.written += n;
                    if conn.written == bytes.len() {
                        conn.phase = Phase::Reading;
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(idx, ErrorKind::Write),
            }
        }
    }

    fn on_readable(&mut self, idx: usize, hup: bool) {
        loop {
            let conn = &mut self.conns[idx];
            let Some(stream) = conn.stream.as_mut() else {
                return;
            };
            let drains = stream.short_read_drains();
            let n = match stream.read(&mut self.buf) {
                Ok(0) => return self.on_eof(idx),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.fail(idx, ErrorKind::Read),
            };
            if conn.measured {
                self.stats.bytes_read += n as u64;
            }
            if !self.on_bytes(idx, n) {
                return;
            }
            // A short read drained the socket (epoll(7)): wait for the next edge. Not so over TLS, whose
            // reads end at a record while the socket may hold more.
            if n < self.buf.len() && !hup && drains {
                return;
            }
        }
    }

    /// Parses `self.buf[..n]`, then sends the next request if all answers
    /// are in; false when the connection was closed on the way.
    fn on_bytes(&mut self, idx: usize, n: usize) -> bool {
        let kinds = &self.shared.kinds;
        let finder = kinds[self.conns[idx].session.kind].body_finder.as_ref();
        let mut pos = 0;
        let mut completed_at = None;
        while pos < n {
            let conn = &mut self.conns[idx];
            if conn.in_flight == 0 {
                // Bytes nobody asked for: the next request is not written yet.
                self.fail(idx, ErrorKind::Parse);
                return false;
            }
            let Conn { parser, body, session, .. } = conn;
            let fed = parser.feed(&self.buf[pos..n], |chunk| {
                if let Some(finder) = finder {
                    body.feed(finder, chunk);
                }
                session.on_body(kinds, chunk);
            });
            match fed {
                Ok(progress) => {
                    pos += progress.consumed;
                    if let Some(response) = progress.complete {
                        let now = Instant::now();
                        if !self.on_response(idx, response, now) {
                            return false;
                        }
                        completed_at = Some(now);
                    }
                }
                Err(_) => {
                    self.fail(idx, ErrorKind::Parse);
                    return false;
                }
            }
        }
        if let Some(now) = completed_at {
            self.after_answers(idx, now);
        }
        true
    }

    /// Responses completed on `idx` at `now`: once all it sent are in, its next request (at once, after
    /// its user's think time, when due, or with this batch's others).
    fn after_answers(&mut self, idx: usize, now: Instant) {
        if self.conns[idx].in_flight == 0 {
            if self.open_loop {
                self.next_request(idx, now);
            } else if self.think.is_some() {
                self.think(idx, now);
                self.next_request(idx, now);
            } else {
                self.conns[idx].phase = Phase::Idle;
                self.to_send.push(idx);
            }
        }
    }

    /// Writes the next request on every connection queued in this batch that
    /// is still idle (one clock read for all of them).
    fn flush_sends(&mut self) {
        if self.to_send.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut queued = std::mem::take(&mut self.to_send);
        for &idx in &queued {
            // Closed (and maybe reconnecting) since it was queued: its restart took over.
            if self.conns[idx].phase == Phase::Idle {
                self.next_request(idx, now);
            }
        }
        queued.clear();
        self.to_send = queued;
    }

    /// A response completed at `now`; false when that closed the connection.
    /// The caller sends the next request once the read is fully parsed.
    fn on_response(&mut self, idx: usize, response: Response, now: Instant) -> bool {
        let shared = self.shared;
        let in_window = self.in_window(now);
        let conn = &mut self.conns[idx];
        conn.in_flight -= 1;
        self.completed_all += 1;
        let body_found = conn.body.take();
        let kind = &shared.kinds[conn.session.kind];
        let status_ok = match kind.config.expect.status {
            Some(want) => response.status == want,
            None => (200..400).contains(&response.status),
        };
        let failed = if !status_ok {
            Some(ErrorKind::Status)
        } else if kind.body_finder.is_some() && !body_found {
            Some(ErrorKind::Body)
        } else {
            None
        };
        // Every response completed inside the window counts, as wrk counts it, whenever its request
        // was sent: a server whose queue is longer than the window still completes its req/s there.
        let measure_start = self.clock.measure_start;
        if in_window && now >= measure_start {
            let raw_us = now.saturating_duration_since(conn.sent_at).as_micros() as u64;
            let (latency_us, raw) = if self.open_loop {
                (now.saturating_duration_since(conn.intended_at).as_micros() as u64, Some(raw_us))
            } else {
                (raw_us, None)
            };
            // A late response is completed, with its real latency (it was counted as a timeout too).
            self.stats.record_response(now, measure_start, latency_us, raw);
            self.over += u64::from(latency_us > self.over_bound);
            self.stats.late_responses += u64::from(conn.timeout_counted);
            if let Some(error) = failed {
                self.stats.record_errors(error, 1, now, measure_start);
            } else if latency_us <= shared.config.timeout.as_micros() as u64 {
                self.stats.good += 1;
            }
            self.stats.record_kind(conn.session.kind, Some(latency_us), u64::from(failed.is_some()));
        }
        // What it captures is kept whenever it came (a login in the warm-up serves the window).
        conn.session.on_response(&shared.kinds, failed.is_none());
        if conn.in_flight > 0 {
            return true;
        }
        conn.timeout_counted = false;
        if response.close || !shared.config.keepalive {
            self.close(idx);
            // A user who thinks opens the next connection when done thinking.
            let wait = self.think(idx, now);
            self.restart(idx, now, wait);
            return false;
        }
        true
    }

    /// Figures count only inside the measured window; what completes after
    /// its end is dropped, as wrk drops the requests in flight at the end.
    fn in_window(&self, now: Instant) -> bool {
        self.clock.end.is_none_or(|end| now < end)
    }

    fn on_eof(&mut self, idx: usize) {
        if let Some(response) = self.conns[idx].parser.finish() {
            // A close-delimited body: the response always closes the connection.
            if self.conns[idx].in_flight > 0 && !self.on_response(idx, response, Instant::now()) {
                return;
            }
        }
        if self.conns[idx].in_flight > 0 {
            self.fail(idx, ErrorKind::Read);
        } else {
            // The server closed an idle connection: not an error.
            self.close(idx);
            self.restart(idx, Instant::now(), Duration::ZERO);
        }
    }

    /// Counts a failure of connection `idx`, closes it and opens a new one.
    fn fail(&mut self, idx: usize, kind: ErrorKind) {
        let now = Instant::now();
        let measure_start = self.clock.measure_start;
        let conn = &self.conns[idx];
        let handshaking = conn.phase == Phase::Handshaking;
        // Requests that timed out were counted then, once.
        let counted = now >= measure_start && !conn.timeout_counted && self.in_window(now);
        let (count, delay) = match kind {
            ErrorKind::Connect | ErrorKind::AddrUnavailable => {
                (u64::from(now >= measure_start && self.in_window(now)), RETRY_DELAY)
            }
            ErrorKind::Parse if counted => (u64::from(conn.in_flight.max(1)), Duration::ZERO),
            _ if counted => (u64::from(conn.in_flight), Duration::ZERO),
            _ => (0, Duration::ZERO),
        };
        self.stats.record_errors(kind, count, now, measure_start);
        if handshaking && kind == ErrorKind::Connect {
            connect::count_tls_failure(&mut self.stats, count);
        }
        if !matches!(kind, ErrorKind::Connect | ErrorKind::AddrUnavailable) {
            self.stats.record_kind(conn.session.kind, None, count);
        }
        self.close(idx);
        self.restart(idx, now, delay);
    }

    fn close(&mut self, idx: usize) {
        if self.streams > 0 {
            self.close_lane(idx);
        }
        let conn = &mut self.conns[idx];
        if std::mem::take(&mut conn.reserved) {
            if let Some(quota) = self.quota.as_mut() {
                *quota += 1;
            }
        }
        // Closing the descriptor also removes it from epoll: no deregister call needed.
        conn.stream = None;
        conn.session.restart();
        conn.parser.reset();
        conn.body.take();
        conn.in_flight = 0;
        conn.timeout_counted = false;
        conn.written = 0;
        conn.phase = Phase::Closed;
    }

    fn retire(&mut self, idx: usize) {
        if self.conns[idx].phase != Phase::Done {
            self.close(idx);
            self.conns[idx].phase = Phase::Done;
            self.n_retired += 1;
        }
    }
}

#[path = "worker_timing.rs"]
mod timing;

#[path = "worker_start.rs"]
mod start;

#[path = "worker_connect.rs"]
mod connect;

#[path = "worker_h2.rs"]
mod h2w;
pub(crate) use start::Clock;

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
