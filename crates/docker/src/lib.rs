//! The Docker engine through bollard: images, limited containers, cleanup,
//! the cgroup figures of a running container and the addresses it listens on.
//!
//! Architecture invariant: this crate talks to the Docker API (and reads
//! cgroup files and `/proc`); it never shells out to the `docker` CLI and knows nothing
//! about HTTP load.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

mod base_image;
mod build;
mod cgroup;
mod clean;
mod container;
mod dockerfile;
mod listeners;
pub mod temporary;
mod transfer;

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;

pub use base_image::{ensure_base_image, remove_tree, BaseImage};
pub use build::{build_image, build_image_until, BuildFailed, BuildSpec, Built, IMAGE_CA_PATH};
pub use cgroup::{CgroupCounters, Sample};
pub use clean::{Cleaned, Disk, DISK_LOW_FREE};
pub use container::{ContainerSpec, ContainerState, Running, OPEN_FILES};
pub use dockerfile::base_images;
pub use listeners::is_loopback_only;

/// The label on everything stackbench creates; its value is the run id.
pub const RUN_LABEL: &str = "stackbench.run";
/// The label on every image stackbench builds; its value is the tag it was built as.
pub const IMAGE_LABEL: &str = "stackbench.image";
/// The label holding the process id of the run that owns a container.
pub const PID_LABEL: &str = "stackbench.pid";
/// The label naming the machine that process runs on: a shared remote engine
/// holds containers of several machines, and only this one's pids can be checked.
pub const HOST_LABEL: &str = "stackbench.host";

/// This machine's name, as [`HOST_LABEL`] holds it.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no Docker engine answers at {endpoint}: {reason}; start one (`stackbench setup`, or `cargo xtask setup` in \
         stackbench's checkout, installs Debian's docker.io and starts dockerd), or point DOCKER_HOST at a running engine"
    )]
    NoEngine { endpoint: String, reason: String },
    #[error("Docker engine: {context}: {source}")]
    Api { context: String, source: bollard::errors::Error },
    #[error(transparent)]
    Build(#[from] BuildFailed),
    #[error("cannot provide base image '{image}': {reason}")]
    BaseImage { image: String, reason: String },
    #[error("the build of '{0}' was stopped")]
    Stopped(String),
    #[error("cannot read build context '{}': {source}", path.display())]
    Context { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Proc { path: String, source: std::io::Error },
    #[error("the engine gave no counters for container {0}")]
    NoCounters(String),
    #[error("cannot archive {path} for container {container}: {source}")]
    CopyIn { path: String, container: String, source: std::io::Error },
}

pub(crate) fn api(context: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
    let context = context.into();
    move |source| Error::Api { context, source }
}

/// How long a call that found the engine not answering is tried again: a
/// restart of a few seconds loses nothing.
pub const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// True when the engine did not answer (refused, reset, gone, timed out), as
/// opposed to answering with an error.
pub(crate) fn unreachable(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        e,
        E::HyperLegacyError { .. }
            | E::IOError { .. }
            | E::RequestTimeoutError
            | E::HyperResponseError { .. }
            | E::SocketNotFoundError(_)
    )
}

impl Error {
    /// The engine did not answer (for [`RETRY_FOR`] where calls are tried again).
    pub fn is_unreachable(&self) -> bool {
        match self {
            Error::NoEngine { .. } => true,
            Error::Api { source, .. } => unreachable(source),
            _ => false,
        }
    }
}

/// Makes `call` until the engine answers (with a result or an error of its
/// own), for at most [`RETRY_FOR`]; for calls that can be made twice.
pub(crate) async fn retrying<T, F>(mut call: impl FnMut() -> F) -> Result<T, bollard::errors::Error>
where
    F: std::future::Future<Output = Result<T, bollard::errors::Error>>,
{
    let deadline = std::time::Instant::now() + RETRY_FOR;
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        match call().await {
            Err(e) if unreachable(&e) && std::time::Instant::now() + wait < deadline => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(2));
            }
            outcome => return outcome,
        }
    }
}

