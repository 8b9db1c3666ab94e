//! An upload: one contribution (its metadata as the call asks for it) and its files, sent by a front end
//! through the gateway's HTTP API or published straight to the work queue (`folio.upload.v1`,
//! docs/asyncapi.yaml). This module checks what was sent and turns it into the domain's types; storing it is
//! the caller's.

use crate::domain::{Contribution, UnknownWord};
use crate::intake::normalise_path;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The namespace of catalogue ids derived from catalogue keys (`/v1/catalogues/{key}`).
const CATALOGUE_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x6f6c_696f_2d63_6174_616c_6f67_7565_0001);

/// The catalogue a key names: the same key is the same catalogue on every gateway and worker.
pub fn catalogue_id_for_key(key: &str) -> Uuid {
    Uuid::new_v5(&CATALOGUE_KEY_NAMESPACE, key.as_bytes())
}

/// Whether `key` may name a catalogue: 1 to 64 lowercase letters, digits and `-`, not starting with `-`.
pub fn is_catalogue_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && !key.starts_with('-')
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The contribution's metadata, as the call asks for it (the columns of `contributions.csv` but the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ContributionMetadata")]
pub struct ContributionFields {
    /// The chapter (cooperation project) it belongs to: a chapter key of the catalogue.
    pub chapter: String,
    /// The State Party it comes from.
    pub state: String,
    pub author: String,
    pub title: String,
    /// `text`, `testimonial`, `graphic` or `photograph`.
    #[schemars(extend("enum" = ["text", "testimonial", "graphic", "photograph"]))]
    pub kind: String,
    /// `donor`, `recipient` or `both`.
    #[schemars(extend("enum" = ["donor", "recipient", "both"]))]
    pub role: String,
    /// `bilateral`, `regional`, `multilateral`, `south-south` or `triangular`.
    pub modality: String,
    /// The day it was received, `YYYY-MM-DD`.
    #[schemars(extend("format" = "date"))]
    pub received: String,
    /// Who holds the rights and what they allow; absent or empty when not cleared.
    #[serde(default)]
    pub rights: Option<String>,
    /// How the book prints its PDFs: `as-made` (each page placed, the default) or `text` (set from their
    /// text); absent keeps what was said before.
    #[serde(default)]
    #[schemars(extend("enum" = ["as-made", "text"]))]
    pub layout: Option<String>,
}

/// The longest value of a text field, in characters.
pub const MAX_FIELD_CHARS: usize = 500;

impl ContributionFields {
    /// The contribution these fields describe in `catalogue_id`, or every problem found, each a sentence.
    pub fn to_contribution(&self, catalogue_id: Uuid) -> Result<Contribution, Vec<String>> {
        let mut problems = Vec::new();
        let mut text = |name: &str, value: &str, required: bool| -> String {
            let value = value.trim();
            if required && value.is_empty() {
                problems.push(format!("`{name}` is empty"));
            } else if value.chars().count() > MAX_FIELD_CHARS {
                problems.push(format!("`{name}` is longer than {MAX_FIELD_CHARS} characters"));
            } else if value.chars().any(char::is_control) {
                problems.push(format!("`{name}` holds control characters"));
            }
            value.to_string()
        };
        let chapter = text("chapter", &self.chapter, true);
        let state = text("state", &self.state, true);
        let author = text("author", &self.author, true);
        let title = text("title", &self.title, true);
        let rights = text("rights", self.rights.as_deref().unwrap_or_default(), false);
        let word = |e: UnknownWord| e.to_string();
        let kind = self.kind.trim().parse().map_err(word);
        let role = self.role.trim().parse().map_err(word);
        let modality = self.modality.trim().parse().map_err(word);
        let layout: Result<Option<crate::Layout>, String> =
            self.layout.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::parse).transpose().map_err(word);
        if let Err(e) = &layout {
            problems.push(e.clone());
        }
        let received = NaiveDate::parse_from_str(self.received.trim(), "%Y-%m-%d")
            .map_err(|_| format!("`received` is '{}', not an ISO date such as 2012-04-30", self.received));
        for e in [kind.as_ref().err(), role.as_ref().err(), modality.as_ref().err(), received.as_ref().err()]
            .into_iter()
            .flatten()
        {
            problems.push(e.clone());
        }
        match (kind, role, modality, received) {
            (Ok(kind), Ok(role), Ok(modality), Ok(received)) if problems.is_empty() => Ok(Contribution {
                id: Contribution::derive_id(catalogue_id, &chapter, &state, &author, &title),
                chapter_key: chapter,
                state,
                author,
                title,
                kind,
                role,
                modality,
                received,
                rights: Some(rights).filter(|r| !r.is_empty()),
                layout: layout.ok().flatten(),
            }),
            _ => Err(problems),
        }
    }
}

