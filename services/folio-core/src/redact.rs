//! The one way Folio keeps secrets out of what it shows: log lines, command output, API answers and events.
//!
//! - [`url`] gives a URL as it may be shown: without its password and without its query string (which may
//!   carry a token, as a webhook's `?token=` does).
//! - [`register`] notes a secret this process holds (a database or broker password, a gateway token, the
//!   signing key, a webhook URL), and [`text`] replaces every registered secret in a text with `***`. The
//!   binary's log writer passes every line through [`text`], so that a secret inside a library's error
//!   message (a driver that prints its connection string) is masked too.

use std::borrow::Cow;
use std::sync::RwLock;

/// What stands in for a secret.
pub const MASK: &str = "***";

/// Secrets shorter than this are not registered: masking every `a` in a log would hide more than it keeps.
const MIN_SECRET_CHARS: usize = 6;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Notes a secret, so that [`text`] masks it wherever it appears. Idempotent.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
        // Longest first, so that a secret holding another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Query parameters of Folio's URLs that carry no secret (a mode, a file's path, a name, a number):
/// registering their values would mask words such as `verify-full` wherever a log says them. The value of
/// any other parameter is treated as a secret.
const PLAIN_PARAMETERS: [&str; 19] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "cacertfile",
    "certfile",
    "keyfile",
    "auth_mechanism",
    "queue",
    "delivery_limit",
    "connection_name",
    "connection_timeout",
    "confirm_timeout",
    "heartbeat",
    "frame_max",
    "channel_max",
    "region",
    "endpoint",
];

/// Notes the secrets a URL carries: its password, the values of its query parameters but those known to
/// carry none ([`PLAIN_PARAMETERS`]) and, with a password or a query, the whole URL (as it would be printed).
pub fn register_url(raw: &str) {
    match ::url::Url::parse(raw) {
        Ok(parsed) => {
            if let Some(password) = parsed.password() {
                register(password);
                if let Ok(decoded) = percent_decode(password) {
                    register(&decoded);
                }
            }
            for (name, value) in parsed.query_pairs() {
                if !PLAIN_PARAMETERS.contains(&name.as_ref()) {
                    register(&value);
                }
            }
            if parsed.password().is_some() || parsed.query().is_some() {
                register(raw);
            }
        }
        Err(_) => {
            if let Some((before, _)) = raw.rsplit_once('@') {
                if let Some((_, password)) = before.rsplit_once(':') {
                    register(password);
                }
            }
        }
    }
}

fn percent_decode(text: &str) -> Result<String, std::str::Utf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&out).map(str::to_string)
}

