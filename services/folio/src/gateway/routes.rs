//! The API's routes, once: the router is built from this table and so is the OpenAPI 3.1 document
//! (`GET /v1/openapi.json`, kept in the repo as docs/openapi.json), so the two cannot drift apart.

use super::auth::Scope;
use super::{editorial, intake, Gateway};
use axum::http::Method;
use axum::routing::{delete, get, post, put, MethodRouter};
use folio_core::FindingCode;
use serde_json::{json, Map, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token: the OpenAPI document.
    Open,
    /// A token of any scope.
    Read,
    Needs(Scope),
}

/// What a route takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Body {
    None,
    Toml,
    Upload,
    Reason,
    Classification,
    Layout,
}

/// The most bytes of a JSON or TOML body (a reason, a classification, a catalogue.toml).
pub(super) const MAX_SMALL_BODY_BYTES: usize = 64 * 1024;

impl Body {
    /// The most bytes a request to the route may carry: uploads up to `gateway.max_upload_mib`, small
    /// documents up to [`MAX_SMALL_BODY_BYTES`], nothing for the others.
    pub(super) fn limit(self, max_upload_bytes: usize) -> usize {
        match self {
            Self::Upload => max_upload_bytes,
            Self::Toml | Self::Reason | Self::Classification | Self::Layout => MAX_SMALL_BODY_BYTES,
            Self::None => 0,
        }
    }
}

/// What a route answers with, on success.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    Json(&'static str),
    Zip,
    Image,
    Empty,
}

pub(super) struct Route {
    pub method: Method,
    pub path: &'static str,
    pub operation: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub body: Body,
    /// Status, description, content.
    pub ok: &'static [(u16, &'static str, Answer)],
    /// Statuses of refusals besides 401 and 403 (which every route with a token may give).
    pub refusals: &'static [(u16, &'static str)],
}

impl Route {
    /// Uploads, assembly and bundle downloads take long (a large file, a whole catalogue); the rest short.
    pub fn time_limit(&self) -> super::edge::TimeLimit {
        match (self.body, self.operation) {
            (Body::Upload, _) | (_, "assemble" | "downloadBundle") => super::edge::TimeLimit::Long,
            _ => super::edge::TimeLimit::Short,
        }
    }
}

const NOT_FOUND: (u16, &str) = (404, "no such catalogue (or the thing named in the path)");

