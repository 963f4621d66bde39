//! Plans: what the machines cannot give is refused before anything starts,
//! pointing at the scenario line or the flag.

use std::path::{Path, PathBuf};

use plan::{Choices, Hosts, Machine, Plan, ProfileAt};

const WORKLOAD: &str = r#"
[workload]
connections = [10]

[[workload.endpoints]]
name = "health"
path = "/health"
"#;

/// `crates/`: it holds the docker crate's test build context.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scenario around the docker crate's test context; `server_extra` goes into [server].
fn scenario(name: &str, server_extra: &str, workload: &str) -> scenario::Loaded {
    let text = format!(
        "name = \"{name}\"\n[server]\nbuild = \"docker/tests/context\"\ncpus = 0.5\nmemory = \"64m\"\npids = \
         64\n{server_extra}\n\n{workload}"
    );
    scenario::parse(Path::new(&format!("{name}.toml")), &text, &root()).unwrap_or_else(|e| panic!("{e}"))
}

fn machine(n_cpus: usize) -> Machine {
    Machine { n_cpus, cpu_model: "test".into(), kernel: "test".into(), open_files: 20_000 }
}

fn two_cpus() -> Hosts {
    Hosts::Shared(machine(2))
}

fn plan_error(loaded: &scenario::Loaded, generator_cpus: Vec<usize>) -> String {
    let choices = Choices { generator_cpus, ..Choices::default() };
    Plan::new(loaded, &choices, &two_cpus()).expect_err("the plan is refused").to_string()
}

#[test]
fn cpus_are_split_between_generator_and_server() {
    let loaded =
        scenario("plan-ok", "command = [\"serve\", \"{host}:{port}\", \"-w\", \"{workers}\", \"{cpus}\"]", WORKLOAD);
    let plan = Plan::new(&loaded, &Choices::default(), &two_cpus()).unwrap();
    assert_eq!((plan.generator_cpus.as_slice(), plan.server_cpuset.as_str()), (&[0][..], "1"));
    assert_eq!(plan.server.command_for(8080), vec!["serve", "127.0.0.1:8080", "-w", "1", "0.5"]);
    assert!(plan.server.own_env(8080).contains(&"WEB_CONCURRENCY=1".to_string()));
    assert!(plan.server.own_env(8080).contains(&"STACKBENCH_CPUS=0.5".to_string()));
}

#[test]
fn a_server_on_another_machine_may_use_all_of_its_cpus() {
    let loaded = scenario("plan-apart", "", WORKLOAD);
    let hosts = Hosts::Apart { server: machine(4), generator: machine(2) };
    let plan = Plan::new(&loaded, &Choices::default(), &hosts).unwrap();
    assert_eq!((plan.generator_cpus.as_slice(), plan.server_cpuset.as_str()), (&[0][..], "0,1,2,3"));
    // The generator's CPUs are checked against the generator's machine, not the server's.
    let choices = Choices { generator_cpus: vec![3], ..Choices::default() };
    let err = Plan::new(&loaded, &choices, &hosts).unwrap_err().to_string();
    assert!(err.starts_with("--generator-cpus: CPU 3 does not exist"), "{err}");
}

#[test]
fn impossible_plans_are_refused_with_a_location() {
    let too_many_cpus = scenario("plan-cpus", "", WORKLOAD);
    let text = too_many_cpus.text.replace("cpus = 0.5", "cpus = 2");
    let too_many_cpus = scenario::parse(Path::new("plan-cpus.toml"), &text, &root()).unwrap();
    let err = plan_error(&too_many_cpus, vec![0]);
    assert!(err.starts_with("plan-cpus.toml:4:8: cpus = 2, but only 1 CPU(s) (1) are left"), "{err}");

    let loaded = scenario("plan-conns", "", &WORKLOAD.replace("[10]", "[10, 100000000]"));
    let err = plan_error(&loaded, vec![0]);
    assert!(err.contains("100000000 connections are more than the generator's open-files limit allows"), "{err}");
    assert!(err.starts_with("plan-conns.toml:11:15:"), "{err}");

    // The same level from the command line is the flag's fault, not the file's.
    let choices = Choices { connections: Some(vec![100000000]), ..Choices::default() };
    let err = Plan::new(&loaded, &choices, &two_cpus()).expect_err("refused").to_string();
    assert!(err.starts_with("--connections: 100000000 connections are more than"), "{err}");

    let loaded = scenario("plan-gen", "", WORKLOAD);
    assert!(plan_error(&loaded, vec![5]).contains("--generator-cpus: CPU 5 does not exist"));
    assert!(plan_error(&loaded, vec![0, 1]).contains("no CPU is left for the server"));
}

#[test]
fn the_open_files_limit_is_the_generator_machines() {
    let loaded = scenario("plan-files", "", &WORKLOAD.replace("[10]", "[10000]"));
    let small = Machine { open_files: 1024, ..machine(2) };
    let err = Plan::new(&loaded, &Choices::default(), &Hosts::Shared(small.clone())).unwrap_err().to_string();
    assert!(err.contains("10000 connections are more than the generator's open-files limit allows (992)"), "{err}");
    // A server on a machine with a small limit does not limit the generator.
    let hosts = Hosts::Apart { server: small, generator: machine(2) };
    assert!(Plan::new(&loaded, &Choices::default(), &hosts).is_ok());
}

