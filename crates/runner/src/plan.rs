//! From a scenario and the machine to a plan: which CPUs the generator and
//! the server get, the images, the levels to run. Every problem found here
//! points at the scenario line that causes it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use scenario::{Loaded, Ready};

use crate::{Error, Options};

/// What this machine offers.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPUs this process may run on.
    pub n_cpus: usize,
    pub cpu_model: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        Machine { n_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()), cpu_model }
    }
}

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
}

impl ServicePlan {
    /// The start command with `{host}`, `{port}`, `{cpus}` and `{workers}` filled in.
    pub fn command_for(&self, port: u16) -> Vec<String> {
        self.command
            .iter()
            .map(|arg| {
                arg.replace("{host}", &self.host.to_string())
                    .replace("{port}", &port.to_string())
                    .replace("{cpus}", &format_cpus(self.cpus))
                    .replace("{workers}", &self.workers().to_string())
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

/// One request shape to sweep.
#[derive(Debug, Clone)]
pub struct EndpointPlan {
    pub name: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expect_status: u16,
    pub expect_body: Option<String>,
    pub keepalive: bool,
    pub connections: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
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
    pub pause: Duration,
    pub threads: usize,
    pub pipeline: u32,
    pub rate: Option<f64>,
}

impl Plan {
    pub fn new(loaded: &Loaded, options: &Options, machine: &Machine) -> Result<Plan, Error> {
        let s = &loaded.scenario;
        let generator_cpus = options.generator_cpus.clone();
        if let Some(&cpu) = generator_cpus.iter().find(|&&c| c >= machine.n_cpus) {
            return Err(Error::Setup(format!(
                "--generator-cpus: CPU {cpu} does not exist; this machine has CPUs 0-{}",
                machine.n_cpus - 1
            )));
        }
        let server_cpus: Vec<usize> = (0..machine.n_cpus).filter(|c| !generator_cpus.contains(c)).collect();
        if server_cpus.is_empty() {
            return Err(Error::Setup(format!(
                "no CPU is left for the server: this machine has {} and the generator takes {:?}; \
                 give the generator fewer with --generator-cpus",
                machine.n_cpus, generator_cpus
            )));
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
        let name = s.name.get_ref().as_str().to_string();
        let service = |svc: &scenario::Service, key: &str| ServicePlan {
            key: key.to_string(),
            tag: if key == "server" {
                format!("stackbench/{name}:latest")
            } else {
                format!("stackbench/{name}-{key}:latest")
            },
            context: loaded.resolve(svc.build.get_ref()),
            dockerfile: svc.dockerfile.clone(),
            build_args: svc.build_args.clone(),
            command: svc.command.clone(),
            cpus: svc.cpus.get_ref().0,
            memory: svc.memory.0,
            pids: svc.pids,
            env: svc.env.clone(),
            ready: svc.ready.clone(),
            host: options.server_address,
        };
        let w = &s.workload;
        let max_connections = loadgen::max_connections();
        let mut endpoints = Vec::new();
        for e in w.endpoints.get_ref() {
            let sweep = e.connections.as_ref().unwrap_or(&w.connections);
            let connections = options.connections.clone().unwrap_or_else(|| sweep.get_ref().clone());
            if let Some(&too_many) = connections.iter().find(|&&c| c > max_connections) {
                if options.connections.is_some() {
                    return Err(Error::Setup(format!(
                        "--connections: {too_many} connections are more than this machine's open-files limit allows \
                         ({max_connections}); lower it, or raise the hard limit (ulimit -Hn, LimitNOFILE=)"
                    )));
                }
                return Err(loaded
                    .error_at(
                        sweep.span(),
                        format!(
                            "{too_many} connections are more than this machine's open-files limit allows ({max_connections})"
                        ),
                        Some("lower the level, or raise the hard limit (ulimit -Hn, LimitNOFILE=)"),
                    )
                    .into());
            }
            let body = match (&e.body, &e.body_file) {
                (Some(b), _) => b.clone().into_bytes(),
                (None, Some(file)) => std::fs::read(loaded.resolve(file.get_ref())).map_err(|err| {
                    loaded.error_at(file.span(), format!("cannot read body file '{}': {err}", file.get_ref()), None)
                })?,
                (None, None) => Vec::new(),
            };
            endpoints.push(EndpointPlan {
                name: e.name.to_string(),
                method: e.method.to_ascii_uppercase(),
                path: e.path.clone(),
                headers: e.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                body,
                expect_status: e.expect_status,
                expect_body: e.expect_body.clone(),
                keepalive: e.keepalive.unwrap_or(w.keepalive),
                connections,
            });
        }
        let mut server = service(&s.server, "server");
        let mut sidecars: Vec<ServicePlan> =
            s.sidecars.iter().map(|sc| service(sc, sc.name.as_ref().expect("checked").as_str())).collect();
        // An override names a service of some scenarios of a suite; the others do not have it.
        let mut overrides = Vec::new();
        for o in &options.overrides {
            if let Some(svc) = std::iter::once(&mut server).chain(&mut sidecars).find(|svc| svc.key == o.service) {
                svc.env.insert(o.key.clone(), o.value.clone());
                overrides.push(o.to_string());
            }
        }
        Ok(Plan {
            name: name.clone(),
            overrides,
            server,
            sidecars,
            generator_cpus: generator_cpus.clone(),
            server_cpuset,
            endpoints,
            duration: options.duration.unwrap_or(w.duration.0),
            warmup: w.warmup.0,
            timeout: w.timeout.0,
            pause: w.pause.0,
            threads: w.threads.unwrap_or(generator_cpus.len()).max(1),
            pipeline: w.pipeline,
            rate: w.rate.as_ref().map(|r| *r.get_ref()),
        })
    }
}
