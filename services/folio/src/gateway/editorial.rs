//! What editors read and do: chapters with progress, contributions with their documents, records and
//! findings, waivers and exclusions, assemblies, builds and their bundles, thumbnails.

use super::auth::Caller;
use super::problem::Problem;
use super::{answers, existing_catalogue, Gateway};
use crate::build::inputs;
use crate::build::sweep::{self, Outcome};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use folio_core::{Contribution, Decision, DecisionAction, FindingCode};
use folio_store::BuildState;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The catalogue's chapters in book order, each with its documents' progress.
pub(super) async fn chapter_progress(gateway: &Gateway, catalogue_id: Uuid) -> Result<Vec<answers::Chapter>, Problem> {
    let contributions = gateway.store.contributions(catalogue_id).await?;
    Ok(gateway
        .store
        .progress(catalogue_id)
        .await?
        .into_iter()
        .map(|c| {
            let contributions = contributions.iter().filter(|x| x.chapter_key == c.key).count();
            answers::Chapter {
                cleared: c.cleared(),
                key: c.key,
                title: c.title,
                position: c.position,
                contributions,
                documents: c.documents,
                finished: c.finished,
                failed: c.failed,
            }
        })
        .collect())
}

pub(super) async fn chapters(State(gateway): State<Gateway>, Path(key): Path<String>) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    Ok(Json(answers::Chapters { chapters: chapter_progress(&gateway, id).await? }).into_response())
}

/// Every contribution in book order, each with its documents (state, record summary, thumbnail), findings and
/// decisions: what the editors' dashboard shows.
pub(super) async fn contributions(
    State(gateway): State<Gateway>,
    Path(key): Path<String>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let cards = cards(&gateway, &key, id, None).await?;
    Ok(Json(answers::Contributions { contributions: cards }).into_response())
}

pub(super) async fn contribution(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let mut cards = cards(&gateway, &key, id, Some(contribution_id)).await?;
    match cards.pop() {
        Some(card) => Ok(Json(card).into_response()),
        None => Err(no_contribution(&key, contribution_id)),
    }
}

fn no_contribution(key: &str, id: Uuid) -> Problem {
    Problem::not_found("No such contribution", format!("catalogue '{key}' has no contribution {id}"))
}

async fn cards(
    gateway: &Gateway,
    key: &str,
    catalogue_id: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<answers::Contribution>, Problem> {
    let store = gateway.store.as_ref();
    let chapters = store.chapters(catalogue_id).await?;
    let mut contributions: Vec<Contribution> =
        store.contributions(catalogue_id).await?.into_iter().filter(|c| only.is_none_or(|o| o == c.id)).collect();
    let position: HashMap<&str, u32> = chapters.iter().map(|c| (c.key.as_str(), c.position)).collect();
    contributions.sort_by_key(|c| position.get(c.chapter_key.as_str()).copied().unwrap_or(u32::MAX));
    let documents = store.documents(catalogue_id).await?;
    let findings = inputs::current_findings(store, catalogue_id).await?;
    let decisions = store.decisions(catalogue_id).await?;
    // Every record at once, without text.
    let records: HashMap<Uuid, folio_store::RecordSummary> = store.records(catalogue_id).await?.into_iter().collect();
    let mut cards = Vec::with_capacity(contributions.len());
    for c in &contributions {
        let mut docs = Vec::new();
        for d in documents.iter().filter(|d| d.contribution_id == c.id) {
            let record = records.get(&d.id);
            docs.push(answers::Document {
                id: d.id,
                file_name: d.file_name.clone(),
                sha256: d.sha256.clone(),
                bytes: d.bytes,
                state: d.state.as_str(),
                attempts: d.attempts,
                last_error: d.last_error.clone(),
                record: record.map(|r| answers::RecordSummary {
                    format: r.record.format.clone(),
                    pages: r.record.pages,
                    language: r.record.language.clone(),
                    error: r.record.error.as_ref().and_then(|e| serde_json::to_value(e).ok()),
                    thumbnail: r.thumbnail_key.clone(),
                }),
                thumbnail_url: record
                    .and_then(|r| r.thumbnail_key.as_ref())
                    .map(|_| format!("/v1/catalogues/{key}/documents/{}/thumbnail", d.id)),
            });
        }
        let own = findings.iter().filter(|f| f.contribution_id == Some(c.id)).map(answers::Finding::from).collect();
        let decided = decisions.iter().filter(|d| d.contribution_id == c.id).map(answers::Decision::from).collect();
        let excluded = decisions.iter().any(|d| d.contribution_id == c.id && d.action == DecisionAction::Exclude);
        let blocked = findings.iter().any(|f| f.contribution_id == Some(c.id) && f.is_blocking());
        cards.push(answers::Contribution {
            id: c.id,
            chapter: c.chapter_key.clone(),
            state: c.state.clone(),
            author: c.author.clone(),
            title: c.title.clone(),
            kind: c.kind.as_str(),
            role: c.role.as_str(),
            modality: c.modality.as_str().to_string(),
            received: c.received,
            rights: c.rights.clone(),
            layout: c.layout.unwrap_or_default().as_str(),
            documents: docs,
            findings: own,
            decisions: decided,
            excluded,
            in_book: !blocked,
        });
    }
    Ok(cards)
}

pub(super) async fn findings(State(gateway): State<Gateway>, Path(key): Path<String>) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let findings = inputs::current_findings(gateway.store.as_ref(), id).await?;
    Ok(Json(answers::Findings { findings: findings.iter().map(answers::Finding::from).collect() }).into_response())
}

