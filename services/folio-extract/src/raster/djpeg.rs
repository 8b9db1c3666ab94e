//! Arithmetic-coded JPEGs, decoded with libjpeg-turbo's `djpeg` run as a child process (see
//! [`crate::tools`]). The `image` crate's JPEG decoder reads only Huffman-coded files; arithmetic coding
//! (SOF9–SOF11) is rare but legal, and libjpeg-turbo reads it. `djpeg` writes a PPM (colour) or PGM (grey)
//! file, which the `image` crate reads back under the same limits as any image.

use folio_core::{ExtractError, ExtractErrorKind};
use image::{DynamicImage, ImageFormat, ImageReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The decoder binary; looked up on `PATH`, or `FOLIO_DJPEG` when set.
fn djpeg() -> std::ffi::OsString {
    std::env::var_os("FOLIO_DJPEG").unwrap_or_else(|| "djpeg".into())
}

/// Decode the JPEG `bytes` with djpeg within `timeout`; `limits` bounds the decoded image as in
/// [`crate::raster::decode`]. No orientation is applied.
pub(crate) fn decode(bytes: &[u8], limits: image::Limits, timeout: Duration) -> Result<DynamicImage, ExtractError> {
    decode_with(&djpeg(), bytes, limits, timeout)
}

fn decode_with(
    program: &std::ffi::OsStr,
    bytes: &[u8],
    limits: image::Limits,
    timeout: Duration,
) -> Result<DynamicImage, ExtractError> {
    let failed = |why: String| ExtractError::new(ExtractErrorKind::Io, why);
    let dir = tempfile::tempdir().map_err(|e| failed(format!("temporary directory: {e}")))?;
    let input = dir.path().join("in.jpg");
    let output = dir.path().join("out.pnm");
    std::fs::write(&input, bytes).map_err(|e| failed(format!("writing temporary JPEG: {e}")))?;
    let mut cmd = Command::new(program);
    cmd.arg("-pnm").arg("-outfile").arg(&output).arg(&input);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let (status, _) = match crate::tools::run(&mut cmd, "djpeg", timeout) {
        Ok(done) => done,
        Err(why) if why.starts_with("cannot run") => {
            return Err(ExtractError::new(
                ExtractErrorKind::UnsupportedFormat,
                format!("an arithmetic-coded JPEG needs djpeg, which is missing ({why}): install libjpeg-turbo-progs"),
            ));
        }
        Err(why) if why.contains("took longer") => return Err(ExtractError::new(ExtractErrorKind::Timeout, why)),
        Err(why) => return Err(failed(why)),
    };
    if !status.success() {
        return Err(ExtractError::new(
            ExtractErrorKind::Corrupt,
            format!("the arithmetic-coded JPEG could not be decoded (djpeg exited with {status})"),
        ));
    }
    let mut reader = ImageReader::open(&output).map_err(|e| failed(format!("djpeg wrote no image: {e}")))?;
    reader.set_format(ImageFormat::Pnm);
    reader.limits(limits);
    reader.decode().map_err(|e| {
        ExtractError::new(ExtractErrorKind::Corrupt, format!("djpeg's output of the JPEG does not decode: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_djpeg_says_what_to_install() {
        let program = std::ffi::OsStr::new("/nonexistent/djpeg");
        let jpeg = include_bytes!("../../tests/fixtures/arithmetic.jpg");
        let e = decode_with(program, jpeg, image::Limits::default(), Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind, ExtractErrorKind::UnsupportedFormat);
        assert!(e.message.contains("install libjpeg-turbo-progs"), "{}", e.message);
    }
}
