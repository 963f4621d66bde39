//! stackbench's temporary folders: made here, under one prefix, so that
//! `stackbench clean` finds every one a killed run left and nothing else
//! (not the CPU locks' folder, not a user's files).

use std::path::PathBuf;

/// Every temporary folder stackbench makes is named `stackbench-tmp-PURPOSE-...`.
pub const PREFIX: &str = "stackbench-tmp-";

/// The prefixes of temporary folders before [`PREFIX`] (the debootstrap root,
/// the generator's, the profiler's and the built-in base's contexts), so that
/// `clean` still finds what an older version left.
const EARLIER: [&str; 4] =
    ["stackbench-rootfs-", "stackbench-generator-", "stackbench-profiler-", "stackbench-base-python-"];

/// A new temporary folder for `purpose` (`generator`, `profiler`, `base-python`), removed when dropped.
pub fn folder(purpose: &str) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix(&format!("{PREFIX}{purpose}-")).tempdir()
}

/// The path of temporary folder `name` for `purpose`, for one whose name is chosen (and made) by the caller.
pub fn path(purpose: &str, name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{PREFIX}{purpose}-{name}"))
}

/// Whether a folder in the temporary folder named `name` is one of stackbench's.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(PREFIX) || EARLIER.iter().any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_made_here_is_found_and_nothing_else() {
        let made = folder("profiler").unwrap();
        let name = made.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("stackbench-tmp-profiler-") && is_temporary(&name), "{name}");
        let rootfs = path("rootfs", "bookworm-42");
        assert!(is_temporary(rootfs.file_name().unwrap().to_str().unwrap()));
        assert!(is_temporary("stackbench-base-python-x1Y2z3"), "an older version's");
        for other in ["stackbench-locks", "stackbench-results", "stackbench", "my-stackbench-tmp-x"] {
            assert!(!is_temporary(other), "{other}");
        }
    }
}
