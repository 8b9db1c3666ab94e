//! Thumbnails: the one place that scales and encodes them. Format modules hand back one preview image
//! (oriented, at least as large as the largest size asked for where the original allows); every size is
//! made from it here, largest first, each smaller one downscaled from the one before (cheaper than going
//! back to the preview, and as sharp at these ratios). Also the PNG encoding of `display_image`.

use crate::{Thumbnail, ThumbnailSpec};
use folio_core::{ExtractError, ExtractErrorKind, ThumbnailFormat};
use image::{imageops::FilterType, DynamicImage, ImageFormat};
use std::io::Cursor;

/// Every size of `spec` made from `preview`, largest first. A size larger than the preview gets the
/// preview as it is (never upscaled), so a 100 px image has a 100 px thumbnail under every size asked for:
/// each size asked for is there, whatever the original. Sizes of 0 are ignored; repeated sizes are made
/// once. An encoding failure (not expected for 8-bit pixels) drops that size, with a warning.
pub(crate) fn make_all(preview: &DynamicImage, spec: &ThumbnailSpec) -> Vec<Thumbnail> {
    let mut out = Vec::new();
    let mut current: Option<DynamicImage> = None;
    for side in spec.sizes_largest_first() {
        let source = current.as_ref().unwrap_or(preview);
        let scaled = fit(source, side);
        match encode(&scaled, spec.format) {
            Ok(bytes) => out.push(Thumbnail {
                max_side: side,
                width: scaled.width(),
                height: scaled.height(),
                format: spec.format,
                bytes,
            }),
            Err(e) => tracing::warn!("no {side} px thumbnail: {e}"),
        }
        current = Some(scaled);
    }
    out
}

/// `img` downscaled so its longest side is at most `max_side` (never upscaled), as 8-bit RGB or RGBA:
/// thumbnails and book figures gain nothing from 16 bits, and WebP takes only 8.
fn fit(img: &DynamicImage, max_side: u32) -> DynamicImage {
    let max_side = max_side.max(1);
    let scaled;
    let src = if img.width().max(img.height()) > max_side {
        scaled = img.resize(max_side, max_side, FilterType::Triangle);
        &scaled
    } else {
        img
    };
    match src {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => src.clone(),
        _ if src.color().has_alpha() => DynamicImage::ImageRgba8(src.to_rgba8()),
        _ => DynamicImage::ImageRgb8(src.to_rgb8()),
    }
}

/// Encode 8-bit pixels. WebP is lossless: the `image` crate (0.25) writes no lossy WebP.
fn encode(img: &DynamicImage, format: ThumbnailFormat) -> Result<Vec<u8>, ExtractError> {
    let image_format = match format {
        ThumbnailFormat::Png => ImageFormat::Png,
        ThumbnailFormat::Webp => ImageFormat::WebP,
    };
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image_format).map_err(|e| {
        ExtractError::new(ExtractErrorKind::Corrupt, format!("could not encode {}: {e}", format.as_str()))
    })?;
    Ok(out.into_inner())
}

/// Downscale `img` so its longest side is at most `max_side` (never upscale) and encode it as PNG.
/// Returns the PNG and its width and height.
pub(crate) fn png_fit(img: &DynamicImage, max_side: u32) -> Result<(Vec<u8>, u32, u32), ExtractError> {
    let scaled = fit(img, max_side);
    Ok((encode(&scaled, ThumbnailFormat::Png)?, scaled.width(), scaled.height()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn spec(sizes: &[u32], format: ThumbnailFormat) -> ThumbnailSpec {
        ThumbnailSpec { sizes: sizes.to_vec(), format }
    }

    #[test]
    fn every_size_largest_first_never_upscaled() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(2000, 1000, |x, y| Rgb([x as u8, y as u8, 7])));
        let thumbs = make_all(&img, &spec(&[256, 1024, 0, 256], ThumbnailFormat::Png));
        let got: Vec<(u32, u32, u32)> = thumbs.iter().map(|t| (t.max_side, t.width, t.height)).collect();
        assert_eq!(got, [(1024, 1024, 512), (256, 256, 128)]);
        for t in &thumbs {
            let back = image::load_from_memory_with_format(&t.bytes, ImageFormat::Png).unwrap();
            assert_eq!((back.width(), back.height()), (t.width, t.height));
        }
        let small = DynamicImage::ImageRgb8(RgbImage::new(100, 40));
        let thumbs = make_all(&small, &spec(&[256, 1024], ThumbnailFormat::Webp));
        let got: Vec<(u32, u32, u32)> = thumbs.iter().map(|t| (t.max_side, t.width, t.height)).collect();
        assert_eq!(got, [(1024, 100, 40), (256, 100, 40)]);
        assert!(make_all(&small, &spec(&[], ThumbnailFormat::Png)).is_empty());
    }

    #[test]
    fn webp_is_webp() {
        let img = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(300, 200, Rgb([40_000u16, 0, 9])));
        let thumbs = make_all(&img, &spec(&[64], ThumbnailFormat::Webp));
        assert_eq!(thumbs.len(), 1);
        assert_eq!(image::guess_format(&thumbs[0].bytes).unwrap(), ImageFormat::WebP);
        let back = image::load_from_memory_with_format(&thumbs[0].bytes, ImageFormat::WebP).unwrap();
        assert_eq!((back.width(), back.height()), (64, 43));
    }
}
