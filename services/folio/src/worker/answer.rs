//! What a parser process answers for one document, on its stdout, and how the worker reads it back.
//!
//! The answer is one line of JSON, the record without its text, which also lists the parts that follow
//! (`parts`) and the parser's own time on the document in microseconds (`parser_us`); then each part's bytes,
//! back to back, in the order listed: the text (UTF-8), the form's structure (JSON) and its pictures (PNG),
//! the thumbnails (in the order of the record's `thumbnails`). Nothing goes through a scratch file: the parent
//! checks each length the line announces against that part's bound before it buffers a byte of it, and a
//! process that announces more than a bound, or more parts than it was asked for, has answered nonsense.
//!
//! The same answer comes from a one-shot parser process (`folio extract-child`) and from a warm one
//! (`folio extract-server`), whose next answer follows on the same pipe.

use folio_core::structure::{Structure, MAX_PICTURES};
use folio_core::{ExtractError, ExtractErrorKind, Record};
use folio_extract::{Extraction, Picture, Thumbnail, ThumbnailSpec};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The most bytes of the answer's line (the record, without its text).
pub const MAX_RECORD_BYTES: u64 = 4 << 20;
/// The most bytes of one thumbnail (a 4096 px lossless image is well under it).
pub const MAX_THUMBNAIL_BYTES: u64 = 64 << 20;
/// The most bytes of one picture taken from a document (1600 px at most: well under it).
pub const MAX_PICTURE_BYTES: u64 = 16 << 20;

/// The most bytes of structure: its texts are bounded as the text is (`max_text_bytes`), with room for
/// JSON's escapes and its tables' and notes' framing.
pub fn max_structure_bytes(max_text_bytes: u64) -> u64 {
    max_text_bytes.saturating_mul(2).saturating_add(1 << 20)
}

/// One part of an answer, as its line announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    Text { bytes: u64 },
    Structure { bytes: u64 },
    Picture { bytes: u64 },
    Thumbnail { bytes: u64 },
}

/// What the line carries besides the record (read from the same JSON; the record ignores these fields).
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    parts: Vec<Part>,
    #[serde(default)]
    parser_us: Option<u64>,
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    record: &'a Record,
    parts: &'a [Part],
    parser_us: u64,
}

/// The parser's side: writes `extraction` as its answer (its thumbnails listed in the record under their
/// file names), `parser` being its own time on the document.
pub fn write(out: &mut impl Write, extraction: Extraction, parser: Duration) -> std::io::Result<()> {
    let Extraction { mut record, text, thumbnails, structure, pictures } = extraction;
    record.text = None;
    let structure = structure.map(|s| serde_json::to_vec(&s)).transpose().map_err(std::io::Error::other)?;
    let mut parts = Vec::new();
    let mut bodies: Vec<&[u8]> = Vec::new();
    if !text.is_empty() {
        parts.push(Part::Text { bytes: text.len() as u64 });
        bodies.push(text.as_bytes());
    }
    if let Some(json) = &structure {
        parts.push(Part::Structure { bytes: json.len() as u64 });
        bodies.push(json);
        for picture in &pictures {
            parts.push(Part::Picture { bytes: picture.png.len() as u64 });
            bodies.push(&picture.png);
        }
    }
    for thumbnail in &thumbnails {
        record.thumbnails.push(thumbnail.reference(thumbnail.file_name()));
        parts.push(Part::Thumbnail { bytes: thumbnail.bytes.len() as u64 });
        bodies.push(&thumbnail.bytes);
    }
    let parser_us = u64::try_from(parser.as_micros()).unwrap_or(u64::MAX);
    serde_json::to_writer(&mut *out, &Line { record: &record, parts: &parts, parser_us })
        .map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    for body in bodies {
        out.write_all(body)?;
    }
    out.flush()
}

/// Where a parser process writes its answers: its stdout, as a file of its own rather than through
/// `std::io::stdout()`, which writes line by line (an answer's thumbnails hold newline bytes: one write a
/// line of a PNG), buffered up to 64 KiB and larger parts written whole.
pub fn output() -> std::io::Result<std::io::BufWriter<std::fs::File>> {
    use std::os::fd::AsFd;
    let stdout = std::io::stdout().as_fd().try_clone_to_owned()?;
    Ok(std::io::BufWriter::with_capacity(64 * 1024, std::fs::File::from(stdout)))
}

