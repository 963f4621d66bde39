//! `cargo xtask bench-loadgen`: `stackbench load` against wrk, same server,
//! same core, alternating, so that the generator's own cost is what differs.
//!
//! nginx (one process, `return 200 "ok"`) runs on CPU 1 and each generator on
//! CPU 0. On two cores nginx saturates too, so requests per second alone
//! hides the generator's cost: the figure that compares generators is
//! requests per generator CPU-second (user + system time of the generator
//! process, from wait4). The first level then runs again with every request's path drawn per send
//! (`--no-drawn` skips it): stackbench's `{rand:..}` against wrk's Lua `request()`; and once more as
//! a mix of three kinds drawn by weight (`--no-mix` skips it): stackbench's `--mix`, which counts and
//! times each kind apart, against wrk's Lua drawing the same paths. Then over TLS (`--no-tls` skips
//! it), against nginx's second port with a self-signed ECDSA certificate (neither tool verifies it: wrk
//! never does, stackbench gets `--insecure`), TLS 1.3, kept alive and with a connection per request; nginx keeps
//! no sessions and sends no tickets, so every handshake is a full one for both tools. Then HTTP/2 (`--no-h2`
//! skips it) against h2load, the reference as wrk is for HTTP/1.1: h2c with prior knowledge on nginx's third
//! port and h2 over TLS (ALPN) on its TLS port, `--streams` streams per connection (10); and a count check:
//! a fixed number of requests over each, against nginx's own request counter (stub_status).

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::sys::{self, step};

const SERVER_CPU: &str = "1";
const GENERATOR_CPU: &str = "0";

struct Opts {
    duration: String,
    rounds: u32,
    connections: Vec<u32>,
    /// Also a case whose every request draws its path: stackbench's `{rand:..}` against wrk with a Lua
    /// `request()` doing the same (off with `--no-drawn`).
    drawn: bool,
    /// Also a case of a weighted mix of three kinds (off with `--no-mix`).
    mix: bool,
    /// Also the cases over TLS, kept alive and a connection per request (off with `--no-tls`).
    tls: bool,
    /// Also the HTTP/2 cases against h2load, and their count check (off with `--no-h2`).
    h2: bool,
    /// Streams per connection in the HTTP/2 cases.
    streams: u32,
    /// Connections for the memory check (0 skips it).
    big: u32,
}

impl Opts {
    fn parse(args: &[String]) -> anyhow::Result<Opts> {
        let mut opts = Opts {
            duration: "10s".into(),
            rounds: 3,
            connections: vec![50, 1000],
            drawn: true,
            mix: true,
            tls: true,
            h2: true,
            streams: 10,
            big: 19_000,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--duration" => opts.duration = value()?.clone(),
                "--rounds" => opts.rounds = value()?.parse().context("--rounds takes a whole number")?,
                "--connections" => {
                    opts.connections = value()?
                        .split(',')
                        .map(|c| c.trim().parse())
                        .collect::<Result<_, _>>()
                        .context("--connections takes a list like 50,1000")?
                }
                "--big" => opts.big = value()?.parse().context("--big takes a whole number")?,
                "--no-drawn" => opts.drawn = false,
                "--no-mix" => opts.mix = false,
                "--no-tls" => opts.tls = false,
                "--no-h2" => opts.h2 = false,
                "--streams" => opts.streams = value()?.parse().context("--streams takes a whole number")?,
                other => bail!("bench-loadgen: unknown option '{other}'"),
            }
        }
        Ok(opts)
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    requests: u64,
    rps: f64,
    errors: u64,
    /// Generator user + system CPU seconds.
    cpu_s: f64,
    max_rss_kb: i64,
    /// nginx CPU over the run, in percent of one core.
    server_cpu_pct: f64,
}

