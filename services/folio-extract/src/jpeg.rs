//! JPEG truncation check. The JPEG decoder pads a file that stops mid-scan with grey and reports
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

#[cfg(test)]
mod tests {
    use super::is_truncated;

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
}
