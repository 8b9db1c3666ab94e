//! Fuzz the DOCX path: zip part reading under the size/ratio limits and the quick-xml walkers.
//!
//! Calls `folio_extract::fuzzing::docx`, which skips the `catch_unwind` guard of `extract_bytes`: a
//! panic must reach libFuzzer as a crash, not be turned into a `crashed` record.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    folio_extract::fuzzing::docx(data);
});
