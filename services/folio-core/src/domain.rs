//! The entities of a catalogue, as stored and as shown to editors.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// What a contribution is, as the call for contributions names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContributionKind {
    Text,
    Testimonial,
    Graphic,
    Photograph,
}

impl ContributionKind {
    pub const ALL: [ContributionKind; 4] = [Self::Text, Self::Testimonial, Self::Graphic, Self::Photograph];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Testimonial => "testimonial",
            Self::Graphic => "graphic",
            Self::Photograph => "photograph",
        }
    }

    /// Texts and testimonials are read; graphics and photographs are looked at. The language and page rules
    /// of the call apply to the first kind only.
    pub fn is_written(self) -> bool {
        matches!(self, Self::Text | Self::Testimonial)
    }
}

/// The contributing State's part in the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Donor,
    Recipient,
    Both,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Donor => "donor",
            Self::Recipient => "recipient",
            Self::Both => "both",
        }
    }
}

/// How the cooperation was organised. The call names these; anything else is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Bilateral,
    Regional,
    Multilateral,
    SouthSouth,
    Triangular,
    Other(String),
}

impl Modality {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Bilateral => "bilateral",
            Self::Regional => "regional",
            Self::Multilateral => "multilateral",
            Self::SouthSouth => "south-south",
            Self::Triangular => "triangular",
            Self::Other(s) => s,
        }
    }
}

/// How the typeset book prints a contribution's PDFs: as they were made (each page placed, the default), or
/// set from their text in the book's type, for contributions whose layout should not be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    #[default]
    AsMade,
    Text,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsMade => "as-made",
            Self::Text => "text",
        }
    }
}

impl FromStr for Layout {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match normalise(s).as_str() {
            "as-made" => Ok(Self::AsMade),
            "text" => Ok(Self::Text),
            _ => Err(UnknownWord { field: "layout", value: s.into(), accepted: "as-made, text" }),
        }
    }
}

/// Parses a word of the CSV into one of the enums above; the error names the accepted words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} '{value}' is not one of: {accepted}")]
pub struct UnknownWord {
    pub field: &'static str,
    pub value: String,
    pub accepted: &'static str,
}

fn normalise(word: &str) -> String {
    word.trim().to_lowercase().replace(['_', ' '], "-")
}

impl FromStr for ContributionKind {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match normalise(s).as_str() {
            "text" => Ok(Self::Text),
            "testimonial" => Ok(Self::Testimonial),
            "graphic" => Ok(Self::Graphic),
            "photograph" | "photo" => Ok(Self::Photograph),
            _ => Err(UnknownWord {
                field: "kind",
                value: s.to_string(),
                accepted: "text, testimonial, graphic, photograph",
            }),
        }
    }
}

impl FromStr for Role {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match normalise(s).as_str() {
            "donor" => Ok(Self::Donor),
            "recipient" => Ok(Self::Recipient),
            "both" | "donor-and-recipient" => Ok(Self::Both),
            _ => Err(UnknownWord { field: "role", value: s.to_string(), accepted: "donor, recipient, both" }),
        }
    }
}

impl FromStr for Modality {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match normalise(s).as_str() {
            "bilateral" => Self::Bilateral,
            "regional" => Self::Regional,
            "multilateral" => Self::Multilateral,
            "south-south" => Self::SouthSouth,
            "triangular" => Self::Triangular,
            "" => {
                return Err(UnknownWord {
                    field: "modality",
                    value: String::new(),
                    accepted: "bilateral, regional, multilateral, south-south, triangular, or a short description",
                })
            }
            _ => Self::Other(s.trim().to_string()),
        })
    }
}

impl fmt::Display for ContributionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One chapter of the book: one cooperation project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chapter {
    /// The key the CSV's `chapter` column uses.
    pub key: String,
    pub title: String,
    /// Position in the book, from 1.
    pub position: u32,
}

/// A State's contribution to a chapter: one item of the book, made of one or more documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub id: Uuid,
    pub chapter_key: String,
    pub state: String,
    pub author: String,
    pub title: String,
    pub kind: ContributionKind,
    pub role: Role,
    pub modality: Modality,
    pub received: NaiveDate,
    /// The rights statement; `None` when the rights are not cleared.
    pub rights: Option<String>,
    /// How the book prints its PDFs, when the intake or an editor said; `None`: as they were made.
    #[serde(default)]
    pub layout: Option<Layout>,
}

impl Contribution {
    /// A contribution's id is derived from what identifies it, so that reading the same intake twice names the
    /// same contribution (the store then keeps one row, not two).
    pub fn derive_id(catalogue_id: Uuid, chapter_key: &str, state: &str, author: &str, title: &str) -> Uuid {
        let key = format!("{chapter_key}\u{1f}{state}\u{1f}{author}\u{1f}{title}");
        Uuid::new_v5(&catalogue_id, key.as_bytes())
    }

