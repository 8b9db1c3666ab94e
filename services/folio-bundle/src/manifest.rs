//! `manifest.json`: the machine-readable description of a bundle — the catalogue, its chapters and
//! contributions with their documents, records and findings, and the hash of every file — so that scripts
//! and archivists can check a bundle without Folio. Its JSON Schema is [`SCHEMA`]; the field names are a
//! contract: add fields (and to the schema), never rename or remove one.

use crate::changes::BuildChanges;
use chrono::NaiveDate;
use folio_core::classify::Classification;
use folio_core::{Contribution, ContributionKind, DocumentState, Finding, Record, Role, ThumbnailRef};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The JSON Schema (draft 2020-12) of `manifest.json`.
pub const SCHEMA: &str = include_str!("../../../schemas/manifest.schema.json");

/// The version this crate writes; bumped only on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub catalogue: CatalogueInfo,
    /// The build's number (1, 2, ...); 0 in manifests written before builds were numbered here.
    #[serde(default)]
    pub build: u32,
    /// What changed since the previous build.
    #[serde(default)]
    pub changes: BuildChanges,
    /// In book order.
    pub chapters: Vec<ManifestChapter>,
    pub contributions: Vec<ManifestContribution>,
    /// Intake findings that concern no contribution (unlisted files, rows without a file, malformed rows).
    pub findings: Vec<Finding>,
    /// Every file of the bundle except `manifest.json` itself; callers list them sorted by path so that the
    /// manifest of the same bundle is always the same bytes.
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueInfo {
    pub title: String,
    pub deadline: Option<NaiveDate>,
    /// The bundle's date (also the book's).
    pub generated: NaiveDate,
    /// Pages of the typeset book (catalogue.pdf), front and back matter included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestChapter {
    pub key: String,
    pub title: String,
    /// From 1.
    pub position: u32,
    /// Ids of its contributions, in book order.
    pub contributions: Vec<Uuid>,
    /// The page number printed on its first page in catalogue.pdf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_page: Option<u32>,
    /// Its pages in catalogue.pdf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestContribution {
    pub id: Uuid,
    /// The chapter's key.
    pub chapter: String,
    pub state: String,
    pub author: String,
    pub title: String,
    pub kind: ContributionKind,
    pub role: Role,
    /// [`folio_core::Modality::as_str`]: a plain string, where serde would write `{"other": "…"}` for
    /// the contributor's own words.
    pub modality: String,
    pub received: NaiveDate,
    /// `None` when the rights are not cleared.
    pub rights: Option<String>,
    /// Whether it is in the book.
    pub included: bool,
    pub documents: Vec<ManifestDocument>,
    pub findings: Vec<Finding>,
    /// The Convention's areas and the modality it is indexed under, with Folio's suggestion and its evidence;
    /// absent in manifests written before contributions were classified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<ManifestClassification>,
}

/// A contribution's classification in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestClassification {
    /// Area ids the book indexes it under: the editor's where confirmed, else Folio's suggestion.
    pub areas: Vec<String>,
    pub modality: Option<String>,
    pub role: Option<String>,
    /// The editor who confirmed it; `None` while it is Folio's suggestion.
    pub confirmed_by: Option<String>,
    /// What Folio suggested from the title, text and row, each suggestion with its evidence.
    pub suggestion: Classification,
}