impl Sample {
    fn per_cpu_s(&self) -> f64 {
        self.requests as f64 / self.cpu_s.max(1e-9)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Wrk,
    H2load,
    Stackbench,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Wrk => "wrk",
            Tool::H2load => "h2load",
            Tool::Stackbench => "stackbench",
        }
    }
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let opts = Opts::parse(args)?;
    let root = sys::project_root();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        bail!("bench-loadgen needs two CPUs: one for nginx, one for the generator");
    }
    sys::ensure_installed("wrk", "wrk")?;
    sys::ensure_installed("nginx", "nginx-light")?;
    sys::ensure_installed("taskset", "util-linux")?;
    sys::ensure_installed("openssl", "openssl")?;
    if opts.h2 {
        sys::ensure_installed("h2load", "nghttp2-client")?;
    }
    raise_file_limit();
    step("building stackbench (release)");
    sys::run(sys::cargo_command().current_dir(&root).args(["build", "--release", "--locked", "-p", "stackbench"]))?;
    let stackbench = root.join("target/release/stackbench");

    let dir = root.join("target/bench-loadgen");
    std::fs::create_dir_all(dir.join("logs"))?;
    let ports = Ports { plain: free_port()?, tls: free_port()?, h2c: free_port()? };
    let nginx = Nginx::start(&dir, ports)?;
    let url = format!("http://127.0.0.1:{}/", ports.plain);
    let urls = Urls {
        plain: url.clone(),
        tls: format!("https://127.0.0.1:{}/", ports.tls),
        h2c: format!("http://127.0.0.1:{}/", ports.h2c),
    };
    step(&format!(
        "nginx pid {} on CPU {SERVER_CPU} at {url}, {} and {} (h2c); generators on CPU {GENERATOR_CPU}; {} rounds of {} per tool and level",
        nginx.pid(),
        urls.tls,
        urls.h2c,
        opts.rounds,
        opts.duration
    ));

    println!(
        "{:>5} {:>6} {:>11} {:>12} {:>11} {:>8} {:>16} {:>10}",
        "round", "conns", "tool", "requests", "req/s", "errors", "req/gen-CPU-s", "nginx CPU"
    );
    for shape in [Shape::Drawn, Shape::Mix] {
        if let Some((name, lua)) = shape.lua() {
            std::fs::write(dir.join(name), lua)?;
        }
    }
    // Each level, then the first level again with a path drawn per request (--no-drawn skips it) and as
    // a mix (--no-mix skips it).
    let first = opts.connections[0];
    let cases: Vec<(u32, Shape)> = opts
        .connections
        .iter()
        .map(|&c| (c, Shape::Fixed))
        .chain(opts.drawn.then_some((first, Shape::Drawn)))
        .chain(opts.mix.then_some((first, Shape::Mix)))
        .chain(opts.tls.then_some((first, Shape::Tls)))
        .chain(opts.tls.then_some((first, Shape::TlsNew)))
        .chain(opts.h2.then_some((first, Shape::H2c)))
        .chain(opts.h2.then_some((first, Shape::H2Tls)))
        .collect();
    let mut samples: Vec<((u32, Shape), Tool, Sample)> = Vec::new();
    for round in 1..=opts.rounds {
        for &(conns, shape) in &cases {
            // Alternate which tool goes first so that drift hits both alike.
            let reference = shape.reference();
            let order = if round % 2 == 1 { [reference, Tool::Stackbench] } else { [Tool::Stackbench, reference] };
            for tool in order {
                let args = generator_args(tool, &stackbench, &urls, (conns, opts.streams), &opts.duration, shape, &dir);
                let sample = measure(tool, &args, &nginx)?;
                println!(
                    "{round:>5} {:>6} {:>11} {:>12} {:>11.0} {:>8} {:>16.0} {:>9.0}%",
                    case_name(conns, shape),
                    tool.name(),
                    sample.requests,
                    sample.rps,
                    sample.errors,
                    sample.per_cpu_s(),
                    sample.server_cpu_pct
                );
                samples.push(((conns, shape), tool, sample));
            }
        }
    }

    println!("\nmedians over {} rounds (ratio = stackbench / the reference: wrk, or h2load for HTTP/2)", opts.rounds);
    println!(
        "{:>10} {:>7} {:>12} {:>12} {:>8} {:>16} {:>16} {:>8}",
        "case", "ref", "ref req/s", "sb req/s", "ratio", "ref req/CPU-s", "sb req/CPU-s", "ratio"
    );
    for &case in &cases {
        let median_of = |tool: Tool, f: fn(&Sample) -> f64| {
            median(samples.iter().filter(|(c, t, _)| *c == case && *t == tool).map(|(_, _, s)| f(s)).collect())
        };
        let reference = case.1.reference();
        let (w_rps, s_rps) = (median_of(reference, |s| s.rps), median_of(Tool::Stackbench, |s| s.rps));
        let (w_eff, s_eff) = (median_of(reference, Sample::per_cpu_s), median_of(Tool::Stackbench, Sample::per_cpu_s));
        println!(
            "{:>10} {:>7} {w_rps:>12.0} {s_rps:>12.0} {:>8.2} {w_eff:>16.0} {s_eff:>16.0} {:>8.2}",
            case_name(case.0, case.1),
            reference.name(),
            s_rps / w_rps,
            s_eff / w_eff
        );
    }

    if opts.h2 {
        count_check(&stackbench, &urls, &nginx, ports, first, opts.streams)?;
    }

    if opts.big > 0 {
        let args = vec![
            stackbench.display().to_string(),
            "load".into(),
            url.clone(),
            "-c".into(),
            opts.big.to_string(),
            "-t".into(),
            "1".into(),
            "-d".into(),
            "5s".into(),
            "--timeout".into(),
            "5s".into(),
            // Opening that many connections at once overflows the listen
            // backlog; SYN retries take seconds, so they happen in a warm-up.
            "--warmup".into(),
            "5s".into(),
            "--json".into(),
        ];
        step(&format!("stackbench load -c {} for 5 s after a 5 s warm-up (memory check)", opts.big));
        let s = measure(Tool::Stackbench, &args, &nginx)?;
        println!(
            "\n-c {}: {} requests, {:.0} req/s, {} errors, peak RSS {:.1} MiB, generator CPU {:.2}s",
            opts.big,
            s.requests,
            s.rps,
            s.errors,
            s.max_rss_kb as f64 / 1024.0,
            s.cpu_s
        );
    }
    drop(nginx);
    Ok(())
}