/// What the worker asked of the parser: the bounds its answer is read through.
#[derive(Debug, Clone)]
pub struct Asked {
    pub max_text_bytes: u64,
    pub thumbnails: ThumbnailSpec,
}

/// An answer as read, each part within its bound, not yet checked against the record.
#[derive(Debug)]
pub struct Answer {
    line: Vec<u8>,
    parser_us: Option<u64>,
    text: Vec<u8>,
    structure: Option<Vec<u8>>,
    pictures: Vec<Vec<u8>>,
    thumbnails: Vec<Vec<u8>>,
}

/// Why no answer could be read.
#[derive(Debug)]
pub enum Unread {
    /// The output ended first (the process died, or never answered).
    Ended,
    /// Reading failed.
    Io(std::io::Error),
    /// A line or part past its bound: nothing past the bound was read (the process must be stopped).
    TooLarge(String),
    /// The line is not an answer (its JSON does not parse, or it lists parts it was not asked for).
    Nonsense(String),
}

/// Reads one answer from `from`, every part through its bound.
pub async fn read<R: AsyncBufRead + Unpin>(from: &mut R, asked: &Asked) -> Result<Answer, Unread> {
    let mut line = Vec::new();
    let read = (&mut *from).take(MAX_RECORD_BYTES + 1).read_until(b'\n', &mut line).await.map_err(Unread::Io)?;
    if read as u64 > MAX_RECORD_BYTES {
        return Err(Unread::TooLarge(format!(
            "the parser process answered more than {} MiB of record",
            MAX_RECORD_BYTES >> 20
        )));
    }
    if !line.ends_with(b"\n") {
        return Err(Unread::Ended);
    }
    let envelope: Envelope = serde_json::from_slice(&line).map_err(|e| Unread::Nonsense(e.to_string()))?;
    // Parts of each kind, at most as many as could have been asked for.
    let count = |f: fn(&Part) -> bool| envelope.parts.iter().filter(|p| f(p)).count();
    let too_many = count(|p| matches!(p, Part::Text { .. })) > 1
        || count(|p| matches!(p, Part::Structure { .. })) > 1
        || count(|p| matches!(p, Part::Picture { .. })) > MAX_PICTURES
        || count(|p| matches!(p, Part::Thumbnail { .. })) > asked.thumbnails.sizes.len();
    if too_many {
        return Err(Unread::Nonsense(format!("{} parts, more than were asked for", envelope.parts.len())));
    }
    let mut answer = Answer {
        line,
        parser_us: envelope.parser_us,
        text: Vec::new(),
        structure: None,
        pictures: Vec::new(),
        thumbnails: Vec::new(),
    };
    for part in &envelope.parts {
        let (bytes, bound, what) = match *part {
            Part::Text { bytes } => (bytes, asked.max_text_bytes, "text"),
            Part::Structure { bytes } => (bytes, max_structure_bytes(asked.max_text_bytes), "structure"),
            Part::Picture { bytes } => (bytes, MAX_PICTURE_BYTES, "picture"),
            Part::Thumbnail { bytes } => (bytes, MAX_THUMBNAIL_BYTES, "thumbnail"),
        };
        if bytes > bound {
            return Err(Unread::TooLarge(format!(
                "the parser process announced {bytes} bytes of {what}, over its bound of {bound}"
            )));
        }
        let mut body = vec![0u8; bytes as usize];
        match from.read_exact(&mut body).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(Unread::Ended),
            Err(e) => return Err(Unread::Io(e)),
        }
        match part {
            Part::Text { .. } => answer.text = body,
            Part::Structure { .. } => answer.structure = Some(body),
            Part::Picture { .. } => answer.pictures.push(body),
            Part::Thumbnail { .. } => answer.thumbnails.push(body),
        }
    }
    Ok(answer)
}

impl Unread {
    /// The document's error for an answer that could not be read; `stderr` tells what the process said.
    pub fn into_error(self, stderr: &str) -> ExtractError {
        match self {
            Unread::Ended => ExtractError::new(
                ExtractErrorKind::Crashed,
                format!("the parser process ended without an answer; stderr: {}", tail(stderr)),
            ),
            Unread::Io(e) => ExtractError::new(ExtractErrorKind::Crashed, format!("lost the parser process: {e}")),
            Unread::TooLarge(message) => ExtractError::new(ExtractErrorKind::TooLarge, message),
            Unread::Nonsense(why) => ExtractError::new(
                ExtractErrorKind::Crashed,
                format!("the parser process answered nonsense ({why}); stderr: {}", tail(stderr)),
            ),
        }
    }
}

