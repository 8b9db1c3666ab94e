//! Logs: human-readable by default, JSON lines with `FOLIO_LOG_FORMAT=json`; the level from `FOLIO_LOG`
//! (for example `folio=debug`), else the one the command chose. Colours only on a terminal: a log file or a
//! collector gets plain text.

use tracing_subscriber::EnvFilter;

pub fn init(default_level: &str) {
    let filter = EnvFilter::try_from_env("FOLIO_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colours);
    let result = if std::env::var("FOLIO_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().flatten_event(true).with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
