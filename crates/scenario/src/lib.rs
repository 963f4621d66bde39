//! Scenario files: a server stack (build context, start command, limits,
//! sidecars) and the workload to drive it with.
//!
//! Architecture invariant: this crate reads the scenario file and checks the
//! paths it names; it does no other I/O and knows nothing about Docker
//! (`scaffold` returns the text of a new scenario; the caller writes it). Of
//! load it knows only the rules `loadgen` states for its settings, which it
//! applies at parse time so that a scenario that parses is one the generator accepts.
//! Values are checked while they are deserialized (see `values.rs`), so every
//! error carries the span of the key that caused it.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

mod matrix;
mod mix;
mod protocol;
mod scaffold;
mod values;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
pub use toml::Spanned;

pub use matrix::{load_file, parse_file, Expanded, MatrixList, Only, Pick, Scalar, Variant};
pub use mix::MixRequest;
pub use protocol::{Http, TLS_CERT, TLS_KEY};
pub use scaffold::{scaffold, Scaffold};
pub use values::{parse_duration, slug, ByteSize, Cpus, Dur, Name, ProjectPath};

/// A scenario, as written in its TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Lower-case letters, digits and dashes, not starting with `base-` (project base
    /// images are named `stackbench/base-*`); names the results folder and images.
    pub name: Spanned<Name>,
    #[serde(default)]
    pub description: String,
    pub server: Service,
    /// Services the server needs (a database, an upstream HTTP service), started first.
    #[serde(default)]
    pub sidecars: Vec<Service>,
    pub workload: Workload,
    /// `[matrix]`, as written: `parse_file` expands it into variants.
    #[serde(default)]
    pub matrix: Option<toml::Table>,
}

/// A container stackbench builds and runs: the server or a sidecar.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Sidecars only: how the server finds it (`STACKBENCH_<NAME>_HOST`, `_PORT`, `_URL`).
    #[serde(default)]
    pub name: Option<Name>,
    /// The build context, a folder inside the project (usually under `docker/`).
    pub build: Spanned<ProjectPath>,
    #[serde(default = "default_dockerfile")]
    pub dockerfile: String,
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// The start command; `{host}`, `{port}`, `{cpus}` and `{workers}` are
    /// replaced. Empty: the image's own command.
    #[serde(default = "no_command")]
    pub command: Spanned<Vec<String>>,
    /// CPU limit; fractions allowed.
    pub cpus: Spanned<Cpus>,
    /// Memory limit, e.g. `"512m"`, `"2g"`.
    pub memory: ByteSize,
    /// Process and thread limit.
    #[serde(default = "default_pids")]
    pub pids: u32,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub ready: Ready,
    /// The server only: it speaks TLS on its port, with a certificate stackbench makes for the run
    /// (`{tls_cert}` and `{tls_key}` in `command`, `$STACKBENCH_TLS_CERT` and `$STACKBENCH_TLS_KEY`), and
    /// its checks and load verify it.
    #[serde(default)]
    pub tls: Option<Spanned<bool>>,
    /// The server only: what its endpoints speak, `"1.1"` (default) or `"2"` (see [`Http`]).
    #[serde(default)]
    pub http: Option<Spanned<String>>,
}

/// How to tell that a service is up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// An HTTP path that must answer 2xx; without it, a TCP connect is enough.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default = "default_ready_timeout")]
    pub timeout: Dur,
}

impl Default for Ready {
    fn default() -> Ready {
        Ready { path: None, timeout: default_ready_timeout() }
    }
}

