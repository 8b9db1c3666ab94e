//! Fuzz the PDF path: lopdf loading, xref repair, the page text walker, Info metadata.
//!
//! Calls `folio_extract::fuzzing::pdf`, which skips the `catch_unwind` guard of `extract_bytes`: a
//! panic must reach libFuzzer as a crash, not be turned into a `crashed` record.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    folio_extract::fuzzing::pdf(data);
});