/// What each request of a case is: the URL's path, a path drawn per request, or a mix of kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Fixed,
    /// A path drawn per request, as `{rand:1..1000000}` does.
    Drawn,
    /// 75% a drawn item, 20% a list, 5% health, drawn per request.
    Mix,
    /// The URL's path over TLS, kept alive.
    Tls,
    /// Over TLS with a connection (and a full handshake) per request.
    TlsNew,
    /// HTTP/2 over plain TCP with prior knowledge, `--streams` streams per connection.
    H2c,
    /// HTTP/2 over TLS (ALPN h2), `--streams` streams per connection.
    H2Tls,
}

/// nginx's addresses: plain HTTP/1.1, over TLS (HTTP/1.1 or h2 by ALPN), and h2c.
struct Urls {
    plain: String,
    tls: String,
    h2c: String,
}

#[derive(Debug, Clone, Copy)]
struct Ports {
    plain: u16,
    tls: u16,
    h2c: u16,
}

/// The mix case's kinds, as `stackbench load --mix` takes them; wrk's Lua draws the same.
const MIX: [&str; 3] = ["read=75:/item/{rand:1..1000000}", "list=20:/items", "health=5:/health"];

impl Shape {
    /// The tool stackbench is measured against: h2load for HTTP/2, wrk for HTTP/1.1.
    fn reference(self) -> Tool {
        match self {
            Shape::H2c | Shape::H2Tls => Tool::H2load,
            _ => Tool::Wrk,
        }
    }

    /// wrk's side: its Lua script's file name and text.
    fn lua(self) -> Option<(&'static str, &'static str)> {
        match self {
            Shape::Fixed | Shape::Tls | Shape::TlsNew | Shape::H2c | Shape::H2Tls => None,
            Shape::Drawn => Some((
                "drawn.lua",
                "request = function()\n  return wrk.format(nil, \"/item/\" .. math.random(1, 1000000))\nend\n",
            )),
            Shape::Mix => Some((
                "mix.lua",
                "request = function()\n  local r = math.random(1, 100)\n  if r <= 75 then\n    \
                 return wrk.format(nil, \"/item/\" .. math.random(1, 1000000))\n  elseif r <= 95 then\n    \
                 return wrk.format(nil, \"/items\")\n  end\n  return wrk.format(nil, \"/health\")\nend\n",
            )),
        }
    }
}

