//! The input folder of `folio process`: which files belong to which contribution, read from
//! `contributions.csv`, checked against the files actually present. Nothing here fails on a bad row: every
//! problem becomes a [`Finding`] so the editor sees all of them at once.
//!
//! This module is pure (it is handed the CSV text and the list of files), so the folder walking and the
//! reading stay at the edge.

use crate::catalogue::CatalogueConfig;
use crate::domain::{Chapter, Contribution, Finding, FindingCode, Password, Severity};
use chrono::NaiveDate;
use std::collections::{BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// The name of the CSV in the input folder.
pub const CSV_NAME: &str = "contributions.csv";
/// The name of the optional catalogue settings in the input folder.
pub const CATALOGUE_NAME: &str = "catalogue.toml";
/// The CSV's columns, in order.
pub const CSV_HEADER: [&str; 10] =
    ["file", "chapter", "state", "author", "title", "kind", "role", "modality", "received", "rights"];
/// A column the CSV may add after the others: the password that opens a protected PDF or DOCX.
pub const CSV_PASSWORD: &str = "password";
/// A column the CSV may add after the others: how the book prints the contribution's PDFs (`as-made`, the
/// default, or `text`); empty keeps what was said before.
pub const CSV_LAYOUT: &str = "layout";
/// The columns the CSV may add after the required ones, in any order.
pub const CSV_OPTIONAL: [&str; 2] = [CSV_PASSWORD, CSV_LAYOUT];

/// One file to process, and the contribution it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeFile {
    pub contribution_id: Uuid,
    /// Path relative to the input folder, with `/` separators.
    pub path: String,
    /// From the optional `password` column.
    pub password: Option<Password>,
}

/// What the folder holds, once read.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    pub chapters: Vec<Chapter>,
    pub contributions: Vec<Contribution>,
    pub files: Vec<IntakeFile>,
    pub findings: Vec<Finding>,
}

/// Fatal problems: without a readable CSV there is nothing to process.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("{CSV_NAME} is missing its header; expected: {} (and optionally ,{CSV_PASSWORD})", CSV_HEADER.join(","))]
    MissingHeader,
    #[error("{CSV_NAME} header is `{found}`; expected: {} (and optionally ,{CSV_PASSWORD})", CSV_HEADER.join(","))]
    WrongHeader { found: String },
    #[error("{CSV_NAME} could not be read: {0}")]
    Csv(String),
}

