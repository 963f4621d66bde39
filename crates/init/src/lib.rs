//! `stackbench init`: what an app's folder holds (a Dockerfile, a Python WSGI
//! or ASGI app, its requirements, its routes), and the scenario that
//! benchmarks it. Invariant: it only reads the folder; it returns text and
//! writes nothing.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

use std::path::{Path, PathBuf};

/// The scenario file `init` writes, in the app's folder.
pub const SCENARIO_FILE: &str = "stackbench.toml";
/// The Dockerfile `init` writes when the app has none.
pub const DOCKERFILE: &str = "stackbench.Dockerfile";

/// Folders never looked into for the app's code.
const SKIPPED: &[&str] = &["venv", "env", "node_modules", "site-packages", "stackbench-results", "tests", "target"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "{0} has no Dockerfile and no Python web app that stackbench can tell (a .py file with `app = Flask(...)`, \
         `FastAPI(...)`, `Starlette(...)` or Django's `get_wsgi_application()`): write {SCENARIO_FILE} by hand \
         (`stackbench help scenario` prints the format, every key annotated)"
    )]
    NothingFound(PathBuf),
}

/// The interface the app serves, which picks its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// Flask, Django, Bottle ...: gunicorn.
    Wsgi,
    /// FastAPI, Starlette, Quart ...: uvicorn.
    Asgi,
}

/// A Python web app found in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonApp {
    /// `module.path:name`, as gunicorn and uvicorn take it.
    pub entry: String,
    /// The framework the entry point is made by (`Flask`, `FastAPI`, ...).
    pub framework: String,
    pub interface: Interface,
    /// GET routes without parameters, as written, in file order.
    pub routes: Vec<String>,
}

/// What `init` found, and the files it would write.
#[derive(Debug, Clone)]
pub struct Init {
    /// One line per finding, for the terminal.
    pub found: Vec<String>,
    /// The text of [`SCENARIO_FILE`].
    pub scenario: String,
    /// The text of [`DOCKERFILE`], when the app has no Dockerfile of its own.
    pub dockerfile: Option<String>,
    /// A `.dockerignore`, when the app has none: results and local clutter stay out of every build.
    pub dockerignore: Option<String>,
}

/// Looks at `dir` (an app's repository) and makes its scenario; `results`
/// is where stackbench will keep results there (in the build context, so
/// left out of it).
pub fn init(dir: &Path, results: &Path) -> Result<Init, Error> {
    let results = results.to_string_lossy();
    let results = results.trim_start_matches("./").trim_end_matches('/');
    let has_dockerfile = dir.join("Dockerfile").is_file();
    let app = find_python_app(dir)?;
    let requirements = ["requirements.txt", "pyproject.toml"].into_iter().find(|f| dir.join(f).is_file());
    let mut found = Vec::new();
    if has_dockerfile {
        found.push("a Dockerfile: the image is built from it".to_string());
    }
    match &app {
        Some(app) => found.push(format!(
            "a {} app ({}) at {}, {} GET route(s) without parameters{}",
            app.framework,
            match app.interface {
                Interface::Wsgi => "WSGI: served by gunicorn",
                Interface::Asgi => "ASGI: served by uvicorn",
            },
            app.entry,
            app.routes.len(),
            if app.routes.is_empty() { String::new() } else { format!(" ({})", app.routes.join(", ")) }
        )),
        None if has_dockerfile => {
            found.push("no Python app stackbench can tell: the image's own command is run".to_string());
        }
        None => return Err(Error::NothingFound(dir.to_path_buf())),
    }
    if let (Some(file), false) = (requirements, has_dockerfile) {
        found.push(format!("{file}: installed in the image"));
    }
    let dockerignore = match std::fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => {
            if !text.lines().any(|l| l.trim().trim_matches('/') == results) {
                found.push(format!(
                    "a .dockerignore without {results}: CHECK: add it, or every build sends the results along"
                ));
            }
            None
        }
        Err(_) => Some(format!(
            "# Written by `stackbench init`: left out of the build context sent to Docker.\n\
             {results}\n.git\n.venv\nvenv\n**/__pycache__\n**/*.pyc\n"
        )),
    };
    let name = scenario_name(dir);
    let dockerfile = (!has_dockerfile).then(|| python_dockerfile(requirements));
    let scenario = scenario_text(&name, app.as_ref(), has_dockerfile);
    Ok(Init { found, scenario, dockerfile, dockerignore })
}

