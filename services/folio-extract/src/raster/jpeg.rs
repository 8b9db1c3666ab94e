//! JPEG header checks, by walking the marker structure: truncation, and arithmetic coding.
//!
//! Truncation: the JPEG decoder pads a file that stops mid-scan with grey and reports
//! success, so a cut-off upload would pass as a good image. We walk the marker structure instead: the
//! main image must reach its EOI marker (FF D9). Bytes after the EOI (trailing garbage, appended data)
//! are fine, and an EXIF thumbnail's EOI does not count, because it sits inside an APP1 segment that we
//! skip by its length.

/// Whether `bytes` (a JPEG, starting with SOI) ends before its EOI marker.
pub(crate) fn is_truncated(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 1 < bytes.len() {
        if bytes[i] != 0xFF {
            // Entropy-coded data, or junk between segments (which decoders skip too).
            i += 1;
            continue;
        }
        let marker = bytes[i + 1];
        match marker {
            0xD9 => return false,
            // Stuffed zero, restart markers, fill bytes: inside entropy-coded data.
            0x00 | 0xD0..=0xD7 | 0xFF | 0x01 => i += if marker == 0xFF { 1 } else { 2 },
            _ => {
                // A segment with a length (SOS included: its entropy-coded data follows): skip it.
                let Some(len) = bytes.get(i + 2..i + 4).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
                    return true;
                };
                i += 2 + len;
            }
        }
    }
    true
}

/// What the segments before the first scan say about a JPEG's coding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    /// The frame is arithmetic-coded (SOF9, SOF10 or SOF11: sequential, progressive or lossless), which the
    /// `image` crate's decoder does not read; [`crate::raster::djpeg`] does.
    pub arithmetic: bool,
    /// Width and height from the frame header.
    pub dimensions: Option<(u32, u32)>,
    /// The Exif data of the first APP1 `Exif` segment, from its TIFF header on (what
    /// `image::metadata::Orientation::from_exif_chunk` reads).
    pub exif: Option<&'a [u8]>,
}

/// The header of `bytes` (a JPEG, starting with SOI): the segments up to the first scan (SOS) or the end.
/// A damaged structure ends the walk with what was found so far.
pub(crate) fn header(bytes: &[u8]) -> Header<'_> {
    let mut found = Header::default();
    let mut i = 2; // after SOI
    while i + 3 < bytes.len() {
        if bytes[i] != 0xFF {
            i += 1;
            continue;
        }
        let marker = bytes[i + 1];
        if matches!(marker, 0xFF | 0x01 | 0xD0..=0xD7) {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        if matches!(marker, 0xD9 | 0xDA) {
            break;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let Some(body) = bytes.get(i + 4..i + 2 + len.max(2)) else { break };
        match marker {
            // Start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                found.arithmetic |= matches!(marker, 0xC9..=0xCB);
                if let (Some(h), Some(w)) = (body.get(1..3), body.get(3..5)) {
                    let (h, w) = (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([w[0], w[1]]));
                    found.dimensions.get_or_insert((u32::from(w), u32::from(h)));
                }
            }
            0xE1 if found.exif.is_none() => found.exif = body.strip_prefix(b"Exif\0\0"),
            _ => {}
        }
        i += 2 + len;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_segments_and_scans() {
        // SOI, APP1 holding a thumbnail's EOI, SOS, data with a stuffed FF 00 and a restart, EOI.
        let good = [
            0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x04, 0xFF, 0xD9, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0,
            0x56, 0xFF, 0xD9,
        ];
        assert!(!is_truncated(&good));
        let mut garbage = good.to_vec();
        garbage.extend_from_slice(b"trailing garbage");
        assert!(!is_truncated(&garbage));
        assert!(is_truncated(&good[..good.len() - 2]));
        assert!(is_truncated(&good[..8]), "only the thumbnail's EOI");
    }

    /// SOI, an APP1 Exif segment, a frame header with marker `sof` (8 bits, 300 high, 400 wide, one
    /// component), SOS and EOI.
    fn jpeg(sof: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x0C];
        b.extend_from_slice(b"Exif\0\0II*\0");
        b.extend_from_slice(&[0xFF, sof, 0x00, 0x0B, 8, 0x01, 0x2C, 0x01, 0x90, 1, 1, 0x11, 0]);
        b.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn tells_arithmetic_frames_and_reads_the_header() {
        let bytes = jpeg(0xC9);
        let h = header(&bytes);
        assert!(h.arithmetic);
        assert_eq!(h.dimensions, Some((400, 300)));
        assert_eq!(h.exif, Some(&b"II*\0"[..]));
        assert!(header(&jpeg(0xCA)).arithmetic, "progressive");
        assert!(!header(&jpeg(0xC0)).arithmetic, "baseline Huffman");
        assert!(!header(&jpeg(0xC2)).arithmetic, "progressive Huffman");
        assert_eq!(header(&jpeg(0xC0)).dimensions, Some((400, 300)));
    }

    #[test]
    fn damaged_headers_end_the_walk() {
        let good = jpeg(0xC9);
        for cut in 0..good.len() {
            let _ = header(&good[..cut]);
        }
        assert!(!header(&good[..20]).arithmetic, "cut before the frame header");
        assert_eq!(header(b"\xFF\xD8\xFF\xC9\xFF\xFF").dimensions, None);
    }
}
