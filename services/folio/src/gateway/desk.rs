//! The web desk: an upload page and the editors' dashboard, three static files compiled into the binary
//! (no build step, nothing fetched at run time), on the same API as every front end.

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../desk/index.html");
const SCRIPT: &str = include_str!("../desk/desk.js");
const STYLE: &str = include_str!("../desk/desk.css");

/// Only this origin's files, no frames, no inline script: the token in sessionStorage is not for others.
const POLICY: &str = "default-src 'self'; img-src 'self' blob:; script-src 'self'; style-src 'self'; \
                      connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/desk/") }))
        .route("/desk/", get(|| async { file("text/html; charset=utf-8", INDEX) }))
        .route("/desk/desk.js", get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/desk/desk.css", get(|| async { file("text/css; charset=utf-8", STYLE) }))
}