/// The load to apply, and the sweep of connection counts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    #[serde(default = "default_duration")]
    pub duration: Dur,
    #[serde(default = "default_warmup")]
    pub warmup: Dur,
    /// Connection counts to sweep, in order.
    pub connections: Spanned<Vec<usize>>,
    /// Generator threads; default: one per generator CPU.
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// A request unanswered this long has its connection closed and reopened;
    /// default: 10 timeouts.
    #[serde(default)]
    pub give_up: Option<Spanned<Dur>>,
    #[serde(default = "default_true")]
    pub keepalive: bool,
    /// Open loop: total requests per second.
    #[serde(default)]
    pub rate: Option<Spanned<f64>>,
    /// Open loop (levels at `rate`, capacity probes): `"constant"` (as wrk2) or `"poisson"`.
    #[serde(default)]
    pub arrivals: Option<Spanned<String>>,
    /// Closed loop: each connection is a user who waits this long (the mean) between a response and
    /// the next request.
    #[serde(default)]
    pub think: Option<Spanned<Dur>>,
    /// How think times spread: `"exponential"` (default), `"uniform"` (0 to twice the mean) or `"constant"`.
    #[serde(default)]
    pub think_spread: Option<Spanned<String>>,
    /// Seeds what is drawn (Poisson arrivals, think times), so that a run can be repeated.
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_pipeline")]
    pub pipeline: Spanned<u32>,
    /// Rest between two levels of the sweep.
    #[serde(default = "default_pause")]
    pub pause: Dur,
    /// Service level objectives (`p50`, `p90`, `p99`, `p99.9` latencies, an
    /// `errors` share): with them, `bench` finds each endpoint's capacity.
    #[serde(default)]
    pub slo: Option<SloTable>,
    pub endpoints: Spanned<Vec<Endpoint>>,
}

/// One request to load the server with; each is swept on its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub name: Name,
    #[serde(default = "default_method")]
    pub method: String,
    /// The request's path (empty for a mix: its requests give theirs).
    #[serde(default)]
    pub path: String,
    /// A weighted mix of requests instead of one: each request sent is drawn by weight.
    #[serde(default)]
    pub requests: Option<Spanned<Vec<MixRequest>>>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_file: Option<Spanned<ProjectPath>>,
    #[serde(default = "default_status")]
    pub expect_status: u16,
    #[serde(default)]
    pub expect_body: Option<String>,
    /// Overrides the workload's sweep for this endpoint.
    #[serde(default)]
    pub connections: Option<Spanned<Vec<usize>>>,
    /// Overrides the workload's keep-alive for this endpoint.
    #[serde(default)]
    pub keepalive: Option<bool>,
    /// Overrides objectives of the workload's `slo` for this endpoint.
    #[serde(default)]
    pub slo: Option<SloTable>,
    /// Profile the server at one of its levels (as `bench --profile` does for every endpoint).
    #[serde(default)]
    pub profile: bool,
    /// What is profiled: one of its connection counts, or `"capacity"` (the
    /// rate its capacity search confirmed) [default: its first level].
    #[serde(default)]
    pub profile_at: Option<Spanned<ProfileAt>>,
    /// Overrides the server's `http` for this endpoint.
    #[serde(default)]
    pub http: Option<Spanned<String>>,
    /// HTTP/2: requests in flight on each connection at most (default 1).
    #[serde(default)]
    pub streams: Option<Spanned<u32>>,
}

/// `profile_at` as written: a connection count or a word (`"capacity"`),
/// which the plan checks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ProfileAt {
    Connections(usize),
    Named(String),
}

impl std::fmt::Display for ProfileAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileAt::Connections(n) => write!(f, "{n}"),
            ProfileAt::Named(word) => write!(f, "{word:?}"),
        }
    }
}

/// Objectives as written: name to value, each value located.
pub type SloTable = BTreeMap<String, Spanned<String>>;

impl Endpoint {
    /// Its connection levels: its own, else the workload's.
    pub fn connections<'a>(&'a self, workload: &'a Workload) -> &'a Spanned<Vec<usize>> {
        self.connections.as_ref().unwrap_or(&workload.connections)
    }

    /// Its keep-alive: its own, else the workload's.
    pub fn keepalive(&self, workload: &Workload) -> bool {
        self.keepalive.unwrap_or(workload.keepalive)
    }

    /// Its objectives: the workload's, with its own over them, and a mix's kinds' own; `None` without any.
    pub fn slo(&self, workload: &Workload) -> Option<loadgen::capacity::Slo> {
        let of = |tables: &mut dyn Iterator<Item = &SloTable>| {
            let mut slo = loadgen::capacity::Slo::default();
            for (name, value) in tables.flatten() {
                slo.set(name, value.get_ref(), parse_duration).expect("objectives are checked while parsing");
            }
            slo
        };
        let mix = self.requests.as_ref().map(|m| m.get_ref().as_slice()).unwrap_or_default();
        let kinds: BTreeMap<String, loadgen::capacity::Slo> =
            mix.iter().filter(|r| r.slo.is_some()).map(|r| (r.name.to_string(), of(&mut r.slo.iter()))).collect();
        if workload.slo.is_none() && self.slo.is_none() && kinds.is_empty() {
            return None;
        }
        Some(loadgen::capacity::Slo { kinds, ..of(&mut workload.slo.iter().chain(&self.slo)) })
    }
}