/// A case as the tables name it: `50`, `50 d` when every request draws its path, `50 mix` for the mix.
fn case_name(conns: u32, shape: Shape) -> String {
    match shape {
        Shape::Fixed => conns.to_string(),
        Shape::Drawn => format!("{conns} d"),
        Shape::Mix => format!("{conns} mix"),
        Shape::Tls => format!("{conns} tls"),
        Shape::TlsNew => format!("{conns} tls-new"),
        Shape::H2c => format!("{conns} h2c"),
        Shape::H2Tls => format!("{conns} h2"),
    }
}

/// The command line of one run of `shape` (wrk's Lua scripts are in `dir`).
fn generator_args(
    tool: Tool,
    stackbench: &Path,
    urls: &Urls,
    (conns, streams): (u32, u32),
    duration: &str,
    shape: Shape,
    dir: &Path,
) -> Vec<String> {
    let (c, m) = (conns.to_string(), streams.to_string());
    let url = match shape {
        Shape::Tls | Shape::TlsNew | Shape::H2Tls => urls.tls.as_str(),
        Shape::H2c => urls.h2c.as_str(),
        _ => urls.plain.as_str(),
    };
    match tool {
        // h2load speaks h2c with prior knowledge to http:// and h2 by ALPN to https://, never verifying.
        Tool::H2load => ["h2load", "-c", &c, "-m", &m, "-t", "1", "-D", duration, url].map(String::from).to_vec(),
        Tool::Wrk => {
            let mut args = ["wrk", "-t1", "-c", &c, "-d", duration, "--timeout", "2s"].map(String::from).to_vec();
            if let Some((lua, _)) = shape.lua() {
                args.extend(["-s".into(), dir.join(lua).display().to_string()]);
            }
            if shape == Shape::TlsNew {
                // wrk has no keep-alive switch; the server closing after each answer makes it reconnect.
                args.extend(["-H".into(), "Connection: close".into()]);
            }
            args.push(url.into());
            args
        }
        Tool::Stackbench => {
            let bin = stackbench.display().to_string();
            let url = if shape == Shape::Drawn { format!("{url}item/{{rand:1..1000000}}") } else { url.to_string() };
            let mut args =
                [bin.as_str(), "load", &url, "-c", &c, "-t", "1", "-d", duration, "--timeout", "2s", "--json"]
                    .map(String::from)
                    .to_vec();
            if shape == Shape::Mix {
                args.extend(MIX.iter().flat_map(|kind| ["--mix".to_string(), kind.to_string()]));
            }
            if matches!(shape, Shape::Tls | Shape::TlsNew | Shape::H2Tls) {
                args.push("--insecure".into());
            }
            if matches!(shape, Shape::H2c | Shape::H2Tls) {
                args.extend(["--http2".into(), "--streams".into(), m]);
            }
            if shape == Shape::TlsNew {
                args.push("--no-keepalive".into());
            }
            args
        }
    }
}

