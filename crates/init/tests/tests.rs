//! What `init` tells from an app's folder, and the scenario it writes.

use init::{python_app, Interface};

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("stackbench-init-").tempdir().unwrap();
    for (file, body) in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    dir
}

#[test]
fn each_framework_is_told_by_its_constructor() {
    let flask = python_app("app", "from flask import Flask\napp = Flask(__name__)\n").unwrap();
    assert_eq!((flask.entry.as_str(), flask.interface), ("app:app", Interface::Wsgi));
    let fastapi = python_app("svc.main", "import fastapi\n\napi = fastapi.FastAPI(title='x')\n").unwrap();
    assert_eq!((fastapi.entry.as_str(), fastapi.interface), ("svc.main:api", Interface::Asgi));
    let django = python_app(
        "site.wsgi",
        "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
    )
    .unwrap();
    assert_eq!((django.entry.as_str(), django.framework.as_str()), ("site.wsgi:application", "Django"));
    // Inside a function, or a comparison: not the module's app.
    assert_eq!(python_app("m", "def make():\n    app = Flask(__name__)\n"), None);
    assert_eq!(python_app("m", "ok = x == Flask(1)\n"), None);
}

#[test]
fn routes_are_the_get_routes_without_parameters() {
    let text = "app = Flask(__name__)\n@app.route('/')\n@app.route(\"/users/<int:id>\")\n\
                @app.route('/login', methods=['POST'])\n@app.route('/search', methods=['GET', 'POST'])\n\
                @app.get('/health')\n@app.post('/items')\n@other.get('/not-this-app')\n@app.get('/')\n";
    assert_eq!(python_app("app", text).unwrap().routes, vec!["/", "/search", "/health"]);
}

#[test]
fn a_flask_app_gets_a_dockerfile_and_a_scenario() {
    let dir = folder(&[
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n@app.get('/')\n@app.get('/healthz')\n"),
        ("requirements.txt", "flask\n"),
        ("venv/lib/x.py", "app = FastAPI()\n"),
    ]);
    let made = init::init(dir.path(), std::path::Path::new("stackbench-results")).unwrap();
    let dockerfile = made.dockerfile.clone().unwrap();
    assert!(dockerfile.contains("FROM stackbench/base-python\n"), "{dockerfile}");
    assert!(dockerfile.contains("RUN pip install --no-cache-dir -r /app/requirements.txt\n"), "{dockerfile}");
    assert!(made.dockerignore.as_deref().unwrap().contains("\nstackbench-results\n"));
    // The name is the folder's, which is random here.
    let (head, rest) = made.scenario.split_once("[server]").unwrap();
    let head: String = head.lines().filter(|l| !l.starts_with("name = ")).map(|l| format!("{l}\n")).collect();
    let scenario = format!("{head}[server]{rest}");
    insta::assert_snapshot!(scenario);
    // What it writes is a scenario stackbench reads (its build context and Dockerfile are checked once written).
    std::fs::write(dir.path().join(init::DOCKERFILE), made.dockerfile.as_deref().unwrap_or_default()).unwrap();
    let loaded = scenario::parse(&dir.path().join(init::SCENARIO_FILE), &made.scenario, dir.path()).unwrap();
    assert_eq!(loaded.scenario.workload.endpoints.get_ref().len(), 2);
}

#[test]
fn a_dockerfile_is_used_as_it_is() {
    let dir = folder(&[("Dockerfile", "FROM debian:bookworm\nCMD [\"myserver\"]\n"), (".dockerignore", ".git\n")]);
    let made = init::init(dir.path(), std::path::Path::new("stackbench-results")).unwrap();
    assert!(made.dockerfile.is_none() && made.dockerignore.is_none());
    assert!(
        made.found.iter().any(|f| f.contains("a .dockerignore without stackbench-results: CHECK")),
        "{:?}",
        made.found
    );
    assert!(!made.scenario.contains("dockerfile = "), "{}", made.scenario);
    assert!(made.scenario.contains("# The image's own command runs. CHECK:"), "{}", made.scenario);
    assert!(made.scenario.contains("ready = { path = \"/\""), "{}", made.scenario);
}

#[test]
fn a_folder_with_nothing_to_tell_says_what_to_do() {
    let dir = folder(&[("README.md", "hello\n")]);
    let err = init::init(dir.path(), std::path::Path::new("stackbench-results")).unwrap_err().to_string();
    assert!(err.contains("has no Dockerfile and no Python web app that stackbench can tell"), "{err}");
    assert!(err.contains("write stackbench.toml by hand"), "{err}");
}