/// The folder's name as a scenario name, else `app`.
fn scenario_name(dir: &Path) -> String {
    let folder = std::path::absolute(dir).ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
    let name = scenario::slug(&folder.unwrap_or_default());
    let usable = scenario::Name::parse(&name).is_ok() && !name.starts_with(scenario::BASE_IMAGE_PREFIX);
    if usable {
        name
    } else {
        "app".to_string()
    }
}

/// The first Python web app in `dir`'s `.py` files (and those of its
/// folders, one level down), by file name.
pub fn find_python_app(dir: &Path) -> Result<Option<PythonApp>, Error> {
    let mut files = python_files(dir)?;
    for sub in folders(dir)? {
        files.extend(python_files(&sub)?);
    }
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Read { path: file.clone(), source })?;
        let module = module_path(dir, &file);
        if let Some(app) = python_app(&module, &text) {
            return Ok(Some(app));
        }
    }
    Ok(None)
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read { path: dir.to_path_buf(), source })?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    Ok(paths)
}

fn python_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    Ok(read_dir(dir)?.into_iter().filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "py")).collect())
}

fn folders(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    Ok(read_dir(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            !name.starts_with('.') && !SKIPPED.contains(&name.as_ref())
        })
        .collect())
}

/// `pkg/app.py` under `dir` -> `pkg.app`.
fn module_path(dir: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(dir).unwrap_or(file).with_extension("");
    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join(".")
}

/// The frameworks told by their constructor: `NAME = Framework(`.
const FRAMEWORKS: &[(&str, Interface)] = &[
    ("Flask", Interface::Wsgi),
    ("Bottle", Interface::Wsgi),
    ("FastAPI", Interface::Asgi),
    ("Starlette", Interface::Asgi),
    ("Quart", Interface::Asgi),
];

/// The web app module `module` (source `text`) makes, if any.
pub fn python_app(module: &str, text: &str) -> Option<PythonApp> {
    for line in text.lines() {
        if let Some((name, value)) = assignment(line) {
            let call = value.split('(').next().unwrap_or_default().trim();
            let constructor = call.rsplit('.').next().unwrap_or_default();
            if let Some((framework, interface)) = FRAMEWORKS.iter().find(|(f, _)| *f == constructor) {
                let routes = routes(text, name);
                return Some(PythonApp {
                    entry: format!("{module}:{name}"),
                    framework: framework.to_string(),
                    interface: *interface,
                    routes,
                });
            }
            if call.ends_with("get_wsgi_application") {
                return Some(PythonApp {
                    entry: format!("{module}:{name}"),
                    framework: "Django".into(),
                    interface: Interface::Wsgi,
                    routes: Vec::new(),
                });
            }
        }
    }
    None
}

/// `name = value` at the start of a line (not indented: a module's global).
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim_end();
    let plain = !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
    (plain && !line.starts_with(char::is_whitespace) && !value.starts_with('=')).then(|| (name, value.trim()))
}

/// The GET routes of app `name`, without parameters: `@name.get("/x")`,
/// `@name.route("/x")` (unless its `methods` leave GET out).
fn routes(text: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix('@').and_then(|l| l.strip_prefix(name)) else { continue };
        let (kind, args) = match rest.split_once('(') {
            Some((kind, args)) => (kind, args),
            None => continue,
        };
        if !matches!(kind, ".get" | ".route") {
            continue;
        }
        if kind == ".route" && args.contains("methods") && !args.contains("GET") {
            continue;
        }
        let quoted = args.trim_start();
        let Some(quote) = quoted.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
        let Some(path) = quoted[1..].split(quote).next() else { continue };
        if path.starts_with('/') && !path.contains(['<', '{', ':']) && !out.iter().any(|p| p == path) {
            out.push(path.to_string());
        }
    }
    out
}

/// A Dockerfile on stackbench's Python base (gunicorn and uvicorn included),
/// with the app's requirements installed over it.
fn python_dockerfile(requirements: Option<&str>) -> String {
    let install = match requirements {
        Some("requirements.txt") => {
            "COPY requirements.txt /app/requirements.txt\nRUN pip install --no-cache-dir -r /app/requirements.txt\n"
        }
        Some(_) => "COPY pyproject.toml /app/pyproject.toml\n",
        None => "",
    };
    let after = if requirements == Some("pyproject.toml") { "RUN pip install --no-cache-dir /app\n" } else { "" };
    format!(
        "# Written by `stackbench init`. stackbench/base-python is Debian's Python 3.11 in a virtualenv with\n\
         # gunicorn, uvicorn and the common frameworks pinned (stackbench builds it; `ARG PYTHON=3.13` and\n\
         # `FROM stackbench/base-python:${{PYTHON}}` pick Python 3.13). Your requirements go on top.\n\
         FROM stackbench/base-python\n{install}COPY . /app\n{after}"
    )
}

