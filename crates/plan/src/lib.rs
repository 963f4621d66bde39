//! From a scenario, the choices made for a run and the machines it runs on to
//! a plan: which CPUs the generator and the server get, each service's image,
//! command and limits, the levels to run, and each level's load settings.
//! Every problem found here points at the scenario line, or the flag, that
//! causes it.
//!
//! Architecture invariant: no Docker, no tokio, no network. It reads the body
//! files a scenario names and nothing else; the machines' facts are given to it.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

mod generator;
mod machine;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use loadgen::{Arrivals, Config, ConfigError, Expect, RunLength, Target};
use scenario::{Loaded, ProjectPath, Ready, Spanned};

pub use generator::{generator_args, NoCommandLine, Part, Share};
pub use machine::{Hosts, Machine};

/// A plan that cannot be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Located in the scenario file.
    #[error(transparent)]
    Scenario(#[from] scenario::Error),
    /// A choice made on the command line; `flag` names it.
    #[error("{flag}: {reason}")]
    Flag { flag: &'static str, reason: String },
}

/// What a run chooses that the scenario file does not say.
#[derive(Debug, Clone)]
pub struct Choices {
    /// Measure each level this long instead of the scenario's duration (`--duration`).
    pub duration: Option<Duration>,
    /// These levels instead of the scenario's (`--connections`).
    pub connections: Option<Vec<usize>>,
    /// Only the endpoints with these names (`--endpoints`); a scenario without any plans none.
    pub endpoints: Option<Vec<String>>,
    /// CPUs the generator is pinned to; the server's side gets the others of a shared machine.
    pub generator_cpus: Vec<usize>,
    /// Environment set on a service over the scenario's (`--set db.ROWS=1000`).
    pub overrides: Vec<Override>,
    /// The address the server and its sidecars bind and are reached at:
    /// 127.0.0.1, unless they run on another host.
    pub server_address: IpAddr,
    /// Profile every endpoint (`--profile`), at its `profile_at` level or its first.
    pub profile: bool,
    /// Profile every endpoint there (`--profile-at`), over the scenario's `profile_at`.
    pub profile_at: Option<scenario::ProfileAt>,
    /// Open loops' arrivals (`--arrivals`), over the scenario's `arrivals`.
    pub arrivals: Option<loadgen::Arrivals>,
    /// The CA (a PEM file) that signed the run's server certificate, which a TLS server is given: its
    /// load and checks trust this and nothing else. `None`: this run cannot start a TLS server.
    pub tls_ca: Option<PathBuf>,
}

impl Default for Choices {
    /// The scenario as written, the generator on CPU 0, the server on loopback.
    fn default() -> Choices {
        Choices {
            duration: None,
            connections: None,
            endpoints: None,
            generator_cpus: vec![0],
            overrides: Vec::new(),
            server_address: [127, 0, 0, 1].into(),
            profile: false,
            tls_ca: None,
            profile_at: None,
            arrivals: None,
        }
    }
}

/// `SERVICE.KEY=VALUE`: an environment variable for the server or a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub service: String,
    pub key: String,
    pub value: String,
}

/// Text that is not `SERVICE.KEY=VALUE`.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not SERVICE.KEY=VALUE (e.g. server.LOG_LEVEL=info or db.ROWS=1000)")]
pub struct BadOverride(String);

impl std::str::FromStr for Override {
    type Err = BadOverride;

    fn from_str(s: &str) -> Result<Override, BadOverride> {
        let parsed = s.split_once('=').and_then(|(target, value)| {
            let (service, key) = target.split_once('.')?;
            let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (!service.is_empty() && key_ok).then(|| Override {
                service: service.to_string(),
                key: key.to_string(),
                value: value.to_string(),
            })
        });
        parsed.ok_or_else(|| BadOverride(s.to_string()))
    }
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}={}", self.service, self.key, self.value)
    }
}

/// Why a plan for a TLS server may have no CA to trust.
const NO_RUN_CA: &str = "TLS servers run under `bench` and `compare`, which make a CA and a certificate per run";

