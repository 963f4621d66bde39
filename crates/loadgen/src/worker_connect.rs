//! Opening a connection: its TCP socket, then (for `https://`) its TLS handshake, before the first request.

use std::io;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::{Phase, Worker};
use crate::stats::ErrorKind;
use crate::tls::Stream;

impl Worker<'_> {
    /// Starts connecting `idx`'s socket (`Phase::Connecting`).
    pub(super) fn open(&mut self, idx: usize, now: Instant) -> Result<(), ErrorKind> {
        let registry = self.poll.registry();
        let tls = self.shared.tls.as_ref();
        let stream = TcpStream::connect(self.shared.config.target.addr)
            .and_then(|mut stream| {
                stream.set_nodelay(true)?;
                registry.register(&mut stream, Token(idx), Interest::READABLE | Interest::WRITABLE)?;
                match tls {
                    Some(tls) => Stream::secure(stream, &tls.config, &tls.name),
                    None => Ok(Stream::Plain(stream)),
                }
            })
            .map_err(|e| connect_error_kind(&e))?;
        let conn = &mut self.conns[idx];
        conn.stream = Some(stream);
        conn.phase = Phase::Connecting;
        conn.connect_started = now;
        self.stats.connections_opened += 1;
        Ok(())
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
        let Some(stream) = self.conns[idx].stream.as_ref().map(Stream::tcp) else {
            return Ok(false);
        };
        match stream.take_error() {
            Ok(None) => {}
            Ok(Some(e)) | Err(e) => return Err(connect_error_kind(&e)),
        }
        match stream.peer_addr() {
            Ok(_) => {}
            // Not connected yet: a stale event from an earlier socket.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(false),
            Err(e) => return Err(connect_error_kind(&e)),
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

    /// Advances `idx`'s TLS handshake: whether it is done (`Phase::Idle`). Handshakes that end in the
    /// measured window are counted and timed; a failure is a connect error, and its reason is kept.
    pub(super) fn shake(&mut self, idx: usize) -> Result<bool, ErrorKind> {
        let now_if_done = Instant::now();
        let counted = now_if_done >= self.clock.measure_start && self.in_window(now_if_done);
        let conn = &mut self.conns[idx];
        let Some(stream) = conn.stream.as_mut() else {
            return Ok(false);
        };
        let outcome = stream.handshake();
        let tls = self.stats.tls.get_or_insert_with(|| Box::new(crate::stats::TlsStats::new()));
        match outcome {
            Ok(None) => Ok(false),
            Ok(Some(negotiated)) => {
                conn.phase = Phase::Idle;
                if counted {
                    tls.handshakes += 1;
                    tls.resumed += u64::from(negotiated.resumed);
                    let us = Instant::now().saturating_duration_since(conn.handshake_started).as_micros() as u64;
                    tls.handshake_us.saturating_record(us.max(1));
                }
                tls.negotiated.get_or_insert(negotiated);
                Ok(true)
            }
            Err(reason) => {
                tls.failed += u64::from(counted);
                tls.first_failure.get_or_insert(reason);
                Err(ErrorKind::Connect)
            }
        }
    }
}

fn connect_error_kind(e: &io::Error) -> ErrorKind {
    if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
        ErrorKind::AddrUnavailable
    } else {
        ErrorKind::Connect
    }
}
