//! What stackbench made on an engine, removed: the containers of runs that
//! are gone and the images it built; and how full the engine's disk is.
//!
//! Only what carries stackbench's labels is touched ([`RUN_LABEL`] on
//! containers, [`IMAGE_LABEL`] on images), and of images only those whose own
//! build set the label: a user's image built `FROM stackbench/base-python`
//! inherits the label with the base's value, and is left alone.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder};

use crate::{api, is_not_found, process_alive, Engine, Error, IMAGE_LABEL, PID_LABEL, RUN_LABEL};

/// What [`Engine::clean`] removed and what it left, and why.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Containers of runs whose process is gone.
    pub containers: Vec<String>,
    /// Images removed (a tag, or the id of an untagged one).
    pub images: Vec<String>,
    /// Containers of runs still going, left alone.
    pub running: Vec<String>,
    /// Images a container still uses, left alone.
    pub in_use: Vec<String>,
    /// Images named `stackbench/...` without [`IMAGE_LABEL`] (built before it
    /// was added, or by someone else): left alone.
    pub unlabelled: Vec<String>,
    /// Images that carry [`IMAGE_LABEL`] only because they start FROM an image
    /// stackbench built (not built by stackbench): left alone.
    pub inherited: Vec<String>,
    /// Bytes its disk gained (`None` for an engine on another machine).
    pub freed: Option<u64>,
}

/// The file system an engine keeps its images on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    pub path: PathBuf,
    pub free: u64,
    pub total: u64,
}

/// Less free than this on an engine's disk is nearly full: one build of a
/// Python stack takes up to 1 GiB, and a full disk fails a build half-way.
pub const DISK_LOW_FREE: u64 = 5 << 30;

impl Disk {
    /// Less than [`DISK_LOW_FREE`] left, or less than a tenth.
    pub fn nearly_full(&self) -> bool {
        self.free < DISK_LOW_FREE || self.free < self.total / 10
    }
}

impl std::fmt::Display for Disk {
    /// `/var/lib/docker: 3.7 GiB free of 252.0 GiB`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        write!(f, "{}: {:.1} GiB free of {:.1} GiB", self.path.display(), gib(self.free), gib(self.total))
    }
}

impl Engine {
    /// Removes the containers of runs whose process is gone, then every image
    /// stackbench built ([`IMAGE_LABEL`] set by its own build) that no container uses.
    pub async fn clean(&self) -> Result<Cleaned, Error> {
        let before = self.disk().await;
        let mut cleaned = Cleaned { containers: self.reap().await?, ..Cleaned::default() };
        let filters = HashMap::from([("label".to_string(), vec![RUN_LABEL.to_string()])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        for c in self.docker.list_containers(Some(options)).await.map_err(api("listing containers"))? {
            let labels = c.labels.unwrap_or_default();
            let pid = labels.get(PID_LABEL).and_then(|p| p.parse::<i32>().ok()).filter(|&p| process_alive(p));
            let name = c.names.and_then(|n| n.first().cloned()).unwrap_or_default();
            cleaned.running.push(format!("{} (pid {})", name.trim_start_matches('/'), pid.unwrap_or(0)));
        }
        let filters = HashMap::from([("label".to_string(), vec![IMAGE_LABEL.to_string()])]);
        let options = ListImagesOptionsBuilder::default().filters(&filters).build();
        let images = self.docker.list_images(Some(options)).await.map_err(api("listing images"))?;
        for image in images {
            let tags: Vec<String> = image.repo_tags.into_iter().filter(|t| t != "<none>:<none>").collect();
            // An untagged image goes by its id; a tagged one tag by tag (the last tag removes it).
            let names = if tags.is_empty() { vec![image.id.clone()] } else { tags };
            if !self.built_by_stackbench(&image.id).await? {
                cleaned.inherited.extend(names);
                continue;
            }
            for name in names {
                let options = RemoveImageOptionsBuilder::default().force(false).build();
                match self.docker.remove_image(&name, Some(options), None).await {
                    Ok(_) => cleaned.images.push(name),
                    Err(e) if is_not_found(&e) => {}
                    Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
                        cleaned.in_use.push(name);
                    }
                    Err(e) => return Err(api(format!("removing image {name}"))(e)),
                }
            }
        }
        let options = ListImagesOptionsBuilder::default().build();
        for image in self.docker.list_images(Some(options)).await.map_err(api("listing images"))? {
            if image.labels.contains_key(IMAGE_LABEL) {
                continue;
            }
            if let Some(tag) = image.repo_tags.iter().find(|t| t.starts_with("stackbench/")) {
                cleaned.unlabelled.push(tag.clone());
            }
        }
        cleaned.freed = before.zip(self.disk().await).map(|(before, after)| after.free.saturating_sub(before.free));
        Ok(cleaned)
    }

    /// Whether stackbench built image `id`, not only an image it starts FROM: its build's last steps are
    /// the steps that set stackbench's labels (the legacy builder adds a build's labels as `LABEL` steps
    /// at its end), the one that sets [`IMAGE_LABEL`] among them. A user's image built on one of
    /// stackbench's carries the label too, through its base, but its own last step is another.
    async fn built_by_stackbench(&self, id: &str) -> Result<bool, Error> {
        let history = self.docker.image_history(id).await.map_err(api(format!("reading the history of image {id}")))?;
        let sets_image_label = format!("LABEL {IMAGE_LABEL}=");
        for layer in &history {
            if !layer.created_by.contains("LABEL stackbench.") {
                return Ok(false);
            }
            if layer.created_by.contains(&sets_image_label) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// How full the disk of this engine's images is; none for an engine on
    /// another machine, whose file systems cannot be read from here.
    pub async fn disk(&self) -> Option<Disk> {
        if !self.is_local() {
            return None;
        }
        let root = self.docker.info().await.ok()?.docker_root_dir?;
        let path = std::ffi::CString::new(root.clone()).ok()?;
        // SAFETY: an all-zero statvfs is valid; statvfs only writes to it, for a NUL-terminated path.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
            return None;
        }
        let block = stat.f_frsize as u64;
        Some(Disk {
            path: PathBuf::from(root),
            free: stat.f_bavail as u64 * block,
            total: stat.f_blocks as u64 * block,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearly_full_is_little_left_in_bytes_or_in_share() {
        let disk =
            |free: u64, total: u64| Disk { path: "/var/lib/docker".into(), free: free << 30, total: total << 30 };
        assert!(disk(3, 252).nearly_full());
        assert!(disk(8, 100).nearly_full(), "under a tenth");
        assert!(!disk(42, 252).nearly_full());
        assert_eq!(disk(42, 252).to_string(), "/var/lib/docker: 42.0 GiB free of 252.0 GiB");
    }
}
