//! Opening a connection: its TCP socket, then (for `https://`) its TLS handshake, before the first request.
//! The steps are the same for an HTTP/1.1 connection (a `Conn`) and an HTTP/2 one (a `Mux`): `dial`,
//! `tcp_ready`, `tls_step`.

use std::io;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::{Phase, Worker};
use crate::stats::{ErrorKind, ThreadStats, TlsStats};
use crate::tls::Stream;

impl Worker<'_> {
    /// Starts connecting `idx`'s socket (`Phase::Connecting`); an HTTP/2 slot asks its connection instead.
    pub(super) fn open(&mut self, idx: usize, now: Instant) -> Result<(), ErrorKind> {
        if let Some(m) = self.mux_of(idx) {
            return self.open_lane(idx, m, now);
        }
        let stream = self.dial(Token(idx))?;
        let conn = &mut self.conns[idx];
        conn.stream = Some(stream);
        conn.phase = Phase::Connecting;
        conn.connect_started = now;
        Ok(())
    }

    /// A socket connecting to the target, registered under `token`; over TLS, its handshake not begun.
    pub(super) fn dial(&mut self, token: Token) -> Result<Stream, ErrorKind> {
        let registry = self.poll.registry();
        let tls = self.shared.tls.as_ref();
        let stream = TcpStream::connect(self.shared.config.target.addr)
            .and_then(|mut stream| {
                stream.set_nodelay(true)?;
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
                match tls {
                    Some(tls) => Stream::secure(stream, &tls.config, &tls.name),
                    None => Ok(Stream::Plain(stream)),
                }
            })
            .map_err(|e| connect_error_kind(&e))?;
        self.stats.connections_opened += 1;
        Ok(stream)
    }

    /// After a step of setting up `idx` (`connected`, `shake`): its first request once it is ready.
    pub(super) fn after_setup_step(&mut self, idx: usize, step: Result<bool, ErrorKind>) {
        match step {
            Ok(true) => self.next_request(idx, Instant::now()),
            Ok(false) => {}
            Err(kind) => self.fail(idx, kind),
        }
    }

    /// An event on connecting `idx`: whether it is now ready for requests (`Phase::Idle`); false for a
    /// stale event from an earlier socket, or while its TLS handshake goes on (`Phase::Handshaking`).
    pub(super) fn connected(&mut self, idx: usize) -> Result<bool, ErrorKind> {
        let Some(stream) = self.conns[idx].stream.as_ref() else {
            return Ok(false);
        };
        if !tcp_ready(stream)? {
            return Ok(false);
        }
        if self.shared.tls.is_some() {
            let conn = &mut self.conns[idx];
            conn.phase = Phase::Handshaking;
            conn.handshake_started = Instant::now();
            return self.shake(idx);
        }
        self.conns[idx].phase = Phase::Idle;
        Ok(true)
    }

    /// Advances `idx`'s TLS handshake: whether it is done (`Phase::Idle`).
    pub(super) fn shake(&mut self, idx: usize) -> Result<bool, ErrorKind> {
        let counted = self.counts_now();
        let conn = &mut self.conns[idx];
        let Some(stream) = conn.stream.as_mut() else {
            return Ok(false);
        };
        let done = tls_step(&mut self.stats, counted, stream, conn.handshake_started, false)?;
        if done {
            conn.phase = Phase::Idle;
        }
        Ok(done)
    }

    /// Whether what ends now falls in the measured window.
    pub(super) fn counts_now(&self) -> bool {
        let now = Instant::now();
        now >= self.clock.measure_start && self.in_window(now)
    }
}

/// Whether a connecting socket is connected: false for a stale event from an earlier socket.
pub(super) fn tcp_ready(stream: &Stream) -> Result<bool, ErrorKind> {
    let tcp = stream.tcp();
    match tcp.take_error() {
        Ok(None) => {}
        Ok(Some(e)) | Err(e) => return Err(connect_error_kind(&e)),
    }
    match tcp.peer_addr() {
        Ok(_) => Ok(true),
        // Not connected yet: a stale event from an earlier socket.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(connect_error_kind(&e)),
    }
}

/// Advances a TLS handshake begun at `started`: whether it is done. Handshakes that end in the measured
/// window (`counted`) are counted and timed; a failure is a connect error, and its reason is kept (it is
/// counted where its connect error is, `count_tls_failure`, so that the two counts always agree). With
/// `http2`, a server that did not agree to `h2` (ALPN) fails the handshake, saying what it agreed to.
pub(super) fn tls_step(
    stats: &mut ThreadStats,
    counted: bool,
    stream: &mut Stream,
    started: Instant,
    http2: bool,
) -> Result<bool, ErrorKind> {
    let outcome = stream.handshake();
    let tls = stats.tls.get_or_insert_with(|| Box::new(TlsStats::new()));
    let outcome = match outcome {
        Ok(Some(negotiated)) if http2 && negotiated.alpn.as_deref() != Some("h2") => {
            let agreed = negotiated.alpn.map_or("no protocol (no ALPN)".to_string(), |p| format!("'{p}'"));
            Err(format!("the server agreed to {agreed}, not HTTP/2 ('h2'): it does not serve HTTP/2 over TLS here"))
        }
        other => other,
    };
    match outcome {
        Ok(None) => Ok(false),
        Ok(Some(negotiated)) => {
            if counted {
                tls.handshakes += 1;
                tls.resumed += u64::from(negotiated.resumed);
                let us = Instant::now().saturating_duration_since(started).as_micros() as u64;
                tls.handshake_us.saturating_record(us.max(1));
            }
            tls.negotiated.get_or_insert(negotiated);
            Ok(true)
        }
        Err(reason) => {
            tls.first_failure.get_or_insert(reason);
            Err(ErrorKind::Connect)
        }
    }
}

/// Counts `count` failed handshakes: a connection that failed while its TLS handshake was under way, with
/// the count its connect error got.
pub(super) fn count_tls_failure(stats: &mut ThreadStats, count: u64) {
    if let Some(tls) = stats.tls.as_mut() {
        tls.failed += count;
    }
}

fn connect_error_kind(e: &io::Error) -> ErrorKind {
    if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
        ErrorKind::AddrUnavailable
    } else {
        ErrorKind::Connect
    }
}