/// A container to build and start.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// `server`, or the sidecar's name.
    pub key: String,
    pub tag: String,
    pub context: PathBuf,
    pub dockerfile: String,
    pub build_args: BTreeMap<String, String>,
    pub command: Vec<String>,
    pub cpus: f64,
    pub memory: u64,
    pub pids: u32,
    pub env: BTreeMap<String, String>,
    pub ready: Ready,
    /// The address it binds (`{host}`), where the generator reaches it.
    pub host: IpAddr,
    /// It speaks TLS on its port, with the run's certificate (`scenario::TLS_CERT`, `scenario::TLS_KEY`).
    pub tls: bool,
    /// It speaks HTTP/2 (its endpoints do unless they say otherwise): its readiness check does too.
    pub http2: bool,
}

impl ServicePlan {
    /// The start command with `{host}`, `{port}`, `{cpus}`, `{workers}`, `{tls_cert}` and `{tls_key}`
    /// filled in.
    pub fn command_for(&self, port: u16) -> Vec<String> {
        self.command
            .iter()
            .map(|arg| {
                arg.replace("{host}", &self.host.to_string())
                    .replace("{port}", &port.to_string())
                    .replace("{cpus}", &format_cpus(self.cpus))
                    .replace("{workers}", &self.workers().to_string())
                    .replace("{tls_cert}", scenario::TLS_CERT)
                    .replace("{tls_key}", scenario::TLS_KEY)
            })
            .collect()
    }

    /// Where it listens on `port`.
    pub fn address(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.host, port)
    }

    /// Worker processes that fit the CPU limit: one per whole CPU, at least one.
    pub fn workers(&self) -> u32 {
        (self.cpus.floor() as u32).max(1)
    }

    /// What the service is told about itself, so that worker counts follow the limit.
    pub fn own_env(&self, port: u16) -> Vec<String> {
        let mut env = vec![
            format!("STACKBENCH_HOST={}", self.host),
            format!("STACKBENCH_PORT={port}"),
            format!("STACKBENCH_CPUS={}", format_cpus(self.cpus)),
            format!("STACKBENCH_WORKERS={}", self.workers()),
            format!("WEB_CONCURRENCY={}", self.workers()),
        ];
        if self.tls {
            env.push(format!("STACKBENCH_TLS_CERT={}", scenario::TLS_CERT));
            env.push(format!("STACKBENCH_TLS_KEY={}", scenario::TLS_KEY));
        }
        env.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        env
    }

    /// How the server finds this sidecar.
    pub fn address_env(&self, port: u16) -> Vec<String> {
        self.address_env_at(&self.host.to_string(), port)
    }

    /// How the server finds this sidecar at `host` (a name or an address).
    pub fn address_env_at(&self, host: &str, port: u16) -> Vec<String> {
        let prefix = format!("STACKBENCH_{}", self.key.to_ascii_uppercase().replace('-', "_"));
        let url_host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
        vec![
            format!("{prefix}_HOST={host}"),
            format!("{prefix}_PORT={port}"),
            format!("{prefix}_URL=http://{url_host}:{port}"),
        ]
    }
}

fn format_cpus(cpus: f64) -> String {
    if cpus.fract() == 0.0 {
        format!("{cpus:.0}")
    } else {
        format!("{cpus}")
    }
}

/// One request shape, and its connection levels.
#[derive(Debug, Clone)]
pub struct EndpointPlan {
    pub name: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expect_status: u16,
    pub expect_body: Option<String>,
    /// A mix's kinds of request (empty for one request): with a mix, `method` is `MIX`, `path` is `/`,
    /// and the request fields above are not sent.
    pub mix: Vec<loadgen::Kind>,
    pub keepalive: bool,
    /// What its load speaks: TLS (the server's), HTTP/2's streams per connection.
    pub protocol: record::Protocol,
    pub connections: Vec<usize>,
    /// Its objectives, when the scenario has any: its capacity is searched for.
    pub slo: Option<loadgen::capacity::Slo>,
    /// What is run again with a profiler attached, when profiled.
    pub profile_at: Option<ProfileAt>,
}

impl EndpointPlan {
    /// The requests it sends, each as an endpoint of one request: itself, or each kind of its mix
    /// (named `endpoint/kind`).
    pub fn requests(&self) -> Vec<EndpointPlan> {
        if self.mix.is_empty() {
            return vec![self.clone()];
        }
        self.mix
            .iter()
            .map(|k| EndpointPlan {
                name: format!("{}/{}", self.name, k.name),
                method: k.method.clone(),
                path: k.path.clone(),
                headers: k.headers.clone(),
                body: k.body.clone(),
                expect_status: k.expect.status.unwrap_or(200),
                expect_body: k.expect.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
                mix: Vec::new(),
                ..self.clone()
            })
            .collect()
    }
}

