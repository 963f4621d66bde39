//! HTTP/2 in the worker: each of a thread's connections (`Mux`) carries `streams` request slots, which
//! are the worker's `Conn`s as with HTTP/1.1 (here called lanes), each with one stream at a time.
//!
//! Invariant: an HTTP/2 lane never has a socket (`Conn::stream` stays `None`); its `Mux` reads and writes
//! for all its lanes, and a lane lives as an HTTP/1.1 connection does (its schedule, session, timing,
//! timeouts and errors), so the rest of the worker treats both alike. Requests queued on a connection
//! are written together once per loop (`flush_muxes`): one write for all the streams a batch opened.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use mio::Token;

use super::connect::{count_tls_failure, tcp_ready, tls_step};
use super::{Phase, Wakeup, Worker, RETRY_DELAY};
use crate::h2::{self, Blocked, Event, StreamFailure};
use crate::http::Response;
use crate::stats::{ErrorKind, H2Stats};
use crate::tls::Stream;

/// Why a connection may end before its server's SETTINGS came.
const NOT_H2C: &str = "it may not speak HTTP/2 (over plain TCP, it must take it with prior knowledge: h2c)";

/// Tokens of HTTP/2 connections start here (lanes' tokens are their indexes, below it).
pub(super) const MUX_TOKEN: usize = 1 << 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MuxPhase {
    Closed,
    Connecting,
    Handshaking,
    /// Connected (and TLS done): the preface is out, the server's first SETTINGS not in yet.
    Starting,
    Ready,
}

/// One HTTP/2 connection of a thread and its lanes.
pub(super) struct Mux {
    stream: Option<Stream>,
    pub phase: MuxPhase,
    h2: Option<Box<h2::Connection>>,
    /// Bytes of `h2.out` already written.
    written: usize,
    /// Queued in `Worker::to_flush`.
    queued: bool,
    /// Its lanes are `first..first + n` of the worker's `conns`.
    first: usize,
    /// Lanes whose request waits for a stream (the server's limit, or its SETTINGS not in yet).
    waiting: VecDeque<usize>,
    pub connect_started: Instant,
    handshake_started: Instant,
}

impl Mux {
    pub fn new(first: usize, now: Instant) -> Mux {
        Mux {
            stream: None,
            phase: MuxPhase::Closed,
            h2: None,
            written: 0,
            queued: false,
            first,
            waiting: VecDeque::new(),
            connect_started: now,
            handshake_started: now,
        }
    }
}

/// What a read brought for a lane, acted on once the connection's state is back in place.
#[derive(Debug)]
pub(super) enum Done {
    Answered(usize),
    Failed(usize, StreamFailure),
}

