//! Profiles of the server under load: a level, or a capacity search's
//! confirming hold, run again with a profiler container attached to the
//! server container's processes, then once more without it.
//!
//! The profiler image (`profiler/`, embedded) holds py-spy and perf; its
//! script finds the server's main process in the PID namespace it shares,
//! waits out the warm-up, samples every server process through the measured
//! window (py-spy when it finds a Python interpreter, else perf) and prints
//! what it found between `stackbench-profiler:` lines.

use std::collections::BTreeMap;
use std::time::Duration;

use docker::ContainerSpec;
use loadgen::{Config, RunLength};
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
            let context = crate::embedded::write("profiler", &[("Dockerfile", DOCKERFILE), ("profile.sh", SCRIPT)])
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

    /// A profile of `at`, A B A: it runs again with the profiler sampling the
    /// server through its measured window, then once more without (how far the
    /// two unprofiled runs differ is the noise its cost is read against).
    /// `before` is the unprofiled run already measured (the level, or the
    /// search's confirming hold). A profiler that cannot attach gives a profile
    /// saying why, not a failed run; the profiler container is removed
    /// whatever happens.
    pub(crate) async fn profile(
        &self,
        at: &Looked<'_>,
        before: &Seen,
        server: &mut Server,
        containers: &mut Containers,
        no_profiler: Option<&str>,
    ) -> Result<ProfileRecord, Halt> {
        if let Some(why) = no_profiler {
            return Ok(unavailable(format!("the profiler image did not build: {why}")));
        }
        self.settle(at.plan, at.run_id, at.sidecar_env, server, containers).await?;
        let (mut profile, profiled) = self.profiled_run(at, server).await?;
        if self.cancel.is_cancelled() {
            return Ok(profile);
        }
        self.settle(at.plan, at.run_id, at.sidecar_env, server, containers).await?;
        self.emit(Event::Step("once more without the profiler, for the cost of looking"));
        let again = self.look(at, server).await?;
        profile.unprofiled_again_rps = again.failure.is_none().then_some(again.rps);
        if let (Some(rate), Some(b), Some(p), Some(a)) =
            (at.rate(), before.p99_us, profiled.p99_us, again.p99_us.filter(|_| again.failure.is_none()))
        {
            (profile.offered_rps, profile.p99_us) = (Some(rate), Some([b, p, a]));
        }
        Ok(profile)
    }

    /// One run of `at` with the profiler container beside it.
    async fn profiled_run(&self, at: &Looked<'_>, server: &Server) -> Result<(ProfileRecord, Seen), Halt> {
        let (plan, endpoint, rate_hz) = (at.plan, at.endpoint, self.options.profile_rate_hz);
        let what = match at.rate() {
            None => record::At::Connections(at.connections).to_string(),
            Some(rate) => format!("{rate:.1} req/s (the confirmed capacity)"),
        };
        self.emit(Event::Step(&format!(
            "profiling {} at {what}: again, with a profiler on every server process (py-spy at {rate_hz} Hz \
             for Python, else perf at {PERF_RATE_HZ} Hz) on the generator's CPUs {:?}",
            crate::workload(endpoint).request(),
            plan.generator_cpus
        )));
        let (warmup, window) = at.window();
        let spec = ContainerSpec {
            name: format!("stackbench-{}-profiler-{}", at.run_id, self.next_container()),
            image: image_tag(),
            // py-spy samples for whole seconds.
            cmd: vec![
                format!("{:.3}", warmup.as_secs_f64()),
                window.as_secs_f64().ceil().max(1.0).to_string(),
                rate_hz.to_string(),
                CENSUS_EVERY_S.to_string(),
                PERF_RATE_HZ.to_string(),
            ],
            env: Vec::new(),
            labels: run_labels(at.run_id),
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
            files: Vec::new(),
        };
        let mut containers = Containers::default();
        let running = self.engine.start(&spec).await.map_err(|e| Halt::Fatal(e.into()))?;
        containers.track(&self.engine, &running);
        let seen = self.look(at, server).await;
        let bound = warmup + window + Duration::from_secs(30);
        let exited = tokio::time::timeout(bound, self.until_cancelled(self.engine.wait_exit(&running.id))).await;
        let output = match exited {
            Ok(Ok(_)) => self.engine.stdout(&running.id).await.unwrap_or_default(),
            _ => String::new(),
        };
        containers.remove_all().await;
        let seen = seen?;
        let mut profile = parse_output(&output, window);
        profile.profiled_rps = seen.rps;
        if profile.unavailable.is_none() && profile.folded.is_empty() {
            profile.unavailable = Some(match (&seen.failure, exited) {
                (Some(failure), _) => format!("the profiled run failed: {failure}"),
                (None, Err(_)) => format!("the profiler did not finish within {}s", bound.as_secs()),
                (None, Ok(Err(_))) => crate::INTERRUPTED.to_string(),
                (None, Ok(Ok(_))) => "the profiler took no samples".to_string(),
            });
        }
        Ok((profile, seen))
    }

    /// One run of `at`, unprofiled unless a profiler runs beside it.
    async fn look(&self, at: &Looked<'_>, server: &Server) -> Result<Seen, Halt> {
        let Some(open_loop) = &at.open_loop else {
            // A profiled run is not one of the sweep's levels: an engine lost during it keeps nothing.
            let level = match self.run_level(at.plan, at.run_id, at.endpoint, at.connections, at.repeat, server).await {
                Err(Halt::Lost(_, lost)) => return Err(Halt::Fatal(lost.into())),
                other => other?,
            };
            return Ok(Seen::level(&level));
        };
        let (warmup, window) = at.window();
        self.emit(Event::Step(&format!(
            "{}: {:.1} req/s offered, {} warm-up + {} measured",
            crate::workload(at.endpoint).request(),
            open_loop.rate.unwrap_or_default(),
            humantime::format_duration(warmup),
            humantime::format_duration(window)
        )));
        let (outcome, _) = self.measure(at.plan, at.run_id, open_loop.clone(), server).await;
        Ok(match outcome {
            Ok((load, _)) if load.interrupted => Seen::failed(crate::INTERRUPTED.to_string()),
            Ok((load, _)) => Seen { rps: load.rps, p99_us: Some(load.latency_us.p99), failure: None },
            Err(e) => Seen::failed(e.to_string()),
        })
    }
}

