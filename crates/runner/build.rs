//! The commit stackbench itself is built from, when built from a git checkout (`STACKBENCH_BUILD_COMMIT`,
//! empty otherwise): a record says which stackbench measured it apart from the project it measured.

fn main() {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let commit = std::process::Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=STACKBENCH_BUILD_COMMIT={commit}");
    // A new commit changes HEAD (a branch's ref moves under it): build again then.
    if let Ok(top) = std::process::Command::new("git").arg("-C").arg(&dir).args(["rev-parse", "--git-dir"]).output() {
        let git_dir = dir.join(String::from_utf8_lossy(&top.stdout).trim());
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        println!("cargo:rerun-if-changed={}", git_dir.join("refs/heads").display());
    }
}
