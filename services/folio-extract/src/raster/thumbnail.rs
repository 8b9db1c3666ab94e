//! Thumbnails: the one place that scales and encodes them. Format modules hand back one preview image
//! (oriented, at least as large as the largest size asked for where the original allows); every size is
//! made from it here, largest first, each smaller one downscaled from the one before (cheaper than going
//! back to the preview, and as sharp at these ratios), each in the fewest 8-bit channels that hold its pixels
//! (a rendered page: grey, without alpha). Also the PNG encoding of `display_image`.

use crate::{Thumbnail, ThumbnailSpec};
use folio_core::{ExtractError, ExtractErrorKind, ThumbnailFormat};
use image::{imageops::FilterType, DynamicImage, ImageFormat};
use std::borrow::Cow;
use std::io::Cursor;

/// Every size of `spec` made from `preview`, largest first. A size larger than the preview gets the
/// preview as it is (never upscaled), so a 100 px image has a 100 px thumbnail under every size asked for:
/// each size asked for is there, whatever the original. Sizes of 0 are ignored; repeated sizes are made
/// once. An encoding failure (not expected for 8-bit pixels) drops that size, with a warning.
pub(crate) fn make_all(preview: &DynamicImage, spec: &ThumbnailSpec) -> Vec<Thumbnail> {
    let mut out = Vec::new();
    // Reduced once, before any scaling: a grey page is scaled and encoded as one channel, not four.
    let reduced = fewest_channels(preview);
    let base = reduced.as_ref().unwrap_or(preview);
    let mut current: Option<DynamicImage> = None;
    for side in spec.sizes_largest_first() {
        let source = current.as_ref().unwrap_or(base);
        let scaled = scale(source, side);
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
        if let Cow::Owned(scaled) = scaled {
            current = Some(scaled);
        }
    }
    out
}

/// `img` downscaled so its longest side is at most `max_side` (never upscaled), its aspect kept.
fn scale(img: &DynamicImage, max_side: u32) -> Cow<'_, DynamicImage> {
    let max_side = max_side.max(1);
    if img.width().max(img.height()) <= max_side {
        return Cow::Borrowed(img);
    }
    let (w, h) = fit(img.width(), img.height(), max_side);
    Cow::Owned(resample(img, w, h).unwrap_or_else(|| img.resize_exact(w, h, FilterType::Triangle)))
}

/// The size of a `width` x `height` picture fitted within `max_side` x `max_side`, rounded (as the image
/// crate's `resize` does), at least 1 px a side.
fn fit(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let ratio = f64::from(max_side) / f64::from(width.max(height).max(1));
    let side = |n: u32| ((f64::from(n) * ratio).round() as u32).clamp(1, max_side);
    (side(width), side(height))
}

/// `img` resampled to `w` x `h` by a triangle filter (the image crate's `Triangle`, a tent as wide as the
/// scale) with fast_image_resize's SIMD convolution, for the 8-bit layouts thumbnails are made in (colour
/// averaged by its alpha where it has one); `None` for other layouts. The image crate's own resampling took
/// 60% of a 2-megapixel photograph's time in the parser (two thumbnails).
fn resample(img: &DynamicImage, w: u32, h: u32) -> Option<DynamicImage> {
    use fast_image_resize::{
        images::Image, images::ImageRef, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    };
    let (pixel, raw) = match img {
        DynamicImage::ImageLuma8(i) => (PixelType::U8, i.as_raw()),
        DynamicImage::ImageLumaA8(i) => (PixelType::U8x2, i.as_raw()),
        DynamicImage::ImageRgb8(i) => (PixelType::U8x3, i.as_raw()),
        DynamicImage::ImageRgba8(i) => (PixelType::U8x4, i.as_raw()),
        _ => return None,
    };
    let source = ImageRef::new(img.width(), img.height(), raw, pixel).ok()?;
    let mut scaled = Image::new(w, h, pixel);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&source, &mut scaled, &options).ok()?;
    let raw = scaled.into_vec();
    Some(match pixel {
        PixelType::U8 => DynamicImage::ImageLuma8(image::ImageBuffer::from_raw(w, h, raw)?),
        PixelType::U8x2 => DynamicImage::ImageLumaA8(image::ImageBuffer::from_raw(w, h, raw)?),
        PixelType::U8x3 => DynamicImage::ImageRgb8(image::ImageBuffer::from_raw(w, h, raw)?),
        _ => DynamicImage::ImageRgba8(image::ImageBuffer::from_raw(w, h, raw)?),
    })
}