/// Where an endpoint is profiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileAt {
    /// Its level at this many connections.
    Connections(usize),
    /// The rate its capacity search confirmed (open loop), when one is found.
    Capacity,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The stack's name: the scenario's, with a matrix variant's values (`scenario::Loaded::stack_name`).
    pub name: String,
    /// The name as a results folder, run id and image name (`scenario::Loaded::slug`).
    pub slug: String,
    /// The scenario's project (`scenario::Loaded::root`): its own base images' contexts and commit.
    pub project: std::path::PathBuf,
    /// The `--set` overrides that named one of this scenario's services, as given.
    pub overrides: Vec<String>,
    pub generator_cpus: Vec<usize>,
    pub server_cpuset: String,
    pub server: ServicePlan,
    pub sidecars: Vec<ServicePlan>,
    pub endpoints: Vec<EndpointPlan>,
    pub duration: Duration,
    pub warmup: Duration,
    pub timeout: Duration,
    /// `None`: the generator's default, ten timeouts.
    pub give_up: Option<Duration>,
    pub pause: Duration,
    pub threads: usize,
    pub pipeline: u32,
    pub rate: Option<f64>,
    pub arrivals: loadgen::Arrivals,
    pub think: Option<loadgen::Think>,
    /// The scenario's `seed`: what requests draw.
    pub seed: u64,
    /// The CA its load and checks trust: the run's (`Choices::tls_ca`), with a TLS server.
    pub tls_ca: Option<PathBuf>,
}