/// The body of a waiver or an exclusion.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Reason {
    #[schemars(length(min = 1, max = 1000))]
    reason: String,
}

fn reason_of(body: Option<Json<Reason>>) -> Result<String, Problem> {
    let reason = body.map(|Json(r)| r.reason.trim().to_string()).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(Problem::refused("say why in `reason` (JSON: {\"reason\": \"...\"}), in at most 1000 characters"));
    }
    Ok(reason)
}

async fn decide(
    gateway: &Gateway,
    key: &str,
    contribution_id: Uuid,
    caller: Caller,
    action: DecisionAction,
    code: Option<FindingCode>,
    reason: String,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(gateway, key).await?;
    let decision = Decision {
        contribution_id,
        action,
        code,
        reason,
        decided_by: caller.name,
        decided_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    match gateway.store.put_decision(id, &decision).await {
        Err(folio_store::StoreError::NotFound(_)) => return Err(no_contribution(key, contribution_id)),
        other => other?,
    }
    tracing::info!(catalogue = key, %contribution_id, action = action.as_str(), code = code.map(FindingCode::as_str), by = %decision.decided_by, "editor's decision");
    Ok(Json(answers::Decision::from(&decision)).into_response())
}

async fn undo(
    gateway: &Gateway,
    key: &str,
    contribution_id: Uuid,
    action: DecisionAction,
    code: Option<FindingCode>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(gateway, key).await?;
    if gateway.store.remove_decision(id, folio_store::DecisionKey { contribution_id, action, code }).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found(
            "No such decision",
            format!("contribution {contribution_id} has no such {}", action.as_str()),
        ))
    }
}

fn finding_code(code: &str) -> Result<FindingCode, Problem> {
    match FindingCode::parse(code) {
        Some(c) if !c.is_intake() && c != FindingCode::Excluded => Ok(c),
        _ => Err(Problem::not_found(
            "No such finding",
            format!("'{code}' is not a finding of the rules that can be waived (see docs/API.md)"),
        )),
    }
}

pub(super) async fn waive(
    State(gateway): State<Gateway>,
    Path((key, contribution_id, code)): Path<(String, Uuid, String)>,
    Extension(caller): Extension<Caller>,
    body: Option<Json<Reason>>,
) -> Result<Response, Problem> {
    let code = finding_code(&code)?;
    let reason = reason_of(body)?;
    decide(&gateway, &key, contribution_id, caller, DecisionAction::Waive, Some(code), reason).await
}

pub(super) async fn unwaive(
    State(gateway): State<Gateway>,
    Path((key, contribution_id, code)): Path<(String, Uuid, String)>,
) -> Result<Response, Problem> {
    let code = finding_code(&code)?;
    undo(&gateway, &key, contribution_id, DecisionAction::Waive, Some(code)).await
}