/// `img` in the fewest 8-bit channels that hold its pixels exactly, or `None` where it already is. 16 bits
/// become 8 (thumbnails and book figures gain nothing from them, and WebP takes only 8); an alpha channel in
/// which every pixel is opaque (a rendered page's always is) is dropped; red, green and blue equal in every
/// pixel (a page of black text) become one grey channel. Nothing is lost at 8 bits, and a page's PNG is a
/// half to a sixth of its four-channel one, made and handed on in less time.
pub(crate) fn fewest_channels(img: &DynamicImage) -> Option<DynamicImage> {
    match img {
        DynamicImage::ImageLuma8(_) => None,
        DynamicImage::ImageLumaA8(la) => {
            let raw = la.as_raw();
            let opaque = raw.chunks_exact(2).all(|p| p[1] == u8::MAX);
            opaque.then(|| luma(la.width(), la.height(), raw.chunks_exact(2).map(|p| p[0]).collect())).flatten()
        }
        DynamicImage::ImageRgb8(rgb) => {
            let raw = rgb.as_raw();
            let grey = raw.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]);
            grey.then(|| luma(rgb.width(), rgb.height(), raw.chunks_exact(3).map(|p| p[0]).collect())).flatten()
        }
        DynamicImage::ImageRgba8(rgba) => fewer_than_rgba(rgba),
        other => {
            // More than 8 bits a channel (or floats): 8 bits, then as few channels as they allow.
            let color = other.color();
            let eight = match (color.has_color(), color.has_alpha()) {
                (false, false) => DynamicImage::ImageLuma8(other.to_luma8()),
                (false, true) => DynamicImage::ImageLumaA8(other.to_luma_alpha8()),
                (true, false) => DynamicImage::ImageRgb8(other.to_rgb8()),
                (true, true) => DynamicImage::ImageRgba8(other.to_rgba8()),
            };
            Some(fewest_channels(&eight).unwrap_or(eight))
        }
    }
}

/// A grey image of one byte a pixel (`None` only where `raw` is not `width` x `height` bytes, which the
/// callers' one byte taken from each pixel rules out).
fn luma(width: u32, height: u32, raw: Vec<u8>) -> Option<DynamicImage> {
    image::GrayImage::from_raw(width, height, raw).map(DynamicImage::ImageLuma8)
}