/// A file name as a front end sent it, made safe to store: its last path component (a path is never
/// followed), without control characters; `None` when nothing usable is left.
pub fn clean_file_name(name: &str) -> Option<String> {
    let last = name.replace('\\', "/").rsplit('/').next().unwrap_or_default().to_string();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_string();
    let cleaned: String = cleaned.chars().take(200).collect();
    normalise_path(&cleaned).filter(|n| n != "." && n != "..")
}

/// One file of an upload published to the queue: its content inline (base64, for files up to
/// [`MAX_INLINE_BYTES`]), or the key of a blob the front end already put in the shared blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_key: Option<String>,
}

/// The largest file carried inline in a queue message; larger files go to the blob store first.
pub const MAX_INLINE_BYTES: usize = 8 * 1024 * 1024;

/// Version 1 of the message a front end publishes to the work queue to upload a contribution: `type`
/// `folio.upload.v1` (AMQP property), the upload id as message id. Redelivered or published twice, it makes
/// one contribution: its id derives from the catalogue, chapter, State, author and title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// Always 1 for this shape.
    pub version: u32,
    /// The front end's id for this upload (its message id); logged with what it became.
    pub upload_id: Uuid,
    /// The catalogue's key, as in `/v1/catalogues/{key}`.
    pub catalogue: String,
    pub contribution: ContributionFields,
    pub files: Vec<UploadFile>,
    /// W3C trace context of the front end's operation (`00-TRACE_ID-SPAN_ID-FLAGS`), carried on to the work
    /// requests of the upload's documents; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl UploadRequest {
    pub const VERSION: u32 = 1;
    /// The AMQP `type` property that marks an upload on the work queue.
    pub const MESSAGE_TYPE: &'static str = "folio.upload.v1";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ContributionFields {
        ContributionFields {
            chapter: "lebanon".into(),
            state: "Mexico".into(),
            author: "Ana".into(),
            title: "Clearance".into(),
            kind: "text".into(),
            role: "donor".into(),
            modality: "south-south".into(),
            received: "2012-04-01".into(),
            rights: Some(" CC0 ".into()),
            layout: None,
        }
    }

    #[test]
    fn good_fields_make_a_contribution_with_a_stable_id() {
        let cat = catalogue_id_for_key("ccm-2012");
        let c = fields().to_contribution(cat).unwrap();
        assert_eq!(c.id, Contribution::derive_id(cat, "lebanon", "Mexico", "Ana", "Clearance"));
        assert_eq!(c.rights.as_deref(), Some("CC0"));
        assert_eq!(fields().to_contribution(cat).unwrap().id, c.id, "the same upload is the same contribution");
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut f = fields();
        f.author = " ".into();
        f.kind = "poem".into();
        f.received = "April 2012".into();
        let problems = f.to_contribution(Uuid::nil()).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("`author` is empty")));
        assert!(problems.iter().any(|p| p.contains("poem")));
        assert!(problems.iter().any(|p| p.contains("April 2012")));
    }

    #[test]
    fn file_names_lose_their_paths() {
        assert_eq!(clean_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_file_name("C:\\Users\\ana\\report.pdf").as_deref(), Some("report.pdf"));
        assert_eq!(clean_file_name("a\u{0}b.pdf").as_deref(), Some("ab.pdf"));
        assert_eq!(clean_file_name(".."), None);
        assert_eq!(clean_file_name("dir/"), None);
        assert_eq!(clean_file_name(""), None);
    }

    #[test]
    fn catalogue_keys_are_checked_and_stable() {
        assert!(is_catalogue_key("ccm-2012"));
        assert!(!is_catalogue_key("CCM"));
        assert!(!is_catalogue_key("-x"));
        assert!(!is_catalogue_key(""));
        assert!(!is_catalogue_key("a/b"));
        assert_eq!(catalogue_id_for_key("ccm-2012"), catalogue_id_for_key("ccm-2012"));
        assert_ne!(catalogue_id_for_key("ccm-2012"), catalogue_id_for_key("ccm-2013"));
    }

    #[test]
    fn the_message_reads_back_and_refuses_unknown_fields() {
        let request = UploadRequest {
            version: 1,
            upload_id: Uuid::nil(),
            catalogue: "ccm-2012".into(),
            contribution: fields(),
            files: vec![UploadFile { name: "a.pdf".into(), content_base64: Some("JVBERg==".into()), blob_key: None }],
            traceparent: None,
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<UploadRequest>(&json).unwrap(), request);
        let extra = json.replacen("{", "{\"surprise\":1,", 1);
        assert!(serde_json::from_str::<UploadRequest>(&extra).is_err());
    }
}
