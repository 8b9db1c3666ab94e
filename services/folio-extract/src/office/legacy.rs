//! Legacy and other word-processor files (`.doc`, `.odt`, `.rtf`), as a call received them in 2012 as often
//! as DOCX: converted to DOCX by LibreOffice (the `soffice` Folio already runs for DOCX renderings, in the
//! parser process, under `office_timeout` and `max_file_bytes`), then read as a DOCX is. The record keeps the
//! sniffed format and says `converted_from`. Without LibreOffice, the error says what to install.

use crate::sniff::Format;
use crate::{Extracted, Options};
use folio_core::{ExtractError, ExtractErrorKind};

pub(crate) fn extract(bytes: &[u8], format: Format, opts: &Options) -> Result<Extracted, ExtractError> {
    let from = format.as_str();
    let Some(office) = opts.office.as_deref() else {
        return Err(ExtractError::new(
            ExtractErrorKind::UnsupportedFormat,
            format!(
                "a .{from} file is read by converting it with LibreOffice, which this worker does not run: install \
                 it (Debian: apt-get install libreoffice-writer-nogui; scripts/setup does) and leave \
                 extract.libreoffice at auto, or ask for the file as DOCX or PDF"
            ),
        ));
    };
    let docx = super::render::convert(office, bytes, from, "docx", opts).map_err(|why| {
        ExtractError::new(ExtractErrorKind::Corrupt, format!("LibreOffice could not convert the .{from} file: {why}"))
    })?;
    let mut found = super::docx::extract_converted(&docx, opts)?;
    found.converted_from = Some(format);
    Ok(found)
}