    /// "Author (State)", the attribution line of the book; "Unattributed" when neither is given.
    pub fn attribution(&self) -> String {
        attribution_line(&self.author, &self.state).unwrap_or_else(|| String::from("Unattributed"))
    }
}

/// "Author (State)"; the author or the State alone when only one is given; `None` when neither is.
pub fn attribution_line(author: &str, state: &str) -> Option<String> {
    let (author, state) = (author.trim(), state.trim());
    match (author.is_empty(), state.is_empty()) {
        (false, false) => Some(format!("{author} ({state})")),
        (false, true) => Some(author.to_string()),
        (true, false) => Some(state.to_string()),
        (true, true) => None,
    }
}

/// Where a document is in processing. `Done` and `Failed` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    /// Stored, with a work request sent.
    Queued,
    /// A worker has claimed it and holds a lease.
    Processing,
    /// A record was written (which may hold an extraction error: the document itself is then unusable).
    Done,
    /// Processing gave up: attempts exhausted, or the worker could not run the parser at all.
    Failed,
}

impl DocumentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

impl FromStr for DocumentState {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(Self::Queued),
            "processing" => Ok(Self::Processing),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            _ => Err(UnknownWord { field: "state", value: s.into(), accepted: "queued, processing, done, failed" }),
        }
    }
}

/// One uploaded file of a contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: Uuid,
    pub contribution_id: Uuid,
    /// The name it was uploaded under (for `folio process`, the path relative to the input folder).
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    /// Key of the original in the blob store.
    pub blob_key: String,
    pub state: DocumentState,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The password that opens the file (a protected PDF or DOCX), when its sender gave one. Never
    /// serialised: it travels from the intake to the database to the parser, and nowhere else.
    #[serde(skip)]
    pub password: Option<Password>,
}

impl Document {
    /// Derived from the contribution and the file's content: the same file uploaded twice for the same
    /// contribution is one document.
    pub fn derive_id(contribution_id: Uuid, file_name: &str, sha256: &str) -> Uuid {
        Uuid::new_v5(&contribution_id, format!("{file_name}\u{1f}{sha256}").as_bytes())
    }
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the editor's information.
    Info,
    /// Worth a look; the contribution stays in the book.
    Warning,
    /// The contribution is left out of the book until this is resolved or waived.
    Blocking,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Blocking => "blocking",
        }
    }
}

impl FromStr for Severity {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Self::Info),
            "warning" => Ok(Self::Warning),
            "blocking" => Ok(Self::Blocking),
            _ => Err(UnknownWord { field: "severity", value: s.into(), accepted: "info, warning, blocking" }),
        }
    }
}

/// Which rule or check a finding comes from. Stable strings: editors' tools filter on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// A text or testimonial not in an accepted language.
    Language,
    /// Longer than the page limit.
    TooLong,
    /// No author.
    Unattributed,
    /// Rights not cleared.
    RightsNotCleared,
    /// Received after the deadline.
    Late,
    /// A document could not be read.
    Unreadable,
    /// A document needs OCR that has not been run.
    NeedsOcr,
    /// The language could not be determined.
    LanguageUndetermined,
    /// A file in the folder that no CSV row names.
    UnlistedFile,
    /// A CSV row whose file is not in the folder.
    MissingFile,
    /// A CSV row naming a chapter the catalogue does not have.
    UnknownChapter,
    /// A CSV row that cannot be read.
    MalformedRow,
    /// A contribution with no document that could be used.
    Empty,
    /// The editors left the contribution out of the book.
    Excluded,
    /// A file also sent in another contribution.
    Duplicate,
    /// A text that overlaps much with another contribution's.
    NearDuplicate,
    /// A document's text was longer than the limit on text kept per document, and was cut.
    TextCut,
    /// A document was damaged and read only after a repair.
    Repaired,
}

