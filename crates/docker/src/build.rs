//! Image builds from an in-memory tar of a build context.
//!
//! The Dockerfile on disk stays ordinary. In the tar sent to the engine, each
//! `FROM` is followed by two lines that add the host's CA bundle and point
//! pip, requests, OpenSSL, curl and Node at it, so that HTTPS works behind a
//! TLS-inspecting proxy without the Dockerfile knowing.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;

use crate::{api, Engine, Error};

/// Where the CA bundle lands inside images.
pub const IMAGE_CA_PATH: &str = "/etc/ssl/certs/stackbench-host-ca.crt";
const CA_IN_CONTEXT: &str = ".stackbench-ca.crt";

#[derive(Debug, Clone)]
pub struct BuildSpec {
    pub context: PathBuf,
    pub dockerfile: String,
    pub tag: String,
    pub build_args: BTreeMap<String, String>,
    pub labels: HashMap<String, String>,
    /// The host's CA bundle to add to every stage, if any.
    pub ca_bundle: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Built {
    pub image_id: String,
    /// The whole build output.
    pub log: String,
}

/// A build that failed; the whole log is kept for the run's results.
#[derive(Debug, thiserror::Error)]
#[error("building image '{tag}' failed: {message}\n--- last lines of the build ---\n{tail}")]
pub struct BuildFailed {
    pub tag: String,
    pub message: String,
    pub tail: String,
    pub log: String,
}

/// Builds `spec`, calling `on_line` with each line of build output.
pub async fn build_image(engine: &Engine, spec: &BuildSpec, on_line: impl FnMut(&str)) -> Result<Built, Error> {
    build_image_until(engine, spec, on_line, std::future::pending()).await
}

/// [`build_image`], given up when `stop` resolves: then the container of the
/// step under way is removed before this returns [`Error::Stopped`] (the
/// engine would remove it only some time after the client has gone).
pub async fn build_image_until(
    engine: &Engine,
    spec: &BuildSpec,
    mut on_line: impl FnMut(&str),
    stop: impl std::future::Future<Output = ()>,
) -> Result<Built, Error> {
    let context = context_tar(spec).map_err(|source| Error::Context { path: spec.context.clone(), source })?;
    // Every image stackbench builds carries IMAGE_LABEL, which `clean` looks for and nothing else.
    let mut labels = spec.labels.clone();
    labels.insert(crate::IMAGE_LABEL.to_string(), spec.tag.clone());
    let options = BuildImageOptionsBuilder::default()
        .dockerfile(&spec.dockerfile)
        .t(&spec.tag)
        .rm(true)
        // The legacy builder leaves the containers of failed steps behind unless told.
        .forcerm(true)
        .buildargs(&spec.build_args.clone().into_iter().collect())
        .labels(&labels)
        .build();
    let mut log = String::new();
    let mut failure = None;
    let mut stream = engine.docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut step_container: Option<String> = None;
    let mut stop = std::pin::pin!(stop);
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            () = &mut stop => {
                drop(stream);
                if let Some(id) = step_container {
                    engine.remove(&id).await?;
                }
                return Err(Error::Stopped(spec.tag.clone()));
            }
        };
        let Some(item) = item else { break };
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    log.push_str(&text);
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        if let Some(id) = line.trim().strip_prefix("---> Running in ") {
                            step_container = Some(id.to_string());
                        }
                        on_line(line);
                    }
                }
                if let Some(detail) = info.error_detail {
                    failure = Some(detail.message.unwrap_or_else(|| "unknown build error".into()));
                }
            }
            // The engine went away: that is not the build's failure.
            Err(e) if crate::unreachable(&e) => return Err(crate::api(format!("building {}", spec.tag))(e)),
            Err(e) => {
                failure = Some(match e {
                    bollard::errors::Error::DockerStreamError { error } => error,
                    other => other.to_string(),
                });
                break;
            }
        }
    }
    if let Some(message) = failure {
        log.push_str(&format!("\nerror: {message}\n"));
        let tail = tail_lines(&log, 15);
        return Err(BuildFailed { tag: spec.tag.clone(), message, tail, log }.into());
    }
    let image = engine.docker.inspect_image(&spec.tag).await.map_err(api(format!("inspecting image {}", spec.tag)))?;
    Ok(Built { image_id: image.id.unwrap_or_default(), log })
}

