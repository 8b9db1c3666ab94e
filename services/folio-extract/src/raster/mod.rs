//! Images (JPEG, PNG, TIFF, WebP, GIF) with the `image` crate (arithmetic-coded JPEGs with djpeg, see
//! [`crate::raster::djpeg`]): dimensions after EXIF orientation, frame counts, the image thumbnails are made from. (Named `raster` so it does not shadow the `image` crate.)

pub(crate) mod djpeg;
pub(crate) mod jpeg;
pub(crate) mod thumbnail;
pub(crate) mod tiff;

use crate::{sniff::Format, Extracted, Limits, OcrFound, Options};
use folio_core::{ExtractError, ExtractErrorKind, OcrStatus, PagesSource};
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};
use std::io::Cursor;

/// Bytes per pixel we budget for a decoded image: 16-bit RGBA, the widest common layout.
const BYTES_PER_PIXEL: u64 = 8;

pub(crate) fn extract(bytes: &[u8], format: Format, opts: &Options) -> Result<Extracted, ExtractError> {
    if opts.ocr {
        // The OCR models load beside the decoding and the look, for the image that turns out to hold text.
        crate::ocr::prepare(false);
    }
    match format {
        Format::Tiff => {
            read_pages(tiff::pages(bytes, &opts.limits)?, tiff_directories(bytes, opts.limits.max_pages), opts)
        }
        _ => {
            let img = decode(bytes, &opts.limits, opts.djpeg)?;
            let frames = if format == Format::Gif { gif_frames(bytes, &opts.limits) } else { 1 };
            read_pages(std::iter::once(Ok(img)), frames, opts)
        }
    }
}

/// The pages of an image (one, or each page of a TIFF, see [`tiff`]) decoded in turn: each OCRed where it could
/// hold text, their texts joined with a blank line; the first page is the preview and gives the dimensions.
/// The first page's error is the document's; a later page that cannot be decoded ends the document there:
/// what came before is kept, and the record says it was `repaired` (the rules then warn an editor).
fn read_pages(
    mut pages: impl Iterator<Item = Result<DynamicImage, ExtractError>>,
    frames: u32,
    opts: &Options,
) -> Result<Extracted, ExtractError> {
    let first = pages
        .next()
        .unwrap_or_else(|| Err(ExtractError::new(ExtractErrorKind::Corrupt, "the image holds no picture")))?;
    let dimensions = Some((first.width(), first.height()));
    let mut texts = Vec::new();
    let mut ocr_pages = Vec::new();
    let mut statuses = Vec::new();
    let mut repaired = false;
    let mut count = 0u32;
    let mut preview = None;
    let mut next: Option<Result<DynamicImage, ExtractError>> = Some(Ok(first));
    while let Some(page) = next.take() {
        let img = match page {
            Ok(img) => img,
            Err(e) => {
                tracing::warn!("page {} and after were left out: {}", count + 1, e.message);
                repaired = true;
                break;
            }
        };
        count += 1;
        let (status, page_ocr) = recognise_page(&img, &opts.limits, opts.ocr);
        statuses.push(status);
        if let Some(page_ocr) = page_ocr {
            if !page_ocr.text.is_empty() {
                texts.push(page_ocr.text.clone());
            }
            ocr_pages.push((count, page_ocr));
        }
        // The decoded image, oriented, is the preview: `thumbnail::make_all` scales it to each size.
        if count == 1 && opts.thumbnails.largest().is_some() {
            preview = Some(img);
        }
        next = pages.next();
    }
    let text = texts.join("\n\n");
    let ocr = if statuses.contains(&OcrStatus::Applied) {
        OcrStatus::Applied
    } else if statuses.contains(&OcrStatus::Needed) {
        OcrStatus::Needed
    } else {
        OcrStatus::NotNeeded
    };
    Ok(Extracted {
        pages: Some(count),
        pages_source: Some(PagesSource::Image),
        frames: (frames > 1).then_some(frames),
        // Only OCR text has a language worth detecting; a photo without text has none (not `und`).
        detect_language: !text.is_empty(),
        text,
        title: None,
        author: None,
        info: Default::default(),
        ocr,
        ocr_found: OcrFound::from_pages(&ocr_pages),
        dimensions,
        preview,
        degraded: None,
        repaired,
        converted_from: None,
        structure: None,
        pictures: Vec::new(),
    })
}

/// One image's OCR: `Applied` when OCR ran (whether or not text was kept), with what it read; `Needed` when
/// tesseract is missing or failed (the image may well hold text).
fn recognise_page(img: &DynamicImage, limits: &Limits, enabled: bool) -> (OcrStatus, Option<crate::ocr::PageOcr>) {
    if !enabled || !crate::ocr::available() {
        return (OcrStatus::Needed, None);
    }
    if !crate::ocr::could_hold_text(img) {
        return (OcrStatus::NotNeeded, None);
    }
    let lines = crate::ocr::textlines::find(img);
    if !lines.are_text() {
        // Too small for a line of text, one flat colour, or no row of letter-like marks: a picture, whatever
        // OCR would make of it (a photograph's reading costs half a second and more, the look tens of ms).
        return (OcrStatus::NotNeeded, None);
    }
    let read = if crate::ocr::words_on_a_picture(img, &lines) {
        // A sign, a caption: its rows are read, not the photograph.
        crate::ocr::recognise_rows(img, &lines, limits)
    } else {
        crate::ocr::recognise(img, limits)
    };
    match read {
        Ok(page) => (OcrStatus::Applied, Some(page)),
        Err(why) => {
            tracing::warn!("OCR of the image failed: {why}");
            (OcrStatus::Needed, None)
        }
    }
}