/// True for the engine's "no such object" answer, which cleanup treats as done.
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// A connection to an engine, with the API version agreed.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    /// Where it answers, DOCKER_HOST-style (`unix:///var/run/docker.sock`, `tcp://host:2376`).
    pub endpoint: String,
    /// The engine's version and API version, e.g. `20.10.24` and `1.41`.
    pub version: String,
    pub api_version: String,
    /// The kernel, the CPUs and the host name of the engine's machine, as the engine reports them.
    pub kernel: String,
    pub n_cpus: usize,
    pub host_name: String,
}

impl Engine {
    /// Connects to `DOCKER_HOST` or the local socket, and negotiates the API
    /// version (Debian's engine speaks 1.41, older than bollard's default).
    pub async fn connect() -> Result<Engine, Error> {
        let endpoint = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
        Engine::connect_to(&endpoint).await
    }

    /// Connects to the engine at `endpoint`: `unix://PATH`, `tcp://HOST:PORT`
    /// (TLS when DOCKER_TLS_VERIFY is set, with the certificates in
    /// DOCKER_CERT_PATH, as the docker CLI does) or `https://HOST:PORT`.
    pub async fn connect_to(endpoint: &str) -> Result<Engine, Error> {
        let no_engine = |reason: String| Error::NoEngine { endpoint: endpoint.to_string(), reason };
        let docker = Docker::connect_with_host(endpoint).map_err(|e| no_engine(e.to_string()))?;
        let docker = docker.negotiate_version().await.map_err(|e| no_engine(e.to_string()))?;
        let v = docker.version().await.map_err(|e| no_engine(e.to_string()))?;
        let info = docker.info().await.map_err(|e| no_engine(e.to_string()))?;
        Ok(Engine {
            n_cpus: info.ncpu.and_then(|n| usize::try_from(n).ok()).filter(|&n| n > 0).unwrap_or(1),
            host_name: info.name.unwrap_or_default(),
            docker,
            endpoint: endpoint.to_string(),
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            kernel: v.kernel_version.unwrap_or_default(),
        })
    }

    /// True for an engine on this machine's socket: its containers' processes,
    /// cgroups and sockets can be read from this machine's `/proc` and `/sys`.
    pub fn is_local(&self) -> bool {
        self.endpoint.starts_with("unix://")
    }

    /// True for an engine whose containers run on this machine's CPUs: one on
    /// its socket, or one reached over TCP that reports this machine's name.
    pub fn on_this_machine(&self) -> bool {
        self.is_local() || self.host_name == this_host()
    }

    /// Removes a container, stopping it if needed. A container that is
    /// already gone is not an error.
    pub async fn remove(&self, id: &str) -> Result<(), Error> {
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        match retrying(|| self.docker.remove_container(id, Some(options.clone()))).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("removing container {id}"))(e)),
        }
    }

    /// Reaps: removes the containers that runs of this machine which are no
    /// longer alive left behind (by label); returns their names.
    pub async fn reap(&self) -> Result<Vec<String>, Error> {
        let filters = HashMap::from([("label".to_string(), vec![RUN_LABEL.to_string()])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let containers =
            retrying(|| self.docker.list_containers(Some(options.clone()))).await.map_err(api("listing containers"))?;
        let mut reaped = Vec::new();
        let here = this_host();
        for c in containers {
            let labels = c.labels.clone().unwrap_or_default();
            if labels.get(HOST_LABEL).is_some_and(|host| *host != here) {
                // Another machine's run: its pid means nothing here.
                continue;
            }
            let owner_alive = labels.get(PID_LABEL).and_then(|pid| pid.parse::<i32>().ok()).is_some_and(process_alive);
            if owner_alive {
                continue;
            }
            let Some(id) = c.id else { continue };
            self.remove(&id).await?;
            let name = c.names.and_then(|n| n.first().cloned()).unwrap_or(id);
            reaped.push(name.trim_start_matches('/').to_string());
        }
        Ok(reaped)
    }

    /// The last `lines` lines of a container's output (stdout and stderr).
    pub async fn logs_tail(&self, id: &str, lines: usize) -> String {
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&lines.to_string()).build();
        let mut out = String::new();
        let mut stream = self.docker.logs(id, Some(options));
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        out
    }

    /// Names of the containers labelled with `run_id`.
    pub async fn containers_of_run(&self, run_id: &str) -> Result<Vec<String>, Error> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{RUN_LABEL}={run_id}")])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(api("listing containers"))?;
        Ok(containers.into_iter().filter_map(|c| c.id).collect())
    }
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}
