//! The generator's HTTP/2 framing (`loadgen::h2`): any bytes from a server, in one read or many, give the
//! same events, the same error and the same frames in answer, and never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| loadgen::h2::fuzzing::check(data));
