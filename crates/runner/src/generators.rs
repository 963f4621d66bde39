//! Load from generator containers: the `stackbench` binary in a small image
//! built on each generator engine, one container per share of the level,
//! all started for one wall-clock instant; each hands back its JSON result on
//! its standard output, and the results are merged exactly.

use std::path::Path;
use std::time::{Duration, SystemTime};

use docker::ContainerSpec;

use crate::EngineRef;
use loadgen::{Config, LoadResult};
use plan::Plan;
use record::GeneratorRecord;

use crate::service::{run_labels, Containers, LOG_TAIL};
use crate::{Event, GeneratorImage, Halt, Runner};

/// The image generator containers start from.
const GENERATOR_BASE: &str = "debian:bookworm";
/// How long generators get to start before the common start time, plus this much per container.
const START_LEAD: Duration = Duration::from_millis(1500);
const START_LEAD_EACH: Duration = Duration::from_millis(300);
/// How long interrupted generators get to hand back their partial results.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Why a level's load did not come back as a result, in the order a level
/// meets them.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    #[error("the generator in this process could not run: {0}")]
    Load(#[from] loadgen::Error),
    /// The level's settings cannot go on a generator's command line.
    #[error(transparent)]
    Body(#[from] plan::NoCommandLine),
    /// A generator container could not be started or read.
    #[error(transparent)]
    Docker(#[from] docker::Error),
    #[error("the generators did not stop within {0:?} of the interrupt")]
    NoStop(Duration),
    #[error("generator {name} on {engine} exited with code {code}{why}:\n{logs}")]
    Exited { name: String, engine: String, code: i64, why: String, logs: String },
    #[error("cannot merge the generators' results: {0}")]
    Merge(#[from] loadgen::result::HistogramDecodeError),
}

/// What the generators of one level did: the merge, and each one's share.
pub(crate) struct Distributed {
    pub merged: LoadResult,
    pub parts: Vec<GeneratorRecord>,
}

impl Runner<'_> {
    /// Builds the generator image on every generator engine that lacks it.
    /// Its tag names the binary's hash, so a new binary gets a new image.
    pub(crate) async fn prepare_generators(&self, image: &GeneratorImage) -> Result<(), Halt> {
        for engine in crate::distinct(&self.generators) {
            if !engine.has_image(&image.tag).await {
                self.ensure_base(engine, GENERATOR_BASE).await?;
                self.emit(Event::Step(&format!("building {} on {}", image.tag, engine.endpoint())));
                let context = generator_context(&image.binary)
                    .map_err(|e| Halt::Failed(format!("cannot write the generator's build context: {e}")))?;
                let spec = docker::BuildSpec {
                    context: context.path().to_path_buf(),
                    dockerfile: "Dockerfile".into(),
                    tag: image.tag.clone(),
                    build_args: Default::default(),
                    labels: Default::default(),
                    ca_bundle: None,
                };
                self.build_on(engine, &spec).await?.map_err(|e| Halt::Failed(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Runs the level `config` from the generator containers, each with its
    /// share of the connections (and of the rate), starting together;
    /// `on_start` learns how long until then.
    pub(crate) async fn run_generators(
        &self,
        plan: &Plan,
        config: &Config,
        run_id: &str,
        on_start: impl FnOnce(Duration),
    ) -> Result<Distributed, GeneratorError> {
        let image = self.generator_image.as_ref().expect("a runner with generators has their image");
        let shares = loadgen::shares(config.n_connections, self.generators.len());
        let lead = START_LEAD + START_LEAD_EACH * shares.len() as u32;
        let start_at = SystemTime::now() + lead;
        let start_at_s = start_at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let mut containers = Containers::default();
        let mut started = Vec::new();
        for (idx, (&share, engine)) in shares.iter().zip(&self.generators).enumerate() {
            let share_of = format!("{idx}/{}", shares.len());
            // Its cpuset is the generator CPUs: `stackbench load` pins a thread to each.
            let spec = ContainerSpec {
                name: format!("stackbench-{run_id}-generator{idx}-{}", self.next_container()),
                image: image.tag.clone(),
                cmd: plan::generator_args(config, &share_of, start_at_s)?,
                env: Vec::new(),
                labels: run_labels(run_id),
                cpus: plan.generator_cpus.len() as f64,
                cpuset: plan.generator_cpus.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
                memory: 512 << 20,
                pids: 256,
                host_network: true,
                open_files: self.open_files(),
                pid_namespace_of: None,
                capabilities: Vec::new(),
                seccomp_unconfined: false,
                files: Vec::new(),
            };
            let running = engine.start(&spec).await?;
            containers.track(engine, &running);
            started.push((engine, running.id, spec.name, share));
        }
        on_start(start_at.duration_since(SystemTime::now()).unwrap_or_default());
        let outcome = self.collect(&started).await;
        containers.remove_all().await;
        let (results, parts): (Vec<LoadResult>, Vec<GeneratorRecord>) = outcome?.into_iter().unzip();
        let merged = loadgen::merge(&results)?;
        Ok(Distributed { merged, parts })
    }

    /// Waits for every generator (on Ctrl-C: tells them to stop and keep what
    /// they measured) and reads its result.
    async fn collect(
        &self,
        started: &[(&EngineRef, String, String, usize)],
    ) -> Result<Vec<(LoadResult, GeneratorRecord)>, GeneratorError> {
        let waits = futures_util::future::join_all(started.iter().map(|(engine, id, ..)| engine.wait_exit(id)));
        let mut waits = std::pin::pin!(waits);
        let codes = tokio::select! {
            codes = &mut waits => codes,
            () = self.cancel.cancelled() => {
                for (engine, id, ..) in started {
                    let _ = engine.signal(id, "SIGINT").await;
                }
                tokio::time::timeout(STOP_GRACE, &mut waits).await.map_err(|_| GeneratorError::NoStop(STOP_GRACE))?
            }
        };
        let mut parts = Vec::new();
        for ((engine, id, name, connections), code) in started.iter().zip(codes) {
            let code = code?;
            let stdout = engine.stdout(id).await?;
            let result = match (code, serde_json::from_str::<LoadResult>(&stdout)) {
                (0 | 130, Ok(result)) => result,
                (_, parsed) => {
                    let logs = engine.logs_tail(id, LOG_TAIL).await;
                    let why =
                        parsed.err().map(|e| format!(", and its output is not a result ({e})")).unwrap_or_default();
                    return Err(GeneratorError::Exited {
                        name: name.clone(),
                        engine: engine.endpoint().to_string(),
                        code,
                        why,
                        logs,
                    });
                }
            };
            let record = GeneratorRecord {
                engine: engine.endpoint().to_string(),
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
    pub(crate) async fn ensure_base(&self, engine: &EngineRef, image: &str) -> Result<(), Halt> {
        let _making = self.images.lock(engine, image).await;
        let copy_between =
            self.images_from.as_ref().zip(engine.docker()).filter(|(from, to)| from.endpoint != to.endpoint);
        if let Some((from, to)) = copy_between {
            if !to.has_image(image).await && from.has_image(image).await {
                self.emit(Event::Step(&format!("copying {image} from {} to {}", from.endpoint, to.endpoint)));
                let copy = from.copy_image(image, to);
                return self.until_cancelled(copy).await?.map_err(|e| Halt::Failed(e.to_string()));
            }
        }
        let mut on_line = |line: &str| self.emit(Event::Detail(line));
        let outcome = engine.ensure_base(image, &mut on_line);
        let made = self.until_cancelled(outcome).await?.map_err(|e| Halt::Failed(e.to_string()))?;
        if made == docker::BaseImage::BuiltOffline {
            self.emit(Event::Step(&format!("built base image {image} offline (kept for later runs)")));
        }
        Ok(())
    }
}

/// The generator image's tag for the `stackbench` binary at `binary` (a
/// hash of it): a new binary gets a new image.
pub fn generator_tag(binary: &Path) -> std::io::Result<String> {
    Ok(crate::sha256_hex(&std::fs::read(binary)?)[..12].to_string())
}

/// A build context holding the binary and a Dockerfile that runs it.
fn generator_context(binary: &Path) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let dir = docker::temporary::folder("generator")?;
    let path: &Path = dir.path();
    std::fs::copy(binary, path.join("stackbench"))?;
    std::fs::set_permissions(path.join("stackbench"), std::fs::Permissions::from_mode(0o755))?;
    std::fs::write(
        path.join("Dockerfile"),
        format!("FROM {GENERATOR_BASE}\nCOPY stackbench /usr/local/bin/stackbench\nENTRYPOINT [\"/usr/local/bin/stackbench\"]\n"),
    )?;
    Ok(dir)
}
