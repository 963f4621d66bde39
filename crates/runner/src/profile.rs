//! Profiles of the server under load: one level run again with a profiler
//! container attached to the server container's processes.
//!
//! The profiler image (`profiler/`, embedded) holds py-spy and perf; its
//! script finds the server's main process in the PID namespace it shares,
//! waits out the warm-up, samples every server process through the measured
//! window (py-spy when it finds a Python interpreter, else perf) and prints
//! what it found between `stackbench-profiler:` lines.

use std::time::Duration;

use docker::ContainerSpec;
use plan::{EndpointPlan, Plan};
use record::{ProfileRecord, RunRecord, ThreadStates};

use crate::levels::Server;
use crate::service::{run_labels, Containers};
use crate::{Event, Halt, Runner};

const DOCKERFILE: &str = include_str!("../profiler/Dockerfile");
const SCRIPT: &str = include_str!("../profiler/profile.sh");
/// The base the profiler image starts from (made offline like any other).
const BASE: &str = "debian:bookworm";

/// Samples per second of each server thread. py-spy pauses a process for
/// each sample (without pausing, a busy interpreter's frames change under it
/// and most samples fail); what that costs is measured with every profile
/// (the level's req/s without and with the profiler).
pub const RATE_HZ: u32 = 20;
/// Seconds between two thread-state snapshots (each a whole `py-spy dump`).
const CENSUS_EVERY_S: u32 = 1;
/// perf's samples per second (of each thread) for a native server: taken by the kernel, they cost little.
pub const PERF_RATE_HZ: u32 = 99;
/// The marker of the profiler's output sections.
const MARK: &str = "stackbench-profiler: ";

/// The profiler image's tag: named after a hash of what it is built from (as
/// the generator image's is), so a change rebuilds it.
fn image_tag() -> String {
    format!("stackbench/profiler:{}", &crate::sha256_hex(format!("{DOCKERFILE}{SCRIPT}").as_bytes())[..12])
}

impl Runner<'_> {
    /// Builds the profiler image on the server's engine unless it has it.
    pub(crate) async fn prepare_profiler(&self, record: &mut RunRecord) -> Result<(), Halt> {
        let tag = image_tag();
        if !self.engine.has_image(&tag).await {
            self.ensure_base(&self.engine, BASE).await?;
            self.emit(Event::Step(&format!("building the profiler image {tag} (py-spy and perf)")));
            let context = tempfile::Builder::new()
                .prefix("stackbench-profiler-")
                .tempdir()
                .and_then(|dir| {
                    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE)?;
                    std::fs::write(dir.path().join("profile.sh"), SCRIPT)?;
                    Ok(dir)
                })
                .map_err(|e| Halt::Failed(format!("cannot write the profiler's build context: {e}")))?;
            let spec = docker::BuildSpec {
                context: context.path().to_path_buf(),
                dockerfile: "Dockerfile".into(),
                tag: tag.clone(),
                build_args: Default::default(),
                labels: Default::default(),
                ca_bundle: self.options.ca_bundle.clone().filter(|p| p.is_file()),
            };
            self.build_on(&self.engine, &spec)
                .await?
                .map_err(|e| Halt::Failed(format!("the profiler image did not build: {e}")))?;
        }
        record.provenance.images.insert("profiler".into(), tag);
        Ok(())
    }

    /// Runs the level at `connections` again with the profiler sampling the
    /// server through its measured window; `unprofiled_rps` is the level's own
    /// req/s. A profiler that cannot attach gives a profile saying why, not a
    /// failed run; the profiler container is removed whatever happens.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn profile_level(
        &self,
        plan: &Plan,
        run_id: &str,
        endpoint: &EndpointPlan,
        connections: usize,
        repeat: u32,
        server: &Server,
    ) -> Result<ProfileRecord, Halt> {
        self.emit(Event::Step(&format!(
            "profiling {} {} at {connections} connections: the level again, with a profiler on every server \
             process (py-spy at {RATE_HZ} Hz for Python, else perf at {PERF_RATE_HZ} Hz) on the generator's CPUs {:?}",
            endpoint.method, endpoint.path, plan.generator_cpus
        )));
        let secs = |d: Duration| d.as_secs_f64().ceil().max(1.0) as u64;
        let spec = ContainerSpec {
            name: format!("stackbench-{run_id}-profiler-{}", self.next_container()),
            image: image_tag(),
            cmd: [
                secs(plan.warmup),
                secs(plan.duration),
                u64::from(RATE_HZ),
                u64::from(CENSUS_EVERY_S),
                u64::from(PERF_RATE_HZ),
            ]
            .iter()
            .map(ToString::to_string)
            .collect(),
            env: Vec::new(),
            labels: run_labels(run_id),
            cpus: 1.0,
            // Beside the generator, off the server's CPUs: on them, each sample would find the server
            // descheduled (seen idle) and take its CPU; what the profiler costs still shows in the req/s.
            cpuset: plan.generator_cpus.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            memory: 256 << 20,
            pids: 64,
            host_network: false,
            open_files: 1024,
            pid_namespace_of: Some(server.running.id.clone()),
            capabilities: vec!["SYS_PTRACE".into()],
            // perf_event_open reaches the kernel, whose perf_event_paranoid decides (2 here: user
            // space of processes it may trace); Docker 20.10 knows no CAP_PERFMON, only SYS_ADMIN.
            seccomp_unconfined: true,
        };
        let mut containers = Containers::default();
        let running = self.engine.start(&spec).await.map_err(|e| Halt::Fatal(e.into()))?;
        containers.track(&self.engine, &running.id);
        let level = self.run_level(plan, run_id, endpoint, connections, repeat, server).await;
        let bound = plan.warmup + plan.duration + Duration::from_secs(30);
        let exited = tokio::time::timeout(bound, self.until_cancelled(self.engine.wait_exit(&running.id))).await;
        let output = match exited {
            Ok(Ok(_)) => self.engine.stdout(&running.id).await.unwrap_or_default(),
            _ => String::new(),
        };
        containers.remove_all().await;
        let level = level?;
        let mut profile = parse_output(&output);
        profile.profiled_rps = level.load.as_ref().map_or(0.0, |l| l.rps);
        if profile.unavailable.is_none() && profile.folded.is_empty() {
            profile.unavailable = Some(match (&level.failure, exited) {
                (Some(failure), _) => format!("the profiled run of the level failed: {}", failure.message),
                (None, Err(_)) => format!("the profiler did not finish within {}s", bound.as_secs()),
                (None, Ok(Err(_))) => crate::INTERRUPTED.to_string(),
                (None, Ok(Ok(_))) => "the profiler took no samples".to_string(),
            });
        }
        Ok(profile)
    }
}

