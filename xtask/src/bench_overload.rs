//! `cargo xtask bench-overload`: overload measured two ways. A server that
//! serves 40 requests at a time, each after 100 ms (400 req/s at most; the
//! shape of FastAPI's 40-thread pool with a 0.1 s sleep), gets 2000
//! connections from wrk and from `stackbench load`, timeout 2 s. Completed
//! req/s should agree; the latency should not: wrk leaves every response
//! later than its timeout out of its histogram, stackbench counts it with its
//! real latency (seconds of queueing).

use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::bench_loadgen::{free_port, parse_wrk, raise_file_limit};
use crate::sys::{self, step};

const SERVER_CPU: &str = "1";
const GENERATOR_CPU: &str = "0";
const CONNECTIONS: &str = "2000";

/// 40 slots, 100 ms each, HTTP/1.1 keep-alive; the port is the first argument.
const SERVER: &str = r#"
import asyncio, sys
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
async def main():
    slots = asyncio.Semaphore(40)
    async def serve(reader, writer):
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                async with slots:
                    await asyncio.sleep(0.1)
                writer.write(RESPONSE)
                await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"#;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let duration = match args {
        [] => "10s".to_string(),
        [flag, d] if flag == "--duration" => d.clone(),
        _ => bail!("bench-overload: usage: cargo xtask bench-overload [--duration 10s]"),
    };
    sys::ensure_installed("wrk", "wrk")?;
    sys::ensure_installed("python3", "python3")?;
    sys::ensure_installed("taskset", "util-linux")?;
    raise_file_limit();
    let root = sys::project_root();
    step("building stackbench (release)");
    sys::run(sys::cargo_command().current_dir(&root).args(["build", "--release", "--locked", "-p", "stackbench"]))?;
    let stackbench = root.join("target/release/stackbench");
    step(&format!(
        "server: 40 slots x 100 ms (400 req/s at most) on CPU {SERVER_CPU}, started anew for each generator (a \
         queue left by the one before would eat into the next window); {CONNECTIONS} connections for {duration} \
         from each generator on CPU {GENERATOR_CPU}, timeout 2s"
    ));
    let wrk = with_server(|url| {
        output(
            Command::new("taskset")
                .args(["-c", GENERATOR_CPU, "wrk", "-t1", "-c", CONNECTIONS, "-d", &duration])
                .args(["--timeout", "2s", "--latency", url]),
        )
    })?;
    let sb = with_server(|url| {
        output(Command::new(&stackbench).args(["load", url, "-c", CONNECTIONS, "-t", "1", "-d", &duration]).args([
            "--timeout",
            "2s",
            "--cpus",
            GENERATOR_CPU,
            "--json",
        ]))
    })?;
    let sb: serde_json::Value = serde_json::from_str(&sb).context("stackbench's JSON")?;
    let (_, wrk_rps, _) = parse_wrk(&wrk).context("wrk printed no summary")?;
    let wrk_p50 = wrk.lines().find_map(|l| l.trim().strip_prefix("50%")).map(str::trim).unwrap_or("-");
    let wrk_max = wrk
        .lines()
        .find(|l| l.trim_start().starts_with("Latency") && !l.contains("Distribution"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("-");
    let wrk_timeouts = wrk.lines().find_map(|l| l.split("timeout ").nth(1)).unwrap_or("0").trim();
    let secs = |v: &serde_json::Value| format!("{:.2}s", v.as_f64().unwrap_or(0.0) / 1e6);
    println!(
        "\n{:<11} {:>10} {:>12} {:>9} {:>9} {:>10} {:>6} {:>10}",
        "generator", "req/s", "goodput/s", "p50", "max", "timeouts", "late", "abandoned"
    );
    println!(
        "{:<11} {wrk_rps:>10.1} {:>12} {wrk_p50:>9} {wrk_max:>9} {wrk_timeouts:>10} {:>6} {:>10}",
        "wrk", "-", "-", "-"
    );
    let sb_rps = sb["rps"].as_f64().unwrap_or(0.0);
    println!(
        "{:<11} {sb_rps:>10.1} {:>12.1} {:>9} {:>9} {:>10} {:>6} {:>10}",
        "stackbench",
        sb["goodput_rps"].as_f64().unwrap_or(0.0),
        secs(&sb["latency_us"]["p50"]),
        secs(&sb["latency_us"]["max"]),
        sb["errors"]["timeout"].to_string(),
        sb["late_responses"].to_string(),
        sb["abandoned"].to_string()
    );
    println!("\ncompleted req/s, stackbench / wrk: {:.3}", sb_rps / wrk_rps);
    Ok(())
}

/// Runs `work` against a new server, stopped afterwards.
fn with_server(work: impl FnOnce(&str) -> anyhow::Result<String>) -> anyhow::Result<String> {
    let port = free_port()?;
    let mut server = Command::new("taskset")
        .args(["-c", SERVER_CPU, "python3", "-c", SERVER, &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start the Python server")?;
    // Ready once it accepts a connection.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let outcome = work(&format!("http://127.0.0.1:{port}/"));
    let _ = server.kill();
    let _ = server.wait();
    outcome
}

fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed with {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
