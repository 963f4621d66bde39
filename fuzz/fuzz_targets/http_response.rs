//! The load generator's response parser (the hot path): any bytes, in one read
//! or many, give the same responses or the same error, and never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| loadgen::http::fuzzing::check(data));
