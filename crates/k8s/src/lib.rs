//! One level of a stackbench run plan as Kubernetes objects: the server and
//! each sidecar as a pod with Guaranteed QoS behind a Service, and the load as
//! an Indexed Job of generator pods kept off the server's node. The generator
//! pods print their results (the `stackbench load --json` document) to their
//! logs; `stackbench merge` adds them up.
//!
//! Architecture invariant: this crate renders objects (k8s-openapi types); it
//! never talks to a cluster and knows nothing about Docker.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, ContainerPort, EnvVar, HTTPGetAction, Pod, PodAffinityTerm, PodAntiAffinity,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SecurityContext, Service, ServicePort, ServiceSpec,
    TCPSocketAction, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use plan::{Choices, EndpointPlan, Hosts, Machine, Plan, ServicePlan};

/// The port every service listens on inside its pod (each pod has its own network).
pub const PORT: u16 = 8080;
/// Labels on every object of a run.
const RUN_LABEL: &str = "stackbench.run";
const ROLE_LABEL: &str = "stackbench.role";

/// What the plan does not say: where images are and what to load.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Names the objects and labels them (`stackbench.run`).
    pub run_id: String,
    pub namespace: String,
    /// A registry the cluster pulls from; images are `REGISTRY/stackbench/NAME:TAG`.
    pub registry: String,
    /// The generator image's tag there (`stackbench/generator:TAG`).
    pub generator_tag: String,
    /// The endpoint and connection level to run.
    pub endpoint: String,
    pub connections: usize,
    /// Generator pods; they share the connections (and the rate).
    pub generators: usize,
    /// Whole CPUs for each generator pod.
    pub generator_cpus: u32,
    /// When the generators start together, in seconds since 1970.
    pub start_at: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the server has cpus = {0}: the kubelet's static CPU manager pins only whole CPUs of a Guaranteed pod; \
         give it a whole number"
    )]
    FractionalCpus(f64),
    #[error("no endpoint '{0}' in the scenario (its endpoints: {1})")]
    NoEndpoint(String, String),
    #[error("--generators must be at least 1, and at most --connections ({0})")]
    Generators(usize),
    #[error(transparent)]
    Body(#[from] plan::NoCommandLine),
    #[error(transparent)]
    Target(#[from] loadgen::ConfigError),
}

/// A run's name in its objects' names: the scenario's name (a variant's: its scenario's name and a hash of
/// its values, since its slug holds `_` and `.` and can be long) and when it was rendered, lower case.
pub fn run_id(loaded: &scenario::Loaded, rendered: std::time::SystemTime) -> String {
    let name = match &loaded.variant {
        Some(_) => format!("{}-{}", loaded.scenario.name.get_ref(), &record::sha256_hex(loaded.slug().as_bytes())[..8]),
        None => loaded.slug(),
    };
    format!("{name}-{}", record::folder::compact_utc(rendered).to_lowercase())
}

/// The run plan of `loaded` for a cluster, with generator pods of
/// `generator_cpus` whole CPUs each. Node sizes are the scheduler's business,
/// so the plan is made for nodes with room; services bind their pod's address
/// (`{host}` is 0.0.0.0: a pod has a network of its own).
pub fn plan(loaded: &scenario::Loaded, generator_cpus: u32) -> Result<Plan, plan::Error> {
    let node = |n_cpus: usize| Machine {
        n_cpus,
        cpu_model: "Kubernetes nodes".into(),
        kernel: String::new(),
        open_files: u64::from(u32::MAX),
    };
    let choices = Choices {
        generator_cpus: (0..generator_cpus.max(1) as usize).collect(),
        server_address: std::net::Ipv4Addr::UNSPECIFIED.into(),
        ..Choices::default()
    };
    let hosts = Hosts::Apart { server: node(1024), generator: node(generator_cpus.max(1) as usize) };
    Plan::new(loaded, &choices, &hosts)
}

/// The objects of one level, in the order to apply them: sidecars, server, generators.
pub fn render(plan: &Plan, o: &RenderOptions) -> Result<Vec<serde_json::Value>, Error> {
    if plan.server.cpus.fract() != 0.0 {
        return Err(Error::FractionalCpus(plan.server.cpus));
    }
    let endpoint = plan.endpoints.iter().find(|e| e.name == o.endpoint).ok_or_else(|| {
        Error::NoEndpoint(
            o.endpoint.clone(),
            plan.endpoints.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "),
        )
    })?;
    if o.generators == 0 || o.generators > o.connections {
        return Err(Error::Generators(o.connections));
    }
    let mut objects = Vec::new();
    let mut sidecar_env = Vec::new();
    for sidecar in &plan.sidecars {
        objects.push(json(&pod(o, sidecar, &[])));
        objects.push(json(&service(o, &sidecar.key)));
        sidecar_env.extend(sidecar.address_env_at(&name(o, &sidecar.key), PORT));
    }
    objects.push(json(&pod(o, &plan.server, &sidecar_env)));
    objects.push(json(&service(o, "server")));
    objects.push(json(&generators(plan, endpoint, o)?));
    Ok(objects)
}

/// The objects as one `List`, which `kubectl apply -f` takes.
pub fn list(objects: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": objects })
}

fn json<T: serde::Serialize>(object: &T) -> serde_json::Value {
    serde_json::to_value(object).expect("Kubernetes objects serialize")
}

/// `sb-<run>-<role>`: the pod's and its Service's name (the server's address in the cluster).
fn name(o: &RenderOptions, role: &str) -> String {
    format!("sb-{}-{role}", o.run_id)
}

fn meta(o: &RenderOptions, role: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name(o, role)),
        namespace: Some(o.namespace.clone()),
        labels: Some(labels(o, role)),
        ..ObjectMeta::default()
    }
}

