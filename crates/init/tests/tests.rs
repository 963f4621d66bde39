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
    let routes: Vec<String> = python_app("app", text).unwrap().routes.into_iter().map(|r| r.path).collect();
    assert_eq!(routes, vec!["/", "/search", "/health"]);
}

#[test]
fn a_flask_app_gets_a_dockerfile_and_a_scenario() {
    let dir = folder(&[
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n@app.get('/')\n@app.get('/healthz')\n"),
        ("requirements.txt", "flask\n"),
        ("venv/lib/x.py", "app = FastAPI()\n"),
    ]);
    let made = init::init(dir.path(), std::path::Path::new("stackbench-results"), None).unwrap();
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
    assert_eq!(loaded.scenario.workload.endpoints.get_ref().len(), 3, "two routes and their mix");
}

#[test]
fn a_dockerfile_is_used_as_it_is() {
    let dir = folder(&[("Dockerfile", "FROM debian:bookworm\nCMD [\"myserver\"]\n"), (".dockerignore", ".git\n")]);
    let made = init::init(dir.path(), std::path::Path::new("stackbench-results"), None).unwrap();
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
    let err = init::init(dir.path(), std::path::Path::new("stackbench-results"), None).unwrap_err().to_string();
    assert!(err.contains("has no Dockerfile and no Python web app that stackbench can tell"), "{err}");
    assert!(err.contains("write stackbench.toml by hand"), "{err}");
}

/// An app like httpbin: health, JSON, template, static, redirect, auth, cookie, stream and delay routes, in
/// an order that ranks nothing; a blueprint in another module (with its prefix) and a FastAPI-style router.
const RANKED_APP: &str = r#"from flask import Flask, jsonify, redirect, render_template, send_file, Response
app = Flask(__name__)

@app.route('/robots.txt')
def robots():
    return send_file('robots.txt')

@app.route('/redirect-to')
def go():
    return redirect('/get')

@app.route('/basic-auth')
def auth():
    return Response('', 401, {'WWW-Authenticate': 'Basic'})

@app.route('/cookies/set')
def cookies():
    r = Response('ok')
    r.set_cookie('a', 'b')
    return r

@app.route('/stream')
def stream():
    def gen():
        yield 'x'
    return Response(gen())

@app.route('/delay')
def delay():
    time.sleep(1)
    return 'ok'

@app.route('/html')
def page():
    return render_template('page.html')

@app.route('/get')
def get():
    return jsonify(args={})

@app.route('/healthz')
def health():
    return 'ok'

app.add_url_rule('/plain', 'plain', lambda: 'ok')
"#;

const BLUEPRINT: &str = r#"from flask import Blueprint, jsonify
bp = Blueprint('api', __name__, url_prefix='/api')

@bp.get('/items')
def items():
    return jsonify([])
"#;

#[test]
fn routes_are_ranked_health_then_content_and_the_rest_follow_commented_out() {
    let dir = folder(&[("app.py", RANKED_APP), ("views/api.py", BLUEPRINT), ("views/router.py", "from fastapi import APIRouter\nrouter = APIRouter(prefix=\"/v2\")\n@router.get(\"/users\")\nasync def users():\n    return [1]\n")]);
    let app = init::find_python_app(dir.path()).unwrap().unwrap();
    let ranked: Vec<(String, init::RouteKind)> =
        init::ranked(&app.routes).into_iter().map(|r| (r.path, r.kind)).collect();
    use init::RouteKind::*;
    assert_eq!(
        ranked,
        vec![
            ("/healthz".into(), Health),
            ("/html".into(), Content),
            ("/get".into(), Content),
            ("/api/items".into(), Content),
            ("/v2/users".into(), Content),
            ("/plain".into(), Plain),
            ("/robots.txt".into(), Last("a static file")),
            ("/redirect-to".into(), Last("a redirect")),
            ("/basic-auth".into(), Last("an auth challenge")),
            ("/cookies/set".into(), Last("a cookie setter")),
            ("/stream".into(), Last("a stream")),
            ("/delay".into(), Last("a deliberate delay")),
        ]
    );
    let made = init::init(dir.path(), std::path::Path::new("stackbench-results"), None).unwrap();
    let measured: Vec<&str> = made.scenario.lines().filter_map(|l| l.strip_prefix("path = ")).collect();
    assert_eq!(measured, ["\"/healthz\"", "\"/html\"", "\"/get\""]);
    assert!(made.scenario.contains("ready = { path = \"/healthz\""), "{}", made.scenario);
    assert!(made.scenario.contains("# path = \"/stream\"  # a stream"), "{}", made.scenario);
    assert_eq!(made.scenario.matches("# [[workload.endpoints]]").count(), 9);
    // It still reads as a scenario, with three endpoints and their mix, weighted evenly.
    std::fs::write(dir.path().join(init::DOCKERFILE), made.dockerfile.as_deref().unwrap_or_default()).unwrap();
    let loaded = scenario::parse(&dir.path().join(init::SCENARIO_FILE), &made.scenario, dir.path()).unwrap();
    let endpoints = loaded.scenario.workload.endpoints.get_ref();
    assert_eq!(endpoints.len(), 4);
    let mix = endpoints[3].requests.as_ref().expect("the mix").get_ref();
    let kinds: Vec<(&str, &str, u32)> = mix.iter().map(|r| (r.name.as_str(), r.path.as_str(), r.weight)).collect();
    assert_eq!(kinds, [("healthz", "/healthz", 1), ("html", "/html", 1), ("get", "/get", 1)]);
    assert!(made.scenario.contains("CHECK: the\n# weights"), "{}", made.scenario);
}