/// An RGBA image as RGB, grey, or grey with alpha, where its pixels allow; `None` where they need all four.
/// One pass that stops at the first block showing both colour and transparency (a photograph's first rows).
fn fewer_than_rgba(rgba: &image::RgbaImage) -> Option<DynamicImage> {
    let raw = rgba.as_raw();
    let (mut opaque, mut grey) = (true, true);
    // Blocks of 1,024 pixels checked without a branch each, so the loop vectorises.
    for block in raw.chunks(4 * 1024) {
        let (mut all_opaque, mut all_grey) = (true, true);
        for p in block.chunks_exact(4) {
            all_opaque &= p[3] == u8::MAX;
            all_grey &= (p[0] == p[1]) & (p[1] == p[2]);
        }
        opaque &= all_opaque;
        grey &= all_grey;
        if !opaque && !grey {
            return None;
        }
    }
    let (w, h) = (rgba.width(), rgba.height());
    let pixels = raw.chunks_exact(4);
    match (opaque, grey) {
        (true, true) => luma(w, h, pixels.map(|p| p[0]).collect()),
        (false, true) => image::GrayAlphaImage::from_raw(w, h, pixels.flat_map(|p| [p[0], p[3]]).collect())
            .map(DynamicImage::ImageLumaA8),
        _ => image::RgbImage::from_raw(w, h, pixels.flat_map(|p| [p[0], p[1], p[2]]).collect())
            .map(DynamicImage::ImageRgb8),
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

/// Downscale `img` so its longest side is at most `max_side` (never upscale) and encode it as PNG, in the
/// fewest channels that hold it ([`fewest_channels`]). Returns the PNG and its width and height.
pub(crate) fn png_fit(img: &DynamicImage, max_side: u32) -> Result<(Vec<u8>, u32, u32), ExtractError> {
    let scaled = scale(img, max_side);
    let reduced = fewest_channels(&scaled);
    let fit = reduced.as_ref().unwrap_or(&scaled);
    Ok((encode(fit, ThumbnailFormat::Png)?, fit.width(), fit.height()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, Rgb, RgbImage};

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

    fn decoded(t: &Thumbnail) -> DynamicImage {
        let format = match t.format {
            ThumbnailFormat::Png => ImageFormat::Png,
            ThumbnailFormat::Webp => ImageFormat::WebP,
        };
        image::load_from_memory_with_format(&t.bytes, format).unwrap()
    }

    /// A page as PDFium renders it: four channels, every pixel opaque, black text on white (greys between).
    fn rendered_page() -> DynamicImage {
        DynamicImage::ImageRgba8(image::RgbaImage::from_fn(900, 1200, |x, y| {
            let v = if (x / 7 + y / 11) % 3 == 0 { ((x * 13 + y * 7) % 256) as u8 } else { 255 };
            image::Rgba([v, v, v, 255])
        }))
    }

    #[test]
    fn a_grey_opaque_page_is_one_channel_with_the_same_pixels() {
        let page = rendered_page();
        for format in [ThumbnailFormat::Png, ThumbnailFormat::Webp] {
            let thumbs = make_all(&page, &spec(&[1024, 256], format));
            assert_eq!(thumbs.len(), 2);
            for t in &thumbs {
                let back = decoded(t);
                if format == ThumbnailFormat::Png {
                    assert_eq!(back.color(), image::ColorType::L8, "{} px", t.max_side);
                }
                // The pixels are those the four-channel image scaled the same way has.
                let four = scale(&page, 1024).into_owned();
                let four = if t.max_side == 256 { scale(&four, 256).into_owned() } else { four };
                let (back, four) = (back.to_rgba8(), four.to_rgba8());
                assert_eq!(back.dimensions(), four.dimensions());
                let differ = back.as_raw().iter().zip(four.as_raw()).filter(|(a, b)| a != b).count();
                assert_eq!(differ, 0, "{} px, {}: {differ} values differ", t.max_side, format.as_str());
            }
        }
        // And the grey PNG is smaller than the same pixels in four channels.
        let grey = make_all(&page, &spec(&[1024], ThumbnailFormat::Png));
        let four = encode(&scale(&page, 1024), ThumbnailFormat::Png).unwrap();
        assert!(grey[0].bytes.len() * 2 < four.len(), "{} against {}", grey[0].bytes.len(), four.len());
    }

    /// The triangle filter as the image crate's: the same picture scaled by both differs by at most a
    /// rounding (SIMD in fixed point against floating point), on a photograph-like, a text-like and a
    /// four-channel picture. (Where alpha varies, ours averages colour weighted by it, theirs does not.)
    #[test]
    fn thumbnails_are_scaled_as_the_image_crates_triangle_filter_would() {
        let photo = DynamicImage::ImageRgb8(RgbImage::from_fn(1800, 1200, |x, y| {
            Rgb([(x / 3 % 256) as u8, ((x + y) / 5 % 256) as u8, ((x * y) % 251) as u8])
        }));
        let text = DynamicImage::ImageLuma8(image::GrayImage::from_fn(1240, 1754, |x, y| {
            image::Luma([if (x / 3 + y / 17) % 5 == 0 && y % 40 < 20 { 0 } else { 255 }])
        }));
        let four = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(900, 700, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        }));
        for img in [photo, text, four] {
            for side in [1024, 256, 100].into_iter().filter(|side| *side < img.width().max(img.height())) {
                let ours = scale(&img, side).into_owned();
                let theirs = img.resize(side, side, FilterType::Triangle);
                assert_eq!(ours.color(), img.color());
                assert_eq!(ours.dimensions(), theirs.dimensions(), "{side} px");
                let (ours, theirs) = (ours.to_rgba8(), theirs.to_rgba8());
                let most = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).max();
                assert!(most <= Some(2), "{side} px: values differ by up to {most:?}");
            }
        }
    }

    #[test]
    fn channels_are_dropped_only_where_no_pixel_needs_them() {
        let colour_opaque =
            DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(40, 30, image::Rgba([200, 10, 10, 255])));
        assert_eq!(fewest_channels(&colour_opaque).unwrap().color(), image::ColorType::Rgb8);
        let mut grey_see_through = image::RgbaImage::from_pixel(40, 30, image::Rgba([90, 90, 90, 255]));
        grey_see_through.put_pixel(39, 29, image::Rgba([90, 90, 90, 0]));
        let reduced = fewest_channels(&DynamicImage::ImageRgba8(grey_see_through.clone())).unwrap();
        assert_eq!(reduced.color(), image::ColorType::La8);
        assert_eq!(reduced.to_rgba8(), grey_see_through);
        // One coloured, see-through pixel in the last block keeps all four.
        let mut both = image::RgbaImage::from_pixel(2000, 3, image::Rgba([90, 90, 90, 255]));
        both.put_pixel(1999, 2, image::Rgba([90, 91, 90, 17]));
        assert!(fewest_channels(&DynamicImage::ImageRgba8(both)).is_none());
        let grey_rgb = DynamicImage::ImageRgb8(RgbImage::from_pixel(5, 5, Rgb([3, 3, 3])));
        assert_eq!(fewest_channels(&grey_rgb).unwrap().color(), image::ColorType::L8);
        assert!(fewest_channels(&DynamicImage::ImageRgb8(RgbImage::from_pixel(5, 5, Rgb([3, 4, 3])))).is_none());
        assert!(fewest_channels(&DynamicImage::ImageLuma8(image::GrayImage::new(5, 5))).is_none());
        let sixteen = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(3, 3, Rgb([40_000u16, 0, 9])));
        assert_eq!(fewest_channels(&sixteen).unwrap().color(), image::ColorType::Rgb8);
        let grey16 = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(3, 3, image::Luma([40_000u16])));
        assert_eq!(fewest_channels(&grey16).unwrap().color(), image::ColorType::L8);
    }
}
