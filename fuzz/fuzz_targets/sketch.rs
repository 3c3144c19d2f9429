#![no_main]
// Entry point and what it reads: fuzz_targets::sketch (crates/fuzz-targets/src/lib.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_targets::sketch(data);
});
