//! A fake container engine for the runner's sequencing tests: a "container"
//! started from any image but the profiler's is an HTTP server in this process
//! on the port the runner gave it (`STACKBENCH_PORT`), one worker with a fixed
//! service time; figures come through the stats API as for a remote engine.
//! A script makes the server exit or the engine stop answering after a while.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docker::{BaseImage, BuildSpec, Built, ContainerSpec, ContainerState, Disk, Error, Running, Sample};
use futures_util::future::BoxFuture;
use runner::{Answer, ContainerEngine, OnLine, Stop};

/// What goes wrong, and when, counted from the server's start.
#[derive(Debug, Clone, Copy, Default)]
pub struct Script {
    /// The server exits with code 3.
    pub exit_after: Option<Duration>,
    /// The engine stops answering (and stays so) once it has answered this many
    /// stats samples: that is, in a measured window, whenever it comes.
    pub lost_after_samples: Option<u64>,
    /// A start, and the making of a missing base image, each take this long (counted by [`Log::most_at_once`]).
    pub slow: Option<Duration>,
}

/// Each request holds the server's one worker this long: its capacity is 500 req/s.
pub const SERVICE_TIME: Duration = Duration::from_millis(2);

struct Container {
    image: String,
    started: Instant,
    /// Stops its server's threads.
    stop: Arc<AtomicBool>,
}

#[derive(Default)]
struct State {
    containers: HashMap<String, Container>,
    /// Every call that changes something, in order: `build TAG`, `start IMAGE`, `remove IMAGE`.
    calls: Vec<String>,
    next: u64,
    /// Stats samples answered.
    samples: u64,
    /// Calls under way now and the most at once, by kind (`start`, `base IMAGE`).
    in_flight: HashMap<String, (usize, usize)>,
    /// Base images made: the first check of one makes it (slow), the later ones find it.
    bases: std::collections::HashSet<String>,
}

#[derive(Default)]
pub struct FakeEngine {
    script: Script,
    state: Arc<Mutex<State>>,
}

/// What a test reads back after the engine was handed to a runner.
#[derive(Clone)]
pub struct Log(Arc<Mutex<State>>);

impl Log {
    pub fn calls(&self) -> Vec<String> {
        self.0.lock().unwrap().calls.clone()
    }

    /// Containers started and not removed.
    pub fn left(&self) -> Vec<String> {
        self.0.lock().unwrap().containers.values().map(|c| c.image.clone()).collect()
    }

    /// The most calls of a kind (`start`, `base IMAGE`) that were under way at once.
    pub fn most_at_once(&self, kind: &str) -> usize {
        self.0.lock().unwrap().in_flight.get(kind).map_or(0, |(_, most)| *most)
    }
}

impl FakeEngine {
    pub fn new(script: Script) -> (FakeEngine, Log) {
        let engine = FakeEngine { script, state: Arc::default() };
        let log = Log(engine.state.clone());
        (engine, log)
    }

    fn lost(&self) -> Result<(), Error> {
        let samples = self.state.lock().unwrap().samples;
        match self.script.lost_after_samples {
            Some(after) if samples >= after => {
                Err(Error::NoEngine { endpoint: "fake://engine".into(), reason: "the script says so".into() })
            }
            _ => Ok(()),
        }
    }

    /// Waits [`Script::slow`], counted as a call of `kind` under way.
    async fn slow(&self, kind: &str) {
        let Some(slow) = self.script.slow else { return };
        {
            let mut state = self.state.lock().unwrap();
            let (now, most) = state.in_flight.entry(kind.to_string()).or_default();
            *now += 1;
            *most = (*most).max(*now);
        }
        tokio::time::sleep(slow).await;
        self.state.lock().unwrap().in_flight.get_mut(kind).expect("counted above").0 -= 1;
    }

    fn exited(&self, id: &str) -> bool {
        let state = self.state.lock().unwrap();
        let Some(c) = state.containers.get(id) else { return true };
        let is_profiler = c.image.starts_with("stackbench/profiler");
        is_profiler || self.script.exit_after.is_some_and(|after| c.started.elapsed() >= after)
    }
}