impl Plan {
    pub fn new(loaded: &Loaded, choices: &Choices, hosts: &Hosts) -> Result<Plan, Error> {
        let s = &loaded.scenario;
        let generator_cpus = choices.generator_cpus.clone();
        let n_generator_cpus = hosts.generator().n_cpus;
        if let Some(&cpu) = generator_cpus.iter().find(|&&c| c >= n_generator_cpus) {
            return Err(Error::Flag {
                flag: "--generator-cpus",
                reason: format!(
                    "CPU {cpu} does not exist; the generator's machine has CPUs 0-{}",
                    n_generator_cpus - 1
                ),
            });
        }
        let server_cpus: Vec<usize> = match hosts {
            Hosts::Shared(machine) => (0..machine.n_cpus).filter(|c| !generator_cpus.contains(c)).collect(),
            Hosts::Apart { server, .. } => (0..server.n_cpus).collect(),
        };
        if server_cpus.is_empty() {
            return Err(Error::Flag {
                flag: "--generator-cpus",
                reason: format!(
                    "no CPU is left for the server: this machine has {} and the generator takes {generator_cpus:?}; \
                     give the generator fewer",
                    n_generator_cpus
                ),
            });
        }
        let server_cpuset = server_cpus.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        for service in std::iter::once(&s.server).chain(&s.sidecars) {
            let cpus = service.cpus.get_ref().0;
            if cpus > server_cpus.len() as f64 {
                return Err(loaded
                    .error_at(
                        service.cpus.span(),
                        format!(
                            "cpus = {cpus}, but only {} CPU(s) ({server_cpuset}) are left for the server side after the \
                             generator's CPU(s) {generator_cpus:?}",
                            server_cpus.len()
                        ),
                        Some("lower cpus, or pass --generator-cpus with fewer CPUs"),
                    )
                    .into());
            }
        }
        let slug = loaded.slug();
        let service = |svc: &scenario::Service, key: &str| ServicePlan {
            key: key.to_string(),
            tag: if key == "server" {
                format!("stackbench/{slug}:latest")
            } else {
                format!("stackbench/{slug}-{key}:latest")
            },
            context: loaded.resolve(svc.build.get_ref()),
            dockerfile: svc.dockerfile.clone(),
            build_args: svc.build_args.clone(),
            command: svc.command.get_ref().clone(),
            cpus: svc.cpus.get_ref().0,
            memory: svc.memory.0,
            pids: svc.pids,
            env: svc.env.clone(),
            ready: svc.ready.clone(),
            host: choices.server_address,
            tls: svc.tls(),
            http2: svc.http() == scenario::Http::V2,
        };
        let endpoints = s
            .workload
            .endpoints
            .get_ref()
            .iter()
            .filter(|e| choices.endpoints.as_ref().is_none_or(|names| names.iter().any(|n| n == e.name.as_str())))
            .map(|e| endpoint(loaded, e, choices, hosts.generator()))
            .collect::<Result<Vec<_>, Error>>()?;
        let mut server = service(&s.server, "server");
        let mut sidecars: Vec<ServicePlan> =
            s.sidecars.iter().map(|sc| service(sc, sc.name.as_ref().expect("checked").as_str())).collect();
        // An override names a service of some scenarios of a suite; the others do not have it.
        let mut overrides = Vec::new();
        for o in choices.overrides.iter().filter(|o| loaded.has_service(&o.service)) {
            let svc = std::iter::once(&mut server).chain(&mut sidecars).find(|svc| svc.key == o.service);
            svc.expect("has_service names a service of the plan").env.insert(o.key.clone(), o.value.clone());
            overrides.push(o.to_string());
        }
        let w = &s.workload;
        let tls_ca = match (s.server.tls(), &choices.tls_ca) {
            (false, _) => None,
            (true, Some(ca)) => Some(ca.clone()),
            (true, None) => {
                let tls = s.server.tls.as_ref().expect("tls() is true only when set");
                return Err(loaded
                    .error_at(tls.span(), "this run makes no certificate for a TLS server", Some(NO_RUN_CA))
                    .into());
            }
        };
        Ok(Plan {
            name: loaded.stack_name(),
            project: loaded.root.clone(),
            slug,
            overrides,
            server,
            sidecars,
            threads: w.threads.unwrap_or(generator_cpus.len()).max(1),
            generator_cpus,
            server_cpuset,
            endpoints,
            duration: choices.duration.unwrap_or(w.duration.0),
            warmup: w.warmup.0,
            timeout: w.timeout.0,
            give_up: w.give_up.as_ref().map(|g| g.get_ref().0),
            pause: w.pause.0,
            pipeline: *w.pipeline.get_ref(),
            rate: w.rate.as_ref().map(|r| *r.get_ref()),
            arrivals: match (choices.arrivals, &w.arrivals) {
                (Some(Arrivals::Poisson { .. }), _) => Arrivals::Poisson { seed: w.seed },
                (Some(chosen), _) => chosen,
                // Checked when the scenario was read.
                (None, Some(name)) => Arrivals::parse(name.get_ref(), w.seed).unwrap_or_default(),
                (None, None) => Arrivals::Constant,
            },
            // Checked when the scenario was read.
            think: w.think.as_ref().map(|t| loadgen::Think {
                mean: t.get_ref().0,
                spread: w
                    .think_spread
                    .as_ref()
                    .and_then(|s| loadgen::Spread::parse(s.get_ref()).ok())
                    .unwrap_or_default(),
                seed: w.seed,
            }),
            seed: w.seed,
            tls_ca,
        })
    }

    /// The objectives `endpoint`'s capacity search runs against: its own, unless its users think (a
    /// closed loop of users is judged at its levels; an open loop has no users).
    pub fn searched_objectives<'e>(&self, endpoint: &'e EndpointPlan) -> Option<&'e loadgen::capacity::Slo> {
        endpoint.slo.as_ref().filter(|_| self.think.is_none())
    }

    /// The load settings of one level: `endpoint` at `connections` against
    /// `target`. The one translation of a plan into load: the generator in this
    /// process runs it, and generator containers and pods get it as their
    /// command line ([`generator_args`]).
    pub fn load_config(&self, endpoint: &EndpointPlan, connections: usize, target: Target) -> Config {
        Config {
            target,
            method: endpoint.method.clone(),
            headers: endpoint.headers.clone(),
            body: endpoint.body.clone(),
            n_connections: connections,
            n_threads: self.threads.min(connections).max(1),
            stop: RunLength::Duration(self.duration),
            warmup: self.warmup,
            timeout: self.timeout,
            give_up: self.give_up,
            pipeline: self.pipeline,
            keepalive: endpoint.keepalive,
            rate: self.rate,
            arrivals: self.arrivals,
            think: self.think,
            mix: endpoint.mix.clone(),
            seed: self.seed,
            expect: Expect {
                status: Some(endpoint.expect_status),
                body: endpoint.expect_body.clone().map(String::into_bytes),
            },
            cpus: Some(self.generator_cpus.clone()),
            early_stop: None,
            // Over TLS, the run's CA is trusted and nothing else (`target` is https:// exactly then).
            tls: loadgen::tls::TlsSettings { ca: self.tls_ca.clone(), ..Default::default() },
            http2: endpoint.protocol.http2_streams.map(|streams| loadgen::Http2 { streams, ..Default::default() }),
        }
    }
}