impl FindingCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Language => "language",
            Self::TooLong => "too_long",
            Self::Unattributed => "unattributed",
            Self::RightsNotCleared => "rights_not_cleared",
            Self::Late => "late",
            Self::Unreadable => "unreadable",
            Self::NeedsOcr => "needs_ocr",
            Self::LanguageUndetermined => "language_undetermined",
            Self::UnlistedFile => "unlisted_file",
            Self::MissingFile => "missing_file",
            Self::UnknownChapter => "unknown_chapter",
            Self::MalformedRow => "malformed_row",
            Self::Empty => "empty",
            Self::Excluded => "excluded",
            Self::Duplicate => "duplicate",
            Self::NearDuplicate => "near_duplicate",
            Self::TextCut => "text_cut",
            Self::Repaired => "repaired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the intake (the reading of a folder and its CSV) makes this finding, rather than the rules.
    pub fn is_intake(self) -> bool {
        matches!(self, Self::UnlistedFile | Self::MissingFile | Self::UnknownChapter | Self::MalformedRow)
    }

    pub const ALL: [FindingCode; 18] = [
        Self::Language,
        Self::TooLong,
        Self::Unattributed,
        Self::RightsNotCleared,
        Self::Late,
        Self::Unreadable,
        Self::NeedsOcr,
        Self::LanguageUndetermined,
        Self::UnlistedFile,
        Self::MissingFile,
        Self::UnknownChapter,
        Self::MalformedRow,
        Self::Empty,
        Self::Excluded,
        Self::Duplicate,
        Self::NearDuplicate,
        Self::TextCut,
        Self::Repaired,
    ];
}

/// Something wrong with a contribution or with the intake, said so a person understands it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// The contribution it concerns; `None` for intake findings about the folder itself (an unlisted file).
    pub contribution_id: Option<Uuid>,
    /// The file it concerns, where there is one.
    pub file_name: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn is_blocking(&self) -> bool {
        self.severity == Severity::Blocking
    }
}

/// The Convention's areas, modality and role an editor confirmed for a contribution, in place of Folio's
/// suggestion (`folio_core::classify`). An empty `areas` says the contribution concerns none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedClassification {
    pub contribution_id: Uuid,
    /// Area ids (`clearance`, `victim_assistance`, ...), in the Convention's order.
    pub areas: Vec<String>,
    /// `bilateral`, `regional`, `multilateral`, `south-south` or `triangular`.
    pub modality: Option<String>,
    /// `donor`, `recipient` or `both`.
    pub role: Option<String>,
    /// Who confirmed (the name of the editor's token).
    pub decided_by: String,
    /// When, RFC 3339.
    pub decided_at: String,
}

/// What an editor decided about a contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    /// A finding no longer keeps the contribution out of the book.
    Waive,
    /// The contribution is left out of the book, whatever its findings.
    Exclude,
}

impl DecisionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waive => "waive",
            Self::Exclude => "exclude",
        }
    }
}

impl FromStr for DecisionAction {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "waive" => Ok(Self::Waive),
            "exclude" => Ok(Self::Exclude),
            _ => Err(UnknownWord { field: "action", value: s.into(), accepted: "waive, exclude" }),
        }
    }
}

/// An editor's decision on a contribution, kept in the database and applied to the findings of the rules
/// every time they are checked ([`Decision::apply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub contribution_id: Uuid,
    pub action: DecisionAction,
    /// The finding waived; `None` for an exclusion.
    pub code: Option<FindingCode>,
    /// Why, in the editor's words (shown in the report).
    pub reason: String,
    /// Who decided (the name of the editor's token).
    pub decided_by: String,
    /// When, RFC 3339.
    pub decided_at: String,
}

impl Decision {
    /// The findings with the editors' decisions applied: a waived finding of a contribution is kept for the
    /// record as `info`, its message saying who waived it and why; an excluded contribution gets a blocking
    /// `excluded` finding.
    pub fn apply(decisions: &[Decision], findings: Vec<Finding>) -> Vec<Finding> {
        let mut out: Vec<Finding> = findings
            .into_iter()
            .map(|mut f| {
                let waiver = decisions.iter().find(|d| {
                    d.action == DecisionAction::Waive
                        && Some(d.contribution_id) == f.contribution_id
                        && d.code == Some(f.code)
                });
                if let Some(d) = waiver {
                    if f.severity != Severity::Info {
                        f.severity = Severity::Info;
                        f.message = format!("{} (waived by {}: {})", f.message, d.decided_by, d.reason);
                    }
                }
                f
            })
            .collect();
        for d in decisions.iter().filter(|d| d.action == DecisionAction::Exclude) {
            out.push(Finding {
                code: FindingCode::Excluded,
                severity: Severity::Blocking,
                contribution_id: Some(d.contribution_id),
                file_name: None,
                message: format!("Left out of the book by {}: {}", d.decided_by, d.reason),
            });
        }
        out
    }
}

/// A document's password. It is never shown: its `Debug` output is `Password(<hidden>)`, so that options,
/// settings and errors that hold one can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is kept of it once its document is finished: SHA-256 over the document's id and the password,
    /// enough to tell whether a later intake gives another password, salted by the id so that two documents
    /// with one password do not show it.
    pub fn digest(&self, document_id: uuid::Uuid) -> String {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(document_id.as_bytes());
        hash.update(self.0.as_bytes());
        hex::encode(hash.finalize())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self(password)
    }
}