/// Reads the CSV against the catalogue and the files present (paths relative to the folder, `/` separated,
/// without the CSV and the catalogue file themselves).
pub fn plan(
    catalogue_id: Uuid,
    config: &CatalogueConfig,
    csv_text: &str,
    files_present: &[String],
) -> Result<Intake, IntakeError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().map_err(|e| IntakeError::Csv(e.to_string()))?.clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(IntakeError::MissingHeader);
    }
    let found: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    let (required, optional) = found.split_at(found.len().min(CSV_HEADER.len()));
    let optional_known = optional.iter().all(|h| CSV_OPTIONAL.contains(&h.as_str()));
    let optional_once = optional.iter().collect::<HashSet<_>>().len() == optional.len();
    if required != CSV_HEADER || !optional_known || !optional_once {
        return Err(IntakeError::WrongHeader { found: header.iter().collect::<Vec<_>>().join(",") });
    }
    let column = |name: &str| found.iter().position(|h| h == name);
    let columns = OptionalColumns { password: column(CSV_PASSWORD), layout: column(CSV_LAYOUT) };

    let mut intake = Intake::default();
    let configured: HashMap<&str, &str> = config.chapters.iter().map(|c| (c.id.as_str(), c.title.as_str())).collect();
    let mut chapter_order: Vec<String> = config.chapters.iter().map(|c| c.id.clone()).collect();
    let present: HashSet<&str> = files_present.iter().map(String::as_str).collect();
    let mut listed: HashSet<String> = HashSet::new();
    let mut by_id: HashMap<Uuid, usize> = HashMap::new();
    let mut files_with_documents: HashSet<Uuid> = HashSet::new();

    for (index, result) in reader.records().enumerate() {
        // Line 1 is the header.
        let line = index + 2;
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                intake.findings.push(row_finding(line, None, format!("cannot be read: {e}")));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let file = record.get(0).unwrap_or_default().to_string();
        if record.len() != found.len() {
            listed.insert(normalise_path(&file).unwrap_or(file.clone()));
            intake.findings.push(row_finding(
                line,
                Some(file),
                format!("has {} fields; expected {}", record.len(), found.len()),
            ));
            continue;
        }
        let row = match parse_row(&record, &columns) {
            Ok(row) => row,
            Err(reason) => {
                if let Some(p) = normalise_path(&file) {
                    listed.insert(p);
                }
                intake.findings.push(row_finding(line, Some(file).filter(|f| !f.is_empty()), reason));
                continue;
            }
        };
        if !listed.insert(row.file.clone()) {
            intake.findings.push(row_finding(
                line,
                Some(row.file),
                "lists a file that an earlier row already lists".into(),
            ));
            continue;
        }
        if !configured.is_empty() && !configured.contains_key(row.chapter.as_str()) {
            intake.findings.push(Finding {
                code: FindingCode::UnknownChapter,
                severity: Severity::Blocking,
                contribution_id: None,
                file_name: Some(row.file.clone()),
                message: format!(
                    "Row {line} names chapter '{}', which {CATALOGUE_NAME} does not have (chapters: {}).",
                    row.chapter,
                    config.chapters.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            });
            continue;
        }
        if !chapter_order.contains(&row.chapter) {
            chapter_order.push(row.chapter.clone());
        }

        let id = Contribution::derive_id(catalogue_id, &row.chapter, &row.state, &row.author, &row.title);
        if let Some(&at) = by_id.get(&id) {
            let first = &intake.contributions[at];
            if first.kind != row.kind || first.received != row.received || first.rights != row.rights {
                intake.findings.push(Finding {
                    code: FindingCode::MalformedRow,
                    severity: Severity::Warning,
                    contribution_id: Some(id),
                    file_name: Some(row.file.clone()),
                    message: format!(
                        "Row {line} belongs to '{}' but gives a different kind, date or rights than its first row; the first row's values are kept.",
                        first.title
                    ),
                });
            }
        } else {
            by_id.insert(id, intake.contributions.len());
            intake.contributions.push(Contribution {
                id,
                chapter_key: row.chapter.clone(),
                state: row.state,
                author: row.author,
                title: row.title,
                kind: row.kind,
                role: row.role,
                modality: row.modality,
                received: row.received,
                rights: row.rights,
                layout: row.layout,
            });
        }

        if present.contains(row.file.as_str()) {
            files_with_documents.insert(id);
            intake.files.push(IntakeFile { contribution_id: id, path: row.file, password: row.password });
        } else {
            intake.findings.push(Finding {
                code: FindingCode::MissingFile,
                severity: Severity::Warning,
                contribution_id: Some(id),
                file_name: Some(row.file.clone()),
                message: format!("Row {line} lists '{}', which is not in the folder.", row.file),
            });
        }
    }

    let unlisted: BTreeSet<&String> = files_present.iter().filter(|f| !listed.contains(*f)).collect();
    for file in unlisted {
        intake.findings.push(Finding {
            code: FindingCode::UnlistedFile,
            severity: Severity::Warning,
            contribution_id: None,
            file_name: Some(file.clone()),
            message: format!("'{file}' is in the folder but no row of {CSV_NAME} lists it, so it was not processed."),
        });
    }

    intake.chapters = chapter_order
        .iter()
        .enumerate()
        .map(|(i, key)| Chapter {
            key: key.clone(),
            title: configured.get(key.as_str()).map(|t| t.to_string()).unwrap_or_else(|| title_from_key(key)),
            position: i as u32 + 1,
        })
        .collect();
    Ok(intake)
}

