//! The scenario parser: any text gives a scenario or one located error, never a panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A project root with `docker/app/Dockerfile` and `bodies/login.json`, made once per process.
fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("stackbench-fuzz-root-{}", std::process::id()));
        std::fs::create_dir_all(root.join("docker/app")).unwrap();
        std::fs::create_dir_all(root.join("bodies")).unwrap();
        std::fs::write(root.join("docker/app/Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(root.join("bodies/login.json"), "{}").unwrap();
        root
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        scenario::fuzzing::check(text, root());
    }
});