pub(super) async fn exclude(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
    Extension(caller): Extension<Caller>,
    body: Option<Json<Reason>>,
) -> Result<Response, Problem> {
    let reason = reason_of(body)?;
    decide(&gateway, &key, contribution_id, caller, DecisionAction::Exclude, None, reason).await
}

/// How the book prints a contribution's PDFs.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LayoutBody {
    /// `as-made`: each page placed in the typeset book as it was made (the default); `text`: set from the
    /// PDF's text in the book's type, for contributions whose layout should not be kept.
    #[schemars(extend("enum" = ["as-made", "text"]))]
    layout: String,
}

pub(super) async fn set_layout(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
    Extension(caller): Extension<Caller>,
    body: Option<Json<LayoutBody>>,
) -> Result<Response, Problem> {
    let word = body.map(|Json(b)| b.layout).unwrap_or_default();
    let layout: folio_core::Layout = word
        .parse()
        .map_err(|e: folio_core::UnknownWord| Problem::refused(format!("{e} (JSON: {{\"layout\": \"text\"}})")))?;
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    match gateway.store.set_layout(id, contribution_id, Some(layout)).await {
        Err(folio_store::StoreError::NotFound(_)) => return Err(no_contribution(&key, contribution_id)),
        other => other?,
    }
    tracing::info!(catalogue = key, %contribution_id, layout = layout.as_str(), by = %caller.name, "editor's layout");
    let card = cards(&gateway, &key, id, Some(contribution_id)).await?.into_iter().next();
    card.map(|c| Json(c).into_response()).ok_or_else(|| no_contribution(&key, contribution_id))
}

pub(super) async fn include(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
) -> Result<Response, Problem> {
    undo(&gateway, &key, contribution_id, DecisionAction::Exclude, None).await
}

/// A contribution's classification: Folio's suggestion with its evidence, the editor's confirmation, and
/// what the book uses.
async fn classification_json(
    gateway: &Gateway,
    key: &str,
    catalogue_id: Uuid,
    contribution_id: Uuid,
) -> Result<answers::Classification, Problem> {
    let store = gateway.store.as_ref();
    let contribution = store
        .contributions(catalogue_id)
        .await?
        .into_iter()
        .find(|c| c.id == contribution_id)
        .ok_or_else(|| no_contribution(key, contribution_id))?;
    // The suggestion follows the contribution's metadata and its documents' texts: it is made again only
    // when one of them changed (told by the texts' digests, kept with the records), else taken from the cache.
    let documents: Vec<Uuid> = store
        .documents(catalogue_id)
        .await?
        .into_iter()
        .filter(|d| d.contribution_id == contribution_id)
        .map(|d| d.id)
        .collect();
    let mut inputs = serde_json::to_string(&contribution).unwrap_or_default();
    for id in &documents {
        if let Some(record) = store.record(*id).await? {
            inputs.push_str(&record.digest.sha256);
        }
    }
    let cached = gateway.suggestions.lock().await.get(&contribution_id).filter(|(seen, _)| *seen == inputs).cloned();
    let suggestion = match cached {
        Some((_, suggestion)) => suggestion,
        None => {
            let mut text = Vec::new();
            for id in &documents {
                if let Some(t) = store.text(*id).await? {
                    text.push(t);
                }
            }
            let suggestion = folio_bundle::classification::suggest(&contribution, &text.join("\n\n"));
            gateway.suggestions.lock().await.insert(contribution_id, (inputs, suggestion.clone()));
            suggestion
        }
    };
    let confirmed =
        store.classifications(catalogue_id).await?.into_iter().find(|c| c.contribution_id == contribution_id);
    let effective = folio_bundle::classification::effective(&suggestion, confirmed.as_ref());
    let unwritable = |e| Problem::internal("The classification could not be written", e);
    Ok(answers::Classification {
        suggestion: serde_json::to_value(&suggestion).map_err(unwritable)?,
        confirmed: confirmed.as_ref().map(serde_json::to_value).transpose().map_err(unwritable)?,
        effective: answers::EffectiveClassification {
            areas: effective.areas.iter().map(|a| a.as_str()).collect(),
            modality: effective.modality,
            role: effective.role,
            confirmed_by: effective.confirmed_by,
        },
    })
}