/// The scenario's text: the server, limits, endpoints and objectives, with comments saying what to check.
fn scenario_text(name: &str, app: Option<&PythonApp>, has_dockerfile: bool) -> String {
    let dockerfile = if has_dockerfile { String::new() } else { format!("dockerfile = \"{DOCKERFILE}\"\n") };
    let command = match app {
        Some(PythonApp { entry, interface: Interface::Wsgi, .. }) => format!(
            "# gunicorn's sync workers, one per CPU of the limit ({{workers}}). To compare others, make it a matrix:\n\
             # [matrix] worker = [\"sync\", \"gevent\"] and \"--worker-class\", \"{{matrix.worker}}\" here.\n\
             command = [\"gunicorn\", \"--bind\", \"{{host}}:{{port}}\", \"--workers\", \"{{workers}}\", \"{entry}\"]\n"
        ),
        Some(PythonApp { entry, interface: Interface::Asgi, .. }) => format!(
            "# uvicorn, one worker per CPU of the limit ({{workers}}); access logs off, as in production.\n\
             command = [\"uvicorn\", \"{entry}\", \"--host\", \"{{host}}\", \"--port\", \"{{port}}\", \"--workers\", \"{{workers}}\", \"--no-access-log\"]\n"
        ),
        None => "# The image's own command runs. CHECK: it must listen on 127.0.0.1 (STACKBENCH_HOST) and the port in\n\
                 # STACKBENCH_PORT, or give the command here with {host} and {port}, e.g.\n\
                 # command = [\"myserver\", \"--listen\", \"{host}:{port}\"]\n"
            .to_string(),
    };
    let routes = app.map(|a| a.routes.clone()).unwrap_or_default();
    let routes = if routes.is_empty() { vec!["/".to_string()] } else { routes };
    let probe = |p: &&String| ["health", "ping", "ready", "status"].iter().any(|w| p.contains(w));
    let ready = routes.iter().find(probe).unwrap_or(&routes[0]);
    let mut endpoints = String::new();
    for (idx, path) in routes.iter().take(3).enumerate() {
        let name = endpoint_name(path, idx);
        endpoints.push_str(&format!("\n[[workload.endpoints]]\nname = \"{name}\"\npath = \"{path}\"\n"));
    }
    format!(
        r#"# Written by `stackbench init`: how stackbench builds, starts and loads this app.
# Check it once with `stackbench bench --verify-only {SCENARIO_FILE}` (builds, starts, requests each
# endpoint once), then run it with `stackbench bench {SCENARIO_FILE}`. Every key is described by
# `stackbench help scenario`.
name = "{name}"

[server]
# The build context: paths are relative to this file's folder, and must stay inside it.
build = "."
{dockerfile}{command}# The server gets this much CPU and memory, on CPUs apart from the load generator's. Compare stacks
# at the same limits; a fractional CPU is a quota that makes latency worse than its share suggests.
cpus = 1
memory = "512m"
# Ready when this answers 2xx. CHECK: a path that answers without a database or login.
ready = {{ path = "{ready}", timeout = "60s" }}

[workload]
duration = "10s"
warmup = "2s"
# Closed-loop levels (like wrk -c): each endpoint is measured at each.
connections = [10, 50]
# Objectives: with them, stackbench finds each endpoint's capacity, the highest offered rate held
# within all of them. CHECK: the latency your users notice; per endpoint with `slo = {{ ... }}`.
slo = {{ p99 = "50ms", errors = "0.1%" }}

# GET routes without parameters found in the code (at most three). CHECK: each answers 200
# (`expect_status`), add `expect_body = "..."` to check the answer, `method`, `body` and
# `headers` for others.
{endpoints}"#
    )
}

/// `/` -> `root`, `/api/health` -> `api-health` (a scenario name), else `endpoint-N`.
fn endpoint_name(path: &str, idx: usize) -> String {
    match scenario::slug(path) {
        name if name.is_empty() && path == "/" => "root".to_string(),
        name if scenario::Name::parse(&name).is_ok() => name,
        _ => format!("endpoint-{}", idx + 1),
    }
}