impl From<&str> for Password {
    fn from(password: &str) -> Self {
        Self(password.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_loosely_and_reject_with_the_accepted_list() {
        assert_eq!("Photo".parse::<ContributionKind>().unwrap(), ContributionKind::Photograph);
        assert_eq!(" Testimonial ".parse::<ContributionKind>().unwrap(), ContributionKind::Testimonial);
        assert_eq!("South South".parse::<Modality>().unwrap(), Modality::SouthSouth);
        assert_eq!("south_south".parse::<Modality>().unwrap(), Modality::SouthSouth);
        assert_eq!("with civil society".parse::<Modality>().unwrap(), Modality::Other("with civil society".into()));
        let err = "poem".parse::<ContributionKind>().unwrap_err();
        assert!(err.to_string().contains("text, testimonial, graphic, photograph"), "{err}");
        assert!("".parse::<Modality>().is_err());
        assert!("sponsor".parse::<Role>().is_err());
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let cat = Uuid::nil();
        let a = Contribution::derive_id(cat, "ch", "Mexico", "A. Author", "Title");
        assert_eq!(a, Contribution::derive_id(cat, "ch", "Mexico", "A. Author", "Title"));
        assert_ne!(a, Contribution::derive_id(cat, "ch", "Spain", "A. Author", "Title"));
        // The separator keeps "ab"+"c" apart from "a"+"bc".
        assert_ne!(Contribution::derive_id(cat, "ab", "c", "", ""), Contribution::derive_id(cat, "a", "bc", "", ""));
        let d = Document::derive_id(a, "f.pdf", "00");
        assert_eq!(d, Document::derive_id(a, "f.pdf", "00"));
        assert_ne!(d, Document::derive_id(a, "f.pdf", "01"));
    }

    #[test]
    fn terminal_states_and_attribution() {
        assert!(DocumentState::Done.is_terminal());
        assert!(DocumentState::Failed.is_terminal());
        assert!(!DocumentState::Queued.is_terminal());
        assert!(!DocumentState::Processing.is_terminal());
        for s in ["queued", "processing", "done", "failed"] {
            assert_eq!(s.parse::<DocumentState>().unwrap().as_str(), s);
        }
        for c in FindingCode::ALL {
            assert_eq!(FindingCode::parse(c.as_str()), Some(c));
        }
        assert!(Severity::Blocking > Severity::Warning);
    }

    #[test]
    fn a_secret_is_never_printed_or_serialised() {
        let secret = Password::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Password(<hidden>)");
        assert_eq!(secret.as_str(), "hunter2");
        let document = Document {
            id: Uuid::nil(),
            contribution_id: Uuid::nil(),
            file_name: "a.pdf".into(),
            sha256: "00".into(),
            bytes: 1,
            blob_key: "k".into(),
            state: DocumentState::Queued,
            attempts: 0,
            last_error: None,
            password: Some(secret),
        };
        assert!(!format!("{document:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&document).unwrap().contains("hunter2"));
    }

    #[test]
    fn decisions_turn_waived_findings_to_info_and_exclusions_to_a_blocking_finding() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let finding = |contribution, code| Finding {
            code,
            severity: Severity::Blocking,
            contribution_id: Some(contribution),
            file_name: None,
            message: "Rights are not cleared.".into(),
        };
        let decided = |contribution_id, action, code| Decision {
            contribution_id,
            action,
            code,
            reason: "by letter".into(),
            decided_by: "ana".into(),
            decided_at: "2012-05-02T10:00:00.000Z".into(),
        };
        let decisions = [
            decided(a, DecisionAction::Waive, Some(FindingCode::RightsNotCleared)),
            decided(b, DecisionAction::Exclude, None),
        ];
        let out = Decision::apply(
            &decisions,
            vec![
                finding(a, FindingCode::RightsNotCleared),
                finding(a, FindingCode::Late),
                finding(b, FindingCode::RightsNotCleared),
            ],
        );
        assert_eq!(out[0].severity, Severity::Info);
        assert!(out[0].message.ends_with("(waived by ana: by letter)"), "{}", out[0].message);
        assert_eq!(out[1].severity, Severity::Blocking, "only the waived code");
        assert_eq!(out[2].severity, Severity::Blocking, "only the waived contribution");
        assert_eq!(
            (out[3].code, out[3].severity, out[3].contribution_id),
            (FindingCode::Excluded, Severity::Blocking, Some(b))
        );
        assert_eq!(out.len(), 4);
    }
}
