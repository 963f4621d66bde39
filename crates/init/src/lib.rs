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
         `FastAPI(...)`, `Starlette(...)` or Django's `get_wsgi_application()`, or a `create_app()` factory that makes one): write {SCENARIO_FILE} by hand \
         (`stackbench help scenario` prints the format, every key annotated)"
    )]
    NothingFound(PathBuf),
    #[error("--routes: '{0}' is not a path; give paths as the app serves them, e.g. /health,/api/items")]
    Route(String),
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
    /// `name` is a factory that makes the app (`create_app`): gunicorn calls it (`name()`), uvicorn is told
    /// `--factory`.
    pub factory: bool,
    /// The framework the entry point is made by (`Flask`, `FastAPI`, ...).
    pub framework: String,
    pub interface: Interface,
    /// GET routes without parameters, in file order (the app's, then its blueprints' and routers'), each
    /// with what its code says of it.
    pub routes: Vec<Route>,
}

/// A GET route without parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub path: String,
    pub kind: RouteKind,
}

/// What a route's path and code say of it, in the order init ranks routes (the first three are measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Named like a health check: the readiness path, and measured first (the framework's own cost).
    Health,
    /// Returns JSON or renders a template: the app's real work.
    Content,
    /// Nothing said either way.
    Plain,
    /// Says little of the app under load (`why`): a static file, a redirect, an auth challenge, a cookie
    /// setter, a stream, a deliberate delay.
    Last(&'static str),
}

impl RouteKind {
    /// Its place in the ranking (routes of one place keep their file order).
    fn place(self) -> u8 {
        match self {
            RouteKind::Health => 0,
            RouteKind::Content => 1,
            RouteKind::Plain => 2,
            RouteKind::Last(_) => 3,
        }
    }
}

impl Route {
    /// `path` whose decorated function is `body` (the lines of its `def` and below).
    fn new(path: &str, body: &str) -> Route {
        Route { path: path.to_string(), kind: kind_of(path, body) }
    }
}

/// Health-like path words.
const HEALTH: &[&str] = &["health", "healthz", "ping", "ready", "readyz", "live", "livez", "status", "alive"];

/// What makes a route say little, told by path words or by calls in its code.
const LAST: &[(&str, &[&str], &[&str])] = &[
    (
        "a static file",
        &["static", "robots.txt", "favicon", "image", "images", "assets"],
        &["send_file", "send_from_directory", "FileResponse", "StaticFiles"],
    ),
    (
        "a redirect",
        &["redirect", "redirect-to", "relative-redirect", "absolute-redirect"],
        &["redirect(", "RedirectResponse"],
    ),
    (
        "an auth challenge",
        &["auth", "basic-auth", "digest-auth", "bearer", "login", "deny", "forbidden"],
        &["WWW-Authenticate", "abort(401", "abort(403", "HTTPException(status_code=401"],
    ),
    ("a cookie setter", &["cookies", "cookie"], &["set_cookie"]),
    (
        "a stream",
        &["stream", "stream-bytes", "drip", "range", "bytes", "sse"],
        &["stream_with_context", "StreamingResponse", "yield "],
    ),
    ("a deliberate delay", &["delay", "sleep", "slow"], &["time.sleep", "asyncio.sleep"]),
];

/// Content calls: JSON or a template.
const CONTENT: &[&str] =
    &["jsonify", "json.dumps", "JSONResponse", "render_template", "TemplateResponse", "return {", "return ["];

fn kind_of(path: &str, body: &str) -> RouteKind {
    let words: Vec<&str> = path.split(['/', '.', '_']).filter(|w| !w.is_empty()).collect();
    let has_word = |list: &[&str]| {
        words.iter().any(|w| list.contains(w)) || list.iter().any(|l| l.contains('.') && path.ends_with(l))
    };
    if has_word(HEALTH) {
        return RouteKind::Health;
    }
    if let Some((why, _, _)) =
        LAST.iter().find(|(_, names, calls)| has_word(names) || calls.iter().any(|c| body.contains(c)))
    {
        return RouteKind::Last(why);
    }
    // A file's extension other than a page's: static.
    if words.last().is_some_and(|w| ["txt", "png", "jpg", "jpeg", "svg", "ico", "css", "js", "xml"].contains(w)) {
        return RouteKind::Last("a static file");
    }
    if CONTENT.iter().any(|c| body.contains(c))
        || words.iter().any(|w| ["json", "api", "get", "uuid", "headers"].contains(w))
    {
        return RouteKind::Content;
    }
    RouteKind::Plain
}

