//! One run at a time on a CPU: a lock file per CPU of this machine a run
//! measures on, held (`flock`) for the run's length and naming its holder.
//! The kernel drops the lock when the process ends, even by `kill -9`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Where the lock files are: `/run/lock/stackbench` where the system has
/// `/run/lock`, else a folder in the temporary directory.
pub fn lock_dir() -> PathBuf {
    let run_lock = Path::new("/run/lock");
    if run_lock.is_dir() {
        run_lock.join("stackbench")
    } else {
        std::env::temp_dir().join("stackbench-locks")
    }
}

/// The CPUs a run holds, released when dropped.
#[derive(Debug)]
pub struct CpuLocks {
    _files: Vec<File>,
}

#[derive(Debug, thiserror::Error)]
pub enum CpuLockError {
    /// Another run holds it; `holder` is what that run wrote in its lock file.
    #[error("CPU {cpu} is in use by another stackbench run ({holder})")]
    Busy { cpu: usize, holder: String },
    #[error("cannot use the CPU lock file {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl CpuLocks {
    /// Takes the lock of each of `cpus` in `dir`, lowest first (two runs
    /// never hold one each of two CPUs both want), and writes `holder` into
    /// each. A CPU another run holds is `Busy`, naming that run; the locks
    /// taken before it are released.
    pub fn try_acquire(dir: &Path, cpus: &[usize], holder: &str) -> Result<CpuLocks, CpuLockError> {
        std::fs::create_dir_all(dir).map_err(|source| CpuLockError::Io { path: dir.to_path_buf(), source })?;
        let mut cpus = cpus.to_vec();
        cpus.sort_unstable();
        cpus.dedup();
        let mut files = Vec::new();
        for cpu in cpus {
            let path = dir.join(format!("cpu-{cpu}.lock"));
            let io = |source| CpuLockError::Io { path: path.clone(), source };
            let mut file =
                OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut other = String::new();
                    let _ = file.read_to_string(&mut other);
                    let other = other.trim();
                    let holder = if other.is_empty() { "which has not said who it is yet" } else { other };
                    return Err(CpuLockError::Busy { cpu, holder: holder.to_string() });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(holder.as_bytes()))
                .map_err(io)?;
            files.push(file);
        }
        Ok(CpuLocks { _files: files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CPU held is refused to a second taker, who learns who holds it and
    /// keeps none of the others; released, it can be taken again.
    #[test]
    fn a_held_cpu_is_refused_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = CpuLocks::try_acquire(dir.path(), &[1, 0], "pid 7, scenario a").unwrap();
        match CpuLocks::try_acquire(dir.path(), &[2, 1], "pid 8, scenario b") {
            Err(CpuLockError::Busy { cpu: 1, holder }) => assert_eq!(holder, "pid 7, scenario a"),
            other => panic!("{other:?}"),
        }
        // CPU 2 was taken before CPU 1 refused, and given back.
        let third = CpuLocks::try_acquire(dir.path(), &[2], "pid 9, scenario c").unwrap();
        drop((first, third));
        CpuLocks::try_acquire(dir.path(), &[0, 1, 2], "pid 10, scenario d").unwrap();
    }
}