fn no_command() -> Spanned<Vec<String>> {
    Spanned::new(0..0, Vec::new())
}
fn default_dockerfile() -> String {
    "Dockerfile".to_string()
}
fn default_pids() -> u32 {
    1024
}
fn default_ready_timeout() -> Dur {
    Dur::secs(60)
}
fn default_duration() -> Dur {
    Dur::secs(10)
}
fn default_warmup() -> Dur {
    Dur::secs(2)
}
fn default_timeout() -> Dur {
    Dur::secs(2)
}
fn default_pause() -> Dur {
    Dur::secs(1)
}
fn default_true() -> bool {
    true
}
fn default_seed() -> u64 {
    1
}
fn default_pipeline() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}
fn default_method() -> String {
    "GET".to_string()
}
fn default_status() -> u16 {
    200
}

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read scenario '{}': {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{col}: {message}{}", path.display(), hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    Invalid { path: PathBuf, line: usize, col: usize, message: String, hint: Option<String> },
}

/// A parsed scenario (one variant of a matrix file) with what is needed to point at its lines.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub path: PathBuf,
    /// The file as written (a matrix file's, for each of its variants).
    pub text: String,
    /// The project: the folder the paths it names (`build`, `body_file`) are
    /// relative to and stay inside ([`project_of`]).
    pub root: PathBuf,
    /// Which configuration of a `[matrix]` file this is.
    pub variant: Option<Variant>,
    /// Where the variant's text differs from the file's (the spans of `scenario` are the variant's).
    edits: matrix::Edits,
}

impl Loaded {
    /// An error located at `span` of this scenario (in the file as written).
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>, hint: Option<&str>) -> Error {
        let message = of_variant(self.variant.as_ref(), message.into());
        located(&self.path, &self.text, self.edits.to_file(span), message, hint.map(str::to_string))
    }

    /// How results and reports name it: the scenario's name, with a variant's values.
    pub fn stack_name(&self) -> String {
        self.variant.as_ref().map_or_else(|| self.scenario.name.get_ref().to_string(), Variant::name)
    }

    /// Its name as a results folder, file name and image name.
    pub fn slug(&self) -> String {
        self.variant.as_ref().map_or_else(|| self.scenario.name.get_ref().to_string(), Variant::slug)
    }

    /// The absolute path of a project path.
    pub fn resolve(&self, path: &ProjectPath) -> PathBuf {
        match path.as_path() {
            p if p == Path::new(".") => self.root.clone(),
            p => self.root.join(p),
        }
    }

    /// Whether `name` names one of its services: `server`, or a sidecar's name.
    pub fn has_service(&self, name: &str) -> bool {
        name == "server" || self.scenario.sidecars.iter().any(|s| s.name.as_ref().is_some_and(|n| n.as_str() == name))
    }
}

/// The project of the scenario file at `path`, which the paths it names are
/// relative to, as Compose files' are: `root` when one is given (`--root`),
/// else the file's own folder.
pub fn project_of(path: &Path, root: Option<&Path>) -> PathBuf {
    match root {
        Some(root) => root.to_path_buf(),
        None => match path.parent() {
            Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
            _ => PathBuf::from("."),
        },
    }
}

/// Project base images are `stackbench/base-*`, built from `docker/base-*/`;
/// no scenario name starts with this, so no scenario's image can take their tags.
pub const BASE_IMAGE_PREFIX: &str = "base-";

const RESERVED_NAME_HINT: &str = "docker/base-*/ holds shared base images (stackbench/base-*); pick another name";

/// Why a valid [`Name`] still cannot name a scenario, if it cannot.
fn reserved_name(name: &str) -> Option<String> {
    name.starts_with(BASE_IMAGE_PREFIX)
        .then(|| format!("the name '{name}' starts with '{BASE_IMAGE_PREFIX}', which is kept for project base images"))
}

/// Reads, parses and checks the scenario at `path`; the paths it names are
/// relative to `root`, the project ([`project_of`]). A matrix file must have one variant (see [`load_file`] for all).
pub fn load(path: &Path, root: &Path) -> Result<Loaded, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    parse(path, &text, root)
}

