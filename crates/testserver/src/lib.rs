//! A scriptable HTTP test server on 127.0.0.1:0, run in-process: it counts the
//! requests and connections it sees and answers each request as told. For
//! tests only; it binds nothing but loopback. [`bridge`] gives tests an
//! address that is not loopback and reaches nowhere; [`fuzz`] lists the
//! committed fuzz inputs that tests replay.

pub mod bridge;
pub mod fuzz;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the server does for one request.
#[derive(Debug, Clone)]
pub enum Action {
    Write(Vec<u8>),
    Sleep(Duration),
    /// Close the connection at once.
    Close,
    /// Never answer; keep the connection open.
    Stall,
    /// Write these bytes again and again until the peer goes (an endless body, endless headers).
    Endless(Vec<u8>),
    /// Hold one of the shared slots this long, or, when none is free, answer
    /// `503` at once and skip the rest: a server of K workers with a fixed
    /// service time and no queue, whose capacity is K / time exactly.
    Pool(Arc<Slots>, Duration),
}

/// A fixed number of workers that requests queue for.
#[derive(Debug)]
pub struct Slots {
    free: std::sync::Mutex<usize>,
}

impl Slots {
    pub fn new(n: usize) -> Arc<Slots> {
        Arc::new(Slots { free: std::sync::Mutex::new(n) })
    }

    /// Holds a free slot for `d`; false at once when none is free.
    fn try_hold(&self, d: Duration) -> bool {
        {
            let mut free = self.free.lock().unwrap();
            if *free == 0 {
                return false;
            }
            *free -= 1;
        }
        std::thread::sleep(d);
        *self.free.lock().unwrap() += 1;
        true
    }
}

/// The answer of a pool with no free worker.
pub const BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";

pub fn write(bytes: impl AsRef<[u8]>) -> Action {
    Action::Write(bytes.as_ref().to_vec())
}

pub const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

type Respond = dyn Fn(u64, &[u8]) -> Vec<Action> + Send + Sync;

pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
}

impl Server {
    /// Starts a server that answers request number `n` (counted from 0 over
    /// all connections) with `respond(n)`.
    pub fn start(respond: impl Fn(u64) -> Vec<Action> + Send + Sync + 'static) -> Server {
        Server::seeing(move |n, _| respond(n))
    }

    /// As [`Server::start`], and `respond` sees each request whole (head and body) too.
    pub fn seeing(respond: impl Fn(u64, &[u8]) -> Vec<Action> + Send + Sync + 'static) -> Server {
        Server::listening(None, Duration::ZERO, respond)
    }

    /// A server that answers every request with `response`, whose listen backlog is `backlog` (the
    /// kernel then drops the SYNs of connections past it, which their clients send again after 1 s) and
    /// that accepts no connection for its first `accept_after`.
    pub fn slow_accept(backlog: i32, accept_after: Duration, response: &str) -> Server {
        let response = response.to_string();
        Server::listening(Some(backlog), accept_after, move |_, _| vec![write(&response)])
    }

    fn listening(
        backlog: Option<i32>,
        accept_after: Duration,
        respond: impl Fn(u64, &[u8]) -> Vec<Action> + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        if let Some(backlog) = backlog {
            // Linux takes a second listen() on a listening socket as a new backlog.
            // SAFETY: the descriptor is the listener's own, open for as long as `listener`.
            let done = unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), backlog) };
            assert_eq!(done, 0, "listen: {}", std::io::Error::last_os_error());
        }
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let respond: Arc<Respond> = Arc::new(respond);
        let (req, conns) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            std::thread::sleep(accept_after);
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                conns.fetch_add(1, Ordering::SeqCst);
                let (req, respond) = (req.clone(), respond.clone());
                std::thread::spawn(move || serve(stream, &req, &*respond));
            }
        });
        Server { addr, requests, connections }
    }

    /// A server that answers every request with `response`.
    pub fn fixed(response: &str) -> Server {
        let response = response.to_string();
        Server::start(move |_| vec![write(&response)])
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads requests (head and Content-Length body) and answers each.
fn serve(mut stream: TcpStream, requests: &AtomicU64, respond: &Respond) {
    stream.set_nodelay(true).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        while let Some(len) = request_len(&buf) {
            let request: Vec<u8> = buf.drain(..len).collect();
            let n = requests.fetch_add(1, Ordering::SeqCst);
            for action in respond(n, &request) {
                match action {
                    Action::Pool(slots, d) => {
                        if !slots.try_hold(d) {
                            if stream.write_all(BUSY.as_bytes()).is_err() {
                                return;
                            }
                            break;
                        }
                    }
                    Action::Write(bytes) => {
                        if stream.write_all(&bytes).is_err() {
                            return;
                        }
                    }
                    Action::Sleep(d) => std::thread::sleep(d),
                    Action::Close => return,
                    Action::Endless(bytes) => while stream.write_all(&bytes).is_ok() {},
                    Action::Stall => {
                        // Hold the connection open without answering until the peer goes.
                        let _ = stream.read(&mut chunk);
                        std::thread::sleep(Duration::from_secs(30));
                        return;
                    }
                }
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The length of the first complete request in `buf`, if there is one.
fn request_len(buf: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let head = match req.parse(buf).ok()? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let body = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |h| std::str::from_utf8(h.value).unwrap().trim().parse::<usize>().unwrap());
    (buf.len() >= head + body).then_some(head + body)
}
