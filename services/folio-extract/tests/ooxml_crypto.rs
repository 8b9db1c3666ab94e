//! Password-protected DOCX (MS-OFFCRYPTO): the right password opens it, a wrong one or none is an
//! `encrypted` error that says which, and damage is a typed error, never a panic. The fixtures (see
//! `fixtures/README.md`) cover both schemes Office writes: Standard (the Tika file) and Agile.

use folio_core::{ExtractErrorKind, PagesSource};
use folio_extract::{extract_bytes, Extraction, Format, Limits, Options, ThumbnailSpec};
use std::path::Path;

const TIKA: &str = "testWORD_protected_passtika.docx";
const AGILE: &str = "agile-protected.docx";
const WRONG: &str = "the password given for this document is wrong";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

fn with_password(password: Option<&str>) -> Options {
    Options { thumbnails: ThumbnailSpec::none(), ocr: false, password: password.map(Into::into), ..Options::default() }
}

fn error(ex: &Extraction) -> (Option<ExtractErrorKind>, String) {
    let e = ex.record.error.as_ref();
    (e.map(|e| e.kind), e.map(|e| e.message.clone()).unwrap_or_default())
}

/// Where the `EncryptedPackage` stream starts in `bytes`: its first 8 bytes are the plain package's size.
fn package_offset(bytes: &[u8], plain_len: u64) -> usize {
    let at: Vec<usize> =
        bytes.windows(8).enumerate().filter(|(_, w)| *w == plain_len.to_le_bytes()).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "the package size field should occur once");
    at[0]
}

#[test]
fn standard_encryption_opens_with_the_right_password() {
    let bytes = fixture(TIKA);
    assert_eq!(Format::sniff(&bytes), Format::Docx);
    let ex = extract_bytes(TIKA, &bytes, &with_password(Some("tika")));
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert_eq!(r.format, "docx");
    assert_eq!(ex.text, "This is an encrypted Word 2007 File.");
    assert_eq!(r.language.as_deref(), Some("en"));
    assert_eq!(r.pages, Some(1));
    assert_eq!(r.pages_source, Some(PagesSource::Metadata));
    // The record describes the file as contributed: the encrypted bytes.
    assert_eq!(r.bytes, bytes.len() as u64);
}

#[test]
fn agile_encryption_opens_with_the_right_password() {
    let bytes = fixture(AGILE);
    assert_eq!(Format::sniff(&bytes), Format::Docx);
    let ex = extract_bytes(AGILE, &bytes, &with_password(Some("folio-agile")));
    let r = &ex.record;
    assert_eq!(r.error, None);
    assert!(ex.text.starts_with("The committee met on Tuesday to review the annual report of the library."));
    // The text runs over both 4096-byte segments of the package.
    assert!(ex.text.contains("Item 40 of the report was read aloud"), "{}", ex.text);
    assert!(ex.text.ends_with("This agile encrypted document opens only with the right password."));
    assert_eq!(r.language.as_deref(), Some("en"));
    assert_eq!(r.pages, Some(2));
    assert_eq!(r.pages_source, Some(PagesSource::Metadata));
    assert_eq!(r.title.as_deref(), Some("Agile fixture"));
}

#[test]
fn a_wrong_password_is_encrypted_and_says_so() {
    for (name, guess) in [(TIKA, "tikaa"), (AGILE, "folio"), (AGILE, "")] {
        let ex = extract_bytes(name, &fixture(name), &with_password(Some(guess)));
        let (kind, message) = error(&ex);
        assert_eq!(kind, Some(ExtractErrorKind::Encrypted), "{name}: {message}");
        assert_eq!(message, WRONG, "{name}");
        assert!(ex.text.is_empty());
        assert_eq!(ex.record.format, "docx");
    }
}

#[test]
fn no_password_is_encrypted_and_asks_for_one() {
    for name in [TIKA, AGILE] {
        let (kind, message) = error(&extract_bytes(name, &fixture(name), &with_password(None)));
        assert_eq!(kind, Some(ExtractErrorKind::Encrypted), "{name}");
        assert!(message.contains("protected with a password"), "{message}");
        assert!(message.contains("supply it per document"), "{message}");
        assert_ne!(message, WRONG);
    }
}

#[test]
fn a_damaged_encrypted_package_is_a_typed_error() {
    for (name, password, plain_len) in [(TIKA, "tika", 10_087u64), (AGILE, "folio-agile", 6_936)] {
        let good = fixture(name);
        let opts = with_password(Some(password));
        let at = package_offset(&good, plain_len);
        let check = |bytes: &[u8], want: ExtractErrorKind, words: &str| {
            let (kind, message) = error(&extract_bytes(name, bytes, &opts));
            assert_eq!(kind, Some(want), "{name}: {message}");
            assert!(message.contains(words), "{name}: {message}");
        };

        // A package that claims more bytes than the stream holds.
        let mut bytes = good.clone();
        bytes[at..at + 8].copy_from_slice(&(plain_len + 100_000).to_le_bytes());
        check(&bytes, ExtractErrorKind::Corrupt, "declares");
        // One past the file size limit.
        bytes[at..at + 8].copy_from_slice(&(Limits::default().max_file_bytes + 1).to_le_bytes());
        check(&bytes, ExtractErrorKind::TooLarge, "max_file_bytes");
        // Encrypted bytes changed: Agile's integrity check (HMAC) fails before decryption; Standard
        // encryption has none, and the package decrypts to something that is not a zip.
        let mut bytes = good.clone();
        bytes[at + 8] ^= 0x55;
        check(&bytes, ExtractErrorKind::Corrupt, if name == AGILE { "integrity check" } else { "not a zip" });
        // The file cut short, inside the package.
        check(&good[..at + 2048], ExtractErrorKind::Corrupt, "damaged");
        // Cut anywhere: a typed error, never a panic; or, when only unused bytes of the last sector are
        // gone, the document itself.
        let whole = extract_bytes(name, &good, &opts).text;
        for cut in (0..good.len()).step_by(509) {
            let ex = extract_bytes(name, &good[..cut], &opts);
            let (kind, message) = error(&ex);
            assert!(
                matches!(kind, Some(ExtractErrorKind::Corrupt | ExtractErrorKind::UnsupportedFormat))
                    || (kind.is_none() && ex.text == whole),
                "{name} cut at {cut}: {kind:?} {message}"
            );
        }
    }
}

#[test]
fn the_password_is_in_no_error_message() {
    let secret = "hunter2-not-it";
    for name in [TIKA, AGILE] {
        let ex = extract_bytes(name, &fixture(name), &with_password(Some(secret)));
        let json = serde_json::to_string(&ex.record).unwrap();
        assert!(!json.contains(secret), "{json}");
    }
}

#[test]
fn max_spin_count_refuses_before_hashing_in_both_schemes() {
    let opts = |password: &str| Options {
        limits: Limits { max_spin_count: 1000, ..Limits::default() },
        ..with_password(Some(password))
    };
    for (name, password) in [(TIKA, "tika"), (AGILE, "folio-agile")] {
        let (kind, message) = error(&extract_bytes(name, &fixture(name), &opts(password)));
        assert_eq!(kind, Some(ExtractErrorKind::TooLarge), "{name}: {message}");
        assert!(message.contains("max_spin_count"), "{message}");
    }
}