/// Parses and checks scenario `text` (named `path` in errors); a matrix file must
/// have one variant (see [`parse_file`] for all).
pub fn parse(path: &Path, text: &str, root: &Path) -> Result<Loaded, Error> {
    let mut expanded = parse_file(path, text, root, &Pick::default())?;
    if expanded.variants.len() != 1 {
        let at = text.find("[matrix]").unwrap_or(0);
        return Err(located(
            path,
            text,
            at..at,
            format!("this file is a matrix of {} variants, where one scenario is expected", expanded.variants.len()),
            Some("`bench` runs every variant (pick some with --only KEY=VALUE)".to_string()),
        ));
    }
    Ok(expanded.variants.remove(0))
}

/// An error's message, saying which variant of a matrix file it is about.
fn of_variant(variant: Option<&Variant>, message: String) -> String {
    match variant {
        Some(v) => format!("variant {}: {message}", v.name()),
        None => message,
    }
}

/// Parses and checks one scenario: the file's `text`, or a variant's text made from it.
fn parse_text(
    path: &Path,
    file_text: &str,
    text: &str,
    root: &Path,
    variant: Option<Variant>,
    edits: matrix::Edits,
) -> Result<Loaded, Error> {
    let scenario: Scenario = toml::from_str(text).map_err(|e| {
        let span = edits.to_file(e.span().unwrap_or(0..0));
        let (message, hint) = split_hint(e.message());
        located(path, file_text, span, of_variant(variant.as_ref(), message), hint)
    })?;
    let loaded = Loaded {
        scenario,
        path: path.to_path_buf(),
        text: file_text.to_string(),
        root: root.to_path_buf(),
        variant,
        edits,
    };
    check(&loaded)?;
    Ok(loaded)
}

/// Checks that span several keys, or the file system.
fn check(l: &Loaded) -> Result<(), Error> {
    check_services(l)?;
    check_workload(l)?;
    protocol::check(l)
}

/// The server and its sidecars: build contexts, names.
fn check_services(l: &Loaded) -> Result<(), Error> {
    let s = &l.scenario;
    let services = std::iter::once(&s.server).chain(&s.sidecars);
    for service in services {
        let dir = l.resolve(service.build.get_ref());
        check_inside(l, &service.build)?;
        if !dir.is_dir() {
            return Err(l.error_at(
                service.build.span(),
                format!(
                    "build context '{}' is not a folder in the project {}",
                    service.build.get_ref(),
                    l.root.display()
                ),
                Some("paths are relative to the project: the scenario file's folder, or the folder --root names (--root . for this repository's scenarios/)"),
            ));
        }
        if !dir.join(&service.dockerfile).is_file() {
            return Err(l.error_at(
                service.build.span(),
                format!("no {} in build context '{}'", service.dockerfile, service.build.get_ref()),
                Some("add one, or name it with `dockerfile = \"...\"`"),
            ));
        }
    }
    for service in std::iter::once(&s.server).chain(&s.sidecars) {
        if let Some(program) = service.command.get_ref().first() {
            if program.is_empty() || program.contains(char::is_whitespace) {
                return Err(l.error_at(
                    service.command.span(),
                    format!("the command's program {program:?} cannot be started: it is empty or holds spaces"),
                    Some(
                        "the command is a list with one string per argument, e.g. [\"gunicorn\", \"--workers\", \"2\"]",
                    ),
                ));
            }
        }
    }
    for (idx, sidecar) in s.sidecars.iter().enumerate() {
        let Some(name) = &sidecar.name else {
            return Err(l.error_at(
                sidecar.build.span(),
                format!("sidecar {} has no name", idx + 1),
                Some("add `name = \"db\"`: the server finds it through STACKBENCH_DB_HOST and STACKBENCH_DB_PORT"),
            ));
        };
        if s.sidecars[..idx].iter().any(|other| other.name.as_ref() == Some(name)) {
            return Err(l.error_at(sidecar.build.span(), format!("two sidecars are named '{name}'"), None));
        }
    }
    if let Some(why) = reserved_name(s.name.get_ref().as_str()) {
        return Err(l.error_at(s.name.span(), why, Some(RESERVED_NAME_HINT)));
    }
    if s.server.name.is_some() {
        return Err(l.error_at(
            s.server.build.span(),
            "the server takes no `name`",
            Some("the scenario's name names it"),
        ));
    }
    Ok(())
}