/// `routes` best first for measuring (stable: file order within a kind).
pub fn ranked(routes: &[Route]) -> Vec<Route> {
    let mut ranked = routes.to_vec();
    ranked.sort_by_key(|r| r.kind.place());
    ranked
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
pub fn init(dir: &Path, results: &Path, picked: Option<&[String]>) -> Result<Init, Error> {
    if let Some(bad) = picked.into_iter().flatten().find(|p| !p.starts_with('/')) {
        return Err(Error::Route(bad.clone()));
    }
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
            if app.routes.is_empty() {
                String::new()
            } else {
                format!(" ({})", app.routes.iter().map(|r| r.path.as_str()).collect::<Vec<_>>().join(", "))
            }
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
    let scenario = scenario_text(&name, app.as_ref(), has_dockerfile, picked);
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
    let mut texts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Read { path: file.clone(), source })?;
        texts.push((module_path(dir, &file), text));
    }
    let made = texts.iter().enumerate().find_map(|(i, (module, text))| Some((i, python_app(module, text)?)));
    let Some((at, mut app)) = made.or_else(|| {
        let (at, mut app) = texts.iter().enumerate().find_map(|(i, (m, t))| Some((i, factory_app(m, t)?)))?;
        // A module that makes the app by calling the factory (`app = create_app()` in wsgi.py) is the entry.
        let factory = app.entry.rsplit(':').next().unwrap_or_default().to_string();
        if let Some((caller, name)) = texts.iter().find_map(|(m, t)| Some((m, called(t, &factory)?))) {
            (app.entry, app.factory) = (format!("{caller}:{name}"), false);
        }
        Some((at, app))
    }) else {
        return Ok(None);
    };
    // Blueprints and routers made in the app's other modules (registered on it, as such apps do).
    for (_, text) in texts.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, t)| t) {
        for route in routes(text, &groups(text)) {
            if !app.routes.iter().any(|r| r.path == route.path) {
                app.routes.push(route);
            }
        }
    }
    Ok(Some(app))
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

/// `pkg/app.py` under `dir` -> `pkg.app`; a package's `pkg/__init__.py` -> `pkg`.
fn module_path(dir: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(dir).unwrap_or(file).with_extension("");
    let module =
        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join(".");
    module.strip_suffix(".__init__").map_or(module.clone(), str::to_string)
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
                let mut owners = vec![(name.to_string(), String::new())];
                owners.extend(groups(text));
                let routes = routes(text, &owners);
                return Some(PythonApp {
                    entry: format!("{module}:{name}"),
                    factory: false,
                    framework: framework.to_string(),
                    interface: *interface,
                    routes,
                });
            }
            if call.ends_with("get_wsgi_application") {
                return Some(PythonApp {
                    entry: format!("{module}:{name}"),
                    factory: false,
                    framework: "Django".into(),
                    interface: Interface::Wsgi,
                    routes: Vec::new(),
                });
            }
        }
    }
    None
}

/// The names of app factories, as Flask's tutorial and most larger apps make theirs.
const FACTORIES: &[&str] = &["create_app", "make_app"];

/// The app a module-level factory in `module` makes (`def create_app(...)` whose body makes the app), with
/// the routes its body adds; its entry is the factory.
pub fn factory_app(module: &str, text: &str) -> Option<PythonApp> {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().enumerate().find_map(|(at, line)| {
        let def = line.strip_prefix("def ")?;
        let name = FACTORIES.iter().find(|f| def.strip_prefix(**f).is_some_and(|r| r.starts_with('(')))?;
        let body = lines[at + 1..].iter().take_while(|l| l.trim().is_empty() || l.starts_with(char::is_whitespace));
        let dedented: Vec<&str> = body.map(|l| l.trim_start()).collect();
        let app = python_app(module, &dedented.join("\n"))?;
        Some(PythonApp { entry: format!("{module}:{name}"), factory: true, ..app })
    })
}

