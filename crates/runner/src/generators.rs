//! Load from generator containers: the `stackbench` binary in a small image
//! built on each generator engine, one container per share of the level,
//! all started for one wall-clock instant; each hands back its JSON result on
//! its standard output, and the results are merged exactly.

use std::path::Path;
use std::time::{Duration, SystemTime};

use docker::{ContainerSpec, Engine};
use loadgen::LoadResult;
use results::{GeneratorRecord, RunRecord};

use crate::plan::{EndpointPlan, Plan};
use crate::service::{run_labels, Containers, LOG_TAIL};
use crate::{Event, Runner, Stop};

/// The image generator containers start from.
const GENERATOR_BASE: &str = "debian:bookworm";
/// How long generators get to start before the common start time, plus this much per container.
const START_LEAD: Duration = Duration::from_millis(1500);
const START_LEAD_EACH: Duration = Duration::from_millis(300);
/// How long interrupted generators get to hand back their partial results.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// What the generators of one level did: the merge, and each one's share.
pub(crate) struct Distributed {
    pub merged: LoadResult,
    pub parts: Vec<GeneratorRecord>,
}

impl Runner<'_> {
    /// Builds the generator image on every generator engine that lacks it.
    /// Its tag names the binary's hash, so a new binary gets a new image.
    pub(crate) async fn prepare_generators(&self, record: &mut RunRecord) -> Result<(), Stop> {
        let Some(binary) = &self.options.generator_binary else {
            return Err(Stop::Failed(
                "generator containers need the stackbench binary (Options::generator_binary)".into(),
            ));
        };
        let bytes = std::fs::read(binary)
            .map_err(|e| Stop::Failed(format!("cannot read the stackbench binary {}: {e}", binary.display())))?;
        let tag = format!("stackbench/generator:{}", tag_of(&bytes));
        for engine in crate::distinct(&self.generators) {
            if !engine.has_image(&tag).await {
                self.ensure_base(engine, GENERATOR_BASE).await?;
                self.emit(Event::Step(&format!("building {tag} on {}", engine.endpoint)));
                let context = generator_context(&bytes)
                    .map_err(|e| Stop::Failed(format!("cannot write the generator's build context: {e}")))?;
                let spec = docker::BuildSpec {
                    context: context.path().to_path_buf(),
                    dockerfile: "Dockerfile".into(),
                    tag: tag.clone(),
                    build_args: Default::default(),
                    labels: Default::default(),
                    ca_bundle: None,
                };
                self.build_on(engine, &spec).await?.map_err(|e| Stop::Failed(e.to_string()))?;
            }
        }
        record.provenance.images.insert("generator".into(), tag.clone());
        *self.generator_image.lock().unwrap_or_else(|e| e.into_inner()) = Some(tag);
        Ok(())
    }

    /// Runs `endpoint` at `connections` against `url` from the generator
    /// containers, each with its share of the connections (and of the rate),
    /// starting together; `on_start` learns how long until then. `Err` is a
    /// generator's failure, in words.
    pub(crate) async fn run_generators(
        &self,
        plan: &Plan,
        endpoint: &EndpointPlan,
        url: &str,
        connections: usize,
        run_id: &str,
        on_start: impl FnOnce(Duration),
    ) -> Result<Distributed, String> {
        let image = self.generator_image.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let image = image.ok_or("the generator image was not built")?;
        let shares = loadgen::shares(connections, self.generators.len());
        let lead = START_LEAD + START_LEAD_EACH * shares.len() as u32;
        let start_at = SystemTime::now() + lead;
        let start_at_s = start_at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let mut containers = Containers::default();
        let mut started = Vec::new();
        for (idx, (&share, engine)) in shares.iter().zip(&self.generators).enumerate() {
            let share_of = format!("{idx}/{}", shares.len());
            // Its cpuset is the generator CPUs: `stackbench load` runs a thread on each.
            let spec = ContainerSpec {
                name: format!("stackbench-{run_id}-generator{idx}-{}", self.next_container()),
                image: image.clone(),
                cmd: generator_args(plan, endpoint, url, connections, &share_of, start_at_s)
                    .map_err(|e| e.to_string())?,
                env: Vec::new(),
                labels: run_labels(run_id),
                cpus: plan.generator_cpus.len() as f64,
                cpuset: plan.generator_cpus.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
                memory: 512 << 20,
                pids: 256,
                host_network: true,
            };
            let running = engine.start(&spec).await.map_err(|e| e.to_string())?;
            containers.track(engine, &running.id);
            started.push((engine, running.id, spec.name, share));
        }
        on_start(start_at.duration_since(SystemTime::now()).unwrap_or_default());
        let outcome = self.collect(&started).await;
        containers.remove_all().await;
        let (results, parts): (Vec<LoadResult>, Vec<GeneratorRecord>) = outcome?.into_iter().unzip();
        let merged = loadgen::merge(&results).map_err(|e| e.to_string())?;
        Ok(Distributed { merged, parts })
    }

    /// Waits for every generator (on Ctrl-C: tells them to stop and keep what
    /// they measured) and reads its result.
    async fn collect(
        &self,
        started: &[(&Engine, String, String, usize)],
    ) -> Result<Vec<(LoadResult, GeneratorRecord)>, String> {
        let waits = futures_util::future::join_all(started.iter().map(|(engine, id, ..)| engine.wait_exit(id)));
        let mut waits = std::pin::pin!(waits);
        let codes = tokio::select! {
            codes = &mut waits => codes,
            () = self.cancel.cancelled() => {
                for (engine, id, ..) in started {
                    let _ = engine.signal(id, "SIGINT").await;
                }
                tokio::time::timeout(STOP_GRACE, &mut waits)
                    .await
                    .map_err(|_| format!("the generators did not stop within {STOP_GRACE:?} of the interrupt"))?
            }
        };
        let mut parts = Vec::new();
        for ((engine, id, name, connections), code) in started.iter().zip(codes) {
            let code = code.map_err(|e| e.to_string())?;
            let stdout = engine.stdout(id).await.map_err(|e| e.to_string())?;
            let result = match (code, serde_json::from_str::<LoadResult>(&stdout)) {
                (0 | 130, Ok(result)) => result,
                (_, parsed) => {
                    let logs = engine.logs_tail(id, LOG_TAIL).await;
                    let why =
                        parsed.err().map(|e| format!(", and its output is not a result ({e})")).unwrap_or_default();
                    return Err(format!(
                        "generator {name} on {} exited with code {code}{why}:\n{logs}",
                        engine.endpoint
                    ));
                }
            };
            let record = GeneratorRecord {
                engine: engine.endpoint.clone(),
                container: name.clone(),
                connections: *connections,
                requests: result.requests,
                rps: result.rps,
                errors: result.errors.total(),
                cpu_pct: result.generator_cpu_pct(),
            };
            parts.push((result, record));
        }
        Ok(parts)
    }

    /// Makes sure `engine` has base image `image`: copied from the engine
    /// images come from when that one has it (a remote engine may reach no
    /// registry), else found, pulled or made offline there.
    pub(crate) async fn ensure_base(&self, engine: &Engine, image: &str) -> Result<(), Stop> {
        if let Some(from) = self.images_from.as_ref().filter(|from| from.endpoint != engine.endpoint) {
            if !engine.has_image(image).await && from.has_image(image).await {
                self.emit(Event::Step(&format!("copying {image} from {} to {}", from.endpoint, engine.endpoint)));
                let copy = from.copy_image(image, engine);
                return self.until_cancelled(copy).await?.map_err(|e| Stop::Failed(e.to_string()));
            }
        }
        let outcome = docker::ensure_base_image(engine, image, |line| self.emit(Event::Detail(line)));
        let made = self.until_cancelled(outcome).await?.map_err(|e| Stop::Failed(e.to_string()))?;
        if made == docker::BaseImage::BuiltOffline {
            self.emit(Event::Step(&format!("built base image {image} offline (kept for later runs)")));
        }
        Ok(())
    }
}

