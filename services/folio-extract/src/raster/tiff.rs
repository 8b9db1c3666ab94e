//! TIFF as scanners, fax machines and document archives write it, decoded with the `tiff` crate (the one the
//! `image` crate uses) and converted here, since the `image` crate takes only 8- and 16-bit grey and colour:
//! bilevel and 2- and 4-bit grey (either polarity: `WhiteIsZero` is what fax and G4 scans often say),
//! 12-bit grey, palettes of 1 to 8 bits, RGB and RGBA of 8 or 16 bits, CMYK, and YCbCr (what JPEG-in-TIFF
//! holds); CCITT Group 4 and JPEG by the `tiff` crate, Group 3 (one-dimensional, with or without end-of-line
//! codes) by the `fax` crate, LZW, Deflate and PackBits. Each page (image file directory) is decoded one at
//! a time, its pixels checked against `max_image_pixels` before a byte of it is, with the TIFF orientation
//! applied.

use super::{pixel_limit, BYTES_PER_PIXEL};
use crate::Limits;
use folio_core::{ExtractError, ExtractErrorKind};
use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};
use std::io::Cursor;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType;

/// The pages of a TIFF, decoded one at a time, at most `max_pages`.
pub(crate) struct Pages<'a> {
    bytes: &'a [u8],
    decoder: Decoder<Cursor<&'a [u8]>>,
    limits: &'a Limits,
    /// Pages returned so far.
    read: u32,
    /// The directory the decoder stands at (0-based); overviews are directories that are not pages.
    directory: u32,
    /// The page was refused for a layout the `image` crate's reader would panic on: no second try with it.
    no_fallback: bool,
}

/// Opens a TIFF for its pages; fails when even its first directory cannot be read.
pub(crate) fn pages<'a>(bytes: &'a [u8], limits: &'a Limits) -> Result<Pages<'a>, ExtractError> {
    let budget = usize::try_from(limits.max_image_pixels.saturating_mul(BYTES_PER_PIXEL)).unwrap_or(usize::MAX);
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = budget;
    tiff_limits.intermediate_buffer_size = budget;
    let decoder = Decoder::new(Cursor::new(bytes)).map_err(tiff_error)?.with_limits(tiff_limits);
    Ok(Pages { bytes, decoder, limits, read: 0, directory: 0, no_fallback: false })
}

impl Iterator for Pages<'_> {
    type Item = Result<DynamicImage, ExtractError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.read >= self.limits.max_pages.max(1) {
            return None;
        }
        if self.read > 0 {
            loop {
                if !self.decoder.more_images() || self.directory >= self.limits.max_pages.saturating_mul(4) {
                    return None;
                }
                if let Err(e) = self.decoder.next_image() {
                    return Some(Err(tiff_error(e)));
                }
                self.directory += 1;
                // A reduced-resolution copy (NewSubfileType bit 0: a pyramid's overview, a thumbnail) is
                // not a page of the document.
                let subfile = self.decoder.find_tag_unsigned::<u32>(Tag::NewSubfileType).ok().flatten();
                if subfile.is_none_or(|t| t & 1 == 0) {
                    break;
                }
            }
        }
        self.read += 1;
        let page = self.page();
        // What this reader refuses on the first page (planar layouts, 16-bit CMYK in JPEG), the `image`
        // crate's own TIFF reader may take: asked before the page is called unreadable.
        Some(match page {
            Err(e) if self.read == 1 && e.kind != ExtractErrorKind::TooLarge && !self.no_fallback => {
                super::decode(self.bytes, self.limits, false).map_err(|_| e)
            }
            page => page,
        })
    }
}