impl ManifestContribution {
    /// The manifest's view of a contribution; documents and findings are added by the caller.
    pub fn new(contribution: &Contribution, included: bool) -> Self {
        Self {
            id: contribution.id,
            chapter: contribution.chapter_key.clone(),
            state: contribution.state.clone(),
            author: contribution.author.clone(),
            title: contribution.title.clone(),
            kind: contribution.kind,
            role: contribution.role,
            modality: contribution.modality.as_str().to_string(),
            received: contribution.received,
            rights: contribution.rights.clone(),
            included,
            documents: Vec::new(),
            findings: Vec::new(),
            classification: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestDocument {
    pub id: Uuid,
    /// The name it was uploaded under.
    pub file_name: String,
    pub sha256: String,
    pub bytes: u64,
    pub state: DocumentState,
    /// Bundle-relative path of the original file.
    pub original: String,
    /// Bundle-relative path of the smallest thumbnail, when there is one.
    pub thumbnail: Option<String>,
    /// Every thumbnail of the document, largest first, each at its bundle-relative path
    /// (`thumbnails/<max_side>/<file name>.<format>`). Empty when there is none; absent in manifests
    /// written before there were several sizes.
    #[serde(default)]
    pub thumbnails: Vec<ThumbnailRef>,
    /// What extraction found; `None` when the document was never extracted.
    pub record: Option<Record>,
}

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Bundle-relative, forward slashes.
    pub path: String,
    /// Lower-case hex.
    pub sha256: String,
    pub bytes: u64,
}

impl ManifestFile {
    /// Describes a file from its content.
    pub fn of(path: impl Into<String>, content: &[u8]) -> Self {
        Self { path: path.into(), sha256: hex::encode(Sha256::digest(content)), bytes: content.len() as u64 }
    }
}

impl Manifest {
    /// The manifest as written to the bundle: pretty-printed, with a final newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use folio_core::{
        ExtractError, ExtractErrorKind, FindingCode, Modality, OcrStatus, PagesSource, Severity, ThumbnailFormat,
    };
    use serde_json::Value;

    /// Keywords the validator below understands; annotations are accepted and ignored. The schema must stay
    /// within this subset (checked by `schema_uses_only_the_supported_subset`).
    const ASSERTIONS: &[&str] = &[
        "$ref",
        "type",
        "enum",
        "oneOf",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "$defs",
    ];
    const ANNOTATIONS: &[&str] = &["$schema", "$id", "title", "description", "format"];

    /// A small JSON Schema validator for the subset above; returns every violation with its JSON path.
    fn validate(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let Some(schema) = schema.as_object() else {
            errors.push(format!("{path}: schema is not an object"));
            return;
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            match reference.strip_prefix("#/$defs/").and_then(|name| root["$defs"].get(name)) {
                Some(target) => validate(root, target, value, path, errors),
                None => errors.push(format!("{path}: unresolved $ref {reference}")),
            }
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let matches = |t: &str| match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "null" => value.is_null(),
                _ => false,
            };
            if !types.iter().any(|t| matches(t)) {
                errors.push(format!("{path}: {value} is not of type {types:?}"));
                return;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{path}: {value} is not one of {options:?}"));
            }
        }
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let passing = options
                .iter()
                .filter(|option| {
                    let mut errs = Vec::new();
                    validate(root, option, value, path, &mut errs);
                    errs.is_empty()
                })
                .count();
            if passing != 1 {
                errors.push(format!("{path}: {value} matches {passing} of the oneOf schemas, not exactly one"));
            }
        }
        if let Some(n) = value.as_f64() {
            if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
                errors.push(format!("{path}: {n} is below the minimum"));
            }
            if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
                errors.push(format!("{path}: {n} is above the maximum"));
            }
        }
        if let Some(object) = value.as_object() {
            for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if let Some(key) = key.as_str() {
                    if !object.contains_key(key) {
                        errors.push(format!("{path}: required property {key} is missing"));
                    }
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, item) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => validate(root, sub, item, &format!("{path}.{key}"), errors),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{path}: property {key} is not allowed"))
                    }
                    None => {}
                }
            }
        }
        if let Some(array) = value.as_array() {
            if let Some(items) = schema.get("items") {
                for (i, item) in array.iter().enumerate() {
                    validate(root, items, item, &format!("{path}[{i}]"), errors);
                }
            }
            if schema.get("minItems").and_then(Value::as_u64).is_some_and(|n| (array.len() as u64) < n) {
                errors.push(format!("{path}: fewer items than minItems"));
            }
            if schema.get("maxItems").and_then(Value::as_u64).is_some_and(|n| (array.len() as u64) > n) {
                errors.push(format!("{path}: more items than maxItems"));
            }
        }
    }

    fn errors_of(value: &Value) -> Vec<String> {
        let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        let mut errors = Vec::new();
        validate(&schema, &schema, value, "$", &mut errors);
        errors
    }

    fn sample() -> Manifest {
        let catalogue = Uuid::nil();
        let contribution = Contribution {
            id: Contribution::derive_id(catalogue, "laos", "Norway", "A. Author", "Training"),
            chapter_key: "laos".into(),
            state: "Norway".into(),
            author: "A. Author".into(),
            title: "Training".into(),
            kind: ContributionKind::Photograph,
            role: Role::Both,
            modality: Modality::Other("with civil society".into()),
            received: NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
            rights: None,
            layout: None,
        };
        let finding = Finding {
            code: FindingCode::RightsNotCleared,
            severity: Severity::Blocking,
            contribution_id: Some(contribution.id),
            file_name: None,
            message: "Rights are not cleared.".into(),
        };
        let thumbnails: Vec<ThumbnailRef> = [(1024, 1024, 768), (256, 256, 192)]
            .into_iter()
            .map(|(max_side, width, height)| ThumbnailRef {
                max_side,
                width,
                height,
                format: ThumbnailFormat::Png,
                location: format!("thumbnails/{max_side}/photo.jpg.png"),
            })
            .collect();
        let record = Record {
            path: "laos/photo.jpg".into(),
            sha256: "ab".repeat(32),
            bytes: 2048,
            format: "jpeg".into(),
            mime: "image/jpeg".into(),
            pages: Some(1),
            pages_source: Some(PagesSource::Image),
            frames: None,
            language: None,
            language_confidence: Some(0.5),
            words: 0,
            title: None,
            author: Some("A. Author".into()),
            ocr: OcrStatus::NotNeeded,
            ocr_pages: Vec::new(),
            ocr_languages: Vec::new(),
            ocr_confidence: None,
            thumbnail: Some("thumbnails/256/photo.jpg.png".into()),
            thumbnails: thumbnails.clone(),
            structure: None,
            dimensions: Some((1600, 1200)),
            error: None,
            text: None,
            elapsed_ms: 12,
            language_shares: vec![folio_core::LanguageShare { language: "en".into(), share: 1.0 }],
            peak_memory_kib: Some(40_000),
            subject: None,
            keywords: None,
            created: None,
            modified: None,
            producer: None,
            text_cut_from_bytes: None,
            repaired: false,
            converted_from: None,
        };
        let failed = Record::failed(
            "laos/broken.pdf",
            "cd".repeat(32),
            10,
            ExtractError::new(ExtractErrorKind::Corrupt, "bad xref"),
        );
        let mut entry = ManifestContribution::new(&contribution, false);
        entry.documents = vec![
            ManifestDocument {
                id: folio_core::Document::derive_id(contribution.id, "photo.jpg", &record.sha256),
                file_name: "photo.jpg".into(),
                sha256: record.sha256.clone(),
                bytes: 2048,
                state: DocumentState::Done,
                original: "originals/laos/photo.jpg".into(),
                thumbnail: Some("thumbnails/256/photo.jpg.png".into()),
                thumbnails,
                record: Some(record),
            },
            ManifestDocument {
                id: folio_core::Document::derive_id(contribution.id, "broken.pdf", &failed.sha256),
                file_name: "broken.pdf".into(),
                sha256: failed.sha256.clone(),
                bytes: 10,
                state: DocumentState::Failed,
                original: "originals/laos/broken.pdf".into(),
                thumbnail: None,
                thumbnails: Vec::new(),
                record: Some(failed),
            },
            ManifestDocument {
                id: Uuid::nil(),
                file_name: "queued.docx".into(),
                sha256: "ef".repeat(32),
                bytes: 5,
                state: DocumentState::Queued,
                original: "originals/laos/queued.docx".into(),
                thumbnail: None,
                thumbnails: Vec::new(),
                record: None,
            },
        ];
        entry.findings = vec![finding];
        Manifest {
            schema_version: SCHEMA_VERSION,
            catalogue: CatalogueInfo {
                title: "Catalogue of best practices".into(),
                deadline: Some(NaiveDate::from_ymd_opt(2026, 4, 30).expect("date")),
                generated: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
                pages: Some(6),
            },
            build: 2,
            changes: BuildChanges::default(),
            chapters: vec![ManifestChapter {
                key: "laos".into(),
                title: "Clearance in Laos".into(),
                position: 1,
                contributions: vec![contribution.id],
                first_page: Some(1),
                pages: Some(3),
            }],
            contributions: vec![entry],
            findings: vec![Finding {
                code: FindingCode::UnlistedFile,
                severity: Severity::Warning,
                contribution_id: None,
                file_name: Some("stray.txt".into()),
                message: "No CSV row names this file.".into(),
            }],
            files: vec![ManifestFile::of("catalogue.pdf", b"%PDF-1.7"), ManifestFile::of("report.html", b"<html>")],
        }
    }

    #[test]
    fn sample_manifest_validates_and_round_trips() {
        let manifest = sample();
        let json = manifest.to_json().expect("serialises");
        let value: Value = serde_json::from_str(&json).expect("json");
        let errors = errors_of(&value);
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(value["contributions"][0]["modality"], "with civil society", "modality is a plain string");
        assert_eq!(value["contributions"][0]["kind"], "photograph");
        assert_eq!(value["contributions"][0]["documents"][1]["record"]["error"]["kind"], "corrupt");
        assert_eq!(value["catalogue"]["generated"], "2026-11-23");
        assert_eq!(
            ManifestFile::of("empty", b"").sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(value["files"][0]["bytes"], 8);
        let back: Manifest = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, manifest);
    }

    #[test]
    fn the_validator_rejects_what_the_schema_forbids() {
        let good = serde_json::to_value(sample()).expect("json");
        assert!(errors_of(&good).is_empty());

        let mut missing = good.clone();
        missing["catalogue"].as_object_mut().expect("object").remove("generated");
        assert!(errors_of(&missing).iter().any(|e| e.contains("generated")), "missing required field");

        let mut missing_record_field = good.clone();
        missing_record_field["contributions"][0]["documents"][0]["record"]
            .as_object_mut()
            .expect("object")
            .remove("ocr");
        assert!(!errors_of(&missing_record_field).is_empty(), "missing record field");

        let mut extra = good.clone();
        extra["files"][0]["mtime"] = Value::from(0);
        assert!(errors_of(&extra).iter().any(|e| e.contains("mtime")), "unknown field");

        let mut bad_enum = good.clone();
        bad_enum["contributions"][0]["kind"] = Value::from("poem");
        assert!(!errors_of(&bad_enum).is_empty(), "kind outside the enum");

        let mut bad_type = good.clone();
        bad_type["files"][0]["bytes"] = Value::from("ten");
        assert!(!errors_of(&bad_type).is_empty(), "wrong type");

        let mut object_modality = good.clone();
        object_modality["contributions"][0]["modality"] = serde_json::json!({"other": "x"});
        assert!(!errors_of(&object_modality).is_empty(), "modality must be a string");

        let mut bad_format = good.clone();
        bad_format["contributions"][0]["documents"][0]["thumbnails"][0]["format"] = Value::from("gif");
        assert!(!errors_of(&bad_format).is_empty(), "thumbnail format outside the enum");

        let mut bad_dimensions = good;
        bad_dimensions["contributions"][0]["documents"][0]["record"]["dimensions"] = serde_json::json!([1, 2, 3]);
        assert!(!errors_of(&bad_dimensions).is_empty(), "dimensions are a pair");
    }

    #[test]
    fn schema_enums_match_folio_core() {
        let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        let defs = &schema["$defs"];
        let names = |v: &Value| -> Vec<String> {
            v.as_array().expect("enum").iter().filter_map(|s| s.as_str().map(String::from)).collect()
        };
        let codes: Vec<String> = FindingCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
        assert_eq!(names(&defs["finding"]["properties"]["code"]["enum"]), codes);
        let kinds: Vec<String> = ContributionKind::ALL.iter().map(|k| k.as_str().to_string()).collect();
        assert_eq!(names(&defs["contribution"]["properties"]["kind"]["enum"]), kinds);
        for severity in [Severity::Info, Severity::Warning, Severity::Blocking] {
            assert!(names(&defs["finding"]["properties"]["severity"]["enum"]).contains(&severity.as_str().to_string()));
        }
        let pages_sources = [
            PagesSource::Counted,
            PagesSource::Metadata,
            PagesSource::Estimate,
            PagesSource::Rendered,
            PagesSource::Image,
        ];
        for source in pages_sources {
            let name = serde_json::to_value(source).expect("json");
            assert!(defs["record"]["properties"]["pages_source"]["enum"].as_array().expect("enum").contains(&name));
        }
        for format in [ThumbnailFormat::Png, ThumbnailFormat::Webp] {
            assert_eq!(serde_json::to_value(format).expect("json"), Value::from(format.as_str()));
            assert!(names(&defs["thumbnail"]["properties"]["format"]["enum"]).contains(&format.as_str().to_string()));
        }
        for state in [DocumentState::Queued, DocumentState::Processing, DocumentState::Done, DocumentState::Failed] {
            assert_eq!(serde_json::to_value(state).expect("json"), Value::from(state.as_str()));
            assert!(names(&defs["document"]["properties"]["state"]["enum"]).contains(&state.as_str().to_string()));
        }
    }

    #[test]
    fn schema_uses_only_the_supported_subset() {
        fn walk(schema: &Value, path: &str) {
            let Some(object) = schema.as_object() else { return };
            for (key, value) in object {
                assert!(
                    ASSERTIONS.contains(&key.as_str()) || ANNOTATIONS.contains(&key.as_str()),
                    "{path}: unsupported keyword {key}"
                );
                match key.as_str() {
                    "properties" | "$defs" => {
                        for (name, sub) in value.as_object().expect("map of schemas") {
                            walk(sub, &format!("{path}/{key}/{name}"));
                        }
                    }
                    "items" => walk(value, &format!("{path}/items")),
                    "oneOf" => {
                        for (i, sub) in value.as_array().expect("array of schemas").iter().enumerate() {
                            walk(sub, &format!("{path}/oneOf/{i}"));
                        }
                    }
                    _ => {}
                }
            }
        }
        let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        walk(&schema, "#");
    }
}