/// Adds the CA bundle after every `FROM` line.
fn with_ca(dockerfile: &str) -> String {
    let mut out = String::with_capacity(dockerfile.len() + 512);
    for line in dockerfile.lines() {
        out.push_str(line);
        out.push('\n');
        if line.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            out.push_str(&format!("COPY {CA_IN_CONTEXT} {IMAGE_CA_PATH}\n"));
            out.push_str(&format!(
                "ENV PIP_CERT={p} REQUESTS_CA_BUNDLE={p} SSL_CERT_FILE={p} CURL_CA_BUNDLE={p} NODE_EXTRA_CA_CERTS={p}\n",
                p = IMAGE_CA_PATH
            ));
        }
    }
    out
}

/// The build context as a tar, without what its `.dockerignore` leaves out,
/// with the Dockerfile's unused stages emptied and the CA added.
fn context_tar(spec: &BuildSpec) -> io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let ignored = dockerignore(&spec.context)?;
    append_dir(&mut tar, &spec.context, Path::new(""), &spec.dockerfile, &ignored)?;
    let dockerfile = std::fs::read_to_string(spec.context.join(&spec.dockerfile))?;
    let dockerfile = crate::dockerfile::without_unused_stages(&dockerfile, &spec.build_args);
    let dockerfile = match &spec.ca_bundle {
        Some(ca) => {
            append_bytes(&mut tar, CA_IN_CONTEXT, &std::fs::read(ca)?)?;
            with_ca(&dockerfile)
        }
        None => dockerfile,
    };
    append_bytes(&mut tar, &spec.dockerfile, dockerfile.as_bytes())?;
    tar.into_inner()
}

/// The context's `.dockerignore` as a matcher (nothing is left out without
/// one). Its patterns are relative to the context, as Docker reads them, so
/// each is anchored there (`foo` is the context's `foo`, not any `foo`).
fn dockerignore(context: &Path) -> io::Result<ignore::gitignore::Gitignore> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(context);
    let text = match std::fs::read_to_string(context.join(".dockerignore")) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (bang, pattern) = line.strip_prefix('!').map_or(("", line), |p| ("!", p));
        let pattern = pattern.trim_start_matches("./");
        let anchored = if pattern.starts_with('/') { pattern.to_string() } else { format!("/{pattern}") };
        builder.add_line(None, &format!("{bang}{anchored}")).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: '{line}': {e}", context.join(".dockerignore").display()),
            )
        })?;
    }
    builder.build().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

fn append_dir(
    tar: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    rel: &Path,
    skip: &str,
    ignored: &ignore::gitignore::Gitignore,
) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = rel.join(entry.file_name());
        let kind = entry.file_type()?;
        if ignored.matched(&name, kind.is_dir()).is_ignore() {
            continue;
        }
        if kind.is_dir() {
            append_dir(tar, &entry.path(), &name, skip, ignored)?;
        } else if name != Path::new(skip) {
            tar.append_path_with_name(entry.path(), &name)?;
        }
    }
    Ok(())
}

pub(crate) fn append_bytes(tar: &mut tar::Builder<Vec<u8>>, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, name, bytes)
}

pub(crate) fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_follows_every_from() {
        let out = with_ca("FROM debian:bookworm AS a\nRUN true\nFROM scratch\n");
        assert_eq!(out.matches("COPY .stackbench-ca.crt /etc/ssl/certs/stackbench-host-ca.crt").count(), 2);
        assert!(out.starts_with("FROM debian:bookworm AS a\nCOPY "));
        assert!(out.contains("PIP_CERT=/etc/ssl/certs/stackbench-host-ca.crt"));
    }

    /// What `.dockerignore` leaves out is not sent: patterns relative to the
    /// context (not any folder's), `**`, `!` exceptions; the Dockerfile always goes.
    #[test]
    fn the_context_leaves_out_what_dockerignore_says() {
        let dir = tempfile::tempdir().unwrap();
        for file in
            ["Dockerfile", "app.py", "notes.md", "results/r.json", "src/results/keep.py", "src/a.pyc", "docs/keep.md"]
        {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        std::fs::write(
            dir.path().join(".dockerignore"),
            "# comment\nresults\n**/*.pyc\n*.md\n!docs/keep.md\nDockerfile\n",
        )
        .unwrap();
        let spec = BuildSpec {
            context: dir.path().to_path_buf(),
            dockerfile: "Dockerfile".into(),
            tag: "t".into(),
            build_args: BTreeMap::new(),
            labels: Default::default(),
            ca_bundle: None,
        };
        let bytes = context_tar(&spec).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut names: Vec<String> =
            archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        names.sort();
        assert_eq!(names, [".dockerignore", "Dockerfile", "app.py", "docs/keep.md", "src/results/keep.py"]);
    }
}
