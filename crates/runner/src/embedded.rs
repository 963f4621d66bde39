//! Build contexts carried in the binary, so that it works outside this
//! repository: the project base images of `docker/base-*/` (a project without
//! its own `docker/base-NAME/` gets these) and the profiler's.

/// A build context: each file's name and text.
pub(crate) type Files = &'static [(&'static str, &'static str)];

/// The base images built in, by name (`base-python` for `FROM stackbench/base-python[:TAG]`).
const BASES: &[(&str, Files)] = &[(
    "base-python",
    &[
        ("Dockerfile", include_str!("../../../docker/base-python/Dockerfile")),
        ("requirements.txt", include_str!("../../../docker/base-python/requirements.txt")),
        ("benchlib.py", include_str!("../../../docker/base-python/benchlib.py")),
    ],
)];

/// The built-in context of base image `name`, if there is one.
pub(crate) fn base(name: &str) -> Option<Files> {
    BASES.iter().find(|(n, _)| *n == name).map(|(_, files)| *files)
}

/// The names of the base images built in, for messages.
pub(crate) fn base_names() -> Vec<&'static str> {
    BASES.iter().map(|(name, _)| *name).collect()
}

/// `files` written to a new temporary folder (`docker::temporary`, which
/// `stackbench clean` removes if a run is killed before it does).
pub(crate) fn write(purpose: &str, files: Files) -> std::io::Result<tempfile::TempDir> {
    let dir = docker::temporary::folder(purpose)?;
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text)?;
    }
    Ok(dir)
}
