//! Plans: what the machine cannot give is refused before anything starts,
//! pointing at the scenario line.

use std::path::Path;

use runner::{Machine, Plan};

use crate::util::{options, scenario};

const WORKLOAD: &str = r#"
[workload]
connections = [10]

[[workload.endpoints]]
name = "health"
path = "/health"
"#;

fn two_cpus() -> Machine {
    Machine { n_cpus: 2, cpu_model: "test".into() }
}

fn plan_error(loaded: &scenario::Loaded, generator_cpus: Vec<usize>) -> String {
    let options = runner::Options { generator_cpus, ..options(Path::new("/nonexistent")) };
    Plan::new(loaded, &options, &two_cpus()).expect_err("the plan is refused").to_string()
}

#[test]
fn cpus_are_split_between_generator_and_server() {
    let loaded =
        scenario("plan-ok", "command = [\"serve\", \"{host}:{port}\", \"-w\", \"{workers}\", \"{cpus}\"]", WORKLOAD);
    let plan = Plan::new(&loaded, &options(Path::new("/nonexistent")), &two_cpus()).unwrap();
    assert_eq!((plan.generator_cpus.as_slice(), plan.server_cpuset.as_str()), (&[0][..], "1"));
    assert_eq!(plan.server.command_for(8080), vec!["serve", "127.0.0.1:8080", "-w", "1", "0.5"]);
    assert!(plan.server.own_env(8080).contains(&"WEB_CONCURRENCY=1".to_string()));
    assert!(plan.server.own_env(8080).contains(&"STACKBENCH_CPUS=0.5".to_string()));
}

#[test]
fn impossible_plans_are_refused_with_a_location() {
    let too_many_cpus = scenario("plan-cpus", "", WORKLOAD);
    let text = too_many_cpus.text.replace("cpus = 0.5", "cpus = 2");
    let too_many_cpus = scenario::parse(Path::new("plan-cpus.toml"), &text, &crate::util::root()).unwrap();
    let err = plan_error(&too_many_cpus, vec![0]);
    assert!(err.starts_with("plan-cpus.toml:5:8: cpus = 2, but only 1 CPU(s) (1) are left"), "{err}");

    let loaded = scenario("plan-conns", "", &WORKLOAD.replace("[10]", "[10, 100000000]"));
    let err = plan_error(&loaded, vec![0]);
    assert!(err.contains("100000000 connections are more than this machine's open-files limit allows"), "{err}");
    assert!(err.starts_with("plan-conns.toml:13:15:"), "{err}");

    // The same level from the command line is the flag's fault, not the file's.
    let options = runner::Options { connections: Some(vec![100000000]), ..options(Path::new("/nonexistent")) };
    let err = Plan::new(&loaded, &options, &two_cpus()).expect_err("refused").to_string();
    assert!(err.starts_with("--connections: 100000000 connections are more than"), "{err}");

    let loaded = scenario("plan-gen", "", WORKLOAD);
    assert!(plan_error(&loaded, vec![5]).contains("--generator-cpus: CPU 5 does not exist"));
    assert!(plan_error(&loaded, vec![0, 1]).contains("no CPU is left for the server"));
}
