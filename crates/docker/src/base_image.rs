//! The images Dockerfiles start from: found, pulled, or, for Debian images
//! when no registry answers, built offline with debootstrap and imported.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::{api, Engine, Error};

/// How a base image came to be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseImage {
    Present,
    Pulled,
    BuiltOffline,
}

/// Makes sure `image` exists in the engine, calling `on_line` with progress.
pub async fn ensure_base_image(
    engine: &Engine,
    image: &str,
    mut on_line: impl FnMut(&str),
) -> Result<BaseImage, Error> {
    if engine.docker.inspect_image(image).await.is_ok() {
        return Ok(BaseImage::Present);
    }
    let (repo, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
    on_line(&format!("base image {image} is not here; trying to pull it"));
    let options = CreateImageOptionsBuilder::default().from_image(repo).tag(tag).build();
    let mut pull = engine.docker.create_image(Some(options), None, None);
    let mut pull_error = None;
    while let Some(item) = pull.next().await {
        if let Err(e) = item {
            pull_error = Some(e.to_string());
            break;
        }
    }
    if pull_error.is_none() && engine.docker.inspect_image(image).await.is_ok() {
        return Ok(BaseImage::Pulled);
    }
    let reason = pull_error.unwrap_or_else(|| "the pull gave no image".into());
    let Some(suite) = debian_suite(repo, tag) else {
        return Err(Error::BaseImage {
            image: image.into(),
            reason: format!(
                "it cannot be pulled ({reason}) and only debian:<suite> images can be built offline; \
                 start the Dockerfile from debian:bookworm, or load the image into the engine yourself"
            ),
        });
    };
    on_line(&format!("pull failed ({reason}); building {image} offline with debootstrap (about a minute, once)"));
    build_offline(engine, image, repo, tag, suite, &mut on_line).await?;
    Ok(BaseImage::BuiltOffline)
}

/// `debian:bookworm`, `debian:bookworm-slim` -> `bookworm`.
fn debian_suite<'a>(repo: &str, tag: &'a str) -> Option<&'a str> {
    let suite = tag.strip_suffix("-slim").unwrap_or(tag);
    let known = ["bullseye", "bookworm", "trixie"];
    (matches!(repo, "debian" | "docker.io/library/debian" | "library/debian") && known.contains(&suite))
        .then_some(suite)
}

async fn build_offline(
    engine: &Engine,
    image: &str,
    repo: &str,
    tag: &str,
    suite: &str,
    on_line: &mut impl FnMut(&str),
) -> Result<(), Error> {
    let fail = |reason: String| Error::BaseImage { image: image.into(), reason };
    if !on_path("debootstrap") {
        return Err(fail(
            "it cannot be pulled and `debootstrap` is not installed (apt-get install debootstrap)".into(),
        ));
    }
    let mirror = debian_mirror();
    let rootfs = RootFs(crate::temporary::path("rootfs", &format!("{suite}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&rootfs.0);
    on_line(&format!("debootstrap --variant=minbase {suite} {} {mirror}", rootfs.0.display()));
    // Its own process group, so that giving up (a dropped future) stops every
    // process it started, not just the first.
    let mut child = tokio::process::Command::new("debootstrap")
        .args(["--variant=minbase", suite])
        .arg(&rootfs.0)
        .arg(&mirror)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot start debootstrap: {e}")))?;
    let _group = child.id().map(ProcessGroup);
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut last = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.starts_with("I: Retrieving") || line.starts_with("I: Validating") {
            continue;
        }
        on_line(&line);
        last.push(line);
    }
    let mut stderr = String::new();
    let _ = child.stderr.take().expect("piped").read_to_string(&mut stderr).await;
    let status = child.wait().await.map_err(|e| fail(format!("debootstrap: {e}")))?;
    if !status.success() {
        let tail = last.iter().rev().take(10).rev().cloned().collect::<Vec<_>>().join("\n");
        return Err(fail(format!("debootstrap failed ({status}) with mirror {mirror}:\n{tail}\n{stderr}")));
    }
    on_line(&format!("importing the root file system as {image}"));
    let mut tar = tokio::process::Command::new("tar")
        .arg("-C")
        .arg(&rootfs.0)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot start tar: {e}")))?;
    let stdout = tar.stdout.take().expect("piped");
    let body = futures_util::stream::unfold(stdout, |mut out| async move {
        let mut buf = vec![0u8; 1 << 20];
        match out.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), out))
            }
            Err(e) => Some((Err(e), out)),
        }
    });
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(vec!["CMD [\"bash\"]".to_string()])
        .build();
    let mut import = engine.docker.create_image(Some(options), Some(bollard::body_try_stream(body)), None);
    while let Some(item) = import.next().await {
        item.map_err(api(format!("importing {image}")))?;
    }
    let _ = tar.wait().await;
    engine.docker.inspect_image(image).await.map_err(api(format!("inspecting imported {image}")))?;
    Ok(())
}