/// The module-level name `text` gives the app made by calling `factory` (`app = create_app()`).
fn called<'t>(text: &'t str, factory: &str) -> Option<&'t str> {
    text.lines().filter_map(assignment).find_map(|(name, value)| {
        let call = value.split('(').next()?.trim();
        (call == factory || call.ends_with(&format!(".{factory}"))).then_some(name)
    })
}

/// `name = value` at the start of a line (not indented: a module's global).
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim_end();
    let plain = !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
    (plain && !line.starts_with(char::is_whitespace) && !value.starts_with('=')).then(|| (name, value.trim()))
}

/// The constructors of route groups an app mounts, and the keyword their path prefix is given by.
const GROUPS: &[(&str, &str)] = &[("Blueprint", "url_prefix"), ("APIRouter", "prefix")];

/// The route groups (`bp = Blueprint(..., url_prefix="/x")`, `router = APIRouter(prefix="/x")`) a module makes:
/// their names and prefixes.
fn groups(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(assignment)
        .filter_map(|(name, value)| {
            let call = value.split('(').next().unwrap_or_default().trim();
            let (_, keyword) = GROUPS.iter().find(|(c, _)| call.rsplit('.').next() == Some(c))?;
            let prefix = value
                .split_once(&format!("{keyword}="))
                .and_then(|(_, rest)| quoted(rest.trim_start()))
                .unwrap_or_default();
            Some((name.to_string(), prefix.trim_end_matches('/').to_string()))
        })
        .collect()
}

/// The text of the string literal `text` starts with.
fn quoted(text: &str) -> Option<&str> {
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    text[1..].split(quote).next()
}

