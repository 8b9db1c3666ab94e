//! What the API answers, as types. Each handler answers with one of these, and the OpenAPI document takes
//! each schema from its type (`JsonSchema`, JSON Schema 2020-12 as OpenAPI 3.1 reads it; see
//! [`super::routes::document`]), so an answer and its documentation cannot drift apart. Doc comments here are
//! the schemas' descriptions.

use chrono::NaiveDate;
use folio_core::{FindingCode, Severity};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A catalogue created or updated.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CatalogueRef {
    pub key: String,
    pub id: Uuid,
    pub title: String,
}

/// A chapter and how far its documents are.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Chapter {
    pub key: String,
    pub title: String,
    pub position: u32,
    pub contributions: usize,
    pub documents: u64,
    /// Documents done or failed.
    pub finished: u64,
    pub failed: u64,
    /// Every document finished.
    pub cleared: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Chapters {
    pub chapters: Vec<Chapter>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Catalogue {
    pub key: String,
    pub id: Uuid,
    pub title: String,
    /// The call's deadline: later contributions are found `late`.
    pub deadline: Option<NaiveDate>,
    /// In book order.
    pub chapters: Vec<Chapter>,
}

/// What the intake or a rule found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Finding {
    #[schemars(schema_with = "finding_code")]
    pub code: &'static str,
    #[schemars(schema_with = "severity")]
    pub severity: &'static str,
    pub contribution_id: Option<Uuid>,
    pub file_name: Option<String>,
    pub message: String,
}

impl From<&folio_core::Finding> for Finding {
    fn from(f: &folio_core::Finding) -> Self {
        Self {
            code: f.code.as_str(),
            severity: f.severity.as_str(),
            contribution_id: f.contribution_id,
            file_name: f.file_name.clone(),
            message: f.message.clone(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Findings {
    pub findings: Vec<Finding>,
}

/// An editor's decision on a contribution.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Decision {
    #[schemars(schema_with = "decision_action")]
    pub action: &'static str,
    /// The waived finding's code; none for an exclusion.
    pub code: Option<&'static str>,
    pub reason: String,
    pub decided_by: String,
    #[schemars(schema_with = "date_time")]
    pub decided_at: String,
}

impl From<&folio_core::Decision> for Decision {
    fn from(d: &folio_core::Decision) -> Self {
        Self {
            action: d.action.as_str(),
            code: d.code.map(FindingCode::as_str),
            reason: d.reason.clone(),
            decided_by: d.decided_by.clone(),
            decided_at: d.decided_at.clone(),
        }
    }
}

/// What extraction found of a document, in short.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecordSummary {
    /// What the file is (`pdf`, `docx`, `jpeg`, ...), sniffed from its content.
    pub format: String,
    pub pages: Option<u32>,
    /// ISO 639-1 code of its text's language, when one could be told.
    pub language: Option<String>,
    /// Why the document could not be read (`kind`, `message`).
    #[schemars(schema_with = "object_or_null")]
    pub error: Option<Value>,
    /// The blob key of its thumbnail.
    pub thumbnail: Option<String>,
}

/// One file of a contribution.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Document {
    pub id: Uuid,
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    #[schemars(schema_with = "document_state")]
    pub state: &'static str,
    /// How often a worker took it.
    pub attempts: u32,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
    /// What extraction found; none before the document is processed.
    pub record: Option<RecordSummary>,
    /// Where its thumbnail is served, when it has one.
    pub thumbnail_url: Option<String>,
}

/// A contribution as the editors' dashboard shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Contribution {
    pub id: Uuid,
    /// The key of its chapter (cooperation project).
    pub chapter: String,
    /// The State Party it comes from.
    pub state: String,
    pub author: String,
    pub title: String,
    /// `text`, `testimonial`, `graphic` or `photograph`.
    pub kind: &'static str,
    /// `donor`, `recipient` or `both`.
    pub role: &'static str,
    pub modality: String,
    pub received: NaiveDate,
    /// Who holds the rights and what they allow; none when they are not cleared.
    pub rights: Option<String>,
    /// How the book prints its PDFs: `as-made` (each page placed) or `text` (set from their text).
    pub layout: &'static str,
    pub documents: Vec<Document>,
    /// What the intake and the rules found of it.
    pub findings: Vec<Finding>,
    /// The editors' waivers and exclusion.
    pub decisions: Vec<Decision>,
    /// An editor left it out.
    pub excluded: bool,
    /// No blocking finding keeps it out of the book.
    pub in_book: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Contributions {
    pub contributions: Vec<Contribution>,
}

/// A build of the catalogue.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Build {
    pub number: u32,
    #[schemars(schema_with = "build_state")]
    pub state: &'static str,
    /// Where the bundle is: a key of the blob store, or an `s3://` URL.
    pub location: String,
    /// SHA-256 of its manifest.json: what a signature covers.
    pub manifest_sha256: String,
    /// Where to download it as a zip, once it is done.
    pub bundle_url: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Builds {
    /// The latest first.
    pub builds: Vec<Build>,
    /// Whether anything changed since the latest finished build (or there is none).
    pub stale: bool,
}

/// What the book uses of a contribution's classification.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EffectiveClassification {
    /// The Convention's areas it concerns.
    pub areas: Vec<&'static str>,
    pub modality: Option<String>,
    pub role: Option<String>,
    pub confirmed_by: Option<String>,
}