struct Row {
    file: String,
    chapter: String,
    state: String,
    author: String,
    title: String,
    kind: crate::ContributionKind,
    role: crate::Role,
    modality: crate::Modality,
    received: NaiveDate,
    rights: Option<String>,
    password: Option<Password>,
    layout: Option<crate::Layout>,
}

/// Where the optional columns are, when the header has them.
struct OptionalColumns {
    password: Option<usize>,
    layout: Option<usize>,
}

fn parse_row(r: &csv::StringRecord, columns: &OptionalColumns) -> Result<Row, String> {
    let field = |i: usize| r.get(i).unwrap_or_default().to_string();
    let file = normalise_path(&field(0)).ok_or_else(|| {
        if field(0).is_empty() {
            "has no file".to_string()
        } else {
            format!("names file '{}', which is not a plain path inside the folder", field(0))
        }
    })?;
    let chapter = field(1);
    if chapter.is_empty() {
        return Err("has no chapter".into());
    }
    let title = field(4);
    let kind = field(5).parse().map_err(|e: crate::domain::UnknownWord| e.to_string())?;
    let role = field(6).parse().map_err(|e: crate::domain::UnknownWord| e.to_string())?;
    let modality = field(7).parse().map_err(|e: crate::domain::UnknownWord| e.to_string())?;
    let received = NaiveDate::parse_from_str(&field(8), "%Y-%m-%d")
        .map_err(|_| format!("has received date '{}', not an ISO date such as 2012-04-30", field(8)))?;
    let rights = Some(field(9)).filter(|s| !s.is_empty());
    // Fields are trimmed like every other cell (a password cannot begin or end with a space); empty is none.
    let password = columns.password.and_then(|i| r.get(i)).filter(|p| !p.is_empty()).map(Password::new);
    let layout = match columns.layout.and_then(|i| r.get(i)).filter(|l| !l.is_empty()) {
        Some(word) => Some(word.parse().map_err(|e: crate::domain::UnknownWord| e.to_string())?),
        None => None,
    };
    Ok(Row {
        title: if title.is_empty() { file.clone() } else { title },
        file,
        chapter,
        state: field(2),
        author: field(3),
        kind,
        role,
        modality,
        received,
        rights,
        password,
        layout,
    })
}

fn row_finding(line: usize, file: Option<String>, reason: String) -> Finding {
    Finding {
        code: FindingCode::MalformedRow,
        severity: Severity::Blocking,
        contribution_id: None,
        file_name: file,
        message: format!("Row {line} of {CSV_NAME} {reason}; it was skipped."),
    }
}

