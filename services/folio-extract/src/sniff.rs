//! Format detection from content. File names lie (a `.pdf` that is really a JPEG, a `.doc` that is a
//! DOCX), so the format is always decided from the bytes.

/// A format Folio knows how to read, or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Pdf,
    Docx,
    Jpeg,
    Png,
    Tiff,
    Webp,
    Gif,
    /// Word 97-2003 (an OLE2 file with a `WordDocument` stream), read through LibreOffice.
    Doc,
    /// OpenDocument text (`.odt`), read through LibreOffice.
    Odt,
    /// Rich Text Format, read through LibreOffice.
    Rtf,
    Unknown,
}

const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

impl Format {
    /// Decide the format of `bytes`.
    ///
    /// A password-protected OOXML file is an OLE2 container holding an `EncryptionInfo` stream; it is
    /// reported as `Docx` (which is what the contributor meant to send) and the DOCX reader turns it into
    /// an `encrypted` error. An OLE2 file with a `WordDocument` stream is a legacy `.doc`; any other (`.xls`,
    /// `.ppt`) is `Unknown`. A zip whose first entry is ODF's `mimetype` naming a text is `.odt`.
    pub fn sniff(bytes: &[u8]) -> Format {
        let head = &bytes[..bytes.len().min(1024)];
        if find(head, b"%PDF-").is_some() {
            return Format::Pdf;
        }
        if bytes.starts_with(b"PK\x03\x04") {
            if bytes.get(30..38) == Some(b"mimetype")
                && bytes.get(38..).is_some_and(|rest| rest.starts_with(b"application/vnd.oasis.opendocument.text"))
            {
                return Format::Odt;
            }
            return if find(bytes, b"word/document.xml").is_some() { Format::Docx } else { Format::Unknown };
        }
        if bytes.starts_with(OLE2_MAGIC) {
            return if is_encrypted_ooxml(bytes) {
                Format::Docx
            } else if find(bytes, &word_document_marker()).is_some() {
                Format::Doc
            } else {
                Format::Unknown
            };
        }
        if bytes.starts_with(b"{\\rtf") {
            return Format::Rtf;
        }
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Format::Jpeg;
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Format::Png;
        }
        // Classic TIFF, and BigTIFF (`+`, 64-bit offsets), which the TIFF reader takes too.
        if bytes.starts_with(b"II*\0")
            || bytes.starts_with(b"MM\0*")
            || bytes.starts_with(b"II+\0")
            || bytes.starts_with(b"MM\0+")
        {
            return Format::Tiff;
        }
        if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            return Format::Webp;
        }
        if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            return Format::Gif;
        }
        Format::Unknown
    }

    /// The short name used in records (`format` field).
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Tiff => "tiff",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Doc => "doc",
            Format::Odt => "odt",
            Format::Rtf => "rtf",
            Format::Unknown => "unknown",
        }
    }

    /// The MIME type of the format.
    pub fn mime(&self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Tiff => "image/tiff",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Doc => "application/msword",
            Format::Odt => "application/vnd.oasis.opendocument.text",
            Format::Rtf => "application/rtf",
            Format::Unknown => "application/octet-stream",
        }
    }
}

/// The bytes that mark a legacy Word document inside an OLE2 container: the directory entry name
/// `WordDocument` in UTF-16LE.
pub fn word_document_marker() -> Vec<u8> {
    "WordDocument".encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Whether the format is one LibreOffice converts to DOCX for Folio to read (`.doc`, `.odt`, `.rtf`).
impl Format {
    pub fn is_legacy_office(&self) -> bool {
        matches!(self, Format::Doc | Format::Odt | Format::Rtf)
    }
}

/// Whether `bytes` start like an OLE2 compound file (legacy Office, or encrypted OOXML).
pub(crate) fn is_ole2(bytes: &[u8]) -> bool {
    bytes.starts_with(OLE2_MAGIC)
}

/// An OLE2 container with an `EncryptionInfo` stream is an OOXML file encrypted with a password
/// (MS-OFFCRYPTO). Directory entry names are UTF-16LE.
pub(crate) fn is_encrypted_ooxml(bytes: &[u8]) -> bool {
    is_ole2(bytes) && find(bytes, &encryption_info_marker()).is_some()
}

/// The bytes that mark a password-protected OOXML file inside an OLE2 container: the directory entry name
/// `EncryptionInfo` in UTF-16LE. For callers that search a file in pieces rather than hold it whole.
pub fn encryption_info_marker() -> Vec<u8> {
    "EncryptionInfo".encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Position of `needle` in `haystack` (naive search; inputs are bounded by `max_file_bytes`).
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match haystack[i..=last_start].iter().position(|&b| b == first) {
            Some(off) => {
                let at = i + off;
                if &haystack[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
            None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_numbers() {
        assert_eq!(Format::sniff(b"junk\n%PDF-1.7\n"), Format::Pdf);
        assert_eq!(Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Format::Jpeg);
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\nrest"), Format::Png);
        assert_eq!(Format::sniff(b"II*\0...."), Format::Tiff);
        assert_eq!(Format::sniff(b"MM\0*...."), Format::Tiff);
        assert_eq!(Format::sniff(b"II+\0\x08\0\0\0"), Format::Tiff, "BigTIFF");
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Format::Webp);
        assert_eq!(Format::sniff(b"GIF89a.."), Format::Gif);
        assert_eq!(Format::sniff(b"{\\rtf1\\ansi hello}"), Format::Rtf);
        let mut odt = b"PK\x03\x04".to_vec();
        odt.resize(30, 0);
        odt.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.text");
        assert_eq!(Format::sniff(&odt), Format::Odt);
        let mut spreadsheet = odt.clone();
        spreadsheet.truncate(38);
        spreadsheet.extend_from_slice(b"application/vnd.oasis.opendocument.spreadsheet");
        assert_eq!(Format::sniff(&spreadsheet), Format::Unknown);
        let mut doc = OLE2_MAGIC.to_vec();
        doc.resize(600, 0);
        assert_eq!(Format::sniff(&doc), Format::Unknown, "an OLE2 file without a WordDocument stream (.xls)");
        doc.extend(word_document_marker());
        assert_eq!(Format::sniff(&doc), Format::Doc);
        assert!(Format::Doc.is_legacy_office() && !Format::Docx.is_legacy_office());
        assert_eq!(Format::sniff(b"PK\x03\x04 other.xml"), Format::Unknown);
        assert_eq!(Format::sniff(b"PK\x03\x04 word/document.xml"), Format::Docx);
        assert_eq!(Format::sniff(b""), Format::Unknown);
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
    }
}
