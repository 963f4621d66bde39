//! Containers with limits: created, started, inspected.

use std::collections::HashMap;
use std::time::Instant;

use bollard::models::{ContainerCreateBody, HostConfig, ResourcesUlimits};

/// The most open files a container is given (soft and hard limit).
pub const OPEN_FILES: u64 = 65_536;

use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, LogsOptionsBuilder, StatsOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptions,
};
use futures_util::StreamExt;

use crate::{api, is_not_found, CgroupCounters, Engine, Error, Sample};

/// Everything a container is started with. Limits are not optional: every
/// container stackbench starts has CPU, memory and pids limits.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// Empty: the image's command.
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    /// CPU limit in CPUs (CFS quota).
    pub cpus: f64,
    /// The CPUs it may run on, e.g. `1` or `1-3`.
    pub cpuset: String,
    pub memory: u64,
    pub pids: u32,
    /// Share the host's network namespace (the server binds 127.0.0.1 only).
    pub host_network: bool,
    /// Its open-files limit (soft and hard), at most [`OPEN_FILES`]: an engine
    /// cannot give its containers more than it has itself.
    pub open_files: u64,
    /// Join this container's PID namespace (a profiler sees the server's processes).
    pub pid_namespace_of: Option<String>,
    /// Capabilities added to the engine's default set, e.g. `SYS_PTRACE`.
    pub capabilities: Vec<String>,
    /// Without the engine's seccomp filter (which refuses `perf_event_open`
    /// to a container without `SYS_ADMIN`); the kernel's own checks still apply.
    pub seccomp_unconfined: bool,
    /// Files put in it before it starts, by absolute path, with their contents (the run's TLS
    /// certificate): copied through the engine, so that a remote engine gets them too.
    pub files: Vec<(String, Vec<u8>)>,
}

/// A started container.
#[derive(Debug, Clone)]
pub struct Running {
    pub id: String,
    pub name: String,
    /// Its main process, as the host sees it.
    pub pid: u32,
    pub counters: Option<CgroupCounters>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub running: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
}

impl Engine {
    /// Creates and starts a container. If starting fails, the container is removed.
    pub async fn start(&self, spec: &ContainerSpec) -> Result<Running, Error> {
        let host_config = HostConfig {
            nano_cpus: Some((spec.cpus * 1e9) as i64),
            cpuset_cpus: Some(spec.cpuset.clone()),
            memory: Some(spec.memory as i64),
            // No swap: the memory limit is the limit.
            memory_swap: Some(spec.memory as i64),
            pids_limit: Some(i64::from(spec.pids)),
            network_mode: Some(if spec.host_network { "host".into() } else { "bridge".into() }),
            privileged: Some(false),
            pid_mode: spec.pid_namespace_of.as_ref().map(|id| format!("container:{id}")),
            cap_add: (!spec.capabilities.is_empty()).then(|| spec.capabilities.clone()),
            security_opt: Some(
                std::iter::once("no-new-privileges".to_string())
                    .chain(spec.seccomp_unconfined.then(|| "seccomp=unconfined".to_string()))
                    .collect(),
            ),
            init: Some(true),
            // Soft limit raised to the hard one (dockerd may pass a low soft limit): 10,000+ connections.
            ulimits: Some(vec![ResourcesUlimits {
                name: Some("nofile".into()),
                soft: Some(spec.open_files.min(OPEN_FILES) as i64),
                hard: Some(spec.open_files.min(OPEN_FILES) as i64),
            }]),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            host_config: Some(host_config),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&spec.name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(api(format!("creating container {}", spec.name)))?;
        if let Err(e) = self.put_files(&created.id, &spec.files).await {
            let _ = self.remove(&created.id).await;
            return Err(e);
        }
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            let _ = self.remove(&created.id).await;
            return Err(api(format!("starting container {}", spec.name))(e));
        }
        let inspect =
            self.docker.inspect_container(&created.id, None).await.map_err(api(format!("inspecting {}", spec.name)))?;
        let pid = inspect.state.and_then(|s| s.pid).unwrap_or(0) as u32;
        // A remote engine's pid means nothing in this machine's /proc.
        let counters = (self.is_local() && pid > 0).then(|| CgroupCounters::for_pid(pid).ok()).flatten();
        Ok(Running { id: created.id, name: spec.name.clone(), pid, counters })
    }

