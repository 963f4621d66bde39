//! Requests that draw values (`{rand:..}`, `{seq}`, `{line:..}`): each request its own, framed right.

use std::sync::{Arc, Mutex};

use loadgen::RunLength;

use crate::util::{config_for, run, write, Server, OK};

/// The requests `config` sent, as the server read them.
fn requests(config: impl Fn(&Server) -> loadgen::Config) -> (loadgen::LoadResult, Vec<String>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    let server = Server::seeing(move |_, request| {
        into.lock().unwrap().push(String::from_utf8_lossy(request).into_owned());
        vec![write(OK)]
    });
    let r = run(&config(&server));
    let seen = seen.lock().unwrap().clone();
    (r, seen)
}

#[test]
fn each_request_draws_its_own_values() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "alice\nbob\ncarol\n").unwrap();
    let (r, seen) = requests(|server| {
        let mut config = config_for(server, 4, RunLength::Requests(600));
        // As a URL gives it: braces in the path too.
        config.target =
            loadgen::Target::parse(&format!("http://{}/db/{{rand:1..5}}?n={{seq:1000}}", server.addr)).unwrap();
        config.method = "POST".into();
        config.headers = vec![("X-User".into(), format!("{{line:{}}}", users.display()))];
        config.body = b"{\"id\": {rand:100..999}}".to_vec();
        config.n_threads = 2;
        config
    });
    assert_eq!((r.requests, r.errors.total()), (600, 0), "{:?}", r.errors);
    assert_eq!(seen.len(), 600);
    let mut sequence = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for request in &seen {
        let line = request.lines().next().unwrap();
        let query = line.split(' ').nth(1).unwrap().strip_prefix("/db/").unwrap();
        let (id, n) = query.split_once("?n=").unwrap();
        assert!((1..=5).contains(&id.parse::<u32>().unwrap()), "{line}");
        ids.insert(id.to_string());
        sequence.push(n.parse::<u64>().unwrap());
        let user = request.lines().find_map(|l| l.strip_prefix("X-User: ")).unwrap();
        assert!(["alice", "bob", "carol"].contains(&user), "{request}");
        // The body's length is the rendered one's, so the server framed every request.
        let body = request.split("\r\n\r\n").nth(1).unwrap();
        let length: usize = request.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap().parse().unwrap();
        assert_eq!(body.len(), length);
        let drawn: u32 = body.trim_start_matches("{\"id\": ").trim_end_matches('}').parse().unwrap();
        assert!((100..=999).contains(&drawn), "{body}");
    }
    assert_eq!(ids.len(), 5, "every id of the range drawn");
    // Two threads interleave one sequence: 1000, 1001, ... once each.
    sequence.sort_unstable();
    sequence.dedup();
    assert_eq!(sequence.len(), 600);
    assert!(sequence.iter().all(|n| (1000..1000 + 602).contains(n)), "{:?}", &sequence[590..]);
}

#[test]
fn the_same_seed_draws_the_same_values_and_bad_placeholders_name_their_setting() {
    let draw = |seed: u64| {
        let (_, seen) = requests(|server| {
            let mut config = config_for(server, 1, RunLength::Requests(20));
            config.target.path = "/{rand:1..1000000}".into();
            config.seed = seed;
            config
        });
        seen.iter().map(|r| r.lines().next().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(draw(3), draw(3));
    assert_ne!(draw(3), draw(4));
    let server = Server::fixed(OK);
    let mut config = config_for(&server, 1, RunLength::Requests(1));
    config.target.path = "/{rnd:1..5}".into();
    let e = config.validate().unwrap_err().to_string();
    assert!(e.contains("path") && e.contains("{rnd:1..5} is not a placeholder"), "{e}");
    config.target.path = "/".into();
    config.body = b"{line:/nonexistent/ids.txt}".to_vec();
    let e = config.validate().unwrap_err().to_string();
    assert!(e.contains("body") && e.contains("cannot read '/nonexistent/ids.txt'"), "{e}");
}