impl Worker<'_> {
    /// The HTTP/2 connection lane `idx` belongs to (`None` with HTTP/1.1).
    pub(super) fn mux_of(&self, idx: usize) -> Option<usize> {
        (self.streams > 0).then(|| idx / self.streams)
    }

    fn lanes(&self, m: usize) -> std::ops::Range<usize> {
        let first = self.mux[m].first;
        first..first + self.streams
    }

    /// Lane `idx` wants to send: at once if its connection is ready, else once it is (connecting it).
    pub(super) fn open_lane(&mut self, idx: usize, m: usize, now: Instant) -> Result<(), ErrorKind> {
        self.conns[idx].connect_started = now;
        match self.mux[m].phase {
            MuxPhase::Ready => {
                self.conns[idx].phase = Phase::Idle;
                self.timers.push(Reverse((now, idx)));
            }
            MuxPhase::Closed => {
                self.conns[idx].phase = Phase::Connecting;
                let stream = self.dial(Token(MUX_TOKEN + m))?;
                let settings = self.shared.config.http2.unwrap_or_default().windows;
                let mux = &mut self.mux[m];
                *mux = Mux {
                    stream: Some(stream),
                    phase: MuxPhase::Connecting,
                    connect_started: now,
                    ..Mux::new(mux.first, now)
                };
                mux.h2 = Some(Box::new(h2::Connection::new(settings)));
            }
            _ => self.conns[idx].phase = Phase::Connecting,
        }
        Ok(())
    }

    /// An event on connection `m`.
    pub(super) fn on_mux_event(&mut self, m: usize, ready: Wakeup) {
        let step = match self.mux[m].phase {
            MuxPhase::Closed => return,
            MuxPhase::Connecting => self.mux_connected(m),
            MuxPhase::Handshaking => self.mux_shake(m),
            MuxPhase::Starting | MuxPhase::Ready => Ok(()),
        };
        if let Err(kind) = step {
            return self.mux_fail(m, kind);
        }
        if matches!(self.mux[m].phase, MuxPhase::Starting | MuxPhase::Ready) {
            if ready.write {
                self.flush_mux(m);
            }
            if ready.read {
                self.mux_readable(m, ready.hup);
            }
        }
    }

    fn mux_connected(&mut self, m: usize) -> Result<(), ErrorKind> {
        let Some(stream) = self.mux[m].stream.as_ref() else { return Ok(()) };
        if !tcp_ready(stream)? {
            return Ok(());
        }
        if self.shared.tls.is_some() {
            self.mux[m].phase = MuxPhase::Handshaking;
            self.mux[m].handshake_started = Instant::now();
            return self.mux_shake(m);
        }
        self.mux_started(m);
        Ok(())
    }

    fn mux_shake(&mut self, m: usize) -> Result<(), ErrorKind> {
        let counted = self.counts_now();
        let mux = &mut self.mux[m];
        let Some(stream) = mux.stream.as_mut() else { return Ok(()) };
        if tls_step(&mut self.stats, counted, stream, mux.handshake_started, true)? {
            self.mux_started(m);
        }
        Ok(())
    }

    /// Connected: the preface goes out; streams open once the server's SETTINGS are in.
    fn mux_started(&mut self, m: usize) {
        self.mux[m].phase = MuxPhase::Starting;
        self.queue_flush(m);
    }

    /// Reads what connection `m` has, and acts on it per lane.
    fn mux_readable(&mut self, m: usize, hup: bool) {
        loop {
            let Some(stream) = self.mux[m].stream.as_mut() else { return };
            let drains = stream.short_read_drains();
            let n = match stream.read(&mut self.buf) {
                Ok(0) => return self.mux_eof(m),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.mux_fail(m, ErrorKind::Read),
            };
            if self.counts_now() {
                self.stats.bytes_read += n as u64;
            }
            let (Some(mut conn), buf) = (self.mux[m].h2.take(), std::mem::take(&mut self.buf)) else { return };
            let mut done = std::mem::take(&mut self.h2_done);
            let (mut opened, mut goaway) = (false, None);
            let result = conn.on_bytes(&buf[..n], &mut |event| match event {
                Event::Status { tag, status } => self.conns[tag as usize].h2_status = status,
                Event::Data { tag, data } => self.on_body(tag as usize, data),
                Event::End { tag } => done.push(Done::Answered(tag as usize)),
                Event::Failed { tag, failure } => done.push(Done::Failed(tag as usize, failure)),
                Event::Opened => opened = true,
                Event::GoAway { code, debug } => goaway = Some((code, debug.to_vec())),
            });
            let started = conn.started();
            self.buf = buf;
            self.mux[m].h2 = Some(conn);
            if let Some(max) = self.mux[m].h2.as_ref().filter(|c| c.started()).map(|c| c.max_streams()) {
                let stats = self.h2_stats();
                stats.server_max_streams = stats.server_max_streams.max(Some(max));
            }
            if let Err(e) = result {
                self.h2_done = done;
                self.h2_done.clear();
                self.h2_error(|| e.to_string());
                // Before the server's SETTINGS, the connection was never usable: a connect error, once.
                let kind = if self.mux[m].phase == MuxPhase::Starting { ErrorKind::Connect } else { ErrorKind::Parse };
                return self.mux_fail(m, kind);
            }
            if let Some((code, debug)) = goaway.as_ref().filter(|(code, _)| *code != h2::code::NO_ERROR) {
                let (code, debug) = (*code, String::from_utf8_lossy(debug).into_owned());
                self.h2_error(|| format!("the server ended a connection with {} ({debug})", h2::code::name(code)));
            }
            if started && self.mux[m].phase == MuxPhase::Starting {
                self.mux_ready(m);
            }
            let now = Instant::now();
            for outcome in done.drain(..) {
                self.on_stream_done(m, outcome, now);
            }
            self.h2_done = done;
            if opened || goaway.is_some() || !self.mux[m].waiting.is_empty() {
                self.submit_waiting(m);
            }
            if self.mux[m].h2.as_ref().is_some_and(|c| c.going_away() && c.open_streams() == 0) {
                // The server is done with this connection (GOAWAY) and nothing is left on it: a new one.
                return self.mux_close(m, None);
            }
            // A short read drained the socket (epoll(7)); not so over TLS (see `Worker::on_readable`).
            if n < self.buf.len() && !hup && drains {
                break;
            }
        }
        self.queue_flush(m);
    }

    /// Part of a lane's response body: its checks and captures see it.
    fn on_body(&mut self, idx: usize, data: &[u8]) {
        let kinds = &self.shared.kinds;
        let conn = &mut self.conns[idx];
        if let Some(finder) = kinds[conn.session.kind].body_finder.as_ref() {
            conn.body.feed(finder, data);
        }
        conn.session.on_body(kinds, data);
    }

    fn on_stream_done(&mut self, m: usize, outcome: Done, now: Instant) {
        match outcome {
            Done::Answered(idx) => {
                self.conns[idx].h2_stream = 0;
                let response = Response { status: self.conns[idx].h2_status, close: false };
                if self.on_response(idx, response, now) {
                    self.after_answers(idx, now);
                }
            }
            // Never processed (the server's GOAWAY came first): sent again, on a new connection.
            Done::Failed(idx, StreamFailure::Refused) => {
                self.conns[idx].h2_stream = 0;
                self.mux[m].waiting.push_back(idx);
                if self.counts_now() {
                    self.h2_stats().retried += 1;
                }
            }
            Done::Failed(idx, failure) => {
                self.conns[idx].h2_stream = 0;
                let kind = match failure {
                    StreamFailure::Malformed(why) => {
                        self.h2_error(|| format!("a malformed response: {why}"));
                        ErrorKind::Parse
                    }
                    StreamFailure::Reset(code) => {
                        if self.counts_now() {
                            self.h2_stats().resets += 1;
                        }
                        self.h2_error(|| format!("the server reset a stream with {}", h2::code::name(code)));
                        ErrorKind::Read
                    }
                    StreamFailure::Refused => unreachable!("matched above"),
                };
                self.fail(idx, kind);
            }
        }
    }

    /// The server's SETTINGS are in: the lanes waiting for the connection start.
    fn mux_ready(&mut self, m: usize) {
        self.mux[m].phase = MuxPhase::Ready;
        let now = Instant::now();
        for idx in self.lanes(m) {
            if self.conns[idx].phase == Phase::Connecting {
                self.conns[idx].phase = Phase::Idle;
                if self.running {
                    self.next_request(idx, now);
                }
            }
        }
    }

    /// Lane `idx`'s request (prepared by `send`) on a new stream, or in line for one.
    pub(super) fn submit(&mut self, idx: usize) {
        let m = idx / self.streams;
        let (shared, conn) = (self.shared, &mut self.conns[idx]);
        let kind = &shared.kinds[conn.session.kind];
        let mux = &mut self.mux[m];
        let Some(h2) = mux.h2.as_mut().filter(|_| mux.phase == MuxPhase::Ready) else {
            return mux.waiting.push_back(idx);
        };
        let rendered;
        let request = match &kind.h2 {
            Some(request) => request,
            None => {
                match h2::encode_request(conn.session.bytes(&shared.kinds, conn.send_len), shared.config.target.tls) {
                    Ok(request) => {
                        rendered = request;
                        &rendered
                    }
                    Err(_) => return self.fail(idx, ErrorKind::Write),
                }
            }
        };
        match h2.open(idx as u32, request) {
            Ok(id) => {
                conn.h2_stream = id;
                conn.phase = Phase::Reading;
                self.queue_flush(m);
            }
            Err(Blocked::BodyTooLarge) => self.fail(idx, ErrorKind::Write),
            Err(Blocked::Starting | Blocked::Streams | Blocked::Window | Blocked::GoingAway) => {
                mux.waiting.push_back(idx)
            }
        }
    }

    /// Opens streams for the lanes in line, while the connection takes them.
    fn submit_waiting(&mut self, m: usize) {
        while let Some(idx) = self.mux[m].waiting.pop_front() {
            if self.conns[idx].phase != Phase::Writing {
                continue;
            }
            self.submit(idx);
            if self.conns[idx].phase == Phase::Writing {
                // Put back in line (at its place): the connection takes no more for now.
                if let Some(last) = self.mux[m].waiting.pop_back() {
                    debug_assert_eq!(last, idx);
                }
                self.mux[m].waiting.push_front(idx);
                break;
            }
        }
    }

    /// Writes connection `m`'s queued frames once this loop's batch is done.
    pub(super) fn queue_flush(&mut self, m: usize) {
        if !self.mux[m].queued {
            self.mux[m].queued = true;
            self.to_flush.push(m);
        }
    }

    /// Writes every connection's queued frames (one write for all that a batch queued on it).
    pub(super) fn flush_muxes(&mut self) {
        let mut queued = std::mem::take(&mut self.to_flush);
        for &m in &queued {
            self.mux[m].queued = false;
            self.flush_mux(m);
        }
        queued.clear();
        self.to_flush = queued;
    }

    fn flush_mux(&mut self, m: usize) {
        let mux = &mut self.mux[m];
        let (Some(stream), Some(h2)) = (mux.stream.as_mut(), mux.h2.as_mut()) else { return };
        if stream.flush_pending().is_err() {
            return self.mux_fail(m, ErrorKind::Write);
        }
        while mux.written < h2.out.len() {
            match stream.write(&h2.out[mux.written..]) {
                Ok(0) => return self.mux_fail(m, ErrorKind::Write),
                Ok(n) => mux.written += n,
                // The rest goes when the socket is writable again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.mux_fail(m, ErrorKind::Write),
            }
        }
        h2.out.clear();
        mux.written = 0;
    }

    /// Lane `idx` is done with its stream (ended, failed, abandoned): a stream still open is cancelled.
    pub(super) fn close_lane(&mut self, idx: usize) {
        let m = idx / self.streams;
        let id = std::mem::take(&mut self.conns[idx].h2_stream);
        if let Some(h2) = self.mux[m].h2.as_mut().filter(|_| id != 0) {
            h2.cancel(id);
            self.queue_flush(m);
        }
        if self.conns[idx].phase == Phase::Writing {
            self.mux[m].waiting.retain(|&l| l != idx);
        }
    }

    fn mux_eof(&mut self, m: usize) {
        if self.mux[m].phase == MuxPhase::Starting {
            self.h2_error(|| format!("the server closed the connection before its HTTP/2 SETTINGS: {NOT_H2C}"));
            return self.mux_fail(m, ErrorKind::Connect);
        }
        let busy = self.lanes(m).any(|idx| matches!(self.conns[idx].phase, Phase::Writing | Phase::Reading));
        match busy {
            true => self.mux_fail(m, ErrorKind::Read),
            // The server closed an idle connection: not an error.
            false => self.mux_close(m, None),
        }
    }

    /// Connection `m` failed: its lanes' requests in flight fail with `kind`; a failed connect or
    /// handshake counts once, not once per lane.
    pub(super) fn mux_fail(&mut self, m: usize, kind: ErrorKind) {
        self.mux_close(m, Some(kind));
    }

    /// Closes connection `m`; its lanes start again (on a new connection). With `failure`, what they had
    /// in flight failed.
    fn mux_close(&mut self, m: usize, failure: Option<ErrorKind>) {
        let now = Instant::now();
        let first = self.mux[m].first;
        let handshaking = self.mux[m].phase == MuxPhase::Handshaking;
        self.mux[m] = Mux::new(first, now);
        let connect = matches!(failure, Some(ErrorKind::Connect | ErrorKind::AddrUnavailable));
        if let (true, Some(kind)) = (connect, failure) {
            let count = u64::from(self.counts_now());
            self.stats.record_errors(kind, count, now, self.clock.measure_start);
            if handshaking && kind == ErrorKind::Connect {
                count_tls_failure(&mut self.stats, count);
            }
        }
        let delay = if connect { RETRY_DELAY } else { Duration::ZERO };
        for idx in self.lanes(m) {
            match (self.conns[idx].phase, failure) {
                (Phase::Writing | Phase::Reading, Some(kind)) if !connect => {
                    self.conns[idx].h2_stream = 0;
                    self.fail(idx, kind);
                }
                (Phase::Closed | Phase::Done, _) => {}
                // Before the clock: left closed, the run opens it again (`Worker::establish`).
                _ if !self.running => {
                    self.conns[idx].h2_stream = 0;
                    self.close(idx);
                }
                _ => {
                    self.conns[idx].h2_stream = 0;
                    self.close(idx);
                    self.restart(idx, now, delay);
                }
            }
        }
    }

    fn h2_stats(&mut self) -> &mut H2Stats {
        self.stats.h2.get_or_insert_with(Box::default)
    }

    /// Keeps the words of the run's first HTTP/2 error.
    fn h2_error(&mut self, words: impl FnOnce() -> String) {
        let stats = self.h2_stats();
        if stats.first_error.is_none() {
            stats.first_error = Some(words());
        }
    }

    /// Connections still connecting (or handshaking, or waiting for SETTINGS) past the timeout fail.
    pub(super) fn scan_muxes(&mut self, now: Instant) {
        let timeout = self.shared.config.timeout;
        for m in 0..self.mux.len() {
            let mux = &self.mux[m];
            let setting_up = matches!(mux.phase, MuxPhase::Connecting | MuxPhase::Handshaking | MuxPhase::Starting);
            if setting_up && now.saturating_duration_since(mux.connect_started) > timeout {
                if mux.phase == MuxPhase::Starting {
                    self.h2_error(|| format!("the server sent no HTTP/2 SETTINGS within {timeout:?}: {NOT_H2C}"));
                }
                self.mux_fail(m, ErrorKind::Connect);
            }
        }
    }
}