    /// Copies `files` into created container `id` (as one archive, unpacked at `/`).
    async fn put_files(&self, id: &str, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
        if files.is_empty() {
            return Ok(());
        }
        let mut tar = tar::Builder::new(Vec::new());
        for (path, bytes) in files {
            let copy_in = |source| Error::CopyIn { path: path.clone(), container: id.to_string(), source };
            crate::build::append_bytes(&mut tar, path.trim_start_matches('/'), bytes).map_err(copy_in)?;
        }
        let archive = tar.into_inner().expect("an archive in memory is finished without I/O errors");
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(api(format!("copying {} file(s) into container {id}", files.len())))
    }

    /// Waits until container `id` has exited and returns its exit code.
    pub async fn wait_exit(&self, id: &str) -> Result<i64, Error> {
        let mut wait = self.docker.wait_container(id, None::<WaitContainerOptions>);
        match wait.next().await {
            Some(Ok(status)) => Ok(status.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(api(format!("waiting for {id}"))(e)),
            None => Ok(self.state(id).await?.exit_code.unwrap_or(-1)),
        }
    }

    /// Container `id`'s CPU, memory and throttling counters through the API (one
    /// `docker stats` reading, without its 1 s wait): for a remote engine, whose
    /// cgroup files are not on this machine. Same counters as [`CgroupCounters`].
    pub async fn stats_sample(&self, id: &str) -> Result<Sample, Error> {
        let options = StatsOptionsBuilder::default().stream(false).one_shot(true).build();
        let mut stats = self.docker.stats(id, Some(options));
        let reading = match stats.next().await {
            Some(reading) => reading.map_err(api(format!("reading the counters of {id}")))?,
            None => return Err(Error::NoCounters(id.to_string())),
        };
        let cpu = reading.cpu_stats.unwrap_or_default();
        let throttling = cpu.throttling_data.unwrap_or_default();
        let memory = reading.memory_stats.unwrap_or_default();
        Ok(Sample {
            at: Instant::now(),
            cpu_ns: cpu.cpu_usage.and_then(|u| u.total_usage).unwrap_or(0),
            memory: memory.usage.unwrap_or(0),
            nr_throttled: throttling.throttled_periods.unwrap_or(0),
            throttled_ns: throttling.throttled_time.unwrap_or(0),
            // cgroup v1 engines report it; the API has no OOM-kill count.
            memory_high_water: memory.max_usage.unwrap_or(0),
            oom_kills: 0,
        })
    }

    /// Everything container `id` wrote to its standard output.
    pub async fn stdout(&self, id: &str) -> Result<String, Error> {
        let options = LogsOptionsBuilder::default().stdout(true).stderr(false).build();
        let mut out = Vec::new();
        let mut stream = self.docker.logs(id, Some(options));
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.map_err(api(format!("reading the output of {id}")))?.into_bytes());
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Sends `signal` (e.g. `SIGINT`) to container `id`'s main process.
    pub async fn signal(&self, id: &str, signal: &str) -> Result<(), Error> {
        let options = KillContainerOptionsBuilder::default().signal(signal).build();
        match self.docker.kill_container(id, Some(options)).await {
            // Gone, or not running any more: nothing left to signal.
            Err(e)
                if is_not_found(&e)
                    || matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) =>
            {
                Ok(())
            }
            other => other.map_err(api(format!("signalling {id}"))),
        }
    }

    pub async fn state(&self, id: &str) -> Result<ContainerState, Error> {
        let inspect = crate::retrying(|| self.docker.inspect_container(id, None))
            .await
            .map_err(api(format!("inspecting {id}")))?;
        let state = inspect.state.unwrap_or_default();
        Ok(ContainerState {
            running: state.running.unwrap_or(false),
            exit_code: state.exit_code,
            oom_killed: state.oom_killed.unwrap_or(false),
        })
    }
}