/// Decode any supported image within `limits`, with its EXIF orientation applied. Arithmetic-coded JPEGs
/// are decoded by djpeg when `djpeg` is set.
pub(crate) fn decode(bytes: &[u8], limits: &Limits, djpeg: bool) -> Result<DynamicImage, ExtractError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ExtractError::new(ExtractErrorKind::Io, format!("reading image: {e}")))?;
    if reader.format().is_none() {
        return Err(ExtractError::new(ExtractErrorKind::UnsupportedFormat, "not an image format Folio reads"));
    }
    if reader.format() == Some(image::ImageFormat::Jpeg) && crate::raster::jpeg::is_truncated(bytes) {
        return Err(ExtractError::new(ExtractErrorKind::Corrupt, "the JPEG is truncated"));
    }
    let mut reader = reader;
    let side = u32::try_from(limits.max_image_pixels).unwrap_or(u32::MAX);
    let mut il = image::Limits::default();
    il.max_image_width = Some(side);
    il.max_image_height = Some(side);
    il.max_alloc = Some(limits.max_image_pixels.saturating_mul(BYTES_PER_PIXEL));
    if djpeg && reader.format() == Some(image::ImageFormat::Jpeg) {
        let header = crate::raster::jpeg::header(bytes);
        if header.arithmetic {
            return decode_arithmetic(bytes, &header, il, limits);
        }
    }
    reader.limits(il);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(e, limits))?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_image_pixels {
        return Err(pixel_limit(w, h, limits));
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| image_error(e, limits))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// An arithmetic-coded JPEG, which the `image` crate does not decode: by djpeg (see [`crate::raster::djpeg`]),
/// after the pixel limit is checked on the frame header, with the Exif orientation applied.
fn decode_arithmetic(
    bytes: &[u8],
    header: &crate::raster::jpeg::Header,
    il: image::Limits,
    limits: &Limits,
) -> Result<DynamicImage, ExtractError> {
    if let Some((w, h)) = header.dimensions {
        if u64::from(w) * u64::from(h) > limits.max_image_pixels {
            return Err(pixel_limit(w, h, limits));
        }
    }
    let mut img = crate::raster::djpeg::decode(bytes, il, limits.render_timeout)?;
    let orientation = header.exif.and_then(image::metadata::Orientation::from_exif_chunk);
    img.apply_orientation(orientation.unwrap_or(image::metadata::Orientation::NoTransforms));
    Ok(img)
}

fn pixel_limit(w: u32, h: u32, limits: &Limits) -> ExtractError {
    ExtractError::new(
        ExtractErrorKind::TooLarge,
        format!("{w}×{h} pixels is more than the limit of {} (max_image_pixels)", limits.max_image_pixels),
    )
}

fn image_error(e: ImageError, limits: &Limits) -> ExtractError {
    match e {
        ImageError::Limits(e) => ExtractError::new(
            ExtractErrorKind::TooLarge,
            format!("the image exceeds a decoding limit ({e}); max_image_pixels is {}", limits.max_image_pixels),
        ),
        ImageError::Unsupported(e) => {
            ExtractError::new(ExtractErrorKind::UnsupportedFormat, format!("image feature not supported: {e}"))
        }
        other => ExtractError::new(ExtractErrorKind::Corrupt, format!("the image could not be decoded: {other}")),
    }
}

/// Frames in a GIF, counted by decoding them one at a time (none are kept). Capped at `max_pages`; a
/// damaged frame ends the count.
fn gif_frames(bytes: &[u8], limits: &Limits) -> u32 {
    use image::AnimationDecoder;
    let Ok(mut decoder) = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)) else { return 1 };
    let mut il = image::Limits::default();
    il.max_alloc = Some(limits.max_image_pixels.saturating_mul(BYTES_PER_PIXEL));
    if decoder.set_limits(il).is_err() {
        return 1;
    }
    let mut n = 0u32;
    for frame in decoder.into_frames() {
        if frame.is_err() || n >= limits.max_pages {
            break;
        }
        n += 1;
    }
    n.max(1)
}

/// Image file directories (pages) in a TIFF, counted by walking the IFD chain in the header structure
/// without decoding anything. Loops and out-of-range offsets end the walk; the count is capped.
pub(crate) fn tiff_directories(bytes: &[u8], cap: u32) -> u32 {
    let le = match bytes.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        Some(b"II+\0") | Some(b"MM\0+") => return 1, // BigTIFF: not walked
        _ => return 1,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b = bytes.get(at..at + 2)?;
        Some(if le { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let mut seen = std::collections::HashSet::new();
    let mut count = 0u32;
    let mut offset = u32_at(4).unwrap_or(0) as usize;
    while offset != 0 && count < cap && seen.insert(offset) {
        let Some(entries) = u16_at(offset) else { break };
        count += 1;
        let next_at = offset + 2 + usize::from(entries) * 12;
        offset = u32_at(next_at).unwrap_or(0) as usize;
    }
    count.max(1)
}