/// One request's line and headers, as the generator must accept them; `what` names it in errors.
pub(crate) fn check_request(
    l: &Loaded,
    at: std::ops::Range<usize>,
    what: &str,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
) -> Result<(), Error> {
    if !path.starts_with('/') {
        return Err(l.error_at(at, format!("{what}: path '{path}' does not start with '/'"), None));
    }
    if let Err(reason) = loadgen::check_method(method) {
        return Err(l.error_at(at, format!("{what}: {reason}"), None));
    }
    for (name, value) in headers {
        if let Err(reason) = loadgen::check_header(name, value) {
            let why = format!("{what}: header '{}' cannot be sent as it is written: {reason}", name.escape_debug());
            return Err(l.error_at(at, why, None));
        }
    }
    Ok(())
}

/// The workload: levels, endpoints, and settings the generator must accept.
fn check_workload(l: &Loaded) -> Result<(), Error> {
    let s = &l.scenario;
    check_connections(l, &s.workload.connections)?;
    if s.workload.endpoints.get_ref().is_empty() {
        return Err(l.error_at(
            s.workload.endpoints.span(),
            "no endpoints",
            Some("add a [[workload.endpoints]] table with a name and a path"),
        ));
    }
    for (idx, endpoint) in s.workload.endpoints.get_ref().iter().enumerate() {
        if let Some(connections) = &endpoint.connections {
            check_connections(l, connections)?;
        }
        let at = s.workload.endpoints.span();
        match &endpoint.requests {
            None if endpoint.path.is_empty() => {
                let why = format!("endpoint '{}' has no path", endpoint.name);
                return Err(l.error_at(at, why, Some("add path = \"/...\", or requests = [...] for a mix")));
            }
            None => check_request(
                l,
                at,
                &format!("endpoint '{}'", endpoint.name),
                &endpoint.method,
                &endpoint.path,
                &endpoint.headers,
            )?,
            Some(mix) => mix::check(l, endpoint, mix)?,
        }
        let pipeline = &s.workload.pipeline;
        if let Err((_, reason)) =
            loadgen::check_shape(*pipeline.get_ref(), endpoint.keepalive(&s.workload), s.workload.rate.is_some())
        {
            return Err(l.error_at(
                pipeline.span(),
                format!("pipeline = {} does not fit endpoint '{}': {reason}", pipeline.get_ref(), endpoint.name),
                None,
            ));
        }
        if s.workload.endpoints.get_ref()[..idx].iter().any(|e| e.name == endpoint.name) {
            return Err(l.error_at(
                s.workload.endpoints.span(),
                format!("two endpoints are named '{}'", endpoint.name),
                None,
            ));
        }
        let mix = endpoint.requests.as_ref().map(|m| m.get_ref().as_slice()).unwrap_or_default();
        let bodies =
            std::iter::once((&endpoint.body, &endpoint.body_file)).chain(mix.iter().map(|r| (&r.body, &r.body_file)));
        for (body, file) in bodies {
            check_body_file(l, body, file)?;
        }
    }
    let kinds = s.workload.endpoints.get_ref().iter().flat_map(|e| e.requests.iter().flat_map(|m| m.get_ref()));
    let tables = s.workload.endpoints.get_ref().iter().filter_map(|e| e.slo.as_ref());
    for table in s.workload.slo.iter().chain(tables).chain(kinds.filter_map(|r| r.slo.as_ref())) {
        check_slo(l, table)?;
    }
    if let Some(give_up) = &s.workload.give_up {
        if let Err(reason) = loadgen::check_give_up(s.workload.timeout.0, give_up.get_ref().0) {
            return Err(l.error_at(give_up.span(), format!("give_up = {reason}"), None));
        }
    }
    if let Some(rate) = &s.workload.rate {
        if let Err(reason) = loadgen::check_rate(*rate.get_ref()) {
            return Err(l.error_at(rate.span(), format!("rate = {reason}"), None));
        }
    }
    if let Some(think) = &s.workload.think {
        let open_loop = s.workload.rate.is_some();
        if let Err((_, reason)) = loadgen::check_think(true, *s.workload.pipeline.get_ref(), open_loop) {
            return Err(l.error_at(think.span(), format!("think = {reason}"), None));
        }
    }
    if let Some(spread) = &s.workload.think_spread {
        if let Err(reason) = loadgen::Spread::parse(spread.get_ref()) {
            return Err(l.error_at(spread.span(), format!("think_spread = {reason}"), None));
        }
        if s.workload.think.is_none() {
            return Err(l.error_at(spread.span(), "think_spread needs a think time: add think = \"1s\"", None));
        }
    }
    if let Some(arrivals) = &s.workload.arrivals {
        if let Err(reason) = loadgen::Arrivals::parse(arrivals.get_ref(), s.workload.seed) {
            return Err(l.error_at(arrivals.span(), format!("arrivals = {reason}"), None));
        }
    }
    Ok(())
}