/// A contribution's classification: Folio's suggestion with its evidence, the editor's confirmation, and
/// what the book uses.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Classification {
    /// Areas and modality with score and evidence (phrase, source, count, excerpt).
    #[schemars(schema_with = "object")]
    pub suggestion: Value,
    #[schemars(schema_with = "object_or_null")]
    pub confirmed: Option<Value>,
    pub effective: EffectiveClassification,
}

fn string_enum(values: Vec<&str>) -> Schema {
    json_schema!({"type": "string", "enum": values})
}

fn finding_code(_: &mut SchemaGenerator) -> Schema {
    string_enum(FindingCode::ALL.into_iter().map(FindingCode::as_str).collect())
}

fn severity(_: &mut SchemaGenerator) -> Schema {
    string_enum([Severity::Info, Severity::Warning, Severity::Blocking].into_iter().map(Severity::as_str).collect())
}

fn decision_action(_: &mut SchemaGenerator) -> Schema {
    string_enum(vec!["waive", "exclude"])
}

fn document_state(_: &mut SchemaGenerator) -> Schema {
    string_enum(vec!["queued", "processing", "done", "failed"])
}

fn build_state(_: &mut SchemaGenerator) -> Schema {
    string_enum(vec!["assembling", "done"])
}

fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

fn object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object"})
}

fn object_or_null(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": ["object", "null"]})
}

/// The schemas of every answer and request body, by name, as OpenAPI's `components.schemas` holds them.
pub fn schemas() -> Map<String, Value> {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    let mut generator = SchemaGenerator::new(settings);
    generator.subschema_for::<CatalogueRef>();
    generator.subschema_for::<Catalogue>();
    generator.subschema_for::<Chapters>();
    generator.subschema_for::<Findings>();
    generator.subschema_for::<Contributions>();
    generator.subschema_for::<Builds>();
    generator.subschema_for::<Classification>();
    generator.subschema_for::<crate::intake::uploads::Accepted>();
    generator.subschema_for::<super::problem::ProblemBody>();
    generator.subschema_for::<super::editorial::Reason>();
    generator.subschema_for::<super::editorial::ConfirmBody>();
    generator.subschema_for::<super::editorial::LayoutBody>();
    generator.subschema_for::<folio_core::upload::ContributionFields>();
    generator.take_definitions(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every answer's schema names every field it serialises, so that the document says what is sent.
    #[test]
    fn each_schema_lists_the_fields_its_type_sends() {
        let schemas = schemas();
        let chapter = Chapter {
            key: "k".into(),
            title: "t".into(),
            position: 1,
            contributions: 0,
            documents: 0,
            finished: 0,
            failed: 0,
            cleared: true,
        };
        let build =
            Build { number: 1, state: "done", location: "l".into(), manifest_sha256: "m".into(), bundle_url: None };
        for (name, value) in [
            ("Chapter", serde_json::to_value(&chapter).unwrap()),
            ("Build", serde_json::to_value(&build).unwrap()),
            ("Builds", serde_json::to_value(Builds { builds: vec![build], stale: false }).unwrap()),
        ] {
            let properties = schemas[name]["properties"].as_object().unwrap_or_else(|| panic!("{name}"));
            let sent: Vec<&String> = value.as_object().unwrap().keys().collect();
            assert_eq!(sent, properties.keys().collect::<Vec<_>>(), "{name}");
        }
        for name in ["Problem", "Reason", "ConfirmClassification", "ContributionMetadata", "Accepted", "Contribution"] {
            assert!(schemas.contains_key(name), "{name} in {:?}", schemas.keys().collect::<Vec<_>>());
        }
        assert_eq!(
            schemas["Finding"]["properties"]["code"]["enum"].as_array().map(Vec::len),
            Some(FindingCode::ALL.len())
        );
    }
}
