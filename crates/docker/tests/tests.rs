//! The Docker path for real: these tests need a running engine (`cargo xtask
//! test` starts one). They build a tiny image, run it with limits, read its
//! cgroup, and check that nothing is left behind.

mod util;

mod build;
mod containers;
