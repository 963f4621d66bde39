//! Makes this machine able to run stackbench: a Docker engine that answers and
//! the programs it shells out to. Invariant: it installs Debian packages and
//! starts `dockerd` only when one is missing, as root on a Debian-like system;
//! otherwise it says what to do, and changes nothing.
//!
//! Every step it takes is told to `step` (one line each), before it is taken.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The engine's socket when `DOCKER_HOST` is not set.
pub const SOCKET: &str = "/var/run/docker.sock";
/// Where a `dockerd` started here writes its log.
pub const DOCKERD_LOG: &str = "/var/log/stackbench-dockerd.log";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`{program}` is missing; install the Debian package `{package}` (apt-get install {package}) and run again"
    )]
    Missing { program: String, package: String },
    #[error("{command} failed: {why}")]
    Command { command: String, why: String },
    #[error("installed {package} but `{program}` is still not on PATH")]
    NotOnPath { program: String, package: String },
    #[error(
        "dockerd is installed but not running, and starting it needs root: run `sudo dockerd &` (or `systemctl start docker`), \
         or set DOCKER_HOST"
    )]
    NotRoot,
    #[error("dockerd did not answer within 60 s; the end of {DOCKERD_LOG}:\n{0}")]
    NoAnswer(String),
    #[error("stackbench needs a Docker engine and none answers at {SOCKET}: {0}; or set DOCKER_HOST to one")]
    NoEngine(Box<Error>),
    #[error("cannot start dockerd: {0}")]
    Start(std::io::Error),
}

/// What `stackbench setup` does: a Docker engine that answers (`DOCKER_HOST`'s is
/// taken as it is), then `debootstrap`, which makes base images where no registry answers.
pub fn machine(step: &mut dyn FnMut(&str)) -> Result<(), Error> {
    if let Some(host) = std::env::var_os("DOCKER_HOST") {
        step(&format!("using the Docker engine at DOCKER_HOST={}", host.to_string_lossy()));
    } else if engine_answers() {
        step(&format!("Docker engine answers at {SOCKET}"));
    } else {
        start_engine(step)?;
    }
    ensure_installed("debootstrap", "debootstrap", step)
}

/// A `GET /_ping` on the engine's socket.
pub fn engine_answers() -> bool {
    let Ok(mut s) = UnixStream::connect(SOCKET) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.") && reply.contains(" 200 ")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn start_engine(step: &mut dyn FnMut(&str)) -> Result<(), Error> {
    step(&format!("no Docker engine answers at {SOCKET}"));
    ensure_installed("dockerd", "docker.io", step).map_err(|e| Error::NoEngine(Box::new(e)))?;
    if !is_root() {
        return Err(Error::NotRoot);
    }
    step(&format!("starting dockerd in the background (log: {DOCKERD_LOG})"));
    let log = std::fs::OpenOptions::new().create(true).append(true).open(DOCKERD_LOG).map_err(Error::Start)?;
    let mut cmd = Command::new("dockerd");
    cmd.stdin(Stdio::null()).stdout(log.try_clone().map_err(Error::Start)?).stderr(log);
    // Its own session: Ctrl-C in this terminal must not stop the engine.
    // SAFETY: setsid is async-signal-safe and touches nothing of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn().map_err(Error::Start)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !engine_answers() {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(DOCKERD_LOG).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            return Err(Error::NoAnswer(tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    step("Docker engine started");
    Ok(())
}

/// Whether `program` is a file in a folder of `PATH`.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Makes sure `program` is on PATH, installing Debian `package` with apt-get
/// when it is missing and this is a root shell on a Debian-like system.
pub fn ensure_installed(program: &str, package: &str, step: &mut dyn FnMut(&str)) -> Result<(), Error> {
    if have(program) {
        return Ok(());
    }
    if !is_root() || !have("apt-get") {
        return Err(Error::Missing { program: program.to_string(), package: package.to_string() });
    }
    step(&format!("installing {package} with apt-get (for `{program}`)"));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get").args(["install", "-y", "-qq", package]).env("DEBIAN_FRONTEND", "noninteractive"))?;
    if !have(program) {
        return Err(Error::NotOnPath { program: program.to_string(), package: package.to_string() });
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result<(), Error> {
    let command = format!("{cmd:?}");
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Error::Command { command, why: status.to_string() }),
        Err(e) => Err(Error::Command { command, why: e.to_string() }),
    }
}