/// Runs one generator pinned to the generator CPU and reads its figures and
/// its CPU time.
fn measure(tool: Tool, args: &[String], nginx: &Nginx) -> anyhow::Result<Sample> {
    let server_before = nginx.cpu_ticks();
    let started = Instant::now();
    let mut child = Command::new("taskset")
        .args(["-c", GENERATOR_CPU])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", tool.name()))?;
    let mut out = String::new();
    child.stdout.take().expect("stdout is piped").read_to_string(&mut out)?;
    let (status, usage) = wait4(&child)?;
    let wall = started.elapsed().as_secs_f64();
    let server_cpu_pct = (nginx.cpu_ticks() - server_before) as f64 / clock_ticks() / wall * 100.0;
    if status != 0 {
        bail!("{} exited with status {status}:\n{out}", tool.name());
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu_s = tv(usage.ru_utime) + tv(usage.ru_stime);
    let (requests, rps, errors) = match tool {
        Tool::Wrk => parse_wrk(&out).with_context(|| format!("cannot read wrk's output:\n{out}"))?,
        Tool::H2load => parse_h2load(&out).with_context(|| format!("cannot read h2load's output:\n{out}"))?,
        Tool::Stackbench => {
            let v: serde_json::Value = serde_json::from_str(&out).context("stackbench --json printed no JSON")?;
            let errors = v["errors"].as_object().map_or(0, |e| e.values().filter_map(|x| x.as_u64()).sum());
            (v["requests"].as_u64().unwrap_or(0), v["rps"].as_f64().unwrap_or(0.0), errors)
        }
    };
    Ok(Sample { requests, rps, errors, cpu_s, max_rss_kb: usage.ru_maxrss, server_cpu_pct })
}

/// Requests, requests per second and errors from wrk's summary.
pub(crate) fn parse_wrk(out: &str) -> Option<(u64, f64, u64)> {
    let requests = out.lines().find(|l| l.contains(" requests in "))?.split_whitespace().next()?.parse().ok()?;
    let rps = out.lines().find_map(|l| l.strip_prefix("Requests/sec:"))?.trim().parse().ok()?;
    let number_after = |line: &str, key: &str| -> u64 {
        line.split(key)
            .nth(1)
            .and_then(|rest| rest.trim().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .unwrap_or(0)
    };
    let mut errors = 0;
    if let Some(line) = out.lines().find(|l| l.contains("Socket errors:")) {
        errors += ["connect", "read", "write", "timeout"].iter().map(|k| number_after(line, k)).sum::<u64>();
    }
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx or 3xx responses:")) {
        errors += number_after(line, "responses:");
    }
    Some((requests, rps, errors))
}

/// Requests that succeeded, requests per second and errors from h2load's summary (`requests: N total, N
/// started, N done, N succeeded, N failed, N errored, N timeout`; `finished in 10.00s, 45678.90 req/s, ...`).
pub(crate) fn parse_h2load(out: &str) -> Option<(u64, f64, u64)> {
    let line = out.lines().find_map(|l| l.strip_prefix("requests:"))?;
    let count = |key: &str| -> Option<u64> {
        line.split(',').find(|part| part.trim().ends_with(key))?.split_whitespace().next()?.parse().ok()
    };
    let errors = count("failed")? + count("errored")? + count("timeout")?;
    let finished = out.lines().find_map(|l| l.strip_prefix("finished in "))?;
    let rps = finished.split(',').nth(1)?.split_whitespace().next()?.parse().ok()?;
    Some((count("succeeded")?, rps, errors))
}

/// A fixed number of requests over h2c and over h2, against nginx's own counter: every request stackbench
/// says was answered, nginx counted, and no more.
fn count_check(
    stackbench: &Path,
    urls: &Urls,
    nginx: &Nginx,
    ports: Ports,
    conns: u32,
    streams: u32,
) -> anyhow::Result<()> {
    const REQUESTS: u64 = 100_000;
    let mut different = Vec::new();
    for (name, url) in [("h2c", &urls.h2c), ("h2 over TLS", &urls.tls)] {
        let before = nginx.requests(ports.plain)?;
        let (c, m) = (conns.to_string(), streams.to_string());
        let mut args = vec![stackbench.display().to_string(), "load".into(), url.clone(), "-c".into(), c, "-t".into()];
        args.extend(["1", "-n", &REQUESTS.to_string(), "--http2", "--streams", &m, "--json"].map(String::from));
        if url.starts_with("https://") {
            // nginx's certificate is self-signed.
            args.push("--insecure".into());
        }
        let s = measure(Tool::Stackbench, &args, nginx)?;
        // The counter counts the request that reads it: one of the difference is the second read's own.
        let counted = nginx.requests(ports.plain)? - before - 1;
        let equal = counted == s.requests && s.requests == REQUESTS;
        println!(
            "{name}: {REQUESTS} requests asked, stackbench counted {} answered ({} errors), nginx counted {counted}: {}",
            s.requests,
            s.errors,
            if equal { "equal" } else { "DIFFERENT" }
        );
        if !equal {
            different.push(name);
        }
    }
    if !different.is_empty() {
        bail!("the counts differ over {}: stackbench's count of answered requests is wrong", different.join(" and "));
    }
    Ok(())
}

fn wait4(child: &Child) -> anyhow::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it and `status`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    Ok((code, usage))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

/// Raises this process's open-files soft limit to the hard limit, so that
/// nginx and the generators inherit it.
pub(crate) fn raise_file_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid pointers to a local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// nginx as one process (no master), pinned to the server CPU; stopped on drop.
struct Nginx {
    child: Child,
}

impl Nginx {
    fn start(dir: &Path, ports: Ports) -> anyhow::Result<Nginx> {
        let conf = dir.join("nginx.conf");
        // A self-signed ECDSA P-256 certificate for the TLS port (neither tool verifies it).
        sys::run(Command::new("openssl").current_dir(dir).args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ]))?;
        std::fs::write(&conf, nginx_conf(dir, ports))?;
        let child = Command::new("taskset")
            .args(["-c", SERVER_CPU, "nginx", "-e", "stderr", "-p"])
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .spawn()
            .context("cannot start nginx")?;
        let nginx = Nginx { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while [ports.plain, ports.tls, ports.h2c].iter().any(|&p| TcpStream::connect(("127.0.0.1", p)).is_err()) {
            if Instant::now() > deadline {
                bail!("nginx did not listen on 127.0.0.1 at {ports:?} within 10 s (config: {})", conf.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(nginx)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The requests nginx has handled, from its stub_status page on the plain port (this read included).
    fn requests(&self, port: u16) -> anyhow::Result<u64> {
        use std::io::Write;
        let mut tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.write_all(b"GET /nginx_status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut page = String::new();
        tcp.read_to_string(&mut page)?;
        // "server accepts handled requests\n A H R"
        let counts = page.lines().skip_while(|l| !l.contains("accepts handled requests")).nth(1);
        counts
            .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
            .with_context(|| format!("nginx's stub_status page has no request count:\n{page}"))
    }

    /// utime + stime of the nginx process, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at ") ".
        let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        field(11) + field(12)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx starts closing idle keep-alive connections once fewer than 1/16 of
/// `worker_connections` are free, so the pool is set well above the largest
/// connection count the benchmark opens (the open-files limit still bounds
/// the descriptors actually used).
fn nginx_conf(dir: &Path, ports: Ports) -> String {
    let dir: PathBuf = dir.to_path_buf();
    format!(
        "daemon off;
master_process off;
error_log stderr warn;
pid {dir}/nginx.pid;
events {{ worker_connections 25000; multi_accept on; }}
http {{
    access_log off;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 \"ok\"; }}
        location = /nginx_status {{ stub_status; }}
    }}
    server {{
        listen 127.0.0.1:{h2c_port} http2 backlog=4096;
        location / {{ default_type text/plain; return 200 \"ok\"; }}
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl http2 backlog=4096;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        ssl_protocols TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / {{ default_type text/plain; return 200 \"ok\"; }}
    }}
}}
",
        dir = dir.display(),
        port = ports.plain,
        tls_port = ports.tls,
        h2c_port = ports.h2c,
    )
}

#[cfg(test)]
mod tests {
    use super::{parse_h2load, parse_wrk};

    #[test]
    fn h2load_summary_is_read() {
        let out = "starting benchmark...\nspawning thread #0: 10 total client(s). 100000 total requests\n\
            finished in 3.11s, 32178.45 req/s, 3.65MB/s\n\
            requests: 100000 total, 100000 started, 99990 done, 99987 succeeded, 3 failed, 10 errored, 2 timeout\n\
            status codes: 99987 2xx, 0 3xx, 3 4xx, 0 5xx\n";
        assert_eq!(parse_h2load(out), Some((99_987, 32_178.45, 15)));
        assert_eq!(parse_h2load("finished in 3.11s, 32178.45 req/s, 3.65MB/s\n"), None, "no requests line");
    }

    #[test]
    fn wrk_summary_is_read() {
        let out = "Running 1s test @ http://127.0.0.1:8080/\n  1 threads and 10 connections\n\
            \x20 31955 requests in 1.00s, 4.54MB read\n\
            \x20 Socket errors: connect 0, read 2, write 0, timeout 1\n\
            \x20 Non-2xx or 3xx responses: 4\n\
            Requests/sec:  31940.12\n";
        assert_eq!(parse_wrk(out), Some((31_955, 31_940.12, 7)));
    }
}
