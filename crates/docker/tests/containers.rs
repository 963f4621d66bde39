//! Containers with limits: served on loopback, counted in their cgroup,
//! removed without trace; and the sweep of what a dead run left.

use std::io::{Read, Write};
use std::time::Duration;

use crate::util::{engine, free_port, spec, unique};

fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())?;
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

async fn wait_listening(port: u16) {
    for _ in 0..100 {
        if get(port, "/").is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listened on 127.0.0.1:{port}");
}

#[tokio::test]
async fn limited_container_serves_on_loopback_and_is_counted() {
    let engine = engine().await;
    let (port, run) = (free_port(), unique("run"));
    let running = engine.start(&spec(&unique("limited"), &run, port, &[])).await.unwrap();
    wait_listening(port).await;
    assert!(get(port, "/health").unwrap().starts_with("HTTP/1.1 200 OK"));
    // Host networking: what it listens on is found, and it is loopback only.
    let listening = engine.listening(&running.id).await.unwrap();
    assert_eq!(listening, vec![std::net::SocketAddr::from(([127, 0, 0, 1], port))]);
    assert!(listening.iter().all(docker::is_loopback_only));
    let counters = running.counters.clone().expect("cgroup found");
    let before = counters.sample();
    for _ in 0..200 {
        get(port, "/").unwrap();
    }
    let after = counters.sample();
    assert!(after.cpu_ns > before.cpu_ns, "{before:?} {after:?}");
    assert!(after.memory > 0 && after.memory <= 64 << 20, "{after:?}");
    // The limits are the kernel's, not just the engine's.
    if let docker::CgroupCounters::V1 { cpu, .. } = &counters {
        let quota = std::fs::read_to_string(cpu.join("cpu.cfs_quota_us")).unwrap();
        let period = std::fs::read_to_string(cpu.join("cpu.cfs_period_us")).unwrap();
        assert_eq!(quota.trim().parse::<f64>().unwrap() / period.trim().parse::<f64>().unwrap(), 0.5);
    }
    assert!(engine.state(&running.id).await.unwrap().running);
    engine.remove(&running.id).await.unwrap();
    // Removing twice is fine: a 404 during cleanup is success.
    engine.remove(&running.id).await.unwrap();
    assert!(engine.containers_of_run(&run).await.unwrap().is_empty());
}

#[tokio::test]
async fn exited_container_reports_its_code_and_logs() {
    let engine = engine().await;
    let (port, run) = (free_port(), unique("run"));
    let running = engine.start(&spec(&unique("exits"), &run, port, &["EXIT_AFTER=1"])).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = engine.state(&running.id).await.unwrap();
    assert_eq!((state.running, state.exit_code), (false, Some(3)));
    let logs = engine.logs_tail(&running.id, 5).await;
    assert!(logs.contains("exiting on purpose"), "{logs}");
    engine.remove(&running.id).await.unwrap();
}

#[tokio::test]
async fn sweep_removes_what_dead_runs_left() {
    let engine = engine().await;
    let run = unique("run");
    let mut dead = spec(&unique("orphan"), &run, free_port(), &[]);
    // A pid that cannot be alive: the owner of this container is gone.
    dead.labels.insert(docker::PID_LABEL.into(), "999999999".into());
    let orphan = engine.start(&dead).await.unwrap();
    // The same dead pid, but on another machine sharing this engine: its process cannot be checked from here.
    let mut elsewhere = spec(&unique("elsewhere"), &run, free_port(), &[]);
    elsewhere.labels.insert(docker::PID_LABEL.into(), "999999999".into());
    elsewhere.labels.insert(docker::HOST_LABEL.into(), "another-machine".into());
    let elsewhere = engine.start(&elsewhere).await.unwrap();
    let mine = engine.start(&spec(&unique("alive"), &run, free_port(), &[])).await.unwrap();
    let swept = engine.reap().await.unwrap();
    assert!(swept.contains(&orphan.name), "{swept:?}");
    assert!(!swept.contains(&mine.name), "a live run's container stays: {swept:?}");
    assert!(!swept.contains(&elsewhere.name), "another machine's container stays: {swept:?}");
    let mut left = engine.containers_of_run(&run).await.unwrap();
    left.sort();
    let mut expected = vec![mine.id.clone(), elsewhere.id.clone()];
    expected.sort();
    assert_eq!(left, expected);
    engine.remove(&mine.id).await.unwrap();
    engine.remove(&elsewhere.id).await.unwrap();
}

#[tokio::test]
async fn every_container_is_limited_unprivileged_and_mounts_nothing() {
    let engine = engine().await;
    let (port, run) = (free_port(), unique("run"));
    let running = engine.start(&spec(&unique("defaults"), &run, port, &[])).await.unwrap();
    // Asked of the engine directly, not of stackbench's own view.
    let docker = bollard::Docker::connect_with_defaults().unwrap().negotiate_version().await.unwrap();
    let inspect = docker.inspect_container(&running.id, None).await.unwrap();
    engine.remove(&running.id).await.unwrap();
    let host = inspect.host_config.unwrap();
    assert_eq!(host.privileged, Some(false));
    assert_eq!(host.security_opt, Some(vec!["no-new-privileges".to_string()]));
    assert_eq!((host.nano_cpus, host.cpuset_cpus.as_deref()), (Some(500_000_000), Some("1")));
    assert_eq!((host.memory, host.memory_swap, host.pids_limit), (Some(64 << 20), Some(64 << 20), Some(64)));
    assert_eq!(host.network_mode.as_deref(), Some("host"));
    assert!(host.cap_add.unwrap_or_default().is_empty());
    assert!(host.binds.unwrap_or_default().is_empty() && inspect.mounts.unwrap_or_default().is_empty());
}
