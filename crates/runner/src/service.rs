//! Containers of a run: built, started with limits, waited for, verified,
//! and removed by a guard whatever happens.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use docker::{CgroupCounters, ContainerSpec, Running};

use crate::EngineRef;

use crate::{Event, Halt, Runner};
use plan::{EndpointPlan, Plan, ServicePlan};
use record::RunRecord;

/// What a readiness failure says before the server's last lines, which follow it on the next lines.
pub(crate) const LAST_LINES: &str = "; its last lines:";

/// How deep project base images may start from one another.
const MAX_BASE_DEPTH: u32 = 4;

/// An image to build, and the key it is recorded under.
struct Image<'a> {
    key: &'a str,
    context: std::path::PathBuf,
    dockerfile: &'a str,
    tag: &'a str,
    build_args: &'a std::collections::BTreeMap<String, String>,
}

/// `stackbench/base-python[:TAG]` -> `base-python`: an image the project builds from `docker/base-python/`.
pub(crate) fn project_base(image: &str) -> Option<&str> {
    let name = image.strip_prefix("stackbench/")?;
    let name = name.split_once(':').map_or(name, |(name, _tag)| name);
    (name.starts_with(scenario::BASE_IMAGE_PREFIX) && !name.contains(['/', '@'])).then_some(name)
}

/// One build of an image at a time, by engine and image: runs that go at once (verification) and need the
/// same image, or the same missing base, make it once; the others wait, then find it made.
#[derive(Default)]
pub(crate) struct ImageLocks(std::sync::Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>);

impl ImageLocks {
    /// Held until the guard is dropped.
    pub(crate) async fn lock(&self, engine: &EngineRef, image: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let key = format!("{} {image}", engine.endpoint());
        let lock = self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().clone();
        lock.lock_owned().await
    }
}

/// Lines of a container's output kept with a failure.
pub(crate) const LOG_TAIL: usize = 20;

/// Every container a run started, on whichever engine; all are removed by
/// [`Containers::remove_all`], or, if that is never reached, when the guard is dropped.
#[derive(Default)]
pub(crate) struct Containers {
    /// Each one's engine, id and name.
    ids: Vec<(EngineRef, String, String)>,
    /// The cgroups of those on this machine.
    cgroups: Vec<CgroupCounters>,
}

impl Containers {
    pub fn track(&mut self, engine: &EngineRef, running: &Running) {
        self.ids.push((engine.clone(), running.id.clone(), running.name.clone()));
        self.cgroups.extend(running.counters.clone());
    }

    /// The cgroups of the containers on this machine, to tell the run's own CPU time from others'.
    pub fn cgroups(&self) -> Vec<CgroupCounters> {
        self.cgroups.clone()
    }

    /// Removes them all; returns the names of those that could not be (the
    /// engine did not answer), which the next run removes (they are labelled).
    pub async fn remove_all(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        for (engine, id, name) in std::mem::take(&mut self.ids) {
            if engine.remove(&id).await.is_err() {
                left.push(format!("{name} on {}", engine.endpoint()));
            }
        }
        left
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        if self.ids.is_empty() {
            return;
        }
        // Dropped without `remove_all` (a panic, or a future dropped mid-way):
        // remove them from a thread with its own runtime, since this one may be shutting down.
        let mut rest = Containers { ids: std::mem::take(&mut self.ids), cgroups: Vec::new() };
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(rest.remove_all());
        })
        .join();
    }
}

/// The labels of every container a run starts: the sweep of a later run reads them.
pub(crate) fn run_labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (docker::RUN_LABEL.to_string(), run_id.to_string()),
        (docker::PID_LABEL.to_string(), std::process::id().to_string()),
        (docker::HOST_LABEL.to_string(), docker::this_host()),
    ])
}

