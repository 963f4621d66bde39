//! Image builds: the CA bundle reaches the image, failures keep their log.

use crate::util::{build_spec, context, engine};

#[tokio::test]
async fn failed_build_keeps_its_log_and_no_containers() {
    let engine = engine().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    std::fs::write(dir.join("Dockerfile"), "FROM debian:bookworm\nRUN echo about to fail && false\n").unwrap();
    let spec = docker::BuildSpec { context: dir.clone(), ..build_spec("stackbench-test/bad:latest") };
    let before = engine.containers_of_run("").await.unwrap_or_default();
    let err = match docker::build_image(&engine, &spec, |_| {}).await {
        Err(docker::Error::Build(e)) => e,
        other => panic!("expected a build failure, got {other:?}"),
    };
    assert!(err.log.contains("about to fail"), "{}", err.log);
    assert!(err.to_string().contains("returned a non-zero code"), "{err}");
    // forcerm: the failed step's container is gone.
    let after = engine.containers_of_run("").await.unwrap_or_default();
    assert_eq!(before.len(), after.len());
}

#[tokio::test]
async fn built_image_has_the_ca_bundle_and_context_files() {
    let engine = engine().await;
    let spec = build_spec("stackbench-test/ca-check:latest");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    std::fs::copy(context().join("server.pl"), dir.join("server.pl")).unwrap();
    // The build fails unless the CA file and the env that points at it are there.
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM debian:bookworm\nCOPY server.pl /server.pl\nRUN test -s \"$PIP_CERT\" && test -s /server.pl\n",
    )
    .unwrap();
    let spec = docker::BuildSpec { context: dir.clone(), ..spec };
    if spec.ca_bundle.is_some() {
        let before = snapshot(&dir);
        let built = docker::build_image(&engine, &spec, |_| {}).await.unwrap();
        assert!(built.image_id.starts_with("sha256:"), "{}", built.image_id);
        // The CA bundle went into the build's copy of the context only: the folder is read, never written.
        assert_eq!(snapshot(&dir), before);
    }
}

/// Every file of a folder with its bytes.
fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    files.sort();
    files
}