/// Serves `GET`s with `ok` on 127.0.0.1:`port`, one request at a time for
/// [`SERVICE_TIME`] each, until `stop` or `exit_at`.
fn serve(port: u16, stop: Arc<AtomicBool>, exit_at: Option<Instant>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("the runner's port is free");
    listener.set_nonblocking(true).unwrap();
    let worker = Arc::new(Mutex::new(()));
    let done = move || stop.load(Ordering::Relaxed) || exit_at.is_some_and(|t| Instant::now() >= t);
    std::thread::spawn(move || {
        while !done() {
            match listener.accept() {
                Ok((stream, _)) => {
                    let (worker, done) = (worker.clone(), done.clone());
                    std::thread::spawn(move || connection(stream, &worker, &done));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
}

fn connection(mut stream: TcpStream, worker: &Mutex<()>, done: &dyn Fn() -> bool) {
    stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    while !done() {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let close = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase().contains("connection: close");
            pending.drain(..end + 4);
            {
                let _held = worker.lock().unwrap();
                std::thread::sleep(SERVICE_TIME);
            }
            let connection = if close { "close" } else { "keep-alive" };
            let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: {connection}\r\n\r\nok");
            if stream.write_all(answer.as_bytes()).is_err() || close {
                return;
            }
        }
    }
}

impl ContainerEngine for FakeEngine {
    fn endpoint(&self) -> &str {
        "fake://engine"
    }
    fn version(&self) -> &str {
        "fake"
    }
    fn api_version(&self) -> &str {
        "fake"
    }
    fn kernel(&self) -> &str {
        "fake"
    }
    fn n_cpus(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
    /// Its containers are not this machine's processes: figures come through the stats API.
    fn is_local(&self) -> bool {
        false
    }
    fn on_this_machine(&self) -> bool {
        true
    }
    fn start<'a>(&'a self, spec: &'a ContainerSpec) -> Answer<'a, Running> {
        Box::pin(async move {
            self.lost()?;
            self.slow("start").await;
            let port = spec.env.iter().find_map(|e| e.strip_prefix("STACKBENCH_PORT=")).and_then(|p| p.parse().ok());
            let stop = Arc::new(AtomicBool::new(false));
            let started = Instant::now();
            let id = {
                let mut state = self.state.lock().unwrap();
                state.next += 1;
                state.calls.push(format!("start {}", spec.image));
                let id = format!("fake-{}", state.next);
                let container = Container { image: spec.image.clone(), started, stop: stop.clone() };
                state.containers.insert(id.clone(), container);
                id
            };
            if let Some(port) = port {
                serve(port, stop, self.script.exit_after.map(|after| started + after));
            }
            Ok(Running { id, name: spec.name.clone(), pid: 0, counters: None })
        })
    }
    fn remove<'a>(&'a self, id: &'a str) -> Answer<'a, ()> {
        Box::pin(async move {
            self.lost()?;
            let mut state = self.state.lock().unwrap();
            if let Some(c) = state.containers.remove(id) {
                c.stop.store(true, Ordering::Relaxed);
                state.calls.push(format!("remove {}", c.image));
            }
            Ok(())
        })
    }
    fn reap(&self) -> Answer<'_, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn state<'a>(&'a self, id: &'a str) -> Answer<'a, ContainerState> {
        Box::pin(async move {
            self.lost()?;
            let exited = self.exited(id);
            Ok(ContainerState { running: !exited, exit_code: exited.then_some(3), oom_killed: false })
        })
    }
    fn logs_tail<'a>(&'a self, _id: &'a str, _lines: usize) -> BoxFuture<'a, String> {
        Box::pin(async { "the fake server's log\n".to_string() })
    }
    fn listening<'a>(&'a self, _id: &'a str) -> Answer<'a, Vec<SocketAddr>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// Half a CPU busy since the start, 10 MiB of memory.
    fn stats_sample<'a>(&'a self, id: &'a str) -> Answer<'a, Sample> {
        Box::pin(async move {
            self.lost()?;
            let started = {
                let mut state = self.state.lock().unwrap();
                state.samples += 1;
                state.containers.get(id).map(|c| c.started)
            };
            let Some(started) = started else { return Err(Error::NoCounters(id.to_string())) };
            Ok(Sample {
                at: Instant::now(),
                cpu_ns: started.elapsed().as_nanos() as u64 / 2,
                memory: 10 << 20,
                nr_throttled: 0,
                throttled_ns: 0,
                memory_high_water: 10 << 20,
                oom_kills: 0,
            })
        })
    }
    fn wait_exit<'a>(&'a self, _id: &'a str) -> Answer<'a, i64> {
        Box::pin(async { Ok(0) })
    }
    /// The profiler's report: it could not look (the fake runs none).
    fn stdout<'a>(&'a self, _id: &'a str) -> Answer<'a, String> {
        Box::pin(async { Ok("stackbench-profiler: unavailable the fake engine runs no profiler\n".to_string()) })
    }
    fn signal<'a>(&'a self, _id: &'a str, _signal: &'a str) -> Answer<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn has_image<'a>(&'a self, _image: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async { true })
    }
    fn disk(&self) -> BoxFuture<'_, Option<Disk>> {
        Box::pin(async { None })
    }
    fn build<'a>(&'a self, spec: &'a BuildSpec, on_line: OnLine<'a>, _stop: Stop<'a>) -> Answer<'a, Built> {
        Box::pin(async move {
            self.lost()?;
            self.state.lock().unwrap().calls.push(format!("build {}", spec.tag));
            on_line("Successfully built (fake)");
            Ok(Built { image_id: format!("sha256:fake-{}", spec.tag), log: String::new() })
        })
    }
    fn ensure_base<'a>(&'a self, image: &'a str, _on_line: OnLine<'a>) -> Answer<'a, BaseImage> {
        Box::pin(async move {
            if self.state.lock().unwrap().bases.contains(image) {
                return Ok(BaseImage::Present);
            }
            self.slow(&format!("base {image}")).await;
            self.state.lock().unwrap().bases.insert(image.to_string());
            Ok(BaseImage::BuiltOffline)
        })
    }
}