/// `perf script` output folded by inferno's perf collapser: each process its
/// own root frame (`name-PID`), kernel frames marked `_[k]`.
fn fold_perf(script: &str) -> Result<String, String> {
    use inferno::collapse::Collapse;
    let mut options = inferno::collapse::perf::Options::default();
    options.annotate_kernel = true;
    options.include_pid = true;
    options.nthreads = 1;
    let mut out = Vec::new();
    inferno::collapse::perf::Folder::from(options)
        .collapse(script.as_bytes(), &mut out)
        .map_err(|e| format!("cannot fold perf's samples: {e}"))?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// A profile that could not be taken, saying why.
pub(crate) fn unavailable(why: String) -> ProfileRecord {
    ProfileRecord {
        tool: String::new(),
        rate_hz: RATE_HZ,
        folded: String::new(),
        states: None,
        profiled_rps: 0.0,
        unprofiled_again_rps: None,
        unavailable: Some(why),
    }
}

/// What the profiler container printed, read back: the tool, the folded
/// stacks, the thread states of its snapshots, or why there is no profile.
pub(crate) fn parse_output(output: &str) -> ProfileRecord {
    let mut profile = ProfileRecord { unavailable: None, ..unavailable(String::new()) };
    let mut section = "";
    let mut dumps: Vec<String> = Vec::new();
    let mut perf = String::new();
    for line in output.lines() {
        if let Some(marked) = line.strip_prefix(MARK) {
            let (what, rest) = marked.split_once(' ').unwrap_or((marked, ""));
            match what {
                "tool" => profile.tool = rest.trim().to_string(),
                "rate" => profile.rate_hz = rest.trim().parse().unwrap_or(profile.rate_hz),
                "unavailable" => profile.unavailable = Some(rest.trim().to_string()),
                "dump" => dumps.push(String::new()),
                _ => {}
            }
            section = what;
            continue;
        }
        match section {
            "dump" => {
                let dump = dumps.last_mut().expect("a dump section starts with its mark");
                dump.push_str(line);
                dump.push('\n');
            }
            "perf" => {
                perf.push_str(line);
                perf.push('\n');
            }
            "folded" if !line.trim().is_empty() => {
                profile.folded.push_str(line.trim_end());
                profile.folded.push('\n');
            }
            _ => {}
        }
    }
    if !perf.is_empty() {
        match fold_perf(&perf) {
            Ok(folded) => profile.folded = folded,
            Err(why) => profile.unavailable = Some(why),
        }
    }
    let mut states = ThreadStates::default();
    // A snapshot is a dump of each server process, one JSON document after another.
    for dump in &dumps {
        let values: Vec<serde_json::Value> =
            serde_json::Deserializer::from_str(dump).into_iter().map_while(Result::ok).collect();
        if !values.is_empty() {
            states.snapshots += 1;
            values.iter().for_each(|v| count_threads(v, &mut states));
        }
    }
    profile.states = (states.snapshots > 0).then_some(states);
    profile
}

/// Counts every thread object (one with `active` and `owns_gil`) in a dump,
/// whatever nests it (one process, or each subprocess).
fn count_threads(value: &serde_json::Value, states: &mut ThreadStates) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|v| count_threads(v, states)),
        serde_json::Value::Object(map) => match (map.get("active"), map.get("owns_gil")) {
            (Some(active), Some(gil)) => match (active.as_bool() == Some(true), gil.as_bool() == Some(true)) {
                (false, _) => states.idle += 1,
                (true, true) => states.holding_gil += 1,
                (true, false) => states.running_without_gil += 1,
            },
            _ => map.values().for_each(|v| count_threads(v, states)),
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profilers_output_reads_back() {
        let out = "\
stackbench-profiler: tool py-spy 0.4.1
stackbench-profiler: main 7 gunicorn
stackbench-profiler: dump
[{\"pid\": 7, \"active\": true, \"owns_gil\": true, \"frames\": []}]
[{\"pid\": 9, \"active\": false, \"owns_gil\": false, \"frames\": [{\"active\": 1}]}]
stackbench-profiler: dump
[{\"pid\": 8, \"active\": true, \"owns_gil\": false}]
stackbench-profiler: dump
not json
stackbench-profiler: folded
a (x.py:1);b (x.py:2) 10

a (x.py:1) 3
stackbench-profiler: end
";
        let p = parse_output(out);
        assert_eq!(p.tool, "py-spy 0.4.1");
        assert_eq!(p.folded, "a (x.py:1);b (x.py:2) 10\na (x.py:1) 3\n");
        assert_eq!(p.states, Some(ThreadStates { snapshots: 2, idle: 1, holding_gil: 1, running_without_gil: 1 }));
        assert_eq!(p.unavailable, None);
    }

    #[test]
    fn perf_samples_are_folded() {
        let out = "stackbench-profiler: tool perf version 6.1.187 (cpu-clock)\nstackbench-profiler: rate 99\n\
                   stackbench-profiler: perf\nnginx 7/7 [001] 1.000001: cpu-clock:\n\
                   \t  4a1b2c ngx_http_handler+0x1c (/usr/sbin/nginx)\n\t  4a0000 main+0x20 (/usr/sbin/nginx)\n\n\
                   stackbench-profiler: end\n";
        let p = parse_output(out);
        assert_eq!((p.tool.as_str(), p.rate_hz), ("perf version 6.1.187 (cpu-clock)", 99));
        assert_eq!(p.folded.trim(), "nginx-7;main;ngx_http_handler 1");
        assert!(p.states.is_none() && p.unavailable.is_none());
    }

    /// Two samples as `perf script` prints them: one in user space, one in the kernel.
    #[test]
    fn perf_samples_fold_with_kernel_frames_marked() {
        let script = "\
server 7/7 [001] 100.000001: cpu-clock:
\t          4a1b2c main.handle+0x1c (/server)
\t          4a0000 main.main+0x20 (/server)

server 7/8 [001] 100.010001: cpu-clock:
\tffffffff81000000 tcp_sendmsg+0x10 ([kernel.kallsyms])
\t          4a1b2c main.handle+0x1c (/server)
\t          4a0000 main.main+0x20 (/server)

";
        let folded = fold_perf(script).unwrap();
        let mut lines: Vec<&str> = folded.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, ["server-7;main.main;main.handle 1", "server-7;main.main;main.handle;tcp_sendmsg_[k] 1"]);
    }

    #[test]
    fn a_server_without_python_says_why() {
        let out = "stackbench-profiler: unavailable py-spy found no Python interpreter in the server's main \
                   process (nginx): Error: Failed to find python version from target process\n";
        let p = parse_output(out);
        assert!(p.unavailable.unwrap().contains("no Python interpreter in the server's main process (nginx)"));
        assert!(p.folded.is_empty() && p.states.is_none());
    }

    #[test]
    fn the_image_tag_names_its_inputs() {
        assert!(image_tag().starts_with("stackbench/profiler:"));
        assert_eq!(image_tag(), image_tag());
    }
}