pub(super) async fn classification(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    Ok(Json(classification_json(&gateway, &key, id, contribution_id).await?).into_response())
}

/// The body of a confirmed classification.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ConfirmClassification")]
pub(super) struct ConfirmBody {
    #[schemars(schema_with = "area_names")]
    areas: Vec<String>,
    #[serde(default)]
    #[schemars(extend("enum" = ["bilateral", "regional", "multilateral", "south-south", "triangular", null]))]
    modality: Option<String>,
    #[serde(default)]
    #[schemars(extend("enum" = ["donor", "recipient", "both", null]))]
    role: Option<String>,
}

fn area_names(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let areas: Vec<&str> = folio_core::classify::Area::ALL.into_iter().map(|a| a.as_str()).collect();
    schemars::json_schema!({"type": "array", "items": {"type": "string", "enum": areas}})
}

pub(super) async fn confirm_classification(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
    Extension(caller): Extension<Caller>,
    body: Option<Json<ConfirmBody>>,
) -> Result<Response, Problem> {
    use folio_core::classify::Area;
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let Some(Json(body)) = body else {
        return Err(Problem::refused("send JSON: {\"areas\": [\"clearance\", ...], \"modality\": ..., \"role\": ...}"));
    };
    let mut areas = Vec::new();
    for a in &body.areas {
        let area = Area::parse(a).ok_or_else(|| {
            let known: Vec<&str> = Area::ALL.iter().map(|a| a.as_str()).collect();
            Problem::refused(format!("'{a}' is not an area of the Convention; one of {}", known.join(", ")))
        })?;
        areas.push(area);
    }
    areas.sort();
    areas.dedup();
    const MODALITIES: [&str; 5] = ["bilateral", "regional", "multilateral", "south-south", "triangular"];
    const ROLES: [&str; 3] = ["donor", "recipient", "both"];
    let pick = |value: &Option<String>, known: &[&str], what: &str| -> Result<Option<String>, Problem> {
        match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if known.contains(&v) => Ok(Some(v.to_string())),
            Some(v) => Err(Problem::refused(format!("'{v}' is not a {what}; one of {}", known.join(", ")))),
        }
    };
    let confirmed = folio_core::ConfirmedClassification {
        contribution_id,
        areas: areas.iter().map(|a| a.as_str().to_string()).collect(),
        modality: pick(&body.modality, &MODALITIES, "modality")?,
        role: pick(&body.role, &ROLES, "role")?,
        decided_by: caller.name,
        decided_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    match gateway.store.put_classification(id, &confirmed).await {
        Err(folio_store::StoreError::NotFound(_)) => return Err(no_contribution(&key, contribution_id)),
        other => other?,
    }
    tracing::info!(catalogue = key, %contribution_id, areas = ?confirmed.areas, by = %confirmed.decided_by, "classification confirmed");
    Ok(Json(classification_json(&gateway, &key, id, contribution_id).await?).into_response())
}

pub(super) async fn withdraw_classification(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    if gateway.store.remove_classification(id, contribution_id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found(
            "No confirmation",
            format!("contribution {contribution_id} has no confirmed classification"),
        ))
    }
}

fn build_answer(key: &str, b: &folio_store::BuildRow) -> answers::Build {
    answers::Build {
        number: b.number,
        state: b.state.as_str(),
        location: sweep::shown_location(&b.location),
        manifest_sha256: b.manifest_sha256.clone(),
        bundle_url: (b.state == BuildState::Done)
            .then(|| format!("/v1/catalogues/{key}/builds/{}/bundle.zip", b.number)),
    }
}

pub(super) async fn builds(State(gateway): State<Gateway>, Path(key): Path<String>) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let rows = gateway.store.builds(id).await?;
    // Stale: the inputs moved since the latest finished build (a new or replaced contribution, a decision, a
    // classification, a record), or there is none yet.
    let stamp = sweep::current_stamp(gateway.store.as_ref(), id, &gateway.stamps).await?;
    let latest_done = rows.iter().rev().find(|b| b.state == BuildState::Done);
    let stale = latest_done.is_none_or(|b| b.input_stamp.as_deref() != Some(stamp.as_str()));
    let builds = rows.iter().rev().map(|b| build_answer(&key, b)).collect();
    Ok(Json(answers::Builds { builds, stale }).into_response())
}

