//! Logs: human-readable by default, JSON lines with `FOLIO_LOG_FORMAT=json`; the level from `FOLIO_LOG`
//! (for example `folio=debug`), else the one the command chose. Colours only on a terminal: a log file or a
//! collector gets plain text. Every line passes through [`folio_core::redact::text`] on its way out, so that
//! no secret this process registered (a password in a URL, a token, the signing key) reaches the log, even
//! inside a library's error message.

use std::io::Write;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init(default_level: &str) {
    let filter = EnvFilter::try_from_env("FOLIO_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(RedactedStderr).with_ansi(colours);
    let result = if std::env::var("FOLIO_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().flatten_event(true).with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// Standard error, one log line at a time, with registered secrets masked.
struct RedactedStderr;

impl<'a> MakeWriter<'a> for RedactedStderr {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedLine(Vec::new())
    }
}

/// One event's output, held until the event is written whole (the subscriber formats an event, writes it
/// and drops its writer), then masked and written.
struct RedactedLine(Vec<u8>);

impl Write for RedactedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        let line = String::from_utf8_lossy(&self.0);
        let _ = std::io::stderr().lock().write_all(folio_core::redact::text(&line).as_bytes());
    }
}