impl Runner<'_> {
    /// Makes sure the base images exist, then builds the service's image;
    /// `project` is the scenario's (where its own base images' contexts are).
    pub(crate) async fn build(
        &self,
        svc: &ServicePlan,
        project: &Path,
        record: &mut RunRecord,
        results: &Path,
    ) -> Result<(), Halt> {
        let image = Image {
            key: &svc.key,
            context: svc.context.clone(),
            dockerfile: &svc.dockerfile,
            tag: &svc.tag,
            build_args: &svc.build_args,
        };
        self.build_image(image, project, record, results, 0).await
    }

    /// Builds one image after the images it starts from: a project base image
    /// (`FROM stackbench/base-NAME`, built from the project's `docker/base-NAME/`,
    /// else from the one built into stackbench) first, any other base found,
    /// pulled or made offline.
    async fn build_image(
        &self,
        image: Image<'_>,
        project: &Path,
        record: &mut RunRecord,
        results: &Path,
        depth: u32,
    ) -> Result<(), Halt> {
        let path = image.context.join(image.dockerfile);
        let dockerfile =
            std::fs::read_to_string(&path).map_err(|e| Halt::Failed(format!("cannot read {}: {e}", path.display())))?;
        for base in docker::base_images(&dockerfile, image.build_args) {
            if let Some(name) = project_base(&base) {
                if depth >= MAX_BASE_DEPTH {
                    return Err(Halt::Failed(format!(
                        "{}: project base images nest deeper than {MAX_BASE_DEPTH} (a FROM cycle?)",
                        path.display()
                    )));
                }
                let own = project.join("docker").join(name);
                let (context, _written) = if own.join("Dockerfile").is_file() {
                    (own, None)
                } else if let Some(files) = crate::embedded::base(name) {
                    self.emit(Event::Step(&format!(
                        "{base}: the build context built into stackbench (the project has no docker/{name}/)"
                    )));
                    let dir = crate::embedded::write(name, files)
                        .map_err(|e| Halt::Failed(format!("cannot write the build context of {base}: {e}")))?;
                    (dir.path().to_path_buf(), Some(dir))
                } else {
                    return Err(Halt::Failed(format!(
                        "{} starts FROM {base}, which stackbench builds from docker/{name}/Dockerfile in the project \
                         ({}), but that file does not exist (the base images built into stackbench: {})",
                        path.display(),
                        project.display(),
                        crate::embedded::base_names().join(", ")
                    )));
                };
                // Tagged as the FROM line names it (`stackbench/base-python:3.13`), built with the same build arguments.
                let tag = if base.contains(':') { base.clone() } else { format!("{base}:latest") };
                let base_image =
                    Image { key: name, context, dockerfile: "Dockerfile", tag: &tag, build_args: image.build_args };
                Box::pin(self.build_image(base_image, project, record, results, depth + 1)).await?;
                continue;
            }
            self.ensure_base(&self.engine, &base).await?;
        }
        let _building = self.images.lock(&self.engine, image.tag).await;
        self.emit(Event::Step(&format!("building {} from {}", image.tag, image.context.display())));
        let spec = docker::BuildSpec {
            context: image.context.clone(),
            dockerfile: image.dockerfile.to_string(),
            tag: image.tag.to_string(),
            build_args: image.build_args.clone(),
            labels: HashMap::from([("stackbench.scenario".to_string(), record.scenario.name.clone())]),
            ca_bundle: self.options.ca_bundle.clone().filter(|p| p.is_file()),
        };
        match self.build_on(&self.engine, &spec).await? {
            Ok(built) => {
                record.provenance.images.insert(image.key.to_string(), built.image_id);
                Ok(())
            }
            Err(docker::Error::Build(failed)) => {
                let log_path = results.with_extension(format!("build-{}.log", image.key));
                let _ = std::fs::write(&log_path, &failed.log);
                record.build_logs.insert(image.key.to_string(), log_path.display().to_string());
                Err(Halt::Failed(format!("{failed}\n(whole build log: {})", log_path.display())))
            }
            Err(e) => Err(Halt::Fatal(e.into())),
        }
    }

    /// Builds `spec` on `engine`, its output streamed as details. A cancel
    /// stops the build (and removes its step's container) and comes back as
    /// `Err`, like [`Runner::until_cancelled`]; the build's own outcome is `Ok`.
    pub(crate) async fn build_on(
        &self,
        engine: &EngineRef,
        spec: &docker::BuildSpec,
    ) -> Result<Result<docker::Built, docker::Error>, Halt> {
        let mut on_line = |line: &str| self.emit(Event::Detail(line));
        match engine.build(spec, &mut on_line, Box::pin(self.cancel.cancelled())).await {
            Err(docker::Error::Stopped(_)) => Err(Halt::Failed(crate::INTERRUPTED.into())),
            outcome => Ok(outcome),
        }
    }

    /// Starts a service with its limits on a port stackbench picked, and waits
    /// until it is ready and listens on loopback only.
    pub(crate) async fn start_ready(
        &self,
        svc: &ServicePlan,
        plan: &Plan,
        run_id: &str,
        extra_env: &[String],
        containers: &mut Containers,
    ) -> Result<(Running, u16), Halt> {
        let port = free_port().map_err(|e| Halt::Failed(format!("cannot find a free port: {e}")))?;
        let mut env = svc.own_env(port);
        env.extend_from_slice(extra_env);
        let spec = ContainerSpec {
            name: format!("stackbench-{run_id}-{}-{}", svc.key, self.next_container()),
            image: svc.tag.clone(),
            cmd: svc.command_for(port),
            env,
            labels: run_labels(run_id),
            cpus: svc.cpus,
            cpuset: plan.server_cpuset.clone(),
            memory: svc.memory,
            pids: svc.pids,
            host_network: true,
            open_files: self.open_files(),
            pid_namespace_of: None,
            capabilities: Vec::new(),
            seccomp_unconfined: false,
            files: if svc.tls { self.tls.files() } else { Vec::new() },
        };
        self.emit(Event::Step(&format!(
            "starting {} on {} (cpus {} on CPU {}, memory {} MiB)",
            svc.key,
            svc.address(port),
            svc.cpus,
            plan.server_cpuset,
            svc.memory >> 20
        )));
        let running = self.engine.start(&spec).await.map_err(|e| Halt::Fatal(e.into()))?;
        containers.track(&self.engine, &running);
        self.wait_ready(svc, &running, port, svc.ready.timeout.0).await?;
        self.refuse_exposed(svc, &running).await?;
        Ok((running, port))
    }

    /// Host networking shares the machine's interfaces: a service that listens
    /// on anything but loopback (0.0.0.0, `::`, a LAN address) would be open to
    /// the network, so the scenario stops there.
    async fn refuse_exposed(&self, svc: &ServicePlan, running: &Running) -> Result<(), Halt> {
        if !self.engine.is_local() {
            // Its sockets are on another machine; there it binds the address the user named.
            return Ok(());
        }
        let addrs = match self.engine.listening(&running.id).await {
            Ok(addrs) => addrs,
            Err(e) => {
                self.emit(Event::Warning(&format!("cannot check which addresses {} listens on: {e}", svc.key)));
                return Ok(());
            }
        };
        let exposed: Vec<String> =
            addrs.iter().filter(|a| !docker::is_loopback_only(a)).map(ToString::to_string).collect();
        if exposed.is_empty() {
            return Ok(());
        }
        Err(Halt::Failed(format!(
            "{} listens on {}, which host networking opens on every interface of this machine; \
             bind it to 127.0.0.1 (`{{host}}` in `command`, or $STACKBENCH_HOST)",
            svc.key,
            exposed.join(", ")
        )))
    }

    /// Waits until the service answers its readiness check, for at most
    /// `within`; fails early if the container exits.
    pub(crate) async fn wait_ready(
        &self,
        svc: &ServicePlan,
        running: &Running,
        port: u16,
        within: Duration,
    ) -> Result<(), Halt> {
        let deadline = Instant::now() + within;
        let client = self.http_client(svc.tls, svc.http2)?;
        let scheme = if svc.tls { "https" } else { "http" };
        let url = svc.ready.path.as_ref().map(|p| format!("{scheme}://{}{p}", svc.address(port)));
        let mut polls = 0u32;
        // What the last check got, for the error: an answer that was not 2xx says more than a timeout.
        let mut last_answer = None;
        // And why the last check got no answer (a certificate that does not verify, a refused connection).
        let mut last_error = None;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Halt::Failed("interrupted while waiting for readiness".into()));
            }
            let ready = match &url {
                Some(url) => match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => true,
                    Ok(r) => {
                        last_answer = Some(r.status());
                        false
                    }
                    Err(e) => {
                        last_error = Some(causes(&e));
                        false
                    }
                },
                None => tokio::net::TcpStream::connect(svc.address(port)).await.is_ok(),
            };
            if ready {
                return Ok(());
            }
            polls += 1;
            if polls.is_multiple_of(10) {
                let state = self.engine.state(&running.id).await.map_err(|e| Halt::Fatal(e.into()))?;
                if !state.running {
                    let logs = self.engine.logs_tail(&running.id, LOG_TAIL).await;
                    return Err(Halt::Failed(format!(
                        "{} exited {} before it was ready{LAST_LINES}\n{logs}",
                        svc.key,
                        crate::levels::exit_words(&state)
                    )));
                }
            }
            if Instant::now() > deadline {
                let logs = self.engine.logs_tail(&running.id, LOG_TAIL).await;
                let what = match (&url, last_answer) {
                    (Some(url), Some(status)) => format!("{url} answered {status}, not 2xx"),
                    (Some(url), None) => match &last_error {
                        Some(why) => format!("{url} never answered (the last try: {why})"),
                        None => format!("{url} never answered"),
                    },
                    (None, _) => format!("a TCP connect to {} never succeeded", svc.address(port)),
                };
                return Err(Halt::Failed(format!(
                    "{} was not ready after {}: {what}{LAST_LINES}\n{logs}",
                    svc.key,
                    humantime::format_duration(within)
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends the endpoint's request once (each request of a mix) and checks status and body.
    pub(crate) async fn verify(
        &self,
        endpoint: &EndpointPlan,
        server: SocketAddr,
        tls: bool,
        running: &Running,
    ) -> Result<(), Halt> {
        // A mix's `first` requests go first, and what they capture reaches the later ones.
        let requests = endpoint.requests();
        let mut order: Vec<usize> = (0..requests.len()).collect();
        order.sort_by_key(|&i| !endpoint.mix.get(i).is_some_and(|k| k.first));
        let mut captured = Vec::new();
        for i in order {
            let body = self.verify_one(&requests[i], (server, tls), running, &captured).await?;
            for (name, field) in endpoint.mix.get(i).map_or(&[][..], |k| k.capture.as_slice()) {
                match loadgen::session::json_field(body.as_bytes(), field) {
                    Some(value) => captured.push((name.clone(), value.to_vec())),
                    None => {
                        return Err(Halt::Failed(format!(
                            "verification of endpoint '{}': its answer has no JSON field '{field}' to capture as \
                             '{name}'",
                            requests[i].name
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// One request checked; its body, for what later ones capture.
    async fn verify_one(
        &self,
        endpoint: &EndpointPlan,
        (server, tls): (SocketAddr, bool),
        running: &Running,
        captured: &[(String, Vec<u8>)],
    ) -> Result<String, Halt> {
        let http2 = endpoint.protocol.http2_streams.is_some();
        let client = self.http_client(tls, http2)?;
        // A request that draws values is checked with its first draws.
        let once = |text: &str| {
            loadgen::template::sample(text, 1, captured)
                .map_err(|why| Halt::Failed(format!("endpoint '{}': {why}", endpoint.name)))
        };
        let url = format!("{}://{server}{}", if tls { "https" } else { "http" }, once(&endpoint.path)?);
        let method = reqwest::Method::from_bytes(endpoint.method.as_bytes()).map_err(|_| {
            Halt::Failed(format!("endpoint '{}': '{}' is not an HTTP method", endpoint.name, endpoint.method))
        })?;
        let body = match std::str::from_utf8(&endpoint.body) {
            Ok(text) => once(text)?.into_bytes(),
            Err(_) => endpoint.body.clone(),
        };
        let mut request = client.request(method, &url).body(body);
        for (name, value) in &endpoint.headers {
            request = request.header(name, once(value)?);
        }
        let failed = |why: String| async move {
            let logs = self.engine.logs_tail(&running.id, LOG_TAIL).await;
            Halt::Failed(format!(
                "verification of endpoint '{}' ({}) failed: {why}; the server's last lines:\n{logs}",
                endpoint.name,
                crate::workload(endpoint).request()
            ))
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err(failed(format!("no response within {}s", HTTP_TIMEOUT.as_secs())).await)
            }
            Err(e) => {
                let h2c = if http2 && !tls { "; it may not speak HTTP/2 with prior knowledge (h2c)" } else { "" };
                return Err(failed(format!("no response ({}){h2c}", causes(&e))).await);
            }
        };
        if http2 && response.version() != reqwest::Version::HTTP_2 {
            let why = format!(
                "it answered in {:?}, not HTTP/2: over TLS it did not agree to h2 (ALPN); serve HTTP/2, or drop \
                 http = \"2\"",
                response.version()
            );
            return Err(failed(why).await);
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status != endpoint.expect_status {
            return Err(failed(format!("status {status}, expected {}", endpoint.expect_status)).await);
        }
        if let Some(want) = &endpoint.expect_body {
            if !body.contains(want.as_str()) {
                let shown: String = body.chars().take(200).collect();
                return Err(failed(format!("body does not contain {want:?}; it was {shown:?}")).await);
            }
        }
        Ok(body)
    }

    /// Runs `work`, or stops when the run is cancelled.
    pub(crate) async fn until_cancelled<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T, Halt> {
        tokio::select! {
            out = work => Ok(out),
            _ = self.cancel.cancelled() => Err(Halt::Failed(crate::INTERRUPTED.into())),
        }
    }
}

/// How long a readiness poll or an endpoint's check waits for an answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(2);

impl Runner<'_> {
    /// A client for readiness checks and endpoint checks: over TLS it trusts the run's CA and nothing else
    /// (the load's rules: `loadgen::tls::client_config`); with `http2` it speaks HTTP/2, agreed by ALPN
    /// over TLS and with prior knowledge (h2c) without.
    fn http_client(&self, tls: bool, http2: bool) -> Result<reqwest::Client, Halt> {
        let mut builder = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            // Never send requests for loopback through a proxy from the environment,
            // and never follow a redirect: the server's answer is checked, not another address.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none());
        // Given even in the clear: reqwest makes a TLS configuration either way, and without one of
        // ours it wants a process-wide crypto provider.
        let settings = loadgen::tls::TlsSettings { ca: Some(self.tls.ca_path()), ..Default::default() };
        let config = loadgen::tls::client_config(&settings, http2).map_err(|e| Halt::Failed(e.to_string()))?;
        builder = builder.use_preconfigured_tls((*config).clone());
        if http2 && !tls {
            builder = builder.http2_prior_knowledge();
        }
        builder.build().map_err(|e| Halt::Failed(format!("cannot make an HTTP client for the checks: {e}")))
    }
}

/// An error and its causes, as one line (reqwest's own message names none: a certificate that does not
/// verify is only "error sending request").
fn causes(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    words
}

fn free_port() -> std::io::Result<u16> {
    // Ports handed out before: runs that go at once must not both pick one between this check and the bind
    // of the service that gets it.
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut port = 0;
    for _ in 0..100 {
        port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            break;
        }
    }
    Ok(port)
}
