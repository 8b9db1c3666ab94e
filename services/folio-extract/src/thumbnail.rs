//! Downscaling and PNG encoding of decoded images, shared by image thumbnails and `display_image`.

use folio_core::{ExtractError, ExtractErrorKind};
use image::{imageops::FilterType, DynamicImage, ImageFormat};
use std::io::Cursor;

/// Downscale `img` so its longest side is at most `max_side` (never upscale) and encode it as PNG.
/// Returns the PNG and its width and height. Pixels are converted to 8-bit RGB(A) first: PNG can hold
/// 16-bit, but thumbnails and book figures gain nothing from it.
pub(crate) fn png_fit(img: &DynamicImage, max_side: u32) -> Result<(Vec<u8>, u32, u32), ExtractError> {
    let max_side = max_side.max(1);
    let (w, h) = (img.width(), img.height());
    let scaled;
    let src = if w.max(h) > max_side {
        scaled = img.resize(max_side, max_side, FilterType::Triangle);
        &scaled
    } else {
        img
    };
    let eight_bit = if src.color().has_alpha() {
        DynamicImage::ImageRgba8(src.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(src.to_rgb8())
    };
    let mut out = Cursor::new(Vec::new());
    eight_bit
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| ExtractError::new(ExtractErrorKind::Corrupt, format!("could not encode PNG: {e}")))?;
    Ok((out.into_inner(), eight_bit.width(), eight_bit.height()))
}
