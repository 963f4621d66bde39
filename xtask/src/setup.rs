//! `cargo xtask setup`: a Docker engine that answers, and what building the
//! offline base image needs. Installs Debian's docker.io and starts dockerd
//! when it runs as root on a Debian-like system; otherwise says what to do.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::sys::{self, step};

const SOCKET: &str = "/var/run/docker.sock";
const DOCKERD_LOG: &str = "/var/log/stackbench-dockerd.log";

pub fn run() -> anyhow::Result<()> {
    if let Some(host) = std::env::var_os("DOCKER_HOST") {
        step(&format!("using the Docker engine at DOCKER_HOST={}", host.to_string_lossy()));
    } else if engine_answers() {
        step(&format!("Docker engine answers at {SOCKET}"));
    } else {
        start_engine()?;
    }
    // The offline base image (no registry) is made with debootstrap.
    sys::ensure_installed("debootstrap", "debootstrap")
}

/// A `GET /_ping` on the engine's socket.
fn engine_answers() -> bool {
    let Ok(mut s) = UnixStream::connect(SOCKET) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.") && reply.contains(" 200 ")
}

fn start_engine() -> anyhow::Result<()> {
    step(&format!("no Docker engine answers at {SOCKET}"));
    sys::ensure_installed("dockerd", "docker.io").context(
        "stackbench needs a Docker engine: install one (Debian: apt-get install docker.io) and start it (dockerd), \
         or set DOCKER_HOST",
    )?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("dockerd is installed but not running, and starting it needs root: run `sudo dockerd &` (or `systemctl start docker`)");
    }
    step(&format!("starting dockerd in the background (log: {DOCKERD_LOG})"));
    let log = std::fs::OpenOptions::new().create(true).append(true).open(DOCKERD_LOG)?;
    let mut cmd = Command::new("dockerd");
    cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    // Its own session: Ctrl-C in this terminal must not stop the engine.
    // SAFETY: setsid is async-signal-safe and touches nothing of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn().context("cannot start dockerd")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !engine_answers() {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(DOCKERD_LOG).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            bail!(
                "dockerd did not answer within 60 s; the end of {DOCKERD_LOG}:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    step("Docker engine started");
    Ok(())
}