/// The generator image's tag for the `stackbench` binary at `binary`: a new
/// binary gets a new image.
pub fn generator_tag(binary: &Path) -> std::io::Result<String> {
    Ok(tag_of(&std::fs::read(binary)?))
}

fn tag_of(binary: &[u8]) -> String {
    crate::sha256_hex(binary)[..12].to_string()
}

/// A request body that cannot go on a command line.
#[derive(Debug, thiserror::Error)]
#[error("the request body is not UTF-8, and generators take it on their command line")]
pub struct NonUtf8Body;

/// The `stackbench load` command line of a generator that runs share `share`
/// (`I/N`; `I` may be a placeholder the orchestrator fills in, such as
/// Kubernetes' `$(JOB_COMPLETION_INDEX)`) of `connections` on `endpoint` of
/// `plan` against `url`, starting at `start_at` (seconds since 1970), and
/// prints its result as JSON.
pub fn generator_args(
    plan: &Plan,
    endpoint: &EndpointPlan,
    url: &str,
    connections: usize,
    share: &str,
    start_at: f64,
) -> Result<Vec<String>, NonUtf8Body> {
    let secs = |d: Duration| d.as_secs_f64().to_string();
    let body = String::from_utf8(endpoint.body.clone()).map_err(|_| NonUtf8Body)?;
    let mut args = vec![
        "load".to_string(),
        url.to_string(),
        "--connections".into(),
        connections.to_string(),
        "--share".into(),
        share.to_string(),
        "--duration".into(),
        secs(plan.duration),
        "--warmup".into(),
        secs(plan.warmup),
        "--timeout".into(),
        secs(plan.timeout),
        "--pipeline".into(),
        plan.pipeline.to_string(),
        "--method".into(),
        endpoint.method.clone(),
        "--expect-status".into(),
        endpoint.expect_status.to_string(),
        "--start-at".into(),
        start_at.to_string(),
        "--json".into(),
    ];
    for (name, value) in &endpoint.headers {
        args.extend(["--header".into(), format!("{name}: {value}")]);
    }
    if !body.is_empty() {
        args.extend(["--body".into(), body]);
    }
    if let Some(want) = &endpoint.expect_body {
        args.extend(["--expect-body".into(), want.clone()]);
    }
    if !endpoint.keepalive {
        args.push("--no-keepalive".into());
    }
    if let Some(rate) = plan.rate {
        // The whole rate: `--share` takes this generator's part of it.
        args.extend(["--rate".into(), rate.to_string()]);
    }
    Ok(args)
}

/// A build context holding the binary and a Dockerfile that runs it.
fn generator_context(binary: &[u8]) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().prefix("stackbench-generator-").tempdir()?;
    let path: &Path = dir.path();
    std::fs::write(path.join("stackbench"), binary)?;
    std::fs::set_permissions(path.join("stackbench"), std::fs::Permissions::from_mode(0o755))?;
    std::fs::write(
        path.join("Dockerfile"),
        format!("FROM {GENERATOR_BASE}\nCOPY stackbench /usr/local/bin/stackbench\nENTRYPOINT [\"/usr/local/bin/stackbench\"]\n"),
    )?;
    Ok(dir)
}