impl Pages<'_> {
    fn page(&mut self) -> Result<DynamicImage, ExtractError> {
        let (width, height) = self.decoder.dimensions().map_err(tiff_error)?;
        if u64::from(width) * u64::from(height) > self.limits.max_image_pixels {
            return Err(pixel_limit(width, height, self.limits));
        }
        let tag = |decoder: &mut Decoder<_>, tag| decoder.find_tag_unsigned::<u32>(tag).ok().flatten();
        let compression = tag(&mut self.decoder, Tag::Compression).unwrap_or(1);
        let photometric = tag(&mut self.decoder, Tag::PhotometricInterpretation);
        let orientation = tag(&mut self.decoder, Tag::Orientation);
        let white_is_zero = photometric == Some(0);
        let samples = tag(&mut self.decoder, Tag::SamplesPerPixel).unwrap_or(1);
        let bits = self.decoder.find_tag_unsigned_vec::<u16>(Tag::BitsPerSample).ok().flatten();
        let bits = bits.and_then(|b| b.first().copied()).unwrap_or(1);
        // What the `tiff` crate refuses: palettes of fewer than 8 bits, and grey of a depth it has no buffer for
        // (12 bits, as medical and archival scanners write).
        let odd = samples == 1
            && match photometric {
                // Palettes of any depth: the `tiff` crate refuses some 8-bit ones too.
                Some(3) => bits <= 8,
                Some(0 | 1) => !matches!(bits, 1 | 2 | 4 | 8 | 16),
                _ => false,
            };
        // Tiles of separate colour planes: the `tiff` crate asserts (a panic, which the parser process would
        // turn into a crash) where it should refuse. Refused here, with the reason.
        let planar = tag(&mut self.decoder, Tag::PlanarConfiguration) == Some(2);
        if planar && self.decoder.find_tag(Tag::TileWidth).ok().flatten().is_some() {
            self.no_fallback = true;
            return Err(ExtractError::new(
                ExtractErrorKind::UnsupportedFormat,
                "a TIFF page in tiles of separate colour planes (PlanarConfiguration 2), which Folio does not decode",
            ));
        }
        // FillOrder 2 (bits of each byte from the least significant, as some fax software writes): the
        // decoders read from the most significant bit, so the page is read from a copy with its data reversed.
        if tag(&mut self.decoder, Tag::FillOrder) == Some(2) && matches!(compression, 2..=4) {
            return self.with_bits_reversed();
        }
        let mut img = if compression == 3 {
            self.group3(width, height, white_is_zero)?
        } else if odd {
            self.odd_depth(width, height, bits, photometric == Some(3), white_is_zero)?
        } else {
            let color = self.decoder.colortype().map_err(tiff_error)?;
            let data = self.decoder.read_image().map_err(tiff_error)?;
            to_image(width, height, color, data)?
        };
        let orientation =
            orientation.and_then(|o| u8::try_from(o).ok()).and_then(image::metadata::Orientation::from_exif);
        if let Some(orientation) = orientation {
            img.apply_orientation(orientation);
        }
        Ok(img)
    }

    /// A page of samples the `tiff` crate has no colour type for: decoded as rows of plain bytes (its
    /// directory, in a copy of the file, made to say so: 8-bit grey, as wide as a row's bytes), then unpacked
    /// here and given their palette or grey levels. Not for pages with a predictor or tiles, which work on the
    /// samples themselves.
    fn odd_depth(
        &mut self,
        width: u32,
        height: u32,
        bits: u16,
        palette: bool,
        white_is_zero: bool,
    ) -> Result<DynamicImage, ExtractError> {
        let unsupported = |why: &str| {
            ExtractError::new(ExtractErrorKind::UnsupportedFormat, format!("a TIFF page of {bits}-bit samples {why}"))
        };
        let bits8 = u8::try_from(bits)
            .ok()
            .filter(|b| (1..=16).contains(b))
            .ok_or_else(|| unsupported("(1 to 16 bits are read)"))?;
        let predictor = self.decoder.find_tag_unsigned::<u32>(Tag::Predictor).ok().flatten().unwrap_or(1);
        let tiled = self.decoder.find_tag(Tag::TileWidth).ok().flatten().is_some();
        if predictor != 1 || tiled {
            return Err(unsupported("with a predictor or in tiles, which Folio does not decode"));
        }
        let colormap = match palette {
            true => Some(self.decoder.get_tag_u16_vec(Tag::ColorMap).map_err(tiff_error)?),
            false => None,
        };
        let row_bytes = (u64::from(width) * u64::from(bits)).div_ceil(8);
        let page = self.directory;
        let patched = patch_directory(self.bytes, page, &[(256, row_bytes), (258, 8), (262, 1)])
            .ok_or_else(|| unsupported("whose directory Folio could not rewrite"))?;
        let mut decoder = pages(&patched, self.limits)?.decoder;
        for _ in 0..page {
            decoder.next_image().map_err(tiff_error)?;
        }
        let data = match decoder.read_image().map_err(tiff_error)? {
            DecodingResult::U8(bytes) => bytes,
            _ => return Err(unsupported("in a layout Folio does not read")),
        };
        let values = unpack(&data, width as usize, height as usize, 1, bits8)?;
        let short = || ExtractError::new(ExtractErrorKind::Corrupt, "the TIFF page holds fewer pixels than it says");
        if let Some(colormap) = colormap {
            let entries = 1usize << bits8;
            if colormap.len() < 3 * entries {
                return Err(ExtractError::new(ExtractErrorKind::Corrupt, "the TIFF palette has too few colours"));
            }
            let mut rgb = Vec::with_capacity(values.len() * 3);
            for &index in &values {
                let i = usize::from(index).min(entries - 1);
                rgb.extend([colormap[i], colormap[entries + i], colormap[2 * entries + i]].map(|c| (c >> 8) as u8));
            }
            return Ok(DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, rgb).ok_or_else(short)?));
        }
        let gray =
            values.iter().map(|&v| to_8_bits(v, bits8)).map(|v| if white_is_zero { 255 - v } else { v }).collect();
        Ok(DynamicImage::ImageLuma8(GrayImage::from_raw(width, height, gray).ok_or_else(short)?))
    }

    /// This page read from a copy of the file whose strip (or tile) bytes are bit-reversed and whose
    /// FillOrder says 1.
    fn with_bits_reversed(&mut self) -> Result<DynamicImage, ExtractError> {
        let corrupt = |why: &str| ExtractError::new(ExtractErrorKind::Corrupt, format!("the TIFF page {why}"));
        let (offsets, counts) = match self.decoder.get_tag_u64_vec(Tag::StripOffsets) {
            Ok(offsets) => (offsets, self.decoder.get_tag_u64_vec(Tag::StripByteCounts).map_err(tiff_error)?),
            Err(_) => (
                self.decoder.get_tag_u64_vec(Tag::TileOffsets).map_err(tiff_error)?,
                self.decoder.get_tag_u64_vec(Tag::TileByteCounts).map_err(tiff_error)?,
            ),
        };
        let page = self.directory;
        let mut copy = patch_directory(self.bytes, page, &[(266, 1)])
            .ok_or_else(|| corrupt("has a directory Folio could not rewrite"))?;
        for (&offset, &count) in offsets.iter().zip(&counts) {
            let start = usize::try_from(offset).map_err(|_| corrupt("names data past the file's end"))?;
            let end = start.checked_add(usize::try_from(count).unwrap_or(usize::MAX));
            let data = end
                .and_then(|end| copy.get_mut(start..end))
                .ok_or_else(|| corrupt("names data past the file's end"))?;
            data.iter_mut().for_each(|b| *b = b.reverse_bits());
        }
        let mut reread = pages(&copy, self.limits)?;
        for _ in 0..page {
            reread.decoder.next_image().map_err(tiff_error)?;
        }
        reread.directory = page;
        if reread.decoder.find_tag_unsigned::<u32>(Tag::FillOrder).ok().flatten() == Some(2) {
            return Err(corrupt("has a fill order Folio could not rewrite"));
        }
        reread.page()
    }

    /// A CCITT Group 3 page (compression 3; one-dimensional coding, as fax machines and most scanners write
    /// it), which the `tiff` crate leaves out: its strips decoded by the `fax` crate.
    fn group3(&mut self, width: u32, height: u32, white_is_zero: bool) -> Result<DynamicImage, ExtractError> {
        let corrupt = |why: &str| ExtractError::new(ExtractErrorKind::Corrupt, format!("the Group 3 TIFF {why}"));
        let two_dimensional = self.decoder.find_tag_unsigned::<u32>(Tag::Unknown(292)).ok().flatten().unwrap_or(0) & 1;
        if two_dimensional != 0 {
            return Err(ExtractError::new(
                ExtractErrorKind::UnsupportedFormat,
                "a TIFF page in two-dimensional CCITT Group 3 coding (T4Options bit 0), which Folio does not decode",
            ));
        }
        let offsets = self.decoder.get_tag_u64_vec(Tag::StripOffsets).map_err(tiff_error)?;
        let counts = self.decoder.get_tag_u64_vec(Tag::StripByteCounts).map_err(tiff_error)?;
        let width16 = u16::try_from(width).map_err(|_| corrupt("is wider than 65,535 pixels"))?;
        // Fax pages: 0 is white in the coding itself; the photometric tag says how to show it, and a
        // `WhiteIsZero` page (the usual one) shows white paper.
        let (paper, ink) = if white_is_zero { (255u8, 0u8) } else { (0u8, 255u8) };
        let mut pixels = Vec::with_capacity(width as usize * height as usize);
        for (&offset, &count) in offsets.iter().zip(&counts) {
            let start = usize::try_from(offset).map_err(|_| corrupt("names a strip past its end"))?;
            let end = start.checked_add(usize::try_from(count).unwrap_or(usize::MAX));
            let strip =
                end.and_then(|end| self.bytes.get(start..end)).ok_or_else(|| corrupt("names a strip past its end"))?;
            let rows_before = pixels.len();
            fax::decoder::decode_g3(strip.iter().copied(), |transitions| {
                if pixels.len() < width as usize * height as usize {
                    pixels.extend(fax::decoder::pels(transitions, width16).map(|colour| match colour {
                        fax::Color::White => paper,
                        fax::Color::Black => ink,
                    }));
                }
            });
            if pixels.len() == rows_before {
                return Err(corrupt("has a strip with no line the decoder could read"));
            }
        }
        pixels.resize(width as usize * height as usize, paper);
        let gray = GrayImage::from_raw(width, height, pixels).ok_or_else(|| corrupt("has a short page"))?;
        Ok(DynamicImage::ImageLuma8(gray))
    }
}