/// The plan of one endpoint: its levels (checked against the generator's
/// open-files limit) and its request.
fn endpoint(
    loaded: &Loaded,
    e: &scenario::Endpoint,
    choices: &Choices,
    generator: &Machine,
) -> Result<EndpointPlan, Error> {
    let w = &loaded.scenario.workload;
    let sweep = e.connections(w);
    let connections = choices.connections.clone().unwrap_or_else(|| sweep.get_ref().clone());
    let max_connections = loadgen::max_connections(generator.open_files);
    if let Some(&too_many) = connections.iter().find(|&&c| c > max_connections) {
        let what =
            format!("{too_many} connections are more than the generator's open-files limit allows ({max_connections})");
        const RAISE: &str = "raise the hard limit (ulimit -Hn, LimitNOFILE=)";
        if choices.connections.is_some() {
            return Err(Error::Flag { flag: "--connections", reason: format!("{what}; lower it, or {RAISE}") });
        }
        return Err(loaded.error_at(sweep.span(), what, Some(&format!("lower the level, or {RAISE}"))).into());
    }
    let request = |what: &str,
                   path: &str,
                   headers: &BTreeMap<String, String>,
                   body: &Option<String>,
                   file: &Option<Spanned<ProjectPath>>| {
        request_parts(loaded, &format!("endpoint '{}'{what}", e.name), path, headers, body, file)
    };
    let (path, headers, body) = match &e.requests {
        None => request("", &e.path, &e.headers, &e.body, &e.body_file)?,
        Some(_) => ("/".to_string(), Vec::new(), Vec::new()),
    };
    let mix = e
        .requests
        .iter()
        .flat_map(|m| m.get_ref())
        .map(|r| {
            let (path, headers, body) =
                request(&format!(" request '{}'", r.name), &r.path, &r.headers, &r.body, &r.body_file)?;
            let expect = Expect { status: Some(r.expect_status), body: r.expect_body.clone().map(String::into_bytes) };
            let method = r.method.to_ascii_uppercase();
            let capture = r.capture.iter().map(|(name, field)| (name.clone(), field.clone())).collect();
            let (name, weight, first) = (r.name.to_string(), r.weight, r.first);
            Ok(loadgen::Kind { name, weight, method, path, headers, body, expect, capture, first })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let slo = e.slo(w);
    let profile_at = profile_at(loaded, e, choices, &connections, slo.is_some())?;
    Ok(EndpointPlan {
        profile_at,
        name: e.name.to_string(),
        method: if mix.is_empty() { e.method.to_ascii_uppercase() } else { record::MIX_METHOD.into() },
        path,
        headers,
        body,
        mix,
        expect_status: e.expect_status,
        expect_body: e.expect_body.clone(),
        keepalive: e.keepalive(w),
        protocol: record::Protocol {
            tls: loaded.scenario.server.tls(),
            http2_streams: e.http2_streams(&loaded.scenario.server),
        },
        connections,
        slo,
    })
}

/// A request's path, headers and body.
type RequestParts = (String, Vec<(String, String)>, Vec<u8>);

/// A request's path, headers and body as the generator sends them: the body read from its file, values
/// drawn per request (`{rand:..}`, `{seq}`, `{line:FILE}`) checked and their files found under the
/// project; errors located at the endpoints, naming `what`.
fn request_parts(
    loaded: &Loaded,
    what: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: &Option<String>,
    file: &Option<Spanned<ProjectPath>>,
) -> Result<RequestParts, Error> {
    let at = loaded.scenario.workload.endpoints.span();
    let body = match (body, file) {
        (Some(b), _) => b.clone().into_bytes(),
        (None, Some(file)) => std::fs::read(loaded.resolve(file.get_ref())).map_err(|err| {
            loaded.error_at(file.span(), format!("cannot read body file '{}': {err}", file.get_ref()), None)
        })?,
        (None, None) => Vec::new(),
    };
    let drawn = |part: &str, text: &str| {
        loadgen::template::files_under(text, &loaded.root)
            .map_err(|why| loaded.error_at(at.clone(), format!("{what}: {part}: {why}"), None))
    };
    let path = drawn("path", path)?;
    let headers = headers.iter().map(|(k, v)| Ok((k.clone(), drawn("header", v)?))).collect::<Result<_, Error>>()?;
    let body = match String::from_utf8(body) {
        Ok(text) => drawn("body", &text)?.into_bytes(),
        Err(raw) => raw.into_bytes(),
    };
    Ok((path, headers, body))
}

/// Where endpoint `e` is profiled, if it is: at `--profile-at`, else at its
/// `profile_at`, else at its first level; a level it does not run, or the
/// capacity without objectives, is refused where it was written.
fn profile_at(
    loaded: &Loaded,
    e: &scenario::Endpoint,
    choices: &Choices,
    connections: &[usize],
    has_slo: bool,
) -> Result<Option<ProfileAt>, Error> {
    if !(e.profile || choices.profile || choices.profile_at.is_some()) {
        return Ok(None);
    }
    let chosen = match (&choices.profile_at, &e.profile_at) {
        (Some(at), _) => (at, None),
        (None, Some(at)) => (at.get_ref(), Some(at.span())),
        (None, None) => return Ok(connections.first().copied().map(ProfileAt::Connections)),
    };
    let (what, hint) = match chosen.0 {
        scenario::ProfileAt::Connections(n) if connections.contains(n) => return Ok(Some(ProfileAt::Connections(*n))),
        scenario::ProfileAt::Named(word) if word == "capacity" && has_slo => return Ok(Some(ProfileAt::Capacity)),
        scenario::ProfileAt::Named(word) if word == "capacity" => (
            format!(
                "profile_at = \"capacity\" profiles the rate a capacity search confirms, and endpoint '{}' has \
                 no objectives to search with",
                e.name
            ),
            "add slo = { p99 = \"...\" }, or profile a level",
        ),
        scenario::ProfileAt::Connections(n) => (
            format!("profile_at = {n} is not one of the levels of endpoint '{}' {connections:?}", e.name),
            "profile one of the levels it runs",
        ),
        scenario::ProfileAt::Named(word) => (
            format!("profile_at = {word:?} is neither a connection count nor \"capacity\""),
            "write one of its levels, or \"capacity\"",
        ),
    };
    Err(match chosen.1 {
        Some(span) => loaded.error_at(span, what, Some(hint)).into(),
        None => Error::Flag { flag: "--profile-at", reason: format!("{what}; {hint}") },
    })
}

/// The load target for `path` on the server stackbench started at `server`, over TLS with `tls`:
/// the generator sends to this address and no other.
pub fn server_target(server: SocketAddr, path: &str, tls: bool) -> Result<Target, ConfigError> {
    let url = format!("{}://{server}{path}", if tls { "https" } else { "http" });
    let target = Target::parse(&url)?;
    if target.addr != server {
        return Err(ConfigError::Url {
            url,
            reason: format!("the path makes it address {} instead of the server at {server}", target.addr),
        });
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::server_target;

    #[test]
    fn a_path_never_takes_the_load_to_another_address() {
        let server = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
        for tls in [false, true] {
            let target = server_target(server, "/health?x=1", tls).unwrap();
            assert_eq!((target.addr.to_string().as_str(), target.path.as_str()), ("127.0.0.1:8080", "/health?x=1"));
            assert_eq!(target.tls, tls);
            // A path that would turn the server's address into user info: refused, not followed.
            let err = server_target(server, "@127.0.0.2/", tls).unwrap_err().to_string();
            assert!(err.contains("instead of the server at 127.0.0.1:8080"), "{err}");
            assert_eq!(server_target(server, "//127.0.0.2/x", tls).unwrap().addr.to_string(), "127.0.0.1:8080");
        }
    }
}
