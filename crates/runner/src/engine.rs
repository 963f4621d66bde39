//! What the runner asks of a container engine, as a trait: `docker::Engine`
//! in real use, a fake in the runner's tests, so that the order of its steps,
//! its retries and its faults are tested in milliseconds, without an engine.
//!
//! Architecture invariant: the runner reaches an engine only through
//! [`ContainerEngine`]; what only a real engine shows (builds, limits,
//! cgroups, the loopback check) stays in the real-engine tests.

use std::net::SocketAddr;
use std::sync::Arc;

use docker::{BaseImage, BuildSpec, Built, ContainerSpec, ContainerState, Disk, Error, Running, Sample};
use futures_util::future::BoxFuture;

/// An engine as the runner holds it.
pub type EngineRef = Arc<dyn ContainerEngine>;

/// Where a build or a base image's making sends each line of its output.
pub type OnLine<'a> = &'a mut (dyn FnMut(&str) + Send);

/// Resolves when a build is to be given up.
pub type Stop<'a> = BoxFuture<'a, ()>;

/// What an engine call comes back with, in time.
pub type Answer<'a, T> = BoxFuture<'a, Result<T, Error>>;

/// The engine calls the runner makes. Each answers as `docker::Engine`'s
/// method of the same name does (a 404 on removal is success; an engine that
/// stops answering is an error for which `Error::is_unreachable` holds).
pub trait ContainerEngine: Send + Sync {
    /// How the engine was reached (`unix:///var/run/docker.sock`).
    fn endpoint(&self) -> &str;
    fn version(&self) -> &str;
    fn api_version(&self) -> &str;
    fn kernel(&self) -> &str;
    /// The CPUs of the engine's machine, as it reports them.
    fn n_cpus(&self) -> usize;
    /// Its containers' `/proc` and cgroups are this machine's.
    fn is_local(&self) -> bool;
    /// It runs on this machine (locally or through TCP to this host).
    fn on_this_machine(&self) -> bool;
    /// The Docker engine behind it, for what only passes between two of them (copying an image).
    fn docker(&self) -> Option<&docker::Engine> {
        None
    }

    fn start<'a>(&'a self, spec: &'a ContainerSpec) -> Answer<'a, Running>;
    fn remove<'a>(&'a self, id: &'a str) -> Answer<'a, ()>;
    /// Removes the containers of runs whose process is gone; their names.
    fn reap(&self) -> Answer<'_, Vec<String>>;
    fn state<'a>(&'a self, id: &'a str) -> Answer<'a, ContainerState>;
    fn logs_tail<'a>(&'a self, id: &'a str, lines: usize) -> BoxFuture<'a, String>;
    /// The addresses a container's processes listen on (local engines only).
    fn listening<'a>(&'a self, id: &'a str) -> Answer<'a, Vec<SocketAddr>>;
    fn stats_sample<'a>(&'a self, id: &'a str) -> Answer<'a, Sample>;
    fn wait_exit<'a>(&'a self, id: &'a str) -> Answer<'a, i64>;
    fn stdout<'a>(&'a self, id: &'a str) -> Answer<'a, String>;
    fn signal<'a>(&'a self, id: &'a str, signal: &'a str) -> Answer<'a, ()>;
    fn has_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, bool>;
    /// How full its images' disk is (none for an engine on another machine).
    fn disk(&self) -> BoxFuture<'_, Option<Disk>>;
    /// Builds `spec`, each line of output to `on_line`; given up (`Error::Stopped`) when `stop` resolves.
    fn build<'a>(&'a self, spec: &'a BuildSpec, on_line: OnLine<'a>, stop: Stop<'a>) -> Answer<'a, Built>;
    /// Makes sure base image `image` is there: present, pulled, or made offline.
    fn ensure_base<'a>(&'a self, image: &'a str, on_line: OnLine<'a>) -> Answer<'a, BaseImage>;
}

impl ContainerEngine for docker::Engine {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn api_version(&self) -> &str {
        &self.api_version
    }
    fn kernel(&self) -> &str {
        &self.kernel
    }
    fn n_cpus(&self) -> usize {
        self.n_cpus
    }
    fn is_local(&self) -> bool {
        docker::Engine::is_local(self)
    }
    fn on_this_machine(&self) -> bool {
        docker::Engine::on_this_machine(self)
    }
    fn docker(&self) -> Option<&docker::Engine> {
        Some(self)
    }
    fn start<'a>(&'a self, spec: &'a ContainerSpec) -> Answer<'a, Running> {
        Box::pin(docker::Engine::start(self, spec))
    }
    fn remove<'a>(&'a self, id: &'a str) -> Answer<'a, ()> {
        Box::pin(docker::Engine::remove(self, id))
    }
    fn reap(&self) -> Answer<'_, Vec<String>> {
        Box::pin(docker::Engine::reap(self))
    }
    fn state<'a>(&'a self, id: &'a str) -> Answer<'a, ContainerState> {
        Box::pin(docker::Engine::state(self, id))
    }
    fn logs_tail<'a>(&'a self, id: &'a str, lines: usize) -> BoxFuture<'a, String> {
        Box::pin(docker::Engine::logs_tail(self, id, lines))
    }
    fn listening<'a>(&'a self, id: &'a str) -> Answer<'a, Vec<SocketAddr>> {
        Box::pin(docker::Engine::listening(self, id))
    }
    fn stats_sample<'a>(&'a self, id: &'a str) -> Answer<'a, Sample> {
        Box::pin(docker::Engine::stats_sample(self, id))
    }
    fn wait_exit<'a>(&'a self, id: &'a str) -> Answer<'a, i64> {
        Box::pin(docker::Engine::wait_exit(self, id))
    }
    fn stdout<'a>(&'a self, id: &'a str) -> Answer<'a, String> {
        Box::pin(docker::Engine::stdout(self, id))
    }
    fn signal<'a>(&'a self, id: &'a str, signal: &'a str) -> Answer<'a, ()> {
        Box::pin(docker::Engine::signal(self, id, signal))
    }
    fn has_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(docker::Engine::has_image(self, image))
    }
    fn disk(&self) -> BoxFuture<'_, Option<Disk>> {
        Box::pin(docker::Engine::disk(self))
    }
    fn build<'a>(&'a self, spec: &'a BuildSpec, on_line: OnLine<'a>, stop: Stop<'a>) -> Answer<'a, Built> {
        Box::pin(docker::build_image_until(self, spec, on_line, stop))
    }
    fn ensure_base<'a>(&'a self, image: &'a str, on_line: OnLine<'a>) -> Answer<'a, BaseImage> {
        Box::pin(docker::ensure_base_image(self, image, on_line))
    }
}