/// Samples of `bits` each, packed from the most significant bit, rows padded to a byte.
fn unpack(
    buf: &[u8],
    width: usize,
    height: usize,
    samples_per_pixel: usize,
    bits: u8,
) -> Result<Vec<u16>, ExtractError> {
    let per_row = width * samples_per_pixel;
    let row_bytes = (per_row * usize::from(bits)).div_ceil(8);
    if buf.len() < row_bytes * height {
        return Err(ExtractError::new(ExtractErrorKind::Corrupt, "the TIFF page holds fewer pixels than it says"));
    }
    let mut out = Vec::with_capacity(per_row * height);
    for row in buf.chunks(row_bytes).take(height) {
        let mut bit = 0usize;
        for _ in 0..per_row {
            let mut value = 0u16;
            for _ in 0..bits {
                let byte = row[bit / 8];
                value = (value << 1) | u16::from((byte >> (7 - bit % 8)) & 1);
                bit += 1;
            }
            out.push(value);
        }
    }
    Ok(out)
}

/// A sample of `bits` as 8 bits.
fn to_8_bits(value: u16, bits: u8) -> u8 {
    let max = (1u32 << bits) - 1;
    (u32::from(value) * 255 / max.max(1)) as u8
}

/// One decoded page as an image the rest of Folio reads (8-bit grey, RGB or RGBA). `WhiteIsZero` grey comes
/// inverted already (the `tiff` crate does it). Palettes are not here: every one goes through
/// [`Pages::odd_depth`].
fn to_image(width: u32, height: u32, color: ColorType, data: DecodingResult) -> Result<DynamicImage, ExtractError> {
    let (w, h) = (width as usize, height as usize);
    let short = || ExtractError::new(ExtractErrorKind::Corrupt, "the TIFF page holds fewer pixels than it says");
    let unsupported = |what: String| {
        ExtractError::new(
            ExtractErrorKind::UnsupportedFormat,
            format!("a TIFF page of {what}, which Folio does not read"),
        )
    };
    // Every sample of the page, with its bit depth, whatever the buffer type.
    let samples = |spp: usize, bits: u8| -> Result<Vec<u16>, ExtractError> {
        match &data {
            DecodingResult::U8(buf) if bits == 8 => Ok(buf.iter().map(|&b| u16::from(b)).collect()),
            DecodingResult::U8(buf) if bits < 16 => unpack(buf, w, h, spp, bits),
            DecodingResult::U16(buf) => Ok(buf.clone()),
            // Signed samples (SampleFormat 2), shifted so that the least is 0.
            DecodingResult::I8(buf) => Ok(buf.iter().map(|&v| (i16::from(v) + 128) as u16).collect()),
            DecodingResult::I16(buf) => Ok(buf.iter().map(|&v| (i32::from(v) + 32768) as u16).collect()),
            _ => Err(unsupported(format!("{bits}-bit samples in this layout"))),
        }
    };
    let image = match color {
        ColorType::Gray(bits) if bits <= 16 => {
            let values = samples(1, bits)?;
            let gray: Vec<u8> = values.iter().take(w * h).map(|&v| to_8_bits(v, bits)).collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(width, height, gray).ok_or_else(short)?)
        }
        ColorType::GrayA(bits) if bits <= 16 => {
            let values = samples(2, bits)?;
            let gray: Vec<u8> = values.chunks(2).take(w * h).map(|p| to_8_bits(p[0], bits)).collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(width, height, gray).ok_or_else(short)?)
        }
        ColorType::RGB(bits) if bits <= 16 => {
            let rgb = samples(3, bits)?.iter().take(w * h * 3).map(|&v| to_8_bits(v, bits)).collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, rgb).ok_or_else(short)?)
        }
        ColorType::RGBA(bits) if bits <= 16 => {
            let rgba = samples(4, bits)?.iter().take(w * h * 4).map(|&v| to_8_bits(v, bits)).collect();
            DynamicImage::ImageRgba8(RgbaImage::from_raw(width, height, rgba).ok_or_else(short)?)
        }
        ColorType::CMYK(8) | ColorType::CMYKA(8) => {
            let spp = if matches!(color, ColorType::CMYK(_)) { 4 } else { 5 };
            let values = samples(spp, 8)?;
            let mut rgb = Vec::with_capacity(w * h * 3);
            for p in values.chunks(spp).take(w * h) {
                let k = 255 - u32::from(p[3]);
                rgb.extend([p[0], p[1], p[2]].map(|c| ((255 - u32::from(c)) * k / 255) as u8));
            }
            DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, rgb).ok_or_else(short)?)
        }
        ColorType::YCbCr(8) => {
            // As JPEG-in-TIFF holds it (the `tiff` crate leaves the JPEG's colours as they are): full-range
            // ITU-R BT.601, as JFIF.
            let values = samples(3, 8)?;
            let mut rgb = Vec::with_capacity(w * h * 3);
            for p in values.chunks(3).take(w * h) {
                let (y, cb, cr) = (f32::from(p[0]), f32::from(p[1]) - 128.0, f32::from(p[2]) - 128.0);
                let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
                rgb.extend([clamp(y + 1.402 * cr), clamp(y - 0.344_136 * cb - 0.714_136 * cr), clamp(y + 1.772 * cb)]);
            }
            DynamicImage::ImageRgb8(RgbImage::from_raw(width, height, rgb).ok_or_else(short)?)
        }
        other => return Err(unsupported(format!("{other:?} samples"))),
    };
    Ok(image)
}