/// The Debian mirror this machine's apt uses, so that debootstrap goes where apt can.
fn debian_mirror() -> String {
    let deb822 = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let from_deb822 = deb822.split("\n\n").find_map(|stanza| {
        let field = |name: &str| stanza.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()));
        let suites = field("Suites:")?;
        let uri = field("URIs:")?;
        (!suites.contains("security")).then(|| uri.split_whitespace().next().unwrap_or_default().to_string())
    });
    let from_list = || {
        let list = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
        list.lines().find_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words.first() == Some(&"deb") && !l.contains("security")).then(|| words.get(1).map(|s| s.to_string()))?
        })
    };
    from_deb822.or_else(from_list).unwrap_or_else(|| "http://deb.debian.org/debian".to_string())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// A temporary root file system, removed when dropped.
struct RootFs(PathBuf);

impl Drop for RootFs {
    fn drop(&mut self) {
        remove_tree(&self.0);
    }
}

/// Removes a folder that file systems may still be mounted in (debootstrap's
/// `proc` and `sys` when it was stopped before its own clean-up, an engine's
/// namespaces): those are detached first, so that nothing outside the tree
/// is walked into.
pub fn remove_tree(path: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for point in mounts_under(&mounts, path) {
        if let Ok(point) = std::ffi::CString::new(point.into_os_string().into_encoded_bytes()) {
            // SAFETY: a NUL-terminated path; MNT_DETACH only unhooks that mount.
            unsafe { libc::umount2(point.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let _ = std::fs::remove_dir_all(path);
}

/// Mount points at or below `dir` in a `/proc/self/mounts` text, deepest first.
fn mounts_under(mounts: &str, dir: &Path) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        // Spaces and tabs in mount points are written as octal escapes.
        .map(|p| PathBuf::from(p.replace("\\040", " ").replace("\\011", "\t")))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points
}

/// The process group of a child that leads its own; killed when dropped.
struct ProcessGroup(u32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: signals a process group this process created; a finished one is ESRCH, ignored.
        unsafe { libc::kill(-(self.0 as i32), libc::SIGKILL) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_below_a_tree_deepest_first() {
        let mounts = "proc /proc proc rw 0 0
proc /tmp/rootfs/proc proc rw 0 0
sysfs /tmp/rootfs/sys sysfs rw 0 0
udev /tmp/rootfs/dev/pts devpts rw 0 0
tmpfs /tmp/rootfs-other tmpfs rw 0 0
tmpfs /tmp/rootfs/with\\040space tmpfs rw 0 0
";
        let got = mounts_under(mounts, Path::new("/tmp/rootfs"));
        let got: Vec<&str> = got.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(got, ["/tmp/rootfs/dev/pts", "/tmp/rootfs/proc", "/tmp/rootfs/sys", "/tmp/rootfs/with space"]);
    }

    #[test]
    fn debian_suites() {
        assert_eq!(debian_suite("debian", "bookworm"), Some("bookworm"));
        assert_eq!(debian_suite("debian", "bullseye-slim"), Some("bullseye"));
        assert_eq!(debian_suite("python", "3.11"), None);
        assert_eq!(debian_suite("debian", "sid"), None);
    }
}