#[test]
fn routes_picked_by_hand_are_measured_and_a_bad_one_is_refused() {
    let dir = folder(&[("app.py", RANKED_APP)]);
    let picked = vec!["/delay".to_string(), "/not-found-in-code".to_string()];
    let made = init::init(dir.path(), std::path::Path::new("stackbench-results"), Some(&picked)).unwrap();
    let measured: Vec<&str> = made.scenario.lines().filter_map(|l| l.strip_prefix("path = ")).collect();
    assert_eq!(measured, ["\"/delay\"", "\"/not-found-in-code\""]);
    assert!(made.scenario.contains("# path = \"/healthz\""), "the others follow, commented out");
    let err = init::init(dir.path(), std::path::Path::new("x"), Some(&["health".to_string()])).unwrap_err();
    assert!(err.to_string().contains("--routes: 'health' is not a path"), "{err}");
}

/// An app made by a factory, as Flask's tutorial makes flaskr: gunicorn calls the factory, uvicorn is told
/// `--factory`; a module that calls it (`app = create_app()`) is the entry instead; the factory's routes and
/// its blueprints' are found; a package's `__init__.py` is the package.
#[test]
fn an_app_made_by_a_factory_is_served_through_it() {
    let flaskr = [
        (
            "flaskr/__init__.py",
            "from flask import Flask\n\ndef create_app(test_config=None):\n    app = Flask(__name__, instance_relative_config=True)\n\n    \
             @app.route('/hello')\n    def hello():\n        return 'Hello, World!'\n\n    from . import blog\n    \
             app.register_blueprint(blog.bp)\n    return app\n",
        ),
        ("flaskr/blog.py", "from flask import Blueprint, render_template\nbp = Blueprint('blog', __name__)\n\n@bp.route('/')\ndef index():\n    return render_template('blog/index.html')\n"),
    ];
    let dir = folder(&flaskr);
    let app = init::find_python_app(dir.path()).unwrap().unwrap();
    assert_eq!((app.entry.as_str(), app.factory, app.framework.as_str()), ("flaskr:create_app", true, "Flask"));
    let routes: Vec<&str> = app.routes.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(routes, ["/hello", "/"]);
    let written = init::init(dir.path(), std::path::Path::new("stackbench-results"), None).unwrap();
    assert!(written.scenario.contains(r#""--workers", "{workers}", "flaskr:create_app()"]"#), "{}", written.scenario);

    // A module that makes the app with the factory is what gunicorn imports.
    let mut with_wsgi = flaskr.to_vec();
    with_wsgi.push(("wsgi.py", "from flaskr import create_app\n\napplication = create_app()\n"));
    let app = init::find_python_app(folder(&with_wsgi).path()).unwrap().unwrap();
    assert_eq!((app.entry.as_str(), app.factory), ("wsgi:application", false));

    let fastapi = "from fastapi import FastAPI\n\ndef make_app():\n    api = FastAPI()\n\n    @api.get('/status')\n    def status():\n        return {'ok': True}\n    return api\n";
    let dir = folder(&[("service.py", fastapi)]);
    let written = init::init(dir.path(), std::path::Path::new("stackbench-results"), None).unwrap();
    assert!(
        written.scenario.contains(r#"command = ["uvicorn", "--factory", "service:make_app", "--host""#),
        "{}",
        written.scenario
    );
    assert!(written.scenario.contains(r#"path = "/status""#), "{}", written.scenario);
}
