//! The manifests of two scenarios: snapshots, and every object read back with
//! the Kubernetes client's types and checked against their JSON schemas.

use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Service};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn options(scenario: &str, endpoint: &str) -> k8s::RenderOptions {
    k8s::RenderOptions {
        run_id: format!("{scenario}-test"),
        namespace: "stackbench".into(),
        registry: "registry.example:5000".into(),
        generator_tag: "0123456789ab".into(),
        endpoint: endpoint.into(),
        connections: 1000,
        generators: 3,
        generator_cpus: 2,
        start_at: 1_800_000_000.0,
    }
}

/// The scenario file and the one variant of its matrix (if it has one) each test stack is.
fn variant_of(stack: &str) -> (PathBuf, scenario::Pick) {
    let (file, only) = match stack {
        "flask-gevent" => ("flask-gevent", None),
        "fastapi-async" => ("fastapi-async", Some("python=3.11,cpus=1")),
        other => panic!("no test stack {other}"),
    };
    let pick = scenario::Pick { lists: Vec::new(), only: only.into_iter().map(|o| o.parse().unwrap()).collect() };
    (root().join("scenarios").join(format!("{file}.toml")), pick)
}

fn load(stack: &str) -> scenario::Loaded {
    let (file, pick) = variant_of(stack);
    let mut variants = scenario::load_file(&file, &root(), &pick).unwrap().variants;
    assert_eq!(variants.len(), 1);
    variants.remove(0)
}

fn render(scenario: &str, endpoint: &str) -> Vec<serde_json::Value> {
    let loaded = load(scenario);
    let plan = k8s::plan(&loaded, 2).unwrap();
    k8s::render(&plan, &options(scenario, endpoint)).unwrap()
}

#[test]
fn flask_gevent_manifests() {
    insta::assert_json_snapshot!(k8s::list(render("flask-gevent", "db")));
}

#[test]
fn fastapi_async_manifests() {
    insta::assert_json_snapshot!(k8s::list(render("fastapi-async", "login")));
}

/// Reads `object` back as `T` (unknown fields refused) and checks it against `T`'s JSON schema.
fn check<T>(object: &serde_json::Value) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize + schemars::JsonSchema,
{
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(object).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{object:#}");
    let typed: T = serde_json::from_value(object.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&typed).unwrap(), object, "it reads back as it was written");
    typed
}

#[test]
fn every_object_parses_with_the_client_types_and_fits_its_schema() {
    for (scenario, endpoint) in [("flask-gevent", "db"), ("fastapi-async", "login")] {
        let objects = render(scenario, endpoint);
        let kinds: Vec<&str> = objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        let sidecars = if scenario == "fastapi-async" { 2 } else { 1 };
        assert_eq!(kinds.len(), 2 * sidecars + 3, "{kinds:?}");
        for object in &objects {
            match object["kind"].as_str().unwrap() {
                "Pod" => {
                    let pod: Pod = check(object);
                    let container = &pod.spec.unwrap().containers[0];
                    let resources = container.resources.as_ref().unwrap();
                    // Guaranteed QoS: requests equal limits.
                    assert_eq!(resources.requests, resources.limits);
                    let security = container.security_context.as_ref().unwrap();
                    assert_eq!((security.privileged, security.allow_privilege_escalation), (Some(false), Some(false)));
                }
                "Service" => {
                    check::<Service>(object);
                }
                "Job" => {
                    let job: Job = check(object);
                    let spec = job.spec.unwrap();
                    assert_eq!((spec.parallelism, spec.completions), (Some(3), Some(3)));
                    let pod = spec.template.spec.unwrap();
                    let anti = pod.affinity.unwrap().pod_anti_affinity.unwrap();
                    let away = &anti.required_during_scheduling_ignored_during_execution.unwrap()[0];
                    let labels = away.label_selector.as_ref().unwrap().match_labels.as_ref().unwrap();
                    assert_eq!(labels["stackbench.role"], "server", "never on the server's node");
                    let args = pod.containers[0].args.as_ref().unwrap().join(" ");
                    let server = format!("http://sb-{scenario}-test-server:8080/");
                    assert!(args.starts_with(&format!("load {server}")), "{args}");
                    assert!(args.contains("--connections 1000 --share $(JOB_COMPLETION_INDEX)/3"), "{args}");
                }
                other => panic!("unexpected kind {other}"),
            }
        }
    }
}

#[test]
fn what_a_cluster_cannot_run_is_refused() {
    let mut loaded = load("flask-gevent");
    let plan = k8s::plan(&loaded, 2).unwrap();
    let err = |o: k8s::RenderOptions| k8s::render(&plan, &o).unwrap_err().to_string();
    assert!(err(options("x", "nope")).contains("no endpoint 'nope' in the scenario (its endpoints: health"));
    assert!(err(k8s::RenderOptions { generators: 2000, ..options("x", "db") }).contains("at most --connections (1000)"));
    loaded.text = loaded.text.replacen("cpus = 1.0", "cpus = 1.5", 1);
    let (file, pick) = variant_of("flask-gevent");
    let loaded = scenario::parse_file(&file, &loaded.text, &root(), &pick).unwrap().variants.remove(0);
    let plan = k8s::plan(&loaded, 2).unwrap();
    let fractional = k8s::render(&plan, &options("x", "db")).unwrap_err().to_string();
    assert!(fractional.contains("cpus = 1.5: the kubelet's static CPU manager pins only whole CPUs"), "{fractional}");
}
