//! The run sequence against the real engine (`cargo xtask test` starts one):
//! a tiny server image built, limited, verified, loaded and cleaned up.

mod util;

mod faults;
mod runs;
