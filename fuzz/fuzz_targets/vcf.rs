#![no_main]
// Entry point and what it reads: fuzz_targets::vcf (crates/fuzz-targets/src/lib.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_targets::vcf(data);
});