#[test]
fn only_the_endpoints_chosen_are_planned() {
    let two = format!("{WORKLOAD}\n[[workload.endpoints]]\nname = \"sleep\"\npath = \"/sleep\"\n");
    let loaded = scenario("plan-endpoints", "", &two);
    let names = |endpoints: Option<&[&str]>| {
        let choices =
            Choices { endpoints: endpoints.map(|e| e.iter().map(|n| n.to_string()).collect()), ..Choices::default() };
        let plan = Plan::new(&loaded, &choices, &two_cpus()).unwrap();
        plan.endpoints.iter().map(|e| e.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(None), ["health", "sleep"]);
    assert_eq!(names(Some(&["sleep", "db"])), ["sleep"]);
    assert!(names(Some(&["db"])).is_empty());
}

#[test]
fn overrides_reach_the_services_that_exist() {
    let loaded = scenario("plan-set", "", WORKLOAD);
    let choices = Choices {
        overrides: vec!["server.LEVEL=9".parse().unwrap(), "db.ROWS=1".parse().unwrap()],
        ..Choices::default()
    };
    let plan = Plan::new(&loaded, &choices, &two_cpus()).unwrap();
    assert_eq!(plan.overrides, ["server.LEVEL=9"]);
    assert_eq!(plan.server.env.get("LEVEL").map(String::as_str), Some("9"));
    let err = "db.ROWS".parse::<plan::Override>().unwrap_err().to_string();
    assert!(err.contains("'db.ROWS' is not SERVICE.KEY=VALUE"), "{err}");
}

/// `profile = true` profiles an endpoint at `profile_at`, else its first level;
/// `--profile` every endpoint; a level it does not run, `"capacity"` without
/// objectives and any other word are refused where they are written.
#[test]
fn profiled_levels_are_chosen_and_checked() {
    let profiled = |endpoint_extra: &str, choices: &Choices| {
        let workload = format!("{WORKLOAD}{endpoint_extra}\nconnections = [10, 100]\n");
        let loaded = scenario("plan-profile", "", &workload);
        Plan::new(&loaded, choices, &two_cpus()).map(|p| p.endpoints[0].profile_at).map_err(|e| e.to_string())
    };
    let choices = Choices::default();
    assert_eq!(profiled("", &choices), Ok(None));
    let at = |n| Ok(Some(ProfileAt::Connections(n)));
    assert_eq!(profiled("profile = true", &choices), at(10));
    assert_eq!(profiled("profile = true\nprofile_at = 100", &choices), at(100));
    assert_eq!(profiled("", &Choices { profile: true, ..Choices::default() }), at(10));
    let with_slo = "profile = true\nprofile_at = \"capacity\"\nslo = { p99 = \"10ms\" }";
    assert_eq!(profiled(with_slo, &choices), Ok(Some(ProfileAt::Capacity)));
    for (extra, says) in [
        ("profile = true\nprofile_at = 50", "profile_at = 50 is not one of the levels of endpoint 'health' [10, 100]"),
        ("profile = true\nprofile_at = \"capacity\"", "endpoint 'health' has no objectives to search with"),
        (
            "profile = true\nprofile_at = \"peak\"",
            "profile_at = \"peak\" is neither a connection count nor \"capacity\"",
        ),
    ] {
        let refused = profiled(extra, &choices).unwrap_err();
        assert!(refused.contains("plan-profile.toml:") && refused.contains(says), "{refused}");
    }
    // `--profile-at` profiles every endpoint, over the file; a refusal names the flag.
    let at_flag = |at| Choices { profile_at: Some(at), ..Choices::default() };
    assert_eq!(profiled("profile_at = 10", &at_flag(scenario::ProfileAt::Connections(100))), at(100));
    let refused = profiled("", &at_flag(scenario::ProfileAt::Named("capacity".into()))).unwrap_err();
    assert!(refused.starts_with("--profile-at: ") && refused.contains("has no objectives"), "{refused}");
}

#[test]
fn requests_that_draw_values_are_checked_where_written_and_find_their_files_under_the_project() {
    let bad = |path: &str| {
        let workload = WORKLOAD.replace("path = \"/health\"", &format!("path = \"{path}\""));
        plan_error(&scenario("plan-drawn", "", &workload), vec![0])
    };
    let err = bad("/db?id={rnd:1..5}");
    assert!(
        err.starts_with("plan-drawn.toml:") && err.contains("endpoint 'health': path: {rnd:1..5} is not a placeholder"),
        "{err}"
    );
    let err = bad("/db?id={line:no-such-ids.txt}");
    assert!(err.contains("endpoint 'health': path: {line:no-such-ids.txt}: cannot read 'no-such-ids.txt'"), "{err}");
    // A file of the project (the crates folder here): found under its root, whatever the working directory.
    let workload = WORKLOAD.replace("path = \"/health\"", "path = \"/db?name={line:plan/Cargo.toml}&id={rand:1..9}\"");
    let plan = Plan::new(&scenario("plan-drawn", "", &workload), &Choices::default(), &two_cpus()).unwrap();
    let expected = format!("/db?name={{line:{}}}&id={{rand:1..9}}", root().join("plan/Cargo.toml").display());
    assert_eq!(plan.endpoints[0].path, expected);
}

#[test]
fn a_mix_plans_its_kinds_and_each_is_checked_as_a_request_of_its_own() {
    let workload = WORKLOAD.replace(
        "path = \"/health\"",
        "requests = [{ name = \"read\", path = \"/db?id={rand:1..9}\", weight = 3 }, \
         { name = \"write\", method = \"post\", path = \"/db\", body = \"{\\\"a\\\": 1}\", expect_status = 201 }]",
    );
    let plan = Plan::new(&scenario("plan-mix", "", &workload), &Choices::default(), &two_cpus()).unwrap();
    let e = &plan.endpoints[0];
    assert_eq!((e.method.as_str(), e.path.as_str()), ("MIX", "/"));
    let kinds: Vec<(&str, u32, &str, Option<u16>)> =
        e.mix.iter().map(|k| (k.name.as_str(), k.weight, k.method.as_str(), k.expect.status)).collect();
    assert_eq!(kinds, [("read", 3, "GET", Some(200)), ("write", 1, "POST", Some(201))]);
    let target = plan::server_target("127.0.0.1:9".parse().unwrap(), &e.path, false).unwrap();
    let config = plan.load_config(e, 10, target);
    config.validate().unwrap();
    assert_eq!(config.mix, e.mix);
    let each: Vec<(String, String)> = e.requests().into_iter().map(|r| (r.name, r.path)).collect();
    assert_eq!(each, [("health/read".into(), "/db?id={rand:1..9}".into()), ("health/write".into(), "/db".into())]);
    // A generator container takes its level on a command line, which a mix does not fit.
    let err = plan::generator_args(&config, "0/1", 0.0).unwrap_err().to_string();
    assert!(err.contains("a mix of requests runs from this process only"), "{err}");
}

#[test]
fn a_tls_server_gets_the_runs_certificate_and_its_load_trusts_the_runs_ca() {
    let server =
        "command = [\"serve\", \"--cert\", \"{tls_cert}\", \"--key\", \"{tls_key}\"]\ntls = true\nhttp = \"2\"";
    let workload = WORKLOAD.replace("path = \"/health\"", "path = \"/health\"\nstreams = 10");
    let loaded = scenario("plan-tls", server, &workload);
    let err = Plan::new(&loaded, &Choices::default(), &two_cpus()).expect_err("no CA, no plan").to_string();
    assert!(err.contains("this run makes no certificate for a TLS server"), "{err}");
    let choices = Choices { tls_ca: Some("/tmp/run-ca.pem".into()), ..Choices::default() };
    let plan = Plan::new(&loaded, &choices, &two_cpus()).unwrap();
    let (cert, key) = (scenario::TLS_CERT, scenario::TLS_KEY);
    assert_eq!(plan.server.command_for(8443), vec!["serve", "--cert", cert, "--key", key]);
    let env = plan.server.own_env(8443);
    assert!(env.contains(&format!("STACKBENCH_TLS_CERT={cert}")) && env.contains(&format!("STACKBENCH_TLS_KEY={key}")));
    let e = &plan.endpoints[0];
    assert_eq!(e.protocol, record::Protocol { tls: true, http2_streams: Some(10) });
    let target = plan::server_target("127.0.0.1:8443".parse().unwrap(), &e.path, plan.server.tls).unwrap();
    assert_eq!(target.url, "https://127.0.0.1:8443/health");
    let config = plan.load_config(e, 4, target);
    assert_eq!(config.tls.ca.as_deref(), Some(Path::new("/tmp/run-ca.pem")));
    // The load reads the CA it trusts (here, a file no run made).
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("tls-ca: cannot read certificates from /tmp/run-ca.pem"), "{err}");
    assert!(config.tls.verify);
    assert_eq!(config.http2.map(|h| h.streams), Some(10));
    assert_eq!(config.n_slots(), 40);
    let err = plan::generator_args(&config, "0/1", 0.0).unwrap_err().to_string();
    assert!(err.contains("a TLS server is loaded from this process only"), "{err}");
    // Without TLS, the same server's plan sets neither (and the command may not name the files).
    let plain = Plan::new(&scenario("plan-h2c", "http = \"2\"", WORKLOAD), &choices, &two_cpus()).unwrap();
    assert_eq!((plain.server.tls, plain.tls_ca.as_ref()), (false, None));
    let target = plan::server_target("127.0.0.1:8080".parse().unwrap(), "/health", false).unwrap();
    let config = plan.load_config(&plain.endpoints[0], 4, target);
    let args = plan::generator_args(&config, "0/1", 0.0).unwrap();
    assert!(args.windows(3).any(|w| w == ["--http2", "--streams", "1"]), "{args:?}");
}