/// An extraction and the parser's own time on it, apart from its process's start and hand-back.
#[derive(Debug)]
pub struct Measured {
    pub extraction: Extraction,
    /// The parser's own time; `None` where it did not say (a record without it: the record's whole
    /// milliseconds stand in).
    pub parser: Option<Duration>,
    /// Time it waited for its parser to finish the document before it (a warm process's lane), apart from
    /// its own reading.
    pub waited: Duration,
}

impl Answer {
    /// The extraction the answer gives, checked against what was asked: the record (its text cut to
    /// `max_text_bytes`), the thumbnails of the sizes and format asked for, the form with the pictures that
    /// are the PNGs it says.
    pub fn into_extraction(self, asked: &Asked, stderr: &str) -> Result<Measured, ExtractError> {
        let mut record: Record =
            serde_json::from_slice(&self.line).map_err(|e| Unread::Nonsense(e.to_string()).into_error(stderr))?;
        let mut text = match (record.text.take(), self.text.is_empty()) {
            (Some(inline), true) => inline,
            _ => utf8_prefix(self.text),
        };
        if let Some(found) = folio_extract::cut_text(&mut text, asked.max_text_bytes) {
            record.text_cut_from_bytes = Some(record.text_cut_from_bytes.unwrap_or(found).max(found));
        }
        // The record lists the thumbnails made, in the order of their parts; those of the sizes and format
        // asked for are kept.
        let made = std::mem::take(&mut record.thumbnails);
        let mut thumbnails = Vec::new();
        for (made, bytes) in made.into_iter().zip(self.thumbnails) {
            if asked.thumbnails.sizes.contains(&made.max_side) && made.format == asked.thumbnails.format {
                thumbnails.push(Thumbnail {
                    max_side: made.max_side,
                    width: made.width,
                    height: made.height,
                    format: made.format,
                    bytes,
                });
            }
        }
        record.thumbnail = None;
        let (structure, pictures) = match self.structure {
            Some(json) => form(&json, self.pictures),
            None => (None, Vec::new()),
        };
        let parser = self.parser_us.map(Duration::from_micros);
        Ok(Measured {
            extraction: Extraction { record, text, thumbnails, structure, pictures },
            parser,
            waited: Duration::ZERO,
        })
    }
}

/// The form, held to [`Structure::cut`]'s bounds, with each picture it names that is the PNG of the size
/// it says. A picture that is missing or is not that PNG is left out with the blocks that show it; a
/// structure that does not parse is left out (the text remains).
fn form(json: &[u8], mut bodies: Vec<Vec<u8>>) -> (Option<Structure>, Vec<Picture>) {
    let mut structure: Structure = match serde_json::from_slice(json) {
        Ok(structure) => structure,
        Err(e) => {
            tracing::warn!(error = %e, "the structure the parser answered does not parse; the text is set instead");
            return (None, Vec::new());
        }
    };
    structure.cut();
    bodies.truncate(structure.pictures.len());
    let mut bodies = bodies.into_iter();
    let mut pictures = Vec::new();
    let mut kept = Vec::new();
    for (index, reference) in structure.pictures.iter_mut().enumerate() {
        let png = bodies.next().filter(|bytes| png_size(bytes) == Some((reference.width, reference.height)));
        kept.push(png.is_some());
        if let Some(png) = png {
            reference.location = Picture::file_name(index);
            pictures.push(Picture { png, width: reference.width, height: reference.height });
        } else {
            tracing::warn!(picture = index + 1, "a picture the parser listed is missing or not the PNG it says");
        }
    }
    structure.keep_pictures(&kept);
    (Some(structure), pictures)
}

/// The width and height a PNG's header gives.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((be(16), be(20)))
}

/// The text as UTF-8: where it is not (a parser that cut a character in two), what decodes up to there.
fn utf8_prefix(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    }
}

