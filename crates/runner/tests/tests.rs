//! The run sequence: against the real engine (`cargo xtask test` starts one),
//! a tiny server image built, limited, verified, loaded and cleaned up; and
//! against a fake engine (`sequencing`), the order of steps and the faults.

mod util;

mod fake;
mod faults;
mod runs;
mod sequencing;
mod tls;