/// What a profile looks at: an endpoint's level at `connections`, or (with
/// `open_loop`) the confirming hold of its capacity search, run again.
pub(crate) struct Looked<'a> {
    pub plan: &'a Plan,
    pub run_id: &'a str,
    pub sidecar_env: &'a [String],
    pub endpoint: &'a EndpointPlan,
    pub connections: usize,
    pub repeat: u32,
    /// The open-loop load of the confirming hold, when at the capacity.
    pub open_loop: Option<Config>,
}

impl Looked<'_> {
    /// The rate offered, when at the capacity.
    fn rate(&self) -> Option<f64> {
        self.open_loop.as_ref().and_then(|c| c.rate)
    }

    /// The event of its `profile`, written to the results file `results`;
    /// `before_rps` is the unprofiled run's own req/s.
    pub(crate) fn profiled<'a>(
        &'a self,
        profile: &'a ProfileRecord,
        before_rps: f64,
        results: &'a std::path::Path,
    ) -> Event<'a> {
        Event::Profile {
            scenario: &self.plan.name,
            workload: crate::workload(self.endpoint),
            at: match self.open_loop {
                None => record::At::Connections(self.connections),
                Some(_) => record::At::Capacity,
            },
            profile,
            before_rps,
            results,
        }
    }

    /// Its warm-up and measured window: the level's, or the hold's own.
    fn window(&self) -> (Duration, Duration) {
        match &self.open_loop {
            Some(Config { warmup, stop: RunLength::Duration(window), .. }) => (*warmup, *window),
            _ => (self.plan.warmup, self.plan.duration),
        }
    }
}

/// What one run of what is profiled measured.
pub(crate) struct Seen {
    pub rps: f64,
    pub p99_us: Option<u64>,
    pub failure: Option<String>,
}

impl Seen {
    pub(crate) fn level(level: &record::LevelRecord) -> Seen {
        Seen {
            rps: level.load.as_ref().map_or(0.0, |l| l.rps),
            p99_us: level.load.as_ref().map(|l| l.latency_us.p99),
            failure: level.failure.as_ref().map(|f| f.message.clone()),
        }
    }

    fn failed(why: String) -> Seen {
        Seen { rps: 0.0, p99_us: None, failure: Some(why) }
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
        idle_sampled: false,
        states: None,
        profiled_rps: 0.0,
        profiler_cpu_pct: None,
        offered_rps: None,
        p99_us: None,
        unprofiled_again_rps: None,
        unavailable: Some(why),
    }
}

/// What the profiler container printed, read back: the tool, the folded
/// stacks, the thread states of its snapshots, its own CPU over the measured
/// `window`, or why there is no profile.
pub(crate) fn parse_output(output: &str, window: Duration) -> ProfileRecord {
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
                "cpu" => {
                    let window = window.as_secs_f64().max(1.0);
                    profile.profiler_cpu_pct = cpu_seconds(rest).map(|s| s / window * 100.0);
                }
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
    let mut idle = BTreeMap::new();
    // A snapshot is a dump of each server process, one JSON document after another.
    for dump in &dumps {
        let values: Vec<serde_json::Value> =
            serde_json::Deserializer::from_str(dump).into_iter().map_while(Result::ok).collect();
        if !values.is_empty() {
            states.snapshots += 1;
            values.iter().for_each(|v| count_threads(v, &mut states, &mut idle));
        }
    }
    states.idle_folded = idle.into_iter().map(|(stack, n)| format!("{stack} {n}\n")).collect();
    profile.states = (states.snapshots > 0).then_some(states);
    profile
}

