//! Fuzz the image path: decoding under limits, EXIF orientation, GIF frame and TIFF directory counting.
//!
//! Calls `folio_extract::fuzzing::image`, which skips the `catch_unwind` guard of `extract_bytes`: a
//! panic must reach libFuzzer as a crash, not be turned into a `crashed` record.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    folio_extract::fuzzing::image(data);
});
