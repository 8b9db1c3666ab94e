//! The rules of the call for contributions, checked against a contribution and what extraction found in its
//! documents. Each broken rule is a [`Finding`]; a blocking one keeps the contribution out of the book.

use crate::catalogue::RuleSettings;
use crate::domain::{Contribution, Document, DocumentState, Finding, FindingCode, Severity};
use crate::record::{OcrStatus, PagesSource, Record};
use chrono::NaiveDate;

/// A document of the contribution with its record, when it has one.
pub struct Evidence<'a> {
    pub document: &'a Document,
    pub record: Option<&'a Record>,
}

impl Evidence<'_> {
    /// A document whose content can go in the book.
    fn usable_record(&self) -> Option<&Record> {
        match (self.document.state, self.record) {
            (DocumentState::Done, Some(r)) if r.error.is_none() => Some(r),
            _ => None,
        }
    }
}

/// Checks one contribution. The findings come in a stable order (rule by rule, document by document).
pub fn check(
    contribution: &Contribution,
    evidence: &[Evidence<'_>],
    settings: &RuleSettings,
    deadline: Option<NaiveDate>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |code, severity, file_name: Option<&str>, message: String| {
        findings.push(Finding {
            code,
            severity,
            contribution_id: Some(contribution.id),
            file_name: file_name.map(str::to_string),
            message,
        })
    };

    if settings.require_author {
        let who = match (contribution.author.trim().is_empty(), contribution.state.trim().is_empty()) {
            (true, true) => Some("No author and no State are given"),
            (true, false) => Some("No author is given"),
            (false, true) => Some("No State is given"),
            (false, false) => None,
        };
        if let Some(who) = who {
            push(
                FindingCode::Unattributed,
                Severity::Blocking,
                None,
                format!("{who}; every item of the book must be attributed to its author."),
            );
        }
    }
    if settings.require_rights && contribution.rights.is_none() {
        push(
            FindingCode::RightsNotCleared,
            Severity::Blocking,
            None,
            "Rights are not cleared: the call asks for materials free of copyright or other intellectual property restrictions.".into(),
        );
    }
    if let Some(deadline) = deadline {
        if contribution.received > deadline {
            let days = (contribution.received - deadline).num_days();
            push(
                FindingCode::Late,
                if settings.late_is_blocking { Severity::Blocking } else { Severity::Warning },
                None,
                format!(
                    "Received on {}, {days} day{} after the deadline of {deadline}.",
                    contribution.received,
                    if days == 1 { "" } else { "s" }
                ),
            );
        }
    }

    for e in evidence {
        if e.usable_record().is_some() {
            continue;
        }
        let why = match (e.document.state, e.record.and_then(|r| r.error.as_ref())) {
            (_, Some(err)) => format!("{} ({})", err.message, err.kind.as_str()),
            (DocumentState::Failed, None) => {
                e.document.last_error.clone().unwrap_or_else(|| "processing failed".into())
            }
            (state, None) => format!("still {}", state.as_str()),
        };
        push(
            FindingCode::Unreadable,
            Severity::Warning,
            Some(&e.document.file_name),
            format!("'{}' could not be read: {why}.", e.document.file_name),
        );
    }
    if !evidence.iter().any(|e| e.usable_record().is_some()) {
        push(
            FindingCode::Empty,
            Severity::Blocking,
            None,
            "No document of this contribution could be used, so there is nothing to put in the book.".into(),
        );
        return findings;
    }

    // Read, but nothing to print and nothing to show: no word, and no image or rendered page.
    if evidence.iter().filter_map(Evidence::usable_record).all(|r| r.words == 0 && r.dimensions.is_none()) {
        push(
            FindingCode::Unreadable,
            Severity::Blocking,
            None,
            "No file of this contribution gave any text or a page that could be shown, so there is nothing to put \
             in the book: the files may be damaged, or scans that OCR could not read. Ask for the files again."
                .into(),
        );
        return findings;
    }
    for e in evidence {
        if e.usable_record().is_some_and(|r| r.repaired) {
            push(
                FindingCode::Repaired,
                Severity::Warning,
                Some(&e.document.file_name),
                format!(
                    "'{}' was damaged and was read only after a repair (its cross-reference table was rebuilt): \
                     compare what was read with the original, and ask for the file again if anything is missing.",
                    e.document.file_name
                ),
            );
        }
    }

    for e in evidence {
        let Some(found) = e.usable_record().and_then(|r| r.text_cut_from_bytes) else { continue };
        // Megabytes of text are thousands of pages: far past any call's limit, and not to be set into the
        // book cut short unless an editor says so (a waiver).
        push(
            FindingCode::TextCut,
            Severity::Blocking,
            Some(&e.document.file_name),
            format!(
                "'{}' holds {} MiB of text, more than Folio keeps of one document (extract.max_text_mib): only \
                 its first part was kept, so the checks saw only that part. Waive this finding to set that part \
                 into the book.",
                e.document.file_name,
                found.div_ceil(1 << 20)
            ),
        );
    }

    if contribution.kind.is_written() {
        let mut pages = 0u32;
        let mut estimated = false;
        for e in evidence {
            let Some(record) = e.usable_record() else { continue };
            let file = Some(e.document.file_name.as_str());
            if !record.is_image() {
                pages += record.pages.unwrap_or(0);
                estimated |= record.pages_source == Some(PagesSource::Estimate);
            }
            match record.language.as_deref() {
                Some(lang) if lang != "und" => {
                    if !settings.languages.iter().any(|l| l == lang) {
                        let confidence = record.language_confidence.unwrap_or(0.0);
                        let sure = confidence >= settings.min_language_confidence;
                        push(
                            FindingCode::Language,
                            if sure { Severity::Blocking } else { Severity::Warning },
                            file,
                            format!(
                                "'{}' is written in {} ({lang}, confidence {confidence:.2}); the call asks for texts and testimonials in {}.{}",
                                e.document.file_name,
                                language_name(lang),
                                settings.languages.iter().map(|l| language_name(l)).collect::<Vec<_>>().join(" or "),
                                if sure { "" } else { " The detection is not certain: an editor should confirm." }
                            ),
                        );
                    }
                }
                _ if record.ocr == OcrStatus::Needed => push(
                    FindingCode::NeedsOcr,
                    Severity::Warning,
                    file,
                    format!(
                        "'{}' has no text layer; its language and length cannot be checked until it is read by OCR.",
                        e.document.file_name
                    ),
                ),
                _ => push(
                    FindingCode::LanguageUndetermined,
                    Severity::Warning,
                    file,
                    format!(
                        "'{}' has too little text to tell its language; an editor should confirm it.",
                        e.document.file_name
                    ),
                ),
            }
        }
        if pages > settings.max_pages {
            push(
                FindingCode::TooLong,
                if estimated { Severity::Warning } else { Severity::Blocking },
                None,
                format!(
                    "{}{pages} pages; the call allows at most {} for a text or testimonial.",
                    if estimated { "About " } else { "" },
                    settings.max_pages
                ),
            );
        }
    }
    findings
}

/// The English name of a language code, for messages; the code itself when it is not in the table.
pub fn language_name(code: &str) -> &str {
    match code {
        "en" => "English",
        "es" => "Spanish",
        "fr" => "French",
        "de" => "German",
        "pt" => "Portuguese",
        "it" => "Italian",
        "nl" => "Dutch",
        "ru" => "Russian",
        "ar" => "Arabic",
        "zh" => "Chinese",
        "ja" => "Japanese",
        "ko" => "Korean",
        "fa" => "Persian",
        "he" => "Hebrew",
        "pl" => "Polish",
        "sv" => "Swedish",
        "no" | "nb" => "Norwegian",
        "da" => "Danish",
        "fi" => "Finnish",
        "tr" => "Turkish",
        "uk" => "Ukrainian",
        "la" => "Latin",
        "und" => "an undetermined language",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ContributionKind, Modality, Role};
    use crate::record::{ExtractError, ExtractErrorKind};
    use uuid::Uuid;

    fn contribution(kind: ContributionKind) -> Contribution {
        Contribution {
            id: Uuid::from_u128(7),
            chapter_key: "c".into(),
            state: "Mexico".into(),
            author: "Ana".into(),
            title: "T".into(),
            kind,
            role: Role::Donor,
            modality: Modality::Bilateral,
            received: NaiveDate::from_ymd_opt(2012, 4, 1).unwrap(),
            rights: Some("CC0".into()),
            layout: None,
        }
    }

    fn document(name: &str, state: DocumentState) -> Document {
        Document {
            id: Uuid::from_u128(9),
            contribution_id: Uuid::from_u128(7),
            file_name: name.into(),
            sha256: "00".into(),
            bytes: 1,
            blob_key: "k".into(),
            state,
            attempts: 1,
            last_error: None,
            password: None,
        }
    }

    fn record(format: &str, pages: u32, lang: &str, confidence: f64) -> Record {
        let mut r = Record::failed("f", "00".into(), 1, ExtractError::new(ExtractErrorKind::Io, ""));
        r.error = None;
        r.format = format.into();
        r.pages = Some(pages);
        r.pages_source = Some(PagesSource::Counted);
        r.language = Some(lang.into());
        r.language_confidence = Some(confidence);
        r.words = 300 * u64::from(pages);
        r
    }

    #[test]
    fn a_contribution_with_nothing_to_print_or_show_is_blocked_and_a_repaired_file_is_named() {
        let d = document("scan.pdf", DocumentState::Done);
        let mut blank = record("pdf", 1, "und", 0.0);
        blank.words = 0;
        let f = check_one(ContributionKind::Text, &d, &blank);
        assert_eq!(codes(&f), [(FindingCode::Unreadable, Severity::Blocking)], "{f:?}");
        assert!(f[0].message.contains("nothing to put in the book"), "{}", f[0].message);
        // The same file with its first page rendered: there is a page to show (and its text is to be checked).
        blank.dimensions = Some((595, 842));
        let f = check_one(ContributionKind::Photograph, &d, &blank);
        assert!(f.is_empty(), "{f:?}");

        let mut repaired = record("pdf", 3, "en", 0.99);
        repaired.repaired = true;
        let f = check_one(ContributionKind::Text, &d, &repaired);
        assert_eq!(codes(&f), [(FindingCode::Repaired, Severity::Warning)], "{f:?}");
        assert_eq!(f[0].file_name.as_deref(), Some("scan.pdf"));
    }

    fn codes(f: &[Finding]) -> Vec<(FindingCode, Severity)> {
        f.iter().map(|f| (f.code, f.severity)).collect()
    }

    const DEADLINE: Option<NaiveDate> = NaiveDate::from_ymd_opt(2012, 4, 30);

    /// The findings on one contribution of `kind` with one document and its record, under the default rules.
    fn check_one(kind: ContributionKind, document: &Document, record: &Record) -> Vec<Finding> {
        check(&contribution(kind), &[Evidence { document, record: Some(record) }], &RuleSettings::default(), DEADLINE)
    }

    #[test]
    fn a_conforming_text_has_no_findings() {
        let d = document("a.pdf", DocumentState::Done);
        let r = record("pdf", 10, "en", 0.99);
        let f = check_one(ContributionKind::Text, &d, &r);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn each_rule_of_the_call_is_a_finding() {
        let mut c = contribution(ContributionKind::Text);
        c.author = " ".into();
        c.rights = None;
        c.received = NaiveDate::from_ymd_opt(2012, 5, 2).unwrap();
        let d = document("statement.pdf", DocumentState::Done);
        let r = record("pdf", 11, "es", 0.95);
        let f = check(&c, &[Evidence { document: &d, record: Some(&r) }], &RuleSettings::default(), DEADLINE);
        assert_eq!(
            codes(&f),
            [
                (FindingCode::Unattributed, Severity::Blocking),
                (FindingCode::RightsNotCleared, Severity::Blocking),
                (FindingCode::Late, Severity::Blocking),
                (FindingCode::Language, Severity::Blocking),
                (FindingCode::TooLong, Severity::Blocking),
            ]
        );
        assert!(f[2].message.contains("2 days after"), "{}", f[2].message);
        assert!(f[3].message.contains("Spanish") && f[3].message.contains("English"), "{}", f[3].message);
        assert_eq!(f[3].file_name.as_deref(), Some("statement.pdf"));
        assert!(f[0].message.contains("author"), "{}", f[0].message);
    }

    #[test]
    fn uncertain_language_and_estimated_pages_only_warn() {
        let d = document("a.docx", DocumentState::Done);
        let mut r = record("docx", 12, "fr", 0.2);
        r.pages_source = Some(PagesSource::Estimate);
        let f = check_one(ContributionKind::Testimonial, &d, &r);
        assert_eq!(codes(&f), [(FindingCode::Language, Severity::Warning), (FindingCode::TooLong, Severity::Warning)]);
        assert!(f[1].message.starts_with("About 12 pages"), "{}", f[1].message);
    }

    #[test]
    fn pictures_are_not_held_to_the_language_and_page_rules() {
        let d = document("photo.jpg", DocumentState::Done);
        let mut r = record("jpeg", 1, "und", 0.0);
        r.language = None;
        r.ocr = OcrStatus::Needed;
        let f = check_one(ContributionKind::Photograph, &d, &r);
        assert!(f.is_empty(), "{f:?}");
        // The same scan sent as a text cannot be checked yet, and says why.
        let f = check_one(ContributionKind::Text, &d, &r);
        assert_eq!(codes(&f), [(FindingCode::NeedsOcr, Severity::Warning)]);
    }

    #[test]
    fn unreadable_documents_warn_and_a_contribution_with_none_usable_is_blocked() {
        let good = document("a.pdf", DocumentState::Done);
        let good_record = record("pdf", 2, "en", 0.9);
        let bad = document("b.pdf", DocumentState::Done);
        let mut bad_record = record("pdf", 0, "und", 0.0);
        bad_record.error = Some(ExtractError::new(ExtractErrorKind::Encrypted, "needs a password"));
        let mut failed = document("c.pdf", DocumentState::Failed);
        failed.last_error = Some("worker crashed 3 times".into());
        let both = [
            Evidence { document: &good, record: Some(&good_record) },
            Evidence { document: &bad, record: Some(&bad_record) },
        ];
        let f = check(&contribution(ContributionKind::Text), &both, &RuleSettings::default(), DEADLINE);
        assert_eq!(codes(&f), [(FindingCode::Unreadable, Severity::Warning)]);
        assert!(f[0].message.contains("encrypted"), "{}", f[0].message);
        let none =
            [Evidence { document: &bad, record: Some(&bad_record) }, Evidence { document: &failed, record: None }];
        let f = check(&contribution(ContributionKind::Text), &none, &RuleSettings::default(), DEADLINE);
        assert_eq!(
            codes(&f),
            [
                (FindingCode::Unreadable, Severity::Warning),
                (FindingCode::Unreadable, Severity::Warning),
                (FindingCode::Empty, Severity::Blocking)
            ]
        );
        assert!(f[1].message.contains("worker crashed 3 times"), "{}", f[1].message);
    }

    #[test]
    fn settings_change_what_blocks() {
        let mut c = contribution(ContributionKind::Text);
        c.rights = None;
        c.received = NaiveDate::from_ymd_opt(2012, 5, 1).unwrap();
        let d = document("a.pdf", DocumentState::Done);
        let r = record("pdf", 3, "fr", 0.99);
        let settings = RuleSettings {
            languages: vec!["en".into(), "fr".into()],
            require_rights: false,
            late_is_blocking: false,
            ..Default::default()
        };
        let f = check(&c, &[Evidence { document: &d, record: Some(&r) }], &settings, DEADLINE);
        assert_eq!(codes(&f), [(FindingCode::Late, Severity::Warning)]);
        assert!(f[0].message.contains("1 day after"), "{}", f[0].message);
    }
}