fn labels(o: &RenderOptions, role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "stackbench".to_string()),
        (RUN_LABEL.to_string(), o.run_id.clone()),
        (ROLE_LABEL.to_string(), role.to_string()),
    ])
}

/// Requests equal to limits: Guaranteed QoS, so a whole-CPU pod gets CPUs of its own.
fn resources(cpus: String, memory: u64) -> ResourceRequirements {
    let amounts =
        BTreeMap::from([("cpu".to_string(), Quantity(cpus)), ("memory".to_string(), Quantity(memory.to_string()))]);
    ResourceRequirements { requests: Some(amounts.clone()), limits: Some(amounts), ..ResourceRequirements::default() }
}

/// No privileges to gain, no capabilities beyond the runtime's defaults.
fn security() -> SecurityContext {
    SecurityContext {
        privileged: Some(false),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["NET_RAW".into()]), ..Capabilities::default() }),
        ..SecurityContext::default()
    }
}

fn env(vars: &[String]) -> Vec<EnvVar> {
    vars.iter()
        .filter_map(|v| v.split_once('='))
        .map(|(k, v)| EnvVar { name: k.to_string(), value: Some(v.to_string()), ..EnvVar::default() })
        .collect()
}

/// A service's pod: its image from the registry, its command with `{host}`
/// as the pod's own address (0.0.0.0: pods are not on the node's network),
/// readiness as in the scenario.
fn pod(o: &RenderOptions, svc: &ServicePlan, extra_env: &[String]) -> Pod {
    let mut vars = svc.own_env(PORT);
    vars.extend_from_slice(extra_env);
    let probe = Probe {
        http_get: svc.ready.path.as_ref().map(|path| HTTPGetAction {
            path: Some(path.clone()),
            port: IntOrString::Int(i32::from(PORT)),
            ..HTTPGetAction::default()
        }),
        tcp_socket: svc
            .ready
            .path
            .is_none()
            .then(|| TCPSocketAction { port: IntOrString::Int(i32::from(PORT)), ..TCPSocketAction::default() }),
        period_seconds: Some(1),
        failure_threshold: Some((svc.ready.timeout.0.as_secs() as i32).max(1)),
        ..Probe::default()
    };
    let command = svc.command_for(PORT);
    let container = Container {
        name: svc.key.clone(),
        image: Some(format!("{}/{}", o.registry, svc.tag)),
        command: (!command.is_empty()).then_some(command),
        env: Some(env(&vars)),
        ports: Some(vec![ContainerPort { container_port: i32::from(PORT), ..ContainerPort::default() }]),
        resources: Some(resources(format_cpus(svc.cpus), svc.memory)),
        readiness_probe: Some(probe),
        security_context: Some(security()),
        ..Container::default()
    };
    Pod {
        metadata: meta(o, &svc.key),
        spec: Some(PodSpec { containers: vec![container], restart_policy: Some("Never".into()), ..PodSpec::default() }),
        ..Pod::default()
    }
}