/// The seconds in `times` output (`0m0.160000s 0m0.010000s ...`), summed.
fn cpu_seconds(times: &str) -> Option<f64> {
    let seconds = |t: &str| -> Option<f64> {
        let (m, s) = t.strip_suffix('s')?.split_once('m')?;
        Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
    };
    let all: Option<Vec<f64>> = times.split_whitespace().map(seconds).collect();
    all.filter(|v| !v.is_empty()).map(|v| v.iter().sum())
}

/// Counts every thread object (one with `active` and `owns_gil`) in a dump,
/// whatever nests it (one process, or each subprocess), and folds the stack
/// of each idle one (py-spy lists frames innermost first).
fn count_threads(value: &serde_json::Value, states: &mut ThreadStates, idle: &mut BTreeMap<String, u64>) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|v| count_threads(v, states, idle)),
        serde_json::Value::Object(map) => match (map.get("active"), map.get("owns_gil")) {
            (Some(active), Some(gil)) => match (active.as_bool() == Some(true), gil.as_bool() == Some(true)) {
                (false, _) => {
                    states.idle += 1;
                    let frames = map.get("frames").and_then(|f| f.as_array()).map_or(&[][..], Vec::as_slice);
                    let stack: Vec<String> = frames.iter().rev().filter_map(frame_name).collect();
                    if !stack.is_empty() {
                        *idle.entry(stack.join(";")).or_default() += 1;
                    }
                }
                (true, true) => states.holding_gil += 1,
                (true, false) => states.running_without_gil += 1,
            },
            _ => map.values().for_each(|v| count_threads(v, states, idle)),
        },
        _ => {}
    }
}

/// A frame of a dump named as py-spy's folded stacks name it: `function (file:line)`.
fn frame_name(frame: &serde_json::Value) -> Option<String> {
    let name = frame.get("name")?.as_str()?;
    let file = frame.get("short_filename").or_else(|| frame.get("filename")).and_then(|f| f.as_str()).unwrap_or("");
    let line = frame.get("line").and_then(serde_json::Value::as_u64).unwrap_or(0);
    Some(format!("{name} ({file}:{line})").replace(';', ":"))
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
[{\"pid\": 9, \"active\": false, \"owns_gil\": false, \"frames\": [{\"name\": \"select\", \"short_filename\": \"selectors.py\", \"line\": 468}, {\"name\": \"serve\", \"filename\": \"/app/app.py\", \"short_filename\": \"app.py\", \"line\": 20}]}]
[{\"pid\": 10, \"active\": false, \"owns_gil\": false, \"frames\": [{\"name\": \"select\", \"short_filename\": \"selectors.py\", \"line\": 468}, {\"name\": \"serve\", \"short_filename\": \"app.py\", \"line\": 20}]}]
stackbench-profiler: dump
[{\"pid\": 8, \"active\": true, \"owns_gil\": false}]
stackbench-profiler: dump
not json
stackbench-profiler: folded
a (x.py:1);b (x.py:2) 10

a (x.py:1) 3
stackbench-profiler: cpu 0m0.160000s 0m0.010000s 1m0.190000s 0m0.000000s
stackbench-profiler: end
";
        let p = parse_output(out, Duration::from_secs(120));
        assert_eq!(p.tool, "py-spy 0.4.1");
        assert_eq!(p.folded, "a (x.py:1);b (x.py:2) 10\na (x.py:1) 3\n");
        // The idle threads' stacks, root first, counted together.
        let idle_folded = "serve (app.py:20);select (selectors.py:468) 2\n".to_string();
        assert_eq!(
            p.states,
            Some(ThreadStates { snapshots: 2, idle: 2, holding_gil: 1, running_without_gil: 1, idle_folded })
        );
        assert_eq!(p.unavailable, None);
        // 60.36 CPU-seconds in a 120 s window.
        assert!(p.profiler_cpu_pct.is_some_and(|c| (c - 50.3).abs() < 1e-9), "{:?}", p.profiler_cpu_pct);
    }

    #[test]
    fn perf_samples_are_folded() {
        let out = "stackbench-profiler: tool perf version 6.1.187 (cpu-clock)\nstackbench-profiler: rate 99\n\
                   stackbench-profiler: perf\nnginx 7/7 [001] 1.000001: cpu-clock:\n\
                   \t  4a1b2c ngx_http_handler+0x1c (/usr/sbin/nginx)\n\t  4a0000 main+0x20 (/usr/sbin/nginx)\n\n\
                   stackbench-profiler: end\n";
        let p = parse_output(out, Duration::from_secs(120));
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
        let p = parse_output(out, Duration::from_secs(120));
        assert!(p.unavailable.unwrap().contains("no Python interpreter in the server's main process (nginx)"));
        assert!(p.folded.is_empty() && p.states.is_none());
    }

    #[test]
    fn the_image_tag_names_its_inputs() {
        assert!(image_tag().starts_with("stackbench/profiler:"));
        assert_eq!(image_tag(), image_tag());
    }
}