/// Every route of the API, with its handler.
pub(super) fn table() -> Vec<(Route, MethodRouter<Gateway>)> {
    use Access::*;
    use Answer::*;
    vec![
        (
            Route {
                method: Method::PUT,
                path: "/v1/catalogues/{key}",
                operation: "putCatalogue",
                summary: "Creates or updates a catalogue from its catalogue.toml; its contributions stay",
                access: Needs(Scope::Admin),
                body: Body::Toml,
                ok: &[(201, "created", Json("CatalogueRef")), (200, "updated", Json("CatalogueRef"))],
                refusals: &[(422, "not a catalogue: the problem says what to fix")],
            },
            put(super::put_catalogue),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}",
                operation: "getCatalogue",
                summary: "The catalogue and its chapters in book order, with progress",
                access: Read,
                body: Body::None,
                ok: &[(200, "the catalogue", Json("Catalogue"))],
                refusals: &[NOT_FOUND],
            },
            get(super::catalogue),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/chapters",
                operation: "listChapters",
                summary: "The chapters in book order, each with its progress",
                access: Read,
                body: Body::None,
                ok: &[(200, "the chapters", Json("Chapters"))],
                refusals: &[NOT_FOUND],
            },
            get(editorial::chapters),
        ),
        (
            Route {
                method: Method::POST,
                path: "/v1/catalogues/{key}/contributions",
                operation: "uploadContribution",
                summary: "One contribution: its metadata and files in one multipart form (Idempotency-Key makes a retry safe)",
                access: Needs(Scope::Uploader),
                body: Body::Upload,
                ok: &[
                    (201, "a new contribution", Json("Accepted")),
                    (200, "already there (a retry), or the first answer to this Idempotency-Key", Json("Accepted")),
                ],
                refusals: &[
                    (400, "not a multipart form, or a bad Idempotency-Key"),
                    NOT_FOUND,
                    (413, "over gateway.max_upload_mib, gateway.max_file_mib or gateway.max_files"),
                    (415, "a file that is not a PDF, DOCX or image, or not what its name says"),
                    (422, "metadata that breaks the call, or an Idempotency-Key used for another upload"),
                ],
            },
            post(intake::upload),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/contributions",
                operation: "listContributions",
                summary: "Every contribution in book order with its documents, findings and decisions",
                access: Read,
                body: Body::None,
                ok: &[(200, "the contributions", Json("Contributions"))],
                refusals: &[NOT_FOUND],
            },
            get(editorial::contributions),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/contributions/{id}",
                operation: "getContribution",
                summary: "One contribution with its documents, findings and decisions",
                access: Read,
                body: Body::None,
                ok: &[(200, "the contribution", Json("Contribution"))],
                refusals: &[NOT_FOUND],
            },
            get(editorial::contribution),
        ),
        (
            Route {
                method: Method::PUT,
                path: "/v1/catalogues/{key}/contributions/{id}/waivers/{code}",
                operation: "waiveFinding",
                summary: "Waives a finding: it stays on record as info and no longer keeps the contribution out",
                access: Needs(Scope::Editor),
                body: Body::Reason,
                ok: &[(200, "the decision", Json("Decision"))],
                refusals: &[NOT_FOUND, (422, "no reason given")],
            },
            put(editorial::waive),
        ),
        (
            Route {
                method: Method::DELETE,
                path: "/v1/catalogues/{key}/contributions/{id}/waivers/{code}",
                operation: "unwaiveFinding",
                summary: "Takes a waiver back",
                access: Needs(Scope::Editor),
                body: Body::None,
                ok: &[(204, "taken back", Empty)],
                refusals: &[NOT_FOUND],
            },
            delete(editorial::unwaive),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/contributions/{id}/classification",
                operation: "getClassification",
                summary: "Folio's suggested areas and modality, each with its evidence, the editor's confirmation, and what the book uses",
                access: Read,
                body: Body::None,
                ok: &[(200, "the classification", Json("Classification"))],
                refusals: &[NOT_FOUND],
            },
            get(editorial::classification),
        ),
        (
            Route {
                method: Method::PUT,
                path: "/v1/catalogues/{key}/contributions/{id}/classification",
                operation: "confirmClassification",
                summary: "Confirms or changes a contribution's areas, modality and role; the next build indexes it so",
                access: Needs(Scope::Editor),
                body: Body::Classification,
                ok: &[(200, "the classification", Json("Classification"))],
                refusals: &[NOT_FOUND, (422, "an unknown area, modality or role")],
            },
            put(editorial::confirm_classification),
        ),
        (
            Route {
                method: Method::DELETE,
                path: "/v1/catalogues/{key}/contributions/{id}/classification",
                operation: "withdrawClassification",
                summary: "Withdraws an editor's confirmation: Folio's suggestion stands again",
                access: Needs(Scope::Editor),
                body: Body::None,
                ok: &[(204, "withdrawn", Empty)],
                refusals: &[NOT_FOUND],
            },
            delete(editorial::withdraw_classification),
        ),
        (
            Route {
                method: Method::PUT,
                path: "/v1/catalogues/{key}/contributions/{id}/exclusion",
                operation: "excludeContribution",
                summary: "Leaves a contribution out of the book",
                access: Needs(Scope::Editor),
                body: Body::Reason,
                ok: &[(200, "the decision", Json("Decision"))],
                refusals: &[NOT_FOUND, (422, "no reason given")],
            },
            put(editorial::exclude),
        ),
        (
            Route {
                method: Method::DELETE,
                path: "/v1/catalogues/{key}/contributions/{id}/exclusion",
                operation: "includeContribution",
                summary: "Takes an exclusion back",
                access: Needs(Scope::Editor),
                body: Body::None,
                ok: &[(204, "taken back", Empty)],
                refusals: &[NOT_FOUND],
            },
            delete(editorial::include),
        ),
        (
            Route {
                method: Method::PUT,
                path: "/v1/catalogues/{key}/contributions/{id}/layout",
                operation: "setLayout",
                summary: "How the book prints a contribution's PDFs: as they were made (each page placed) or set from their text",
                access: Needs(Scope::Editor),
                body: Body::Layout,
                ok: &[(200, "the contribution as the desk shows it", Json("Contribution"))],
                refusals: &[NOT_FOUND, (422, "not a layout")],
            },
            put(editorial::set_layout),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/findings",
                operation: "listFindings",
                summary: "The findings as they stand, with the editors' decisions applied",
                access: Read,
                body: Body::None,
                ok: &[(200, "the findings", Json("Findings"))],
                refusals: &[NOT_FOUND],
            },
            get(editorial::findings),
        ),
        (
            Route {
                method: Method::POST,
                path: "/v1/catalogues/{key}/builds",
                operation: "assemble",
                summary: "Assembles the catalogue now (a change is built once, whoever asks)",
                access: Needs(Scope::Editor),
                body: Body::None,
                ok: &[(201, "the new build", Json("Build")), (200, "the latest build, made from the same inputs", Json("Build"))],
                refusals: &[NOT_FOUND, (409, "a chapter has not cleared processing, or an assembly is under way")],
            },
            post(editorial::assemble),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/builds",
                operation: "listBuilds",
                summary: "The catalogue's builds, newest first",
                access: Read,
                body: Body::None,
                ok: &[(200, "the builds", Json("Builds"))],
                refusals: &[NOT_FOUND],
            },
            get(editorial::builds),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/builds/{number}/bundle.zip",
                operation: "downloadBundle",
                summary: "A build's bundle as one ZIP file",
                access: Read,
                body: Body::None,
                ok: &[(200, "the bundle", Zip)],
                refusals: &[NOT_FOUND],
            },
            get(editorial::bundle),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/catalogues/{key}/documents/{id}/thumbnail",
                operation: "getThumbnail",
                summary: "A document's thumbnail (the smallest size made)",
                access: Read,
                body: Body::None,
                ok: &[(200, "the thumbnail", Image)],
                refusals: &[NOT_FOUND],
            },
            get(editorial::thumbnail),
        ),
        (
            Route {
                method: Method::GET,
                path: "/v1/openapi.json",
                operation: "openapi",
                summary: "This document",
                access: Open,
                body: Body::None,
                ok: &[(200, "the OpenAPI 3.1 document", Json("OpenApi"))],
                refusals: &[],
            },
            get(|| async { axum::Json(document()) }),
        ),
    ]
}