/// A relative path with `/` separators and no way out of the folder, or `None`.
pub fn normalise_path(path: &str) -> Option<String> {
    let path = path.trim().replace('\\', "/");
    if path.is_empty() || path.starts_with('/') || path.contains('\0') || path.contains(':') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

/// "clearance-lebanon" becomes "Clearance lebanon": a readable title when the catalogue gives none.
fn title_from_key(key: &str) -> String {
    let words = key.replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::ChapterConfig;
    use crate::ContributionKind;

    const HEADER: &str = "file,chapter,state,author,title,kind,role,modality,received,rights\n";

    fn files(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn groups_rows_into_contributions_and_orders_chapters_by_first_appearance() {
        let csv = format!(
            "{HEADER}\
a.pdf,beta,Mexico,Ana,Report,text,donor,bilateral,2012-04-01,CC0\n\
b.jpg,beta,Mexico,Ana,Report,text,donor,bilateral,2012-04-01,CC0\n\
c.docx,alpha,Spain,Luis,Story,testimonial,recipient,South-South,2012-03-01,\n"
        );
        let intake =
            plan(Uuid::nil(), &CatalogueConfig::default(), &csv, &files(&["a.pdf", "b.jpg", "c.docx"])).unwrap();
        assert!(intake.findings.is_empty(), "{:?}", intake.findings);
        assert_eq!(intake.chapters.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["beta", "alpha"]);
        assert_eq!(intake.chapters[0].title, "Beta");
        assert_eq!(intake.chapters[1].position, 2);
        assert_eq!(intake.contributions.len(), 2);
        assert_eq!(intake.files.len(), 3);
        assert_eq!(intake.files[0].contribution_id, intake.files[1].contribution_id);
        assert_eq!(intake.contributions[1].kind, ContributionKind::Testimonial);
        assert_eq!(intake.contributions[1].rights, None, "an empty rights cell means not cleared");
    }

    #[test]
    fn an_optional_layout_column_says_how_the_book_prints_each_contribution() {
        let csv = "file,chapter,state,author,title,kind,role,modality,received,rights,layout,password\n\
                   a.pdf,c,Chile,Ana,Letter,text,donor,bilateral,2012-04-01,CC0,text,\n\
                   b.pdf,c,Peru,Luis,Report,text,donor,bilateral,2012-04-01,CC0,,s3cret\n";
        let files = vec!["a.pdf".to_string(), "b.pdf".to_string()];
        let intake = plan(Uuid::from_u128(1), &CatalogueConfig::default(), csv, &files).unwrap();
        assert_eq!(intake.contributions[0].layout, Some(crate::Layout::Text));
        assert_eq!(intake.contributions[1].layout, None, "empty: as it was, as made by default");
        assert_eq!(intake.files[1].password.as_ref().map(Password::as_str), Some("s3cret"), "columns in any order");
        let wrong = "file,chapter,state,author,title,kind,role,modality,received,rights,layout\n\
                     a.pdf,c,Chile,Ana,Letter,text,donor,bilateral,2012-04-01,CC0,poster\n";
        let intake = plan(Uuid::from_u128(1), &CatalogueConfig::default(), wrong, &files).unwrap();
        assert!(intake.findings.iter().any(|f| f.message.contains("layout 'poster'")), "{:?}", intake.findings);
    }

    #[test]
    fn an_optional_password_column_gives_each_file_its_password() {
        let csv = "file,chapter,state,author,title,kind,role,modality,received,rights,password\n\
locked.pdf,beta,Mexico,Ana,Report,text,donor,bilateral,2012-04-01,CC0,s3cret\n\
open.pdf,beta,Mexico,Ana,Report,text,donor,bilateral,2012-04-01,CC0,\n\
short.pdf,beta,Mexico,Ana,Report,text,donor,bilateral,2012-04-01,CC0\n";
        let intake =
            plan(Uuid::nil(), &CatalogueConfig::default(), csv, &files(&["locked.pdf", "open.pdf", "short.pdf"]))
                .unwrap();
        assert_eq!(intake.files.len(), 2);
        assert_eq!(intake.files[0].password.as_ref().map(Password::as_str), Some("s3cret"));
        assert_eq!(intake.files[1].password, None);
        // A row without the column's cell is malformed, as any short row.
        assert!(intake.findings.iter().any(|f| f.code == FindingCode::MalformedRow
            && f.file_name.as_deref() == Some("short.pdf")
            && f.message.contains("expected 11")));

        let wrong = "file,chapter,state,author,title,kind,role,modality,received,rights,secret\n";
        assert!(matches!(
            plan(Uuid::nil(), &CatalogueConfig::default(), wrong, &[]),
            Err(IntakeError::WrongHeader { .. })
        ));
    }

    #[test]
    fn bad_rows_missing_and_unlisted_files_become_findings() {
        let config = CatalogueConfig {
            chapters: vec![ChapterConfig { id: "known".into(), title: "Known project".into() }],
            ..Default::default()
        };
        let csv = format!(
            "{HEADER}\
ok.pdf,known,Mexico,Ana,Ok,text,donor,bilateral,2012-04-01,CC0\n\
gone.pdf,known,Mexico,Ana,Gone,text,donor,bilateral,2012-04-01,CC0\n\
elsewhere.pdf,unknown,Mexico,Ana,Else,text,donor,bilateral,2012-04-01,CC0\n\
baddate.pdf,known,Mexico,Ana,Bad,text,donor,bilateral,30/04/2012,CC0\n\
badkind.pdf,known,Mexico,Ana,Bad,poem,donor,bilateral,2012-04-01,CC0\n\
short.pdf,known,Mexico\n\
../../etc/passwd,known,Mexico,Ana,Escape,text,donor,bilateral,2012-04-01,CC0\n\
ok.pdf,known,Spain,Luis,Twice,text,donor,bilateral,2012-04-01,CC0\n"
        );
        let present = files(&["ok.pdf", "elsewhere.pdf", "baddate.pdf", "badkind.pdf", "short.pdf", "stray.png"]);
        let intake = plan(Uuid::nil(), &config, &csv, &present).unwrap();
        let codes: Vec<(FindingCode, Option<&str>)> =
            intake.findings.iter().map(|f| (f.code, f.file_name.as_deref())).collect();
        assert!(codes.contains(&(FindingCode::MissingFile, Some("gone.pdf"))), "{codes:?}");
        assert!(codes.contains(&(FindingCode::UnknownChapter, Some("elsewhere.pdf"))), "{codes:?}");
        assert!(codes.contains(&(FindingCode::MalformedRow, Some("baddate.pdf"))), "{codes:?}");
        assert!(codes.contains(&(FindingCode::MalformedRow, Some("badkind.pdf"))), "{codes:?}");
        assert!(codes.contains(&(FindingCode::MalformedRow, Some("short.pdf"))), "{codes:?}");
        assert!(codes.contains(&(FindingCode::MalformedRow, Some("../../etc/passwd"))), "{codes:?}");
        assert!(codes.contains(&(FindingCode::MalformedRow, Some("ok.pdf"))), "duplicate row: {codes:?}");
        assert!(codes.contains(&(FindingCode::UnlistedFile, Some("stray.png"))), "{codes:?}");
        // Files named by bad rows are not also reported as unlisted.
        assert!(!codes.contains(&(FindingCode::UnlistedFile, Some("baddate.pdf"))));
        assert_eq!(intake.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["ok.pdf"]);
        assert_eq!(intake.chapters[0].title, "Known project");
        let date = intake.findings.iter().find(|f| f.file_name.as_deref() == Some("baddate.pdf")).unwrap();
        assert!(date.message.contains("Row 5") && date.message.contains("ISO date"), "{}", date.message);
    }

    #[test]
    fn header_must_be_the_documented_one() {
        let err = plan(Uuid::nil(), &CatalogueConfig::default(), "file,state\n", &[]).unwrap_err();
        assert!(err.to_string().contains("file,chapter,state"), "{err}");
        assert!(plan(Uuid::nil(), &CatalogueConfig::default(), HEADER, &[]).unwrap().contributions.is_empty());
        // A byte-order mark and capitalised header names, as spreadsheet exports write them, are fine.
        let bom = format!("\u{feff}{}", HEADER.to_uppercase());
        assert!(plan(Uuid::nil(), &CatalogueConfig::default(), &bom, &[]).is_ok());
    }

    #[test]
    fn paths_cannot_leave_the_folder() {
        assert_eq!(normalise_path("./a//b.pdf").as_deref(), Some("a/b.pdf"));
        assert_eq!(normalise_path("a\\b.pdf").as_deref(), Some("a/b.pdf"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "C:\\x", "a\0b"] {
            assert_eq!(normalise_path(bad), None, "{bad:?}");
        }
    }
}