fn service(o: &RenderOptions, role: &str) -> Service {
    Service {
        metadata: meta(o, role),
        spec: Some(ServiceSpec {
            selector: Some(labels(o, role)),
            ports: Some(vec![ServicePort {
                port: i32::from(PORT),
                target_port: Some(IntOrString::Int(i32::from(PORT))),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The generators: an Indexed Job, one pod per share, never on the server's
/// node and spread over nodes where it can; each runs `stackbench load` on its
/// share (`--share $(JOB_COMPLETION_INDEX)/N`) against the server's Service.
fn generators(plan: &Plan, endpoint: &EndpointPlan, o: &RenderOptions) -> Result<Job, Error> {
    let url = format!("http://{}:{PORT}{}", name(o, "server"), endpoint.path);
    // Kubernetes fills in each pod's index from its environment.
    let share = format!("$(JOB_COMPLETION_INDEX)/{}", o.generators);
    let args = plan::generator_args(&job_config(plan, endpoint, &url, o)?, &share, o.start_at)?;
    let away_from = |role: &str| PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([
                (RUN_LABEL.to_string(), o.run_id.clone()),
                (ROLE_LABEL.to_string(), role.to_string()),
            ])),
            ..LabelSelector::default()
        }),
        topology_key: "kubernetes.io/hostname".into(),
        ..PodAffinityTerm::default()
    };
    let affinity = Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            // Never beside the server: the point is that they do not share its cores.
            required_during_scheduling_ignored_during_execution: Some(vec![away_from("server")]),
            // Apart from each other where the cluster has room.
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: away_from("generator"),
            }]),
        }),
        ..Affinity::default()
    };
    let container = Container {
        name: "generator".into(),
        image: Some(format!("{}/stackbench/generator:{}", o.registry, o.generator_tag)),
        args: Some(args),
        resources: Some(resources(o.generator_cpus.to_string(), 512 << 20)),
        security_context: Some(security()),
        ..Container::default()
    };
    let n = i32::try_from(o.generators).unwrap_or(i32::MAX);
    Ok(Job {
        metadata: meta(o, "generator"),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".into()),
            completions: Some(n),
            parallelism: Some(n),
            backoff_limit: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels(o, "generator")), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    restart_policy: Some("Never".into()),
                    affinity: Some(affinity),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    })
}

/// The load settings the generator Job runs: the plan's, against the
/// server's Service. Unpinned: the static CPU manager gives a Guaranteed pod
/// whole CPUs of its own, whose numbers are not known until it runs.
pub fn job_config(
    plan: &Plan,
    endpoint: &EndpointPlan,
    url: &str,
    o: &RenderOptions,
) -> Result<loadgen::Config, loadgen::ConfigError> {
    let mut config = plan.load_config(endpoint, o.connections, loadgen::Target::unresolved(url)?);
    config.cpus = None;
    Ok(config)
}

/// `1`, `0.5`: a CPU quantity as Kubernetes writes it.
fn format_cpus(cpus: f64) -> String {
    if cpus.fract() == 0.0 {
        format!("{cpus:.0}")
    } else {
        format!("{}m", (cpus * 1000.0).round() as u64)
    }
}