fn parameter(name: &str) -> Value {
    let (description, schema) = match name {
        "key" => ("the catalogue key", json!({"type": "string", "pattern": "^[a-z0-9-]{1,64}$"})),
        "id" => ("a contribution's or document's id", json!({"type": "string", "format": "uuid"})),
        "number" => ("a build's number", json!({"type": "integer", "minimum": 1})),
        "code" => {
            let codes: Vec<&str> = FindingCode::ALL
                .into_iter()
                .filter(|c| !c.is_intake() && *c != FindingCode::Excluded)
                .map(FindingCode::as_str)
                .collect();
            ("the code of the finding waived", json!({"type": "string", "enum": codes}))
        }
        _ => ("", json!({"type": "string"})),
    };
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(route: &Route) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(route.operation));
    op.insert("summary".into(), json!(route.summary));
    let who = match route.access {
        Access::Open => "No token needed.".to_string(),
        Access::Read => "Needs a token of any scope.".to_string(),
        Access::Needs(scope) => format!("Needs a token with the {} scope (or a wider one).", scope.as_str()),
    };
    op.insert("description".into(), json!(who));
    let parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(parameter)
        .collect();
    let mut parameters = parameters;
    if matches!(route.body, Body::Upload) {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "1 to 255 visible ASCII characters: a retry with the same key and request gets the first answer",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}
        }));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), json!(parameters));
    }
    if !matches!(route.access, Access::Open) {
        op.insert("security".into(), json!([{"bearer": []}]));
    }
    let body = match route.body {
        Body::None => None,
        Body::Toml => Some(json!({"required": true, "content": {"application/toml": {"schema": {"type": "string"}}}})),
        Body::Reason => {
            Some(json!({"required": true, "content": {"application/json": {"schema": schema_ref("Reason")}}}))
        }
        Body::Classification => Some(
            json!({"required": true, "content": {"application/json": {"schema": schema_ref("ConfirmClassification")}}}),
        ),
        Body::Layout => {
            Some(json!({"required": true, "content": {"application/json": {"schema": schema_ref("LayoutBody")}}}))
        }
        Body::Upload => Some(json!({"required": true, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["metadata", "file"], "properties": {
                "metadata": schema_ref("ContributionMetadata"),
                "file": {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"}}
            }},
            "encoding": {"metadata": {"contentType": "application/json"}}
        }}})),
    };
    if let Some(body) = body {
        op.insert("requestBody".into(), body);
    }
    let mut responses = Map::new();
    for (status, description, answer) in route.ok {
        let content = match answer {
            Answer::Json(name) => Some(json!({"application/json": {"schema": schema_ref(name)}})),
            Answer::Zip => {
                Some(json!({"application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}}))
            }
            Answer::Image => Some(json!({
                "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                "image/webp": {"schema": {"type": "string", "contentMediaType": "image/webp"}}
            })),
            Answer::Empty => None,
        };
        let mut response = json!({"description": description});
        if let Some(content) = content {
            response["content"] = content;
        }
        responses.insert(status.to_string(), response);
    }
    let mut refusals: Vec<(u16, &str)> = route.refusals.to_vec();
    if !matches!(route.access, Access::Open) {
        refusals.push((401, "no token, or not one of the gateway's"));
        if matches!(route.access, Access::Needs(_)) {
            refusals.push((403, "the token's scope is too narrow"));
        }
    }
    refusals.push((503, "the database or the blob store is unavailable: try again"));
    for (status, description) in refusals {
        responses.insert(
            status.to_string(),
            json!({"description": description, "content": {"application/problem+json": {"schema": schema_ref("Problem")}}}),
        );
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The OpenAPI 3.1 document of the API.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (route, _) in table() {
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = operation(&route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Folio gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Uploads from front ends, and the editors' view of a catalogue (docs/API.md). Errors are application/problem+json (RFC 9457).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "A token the operator gives (gateway.tokens): scope uploader, editor or admin"}},
            "schemas": schemas(),
        }
    })
}

/// The components' schemas: each answer's and request body's from its type ([`super::answers`]), and the
/// OpenAPI document's own.
fn schemas() -> Value {
    let mut schemas = super::answers::schemas();
    schemas.insert("OpenApi".into(), json!({"type": "object"}));
    Value::Object(schemas)
}

#[cfg(test)]
mod tests {

    #[test]
    fn uploads_assembly_and_downloads_have_the_long_time_limit_and_the_rest_the_short_one() {
        use crate::gateway::edge::TimeLimit;
        let long: Vec<&str> = super::table()
            .iter()
            .filter(|(route, _)| route.time_limit() == TimeLimit::Long)
            .map(|(route, _)| route.operation)
            .collect();
        assert_eq!(long, ["uploadContribution", "assemble", "downloadBundle"]);
    }

    /// docs/openapi.json is the document the code generates: `folio openapi > docs/openapi.json` after a
    /// change to the routes.
    #[test]
    fn the_document_in_the_repo_is_the_generated_one() {
        let kept: serde_json::Value =
            serde_json::from_str(include_str!("../../../../docs/openapi.json")).expect("docs/openapi.json is JSON");
        assert!(
            kept == super::document(),
            "docs/openapi.json differs from the routes: run `cargo run -p folio -- openapi > docs/openapi.json`"
        );
    }

    #[test]
    fn every_route_is_documented_with_its_parameters() {
        let doc = super::document();
        for (route, _) in super::table() {
            let op = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
            assert!(op.is_object(), "{} {}", route.method, route.path);
            let params = op["parameters"].as_array().map(Vec::len).unwrap_or(0);
            assert!(params >= route.path.matches('{').count(), "{}", route.path);
        }
    }
}