/// `text` with every registered secret replaced by [`MASK`].
pub fn text(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// A URL as it may be shown: its password replaced by [`MASK`], its query string by `?***`, its fragment
/// dropped. A text that does not parse as a URL keeps only what stands after its last `@` (where a
/// password would be before it).
pub fn url(raw: &str) -> String {
    match ::url::Url::parse(raw) {
        Ok(mut parsed) => {
            let had_query = parsed.query().is_some();
            if parsed.password().is_some() && parsed.set_password(Some(MASK)).is_err() {
                return "(a URL with a password)".into();
            }
            parsed.set_query(None);
            parsed.set_fragment(None);
            let mut shown = parsed.to_string();
            if had_query {
                shown.push('?');
                shown.push_str(MASK);
            }
            shown
        }
        Err(_) => match raw.rsplit_once('@') {
            Some((_, host)) => format!("{MASK}@{host}"),
            None => match raw.split_once('?') {
                Some((before, _)) => format!("{before}?{MASK}"),
                None => raw.to_string(),
            },
        },
    }
}

/// The most bytes of a secret read from a file (`NAME_FILE`).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A secret from the environment: the variable `name` when set and not empty, else the content of the file
/// named by `name_FILE` (less one trailing newline; at most [`MAX_SECRET_FILE_BYTES`]), as orchestrators mount
/// secrets; `None` when neither is set. What is found is registered ([`register_url`] for a URL, else
/// [`register`]) before it is returned, so that no log line shows it.
pub fn env_secret(name: &str) -> Result<Option<String>, String> {
    let value = match std::env::var(name).ok().filter(|v| !v.is_empty()) {
        Some(value) => value,
        None => {
            let file_variable = format!("{name}_FILE");
            let Some(file) = std::env::var_os(&file_variable).filter(|f| !f.is_empty()) else { return Ok(None) };
            let shown = std::path::Path::new(&file).display().to_string();
            let bytes = crate::bounded::read_file(std::path::Path::new(&file), MAX_SECRET_FILE_BYTES)
                .map_err(|e| format!("{file_variable}: {shown}: {e}"))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{file_variable}: {shown} is not UTF-8 text"))?;
            let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
            if text.is_empty() {
                return Err(format!("{file_variable}: {shown} is empty"));
            }
            text.to_string()
        }
    };
    if value.contains("://") {
        register_url(&value);
    } else {
        register(&value);
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_comes_from_its_variable_or_its_file_and_is_masked_from_then_on() {
        // Names of this test's own: tests run in threads of one process.
        let dir = std::env::temp_dir().join(format!("folio-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "file-secret-4711\n").unwrap();
        std::env::set_var("FOLIO_TEST_SECRET_A_FILE", &file);
        assert_eq!(env_secret("FOLIO_TEST_SECRET_A").unwrap().as_deref(), Some("file-secret-4711"));
        assert_eq!(text("said file-secret-4711"), "said ***");
        std::env::set_var("FOLIO_TEST_SECRET_A", "variable-secret-0815");
        assert_eq!(env_secret("FOLIO_TEST_SECRET_A").unwrap().as_deref(), Some("variable-secret-0815"));
        assert_eq!(env_secret("FOLIO_TEST_SECRET_NONE").unwrap(), None);
        std::env::set_var("FOLIO_TEST_SECRET_B_FILE", dir.join("missing"));
        let e = env_secret("FOLIO_TEST_SECRET_B").unwrap_err();
        assert!(e.starts_with("FOLIO_TEST_SECRET_B_FILE: ") && e.contains("cannot read it"), "{e}");
        std::fs::write(&file, vec![b'x'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
        std::env::set_var("FOLIO_TEST_SECRET_C_FILE", &file);
        assert!(env_secret("FOLIO_TEST_SECRET_C").unwrap_err().contains("larger than 64 KiB"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn urls_lose_their_password_and_query() {
        assert_eq!(url("amqp://folio:s3cret-pw@broker:5672/%2f?queue=work"), "amqp://folio:***@broker:5672/%2f?***");
        assert_eq!(url("https://hooks.example/build?token=abc123456"), "https://hooks.example/build?***");
        assert_eq!(url("postgres://folio@db/folio"), "postgres://folio@db/folio");
        assert_eq!(url("sqlite:///srv/folio.db"), "sqlite:///srv/folio.db");
        assert_eq!(url("not a url:pw@host"), "***@host");
    }

    #[test]
    fn registered_secrets_are_masked_in_any_text() {
        register("tok-registered-123456");
        register_url("postgres://folio:p%40ss-word-9@db/folio?sslpassword=key-pass-77");
        let line = "failed: tok-registered-123456 at postgres://folio:p%40ss-word-9@db/folio; p@ss-word-9 key-pass-77";
        let masked = text(line);
        for secret in ["tok-registered-123456", "p%40ss-word-9", "p@ss-word-9", "key-pass-77"] {
            assert!(!masked.contains(secret), "{masked}");
        }
        assert!(matches!(text("nothing secret here"), Cow::Borrowed(_)));
        register("abc");
        assert_eq!(text("abc"), "abc", "too short to be worth masking everywhere");
        // A mode or a file's path is no secret: a log may name them.
        register_url("postgres://db/folio?sslmode=verify-full&sslrootcert=/etc/folio/ca.crt&sslpassword=pw-9876543");
        assert_eq!(
            text("sslmode=verify-full, /etc/folio/ca.crt, pw-9876543"),
            "sslmode=verify-full, /etc/folio/ca.crt, ***"
        );
    }
}
