//! `stackbench report` on the committed results.

use std::process::{Command, Stdio};

/// A reader that stops early (`stackbench report | head`) is not an error:
/// the report is written, the command exits 0, and nothing panics.
#[test]
fn a_closed_stdout_is_not_a_failure() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(["report", "--root"])
        .arg(&root)
        .arg("--reports")
        .arg(root.join("reports"))
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the command writes its first line.
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "exit {:?}: {stderr}", done.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.path().join("index.html").exists() && out.path().join("README.md").exists());
}