fn tiff_error(e: tiff::TiffError) -> ExtractError {
    use tiff::TiffError;
    match e {
        TiffError::LimitsExceeded => ExtractError::new(
            ExtractErrorKind::TooLarge,
            "the TIFF page exceeds a decoding limit (max_image_pixels)".to_string(),
        ),
        TiffError::UnsupportedError(e) => {
            ExtractError::new(ExtractErrorKind::UnsupportedFormat, format!("a TIFF Folio does not read: {e}"))
        }
        other => ExtractError::new(ExtractErrorKind::Corrupt, format!("the TIFF could not be decoded: {other}")),
    }
}

/// A copy of a TIFF whose directory number `page` has these single-valued SHORT or LONG entries set (tag,
/// value); `None` when the directory or an entry is not there, or a value does not fit its entry.
fn patch_directory(bytes: &[u8], page: u32, edits: &[(u16, u64)]) -> Option<Vec<u8>> {
    let le = match bytes.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |b: &[u8], at: usize| -> Option<u16> {
        let v: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if le { u16::from_le_bytes(v) } else { u16::from_be_bytes(v) })
    };
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        let v: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(v) } else { u32::from_be_bytes(v) })
    };
    let mut offset = u32_at(bytes, 4)? as usize;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..page {
        if offset == 0 || !seen.insert(offset) {
            return None;
        }
        let entries = usize::from(u16_at(bytes, offset)?);
        offset = u32_at(bytes, offset + 2 + entries * 12)? as usize;
    }
    if offset == 0 {
        return None;
    }
    let mut out = bytes.to_vec();
    let entries = usize::from(u16_at(bytes, offset)?);
    for &(tag, value) in edits {
        let entry = (0..entries).map(|i| offset + 2 + i * 12).find(|&at| u16_at(bytes, at) == Some(tag))?;
        let (kind, count) = (u16_at(bytes, entry + 2)?, u32_at(bytes, entry + 4)?);
        if count != 1 {
            return None;
        }
        let field = out.get_mut(entry + 8..entry + 12)?;
        match kind {
            3 => {
                let v = u16::try_from(value).ok()?;
                field[..2].copy_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            4 => {
                let v = u32::try_from(value).ok()?;
                field.copy_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/tiff/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn first_page(name: &str, limits: &Limits) -> Result<DynamicImage, ExtractError> {
        let bytes = fixture(name);
        let mut pages = pages(&bytes, limits)?;
        pages.next().expect("a page")
    }

    /// The paper of each scan comes out as paper: light, and in the palette's cream where there is one (not
    /// inverted, not in YCbCr's colours read as RGB).
    #[test]
    fn each_form_decodes_to_the_colours_it_holds() {
        let limits = Limits::default();
        for (name, paper) in [
            ("scan-g4.tif", [255, 255, 255]),
            ("scan-g3.tif", [255, 255, 255]),
            ("scan-gray12.tif", [255, 255, 255]),
            ("scan-gray4-miniswhite.tif", [255, 255, 255]),
            ("scan-palette1.tif", [0xff, 0xff, 0xd0]),
            ("scan-ycbcr-jpeg.tif", [255, 255, 255]),
        ] {
            let img = first_page(name, &limits).unwrap_or_else(|e| panic!("{name}: {e:?}")).to_rgb8();
            assert_eq!(img.width(), 1240, "{name}");
            let corner = img.get_pixel(4, 4).0;
            for (got, want) in corner.iter().zip(paper) {
                assert!(got.abs_diff(want) <= 12, "{name}: paper {corner:?}, expected about {paper:?}");
            }
            let ink = img.pixels().filter(|p| p.0.iter().all(|&c| c < 100)).count();
            assert!(ink > 2_000, "{name}: {ink} dark pixels: text is there");
        }
    }

    /// Files of Pillow's test suite the `tiff` crate alone refuses (see tests/fixtures/README.md): BigTIFF,
    /// signed 8-bit grey, three pages of an 8-bit palette.
    #[test]
    fn bigtiff_signed_samples_and_palettes_the_tiff_crate_refuses_are_read() {
        let limits = Limits::default();
        for (name, expected_pages) in [("hopper_bigtiff.tif", 1), ("8bit.s.tif", 1), ("multipage-mmap.tiff", 3)] {
            let bytes = fixture(&format!("pillow/{name}"));
            let pages: Vec<_> = pages(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e:?}")).collect();
            assert_eq!(pages.len(), expected_pages, "{name}");
            for page in pages {
                let img = page.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert!(img.width() > 0 && img.height() > 0, "{name}");
            }
        }
    }

    /// Pillow's `g4-fillorder-test.tif`: G4 with FillOrder 2. Read as Pillow shows it: "26 of 27", black on
    /// white, the ink in the middle rows and none at the edges (read in the wrong bit order, the decoder
    /// runs out of data, or draws noise everywhere).
    #[test]
    fn a_g4_page_with_its_bits_in_reverse_order_is_read() {
        let limits = Limits::default();
        let bytes = fixture("pillow/g4-fillorder-test.tif");
        let img = pages(&bytes, &limits).unwrap().next().unwrap().unwrap().to_luma8();
        assert_eq!((img.width(), img.height()), (218, 84));
        let dark = |rows: std::ops::Range<u32>| {
            rows.flat_map(|y| (0..218).map(move |x| (x, y))).filter(|&(x, y)| img.get_pixel(x, y).0[0] < 128).count()
        };
        assert_eq!(dark(0..4), 0, "a white margin on top");
        assert!(dark(30..55) > 500, "the text in the middle: {}", dark(30..55));
    }

    /// Pillow's `tiff_tiled_planar_16bit_RGB.tiff`: the `tiff` crate asserts on tiles of separate planes;
    /// Folio refuses the page with its reason instead of crashing the parser.
    #[test]
    fn tiles_of_separate_planes_are_refused_with_a_reason() {
        let limits = Limits::default();
        let bytes = fixture("pillow/tiff_tiled_planar_16bit_RGB.tiff");
        let e = pages(&bytes, &limits).unwrap().next().unwrap().unwrap_err();
        assert_eq!(e.kind, ExtractErrorKind::UnsupportedFormat, "{e:?}");
        assert!(e.message.contains("separate colour planes"), "{}", e.message);
    }

    #[test]
    fn a_page_over_the_pixel_limit_is_refused_before_it_is_decoded() {
        let limits = Limits { max_image_pixels: 100_000, ..Limits::default() };
        for name in ["scan-g4.tif", "scan-gray12.tif"] {
            let e = first_page(name, &limits).unwrap_err();
            assert_eq!(e.kind, ExtractErrorKind::TooLarge, "{name}: {e:?}");
        }
    }

    #[test]
    fn a_directory_is_rewritten_only_where_it_has_the_entries() {
        let bytes = fixture("scan-gray12.tif");
        let patched = patch_directory(&bytes, 0, &[(258, 8)]).unwrap();
        assert_eq!(patched.len(), bytes.len());
        assert_ne!(patched, bytes);
        assert!(patch_directory(&bytes, 0, &[(320, 1)]).is_none(), "no ColorMap entry");
        assert!(patch_directory(&bytes, 5, &[(258, 8)]).is_none(), "no sixth directory");
        assert!(patch_directory(b"not a tiff", 0, &[(258, 8)]).is_none());
    }
}