/// The GET routes of the objects `owners` (name, path prefix) in `text`, without parameters:
/// `@name.get("/x")`, `@name.route("/x")` (unless its `methods` leave GET out), `name.add_url_rule("/x", ...)`;
/// each with the code of the function it decorates.
fn routes(text: &str, owners: &[(String, String)]) -> Vec<Route> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Route> = Vec::new();
    for (at, line) in lines.iter().enumerate().map(|(i, l)| (i, l.trim())) {
        let decorated = line.strip_prefix('@');
        let Some((owner, rest)) = owners.iter().find_map(|(name, prefix)| {
            let rest = decorated.unwrap_or(line).strip_prefix(name.as_str())?;
            Some(((name, prefix), rest))
        }) else {
            continue;
        };
        let Some((kind, args)) = rest.split_once('(') else { continue };
        let wanted = matches!((decorated.is_some(), kind), (true, ".get" | ".route") | (false, ".add_url_rule"));
        if !wanted || (kind != ".get" && args.contains("methods") && !args.contains("GET")) {
            continue;
        }
        let Some(path) = quoted(args.trim_start()) else { continue };
        let path = format!("{}{path}", owner.1);
        let path = if path.is_empty() { "/".to_string() } else { path };
        if !path.starts_with('/') || path.contains(['<', '{', ':']) || out.iter().any(|r| r.path == path) {
            continue;
        }
        // The decorated function: from its `def` to the next line back at the decorator's indentation.
        let indent = lines[at].len() - lines[at].trim_start().len();
        let body: Vec<&str> = lines[at + 1..]
            .iter()
            .skip_while(|l| l.trim_start().starts_with('@'))
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .map(|(_, l)| *l)
            .collect();
        out.push(Route::new(&path, &if decorated.is_some() { body.join("\n") } else { args.to_string() }));
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
fn scenario_text(name: &str, app: Option<&PythonApp>, has_dockerfile: bool, picked: Option<&[String]>) -> String {
    let dockerfile = if has_dockerfile { String::new() } else { format!("dockerfile = \"{DOCKERFILE}\"\n") };
    let command = match app {
        Some(PythonApp { entry, factory, interface: Interface::Wsgi, .. }) => format!(
            "# gunicorn's sync workers, one per CPU of the limit ({{workers}}). To compare others, make it a matrix:\n\
             # [matrix] worker = [\"sync\", \"gevent\"] and \"--worker-class\", \"{{matrix.worker}}\" here.\n\
             command = [\"gunicorn\", \"--bind\", \"{{host}}:{{port}}\", \"--workers\", \"{{workers}}\", \"{entry}{call}\"]\n",
            call = if *factory { "()" } else { "" }
        ),
        Some(PythonApp { entry, factory, interface: Interface::Asgi, .. }) => format!(
            "# uvicorn, one worker per CPU of the limit ({{workers}}); access logs off, as in production.\n\
             command = [\"uvicorn\", {factory}\"{entry}\", \"--host\", \"{{host}}\", \"--port\", \"{{port}}\", \"--workers\", \"{{workers}}\", \"--no-access-log\"]\n",
            factory = if *factory { "\"--factory\", " } else { "" }
        ),
        None => "# The image's own command runs. CHECK: it must listen on 127.0.0.1 (STACKBENCH_HOST) and the port in\n\
                 # STACKBENCH_PORT, or give the command here with {host} and {port}, e.g.\n\
                 # command = [\"myserver\", \"--listen\", \"{host}:{port}\"]\n"
            .to_string(),
    };
    let found = ranked(&app.map(|a| a.routes.clone()).unwrap_or_default());
    // The measured routes: those picked (`--routes`), else the best three; the others follow commented out.
    let (chosen, others): (Vec<Route>, Vec<Route>) = match picked {
        Some(paths) => (
            paths
                .iter()
                .map(|p| found.iter().find(|r| &r.path == p).cloned().unwrap_or_else(|| Route::new(p, "")))
                .collect(),
            found.iter().filter(|r| !paths.contains(&r.path)).cloned().collect(),
        ),
        None if found.is_empty() => (vec![Route::new("/", "")], Vec::new()),
        None => (found.iter().take(3).cloned().collect(), found.iter().skip(3).cloned().collect()),
    };
    let ready = found.iter().find(|r| r.kind == RouteKind::Health).unwrap_or(&chosen[0]).path.clone();
    let mut endpoints = String::new();
    let names: Vec<String> = chosen.iter().enumerate().map(|(idx, route)| endpoint_name(&route.path, idx)).collect();
    for (name, route) in names.iter().zip(&chosen) {
        endpoints.push_str(&format!("\n[[workload.endpoints]]\nname = \"{name}\"\npath = \"{}\"\n", route.path));
    }
    if chosen.len() > 1 {
        let mix = if names.iter().any(|n| n == "mix") { "routes-mix" } else { "mix" };
        endpoints.push_str(&format!(
            "\n# The same routes together, as traffic reaches them: each request drawn by weight. CHECK: the\n\
             # weights, as your traffic shares them out (evenly here).\n[[workload.endpoints]]\nname = \"{mix}\"\n\
             requests = [\n"
        ));
        for (name, route) in names.iter().zip(&chosen) {
            endpoints.push_str(&format!("  {{ name = \"{name}\", path = \"{}\", weight = 1 }},\n", route.path));
        }
        endpoints.push_str("]\n");
    }
    if !others.is_empty() {
        endpoints.push_str(
            "\n# The other GET routes found, worth less under load as ranked (uncomment one to measure it, or pick\n\
             # with `stackbench init --routes /a,/b`):\n",
        );
        for (idx, route) in others.iter().enumerate() {
            let name = endpoint_name(&route.path, chosen.len() + idx);
            let why = match route.kind {
                RouteKind::Last(why) => format!("  # {why}"),
                _ => String::new(),
            };
            endpoints.push_str(&format!(
                "# [[workload.endpoints]]\n# name = \"{name}\"\n# path = \"{}\"{why}\n",
                route.path
            ));
        }
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

# GET routes without parameters found in the code, the three most telling: a health check first, then
# routes that return JSON or a template; static files, redirects, auth challenges, cookie setters,
# streams and delays last. CHECK: each answers 200
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