/// The last 300 characters of what a process said.
pub fn tail(text: &str) -> String {
    let trimmed = text.trim();
    let start = trimmed.char_indices().rev().nth(300).map(|(i, _)| i).unwrap_or(0);
    trimmed[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use folio_core::ThumbnailFormat;

    fn asked() -> Asked {
        Asked { max_text_bytes: 1 << 20, thumbnails: ThumbnailSpec { sizes: vec![256], format: ThumbnailFormat::Png } }
    }

    #[tokio::test]
    async fn an_answer_written_reads_back_whole_and_the_next_follows_it() {
        let mut record = Record::failed("a.pdf", String::new(), 0, ExtractError::new(ExtractErrorKind::Corrupt, "x"));
        record.error = None;
        let thumbnail = Thumbnail {
            max_side: 256,
            width: 2,
            height: 1,
            format: ThumbnailFormat::Png,
            bytes: b"\n\npng\n".to_vec(),
        };
        let extraction = Extraction {
            record,
            text: "line one\n\nline two ü".to_string(),
            thumbnails: vec![thumbnail],
            structure: None,
            pictures: Vec::new(),
        };
        let mut out = Vec::new();
        write(&mut out, extraction, Duration::from_micros(12_345)).unwrap();
        let second = out.clone();
        out.extend_from_slice(&second);
        let mut reader = tokio::io::BufReader::new(&out[..]);
        for _ in 0..2 {
            let answer = read(&mut reader, &asked()).await.unwrap();
            let measured = answer.into_extraction(&asked(), "").unwrap();
            assert_eq!(measured.parser, Some(Duration::from_micros(12_345)));
            let e = measured.extraction;
            assert_eq!(e.text, "line one\n\nline two ü");
            assert_eq!(e.record.path, "a.pdf");
            assert_eq!(e.thumbnails.len(), 1);
            assert_eq!(e.thumbnails[0].bytes, b"\n\npng\n");
        }
        assert!(matches!(read(&mut reader, &asked()).await, Err(Unread::Ended)));
    }

    /// Whatever a parser process writes, reading it ends in an answer or an error, never a panic, and never
    /// holds more than the bounds allow.
    #[tokio::test]
    async fn any_bytes_read_as_an_answer_or_an_error() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let kinds = ["text", "structure", "picture", "thumbnail", "other"];
        for _ in 0..2_000 {
            let mut input = Vec::new();
            if next() % 2 == 0 {
                let parts: Vec<String> = (0..next() % 4)
                    .map(|_| {
                        let kind = kinds[(next() % kinds.len() as u64) as usize];
                        format!(r#"{{"kind":"{kind}","bytes":{}}}"#, next() % 64)
                    })
                    .collect();
                input.extend(
                    format!(r#"{{"path":"x","parts":[{}],"parser_us":{}}}"#, parts.join(","), next() % 9).bytes(),
                );
                input.push(b'\n');
            }
            input.extend((0..next() % 200).map(|_| next() as u8));
            let mut reader = tokio::io::BufReader::new(&input[..]);
            if let Ok(answer) = read(&mut reader, &asked()).await {
                assert!(answer.text.len() as u64 <= asked().max_text_bytes);
                assert!(answer.thumbnails.len() <= asked().thumbnails.sizes.len());
                let _ = answer.into_extraction(&asked(), "");
            }
        }
    }

    #[tokio::test]
    async fn a_part_over_its_bound_is_refused_before_it_is_read() {
        let line = br#"{"parts":[{"kind":"text","bytes":1099511627776}]}"#;
        let mut input = line.to_vec();
        input.push(b'\n');
        let got = read(&mut tokio::io::BufReader::new(&input[..]), &asked()).await;
        assert!(matches!(&got, Err(Unread::TooLarge(m)) if m.contains("1099511627776 bytes of text")), "{got:?}");
        // Two thumbnails where one size was asked for: nonsense, whatever their size.
        let line = b"{\"parts\":[{\"kind\":\"thumbnail\",\"bytes\":1},{\"kind\":\"thumbnail\",\"bytes\":1}]}\nab";
        let got = read(&mut tokio::io::BufReader::new(&line[..]), &asked()).await;
        assert!(matches!(got, Err(Unread::Nonsense(_))), "{got:?}");
        // Fewer bytes than announced: the process ended mid-answer.
        let line = b"{\"parts\":[{\"kind\":\"text\",\"bytes\":10}]}\nabc";
        assert!(matches!(read(&mut tokio::io::BufReader::new(&line[..]), &asked()).await, Err(Unread::Ended)));
    }
}