/// Assembles the catalogue now: 201 with the new build, 200 with the latest when nothing changed since, 409
/// when a chapter has not cleared processing or another assembly of the same inputs is under way.
pub(super) async fn assemble(
    State(gateway): State<Gateway>,
    Path(key): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let outcome = sweep::assemble_now(
        gateway.store.as_ref(),
        gateway.blobs.as_ref(),
        gateway.queue.as_ref(),
        &gateway.builds,
        id,
    )
    .await?;
    let row = |number: u32| async move {
        let builds = gateway.store.builds(id).await?;
        Ok::<_, Problem>(builds.into_iter().find(|b| b.number == number))
    };
    match outcome {
        Outcome::Built(b) => {
            tracing::info!(catalogue = %key, build = b.build, by = %caller.name, "assembled on request");
            let built = row(b.build).await?.map(|r| build_answer(&key, &r));
            Ok((StatusCode::CREATED, Json(built)).into_response())
        }
        Outcome::Unchanged(number) => {
            let latest = row(number).await?.map(|r| build_answer(&key, &r));
            Ok((StatusCode::OK, Json(latest)).into_response())
        }
        Outcome::NotCleared => Err(Problem::new(
            StatusCode::CONFLICT,
            "Not ready",
            "every chapter must clear processing first (each document done or failed), and the catalogue needs documents",
        )),
        Outcome::Busy => Err(Problem::new(
            StatusCode::CONFLICT,
            "Being assembled",
            "the catalogue is changing or being assembled right now; try again in a moment",
        )),
    }
}

/// A build's bundle as one ZIP file, assembled in a temporary file and streamed.
pub(super) async fn bundle(
    State(gateway): State<Gateway>,
    Path((key, number)): Path<(String, u32)>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let build = gateway.store.builds(id).await?.into_iter().find(|b| b.number == number && b.state == BuildState::Done);
    let Some(build) = build else {
        return Err(Problem::not_found("No such build", format!("catalogue '{key}' has no finished build {number}")));
    };
    let prefix = format!("bundles/{id}/{number}/");
    let keys = gateway.blobs.list(&prefix).await.map_err(anyhow::Error::from)?;
    if keys.is_empty() {
        // `folio process` writes its bundles to a folder of its own, not to the blob store.
        return Err(Problem::not_found(
            "Bundle not in the blob store",
            format!("build {number} was written to {}", sweep::shown_location(&build.location)),
        ));
    }
    let file = crate::build::zip::write(gateway.blobs.as_ref(), &prefix, &keys).await?;
    let length = file.metadata().await.map_err(anyhow::Error::from)?.len();
    let body = Body::from_stream(crate::build::zip::chunks(file));
    let name = format!("{key}-build-{number}.zip");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

/// A document's thumbnail (the smallest size made).
pub(super) async fn thumbnail(
    State(gateway): State<Gateway>,
    Path((key, document_id)): Path<(String, Uuid)>,
) -> Result<Response, Problem> {
    let (id, _) = existing_catalogue(&gateway, &key).await?;
    let not_found = || Problem::not_found("No thumbnail", format!("document {document_id} has no thumbnail (yet)"));
    let document = gateway.store.document(document_id).await?.ok_or_else(not_found)?;
    let in_catalogue = gateway.store.contributions(id).await?.iter().any(|c| c.id == document.contribution_id);
    let thumbnail = gateway.store.record(document_id).await?.and_then(|r| r.thumbnail_key);
    let (true, Some(thumbnail)) = (in_catalogue, thumbnail) else { return Err(not_found()) };
    let bytes = gateway.blobs.get(&thumbnail).await.map_err(anyhow::Error::from)?;
    let mime = if thumbnail.ends_with(".webp") { "image/webp" } else { "image/png" };
    Ok(([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "private, max-age=300")], bytes).into_response())
}