/// Each objective as the capacity search reads it, located at its value.
fn check_slo(l: &Loaded, table: &SloTable) -> Result<(), Error> {
    for (name, value) in table {
        if let Err(reason) = loadgen::capacity::Slo::default().set(name, value.get_ref(), parse_duration) {
            return Err(l.error_at(
                value.span(),
                format!("slo: {reason}"),
                Some("e.g. p99 = \"50ms\" and errors = \"0.1%\""),
            ));
        }
    }
    Ok(())
}

/// A body from a file: not beside a `body`, inside the project, there.
fn check_body_file(l: &Loaded, body: &Option<String>, file: &Option<Spanned<ProjectPath>>) -> Result<(), Error> {
    let Some(file) = file else { return Ok(()) };
    if body.is_some() {
        return Err(l.error_at(file.span(), "both `body` and `body_file`", Some("keep one")));
    }
    check_inside(l, file)?;
    if !l.resolve(file.get_ref()).is_file() {
        return Err(l.error_at(file.span(), format!("body file '{}' does not exist", file.get_ref()), None));
    }
    Ok(())
}

/// A project path that exists must stay inside the project once links are
/// followed (`..` and absolute paths are refused while parsing).
fn check_inside(l: &Loaded, path: &Spanned<ProjectPath>) -> Result<(), Error> {
    let (Ok(real), Ok(root)) = (l.resolve(path.get_ref()).canonicalize(), l.root.canonicalize()) else {
        return Ok(());
    };
    if real.starts_with(&root) {
        return Ok(());
    }
    Err(l.error_at(
        path.span(),
        format!("'{}' leads outside the project, to {}", path.get_ref(), real.display()),
        Some("a symbolic link there points outside; copy what it needs into the project"),
    ))
}

fn check_connections(l: &Loaded, connections: &Spanned<Vec<usize>>) -> Result<(), Error> {
    if connections.get_ref().is_empty() {
        return Err(l.error_at(
            connections.span(),
            "the connection sweep is empty",
            Some("e.g. connections = [10, 100]"),
        ));
    }
    for &n in connections.get_ref() {
        if let Err(reason) = loadgen::check_connections(n) {
            return Err(l.error_at(connections.span(), format!("a level of {n} connections: {reason}"), None));
        }
    }
    Ok(())
}

/// serde's messages carry their own hint after a comma ("unknown field `x`, expected one of ...").
fn split_hint(message: &str) -> (String, Option<String>) {
    match message.split_once(", expected ") {
        Some((m, rest)) => (m.to_string(), Some(format!("expected {rest}"))),
        None => (message.to_string(), None),
    }
}

fn located(path: &Path, text: &str, span: Range<usize>, message: String, hint: Option<String>) -> Error {
    let (line, col) = line_col(text, span.start);
    Error::Invalid { path: path.to_path_buf(), line, col, message, hint }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..at].chars().count() + 1)
}

/// A property of the parser, checked by the fuzz target `scenario_parse` and by
/// the replay of its corpus in `cargo test`: any text gives a scenario or one
/// error located in the file (never a panic), and a scenario can be scaffolded.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;

    /// `root` must hold `docker/app/Dockerfile` so that parses can get past the build check.
    pub fn check(text: &str, root: &Path) {
        let path = Path::new("fuzz.toml");
        match crate::parse(path, text, root) {
            Ok(loaded) => {
                let made = crate::scaffold(&loaded, "fuzz-copy").expect("a parsed scenario can be scaffolded");
                let value: toml::Value = toml::from_str(&made.text).expect("a scaffold is TOML");
                assert_eq!(value.get("name").and_then(|v| v.as_str()), Some("fuzz-copy"));
            }
            Err(crate::Error::Invalid { line, col, .. }) => {
                let lines = text.split('\n').count();
                assert!(line >= 1 && line <= lines + 1 && col >= 1, "located at {line}:{col} of {lines} lines");
            }
            Err(e) => panic!("only located errors come from text: {e}"),
        }
    }
}
