//! Trace context carried through the queue: a W3C `traceparent` (`00-TRACE_ID-PARENT_ID-FLAGS`, lowercase
//! hexadecimal; <https://www.w3.org/TR/trace-context/>) given by a front end (the HTTP header, or the upload
//! message's field) or made by the gateway, set on every work request of an upload, and logged by the worker
//! as `trace_id` on the span of each document, so that one operation can be followed across processes.

use uuid::Uuid;

/// `value` when it is a well-formed version-00 `traceparent` (trace and parent ids not all zeros).
pub fn parse(value: &str) -> Option<String> {
    let value = value.trim();
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let ok = parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
        && parts[1].bytes().any(|b| b != b'0')
        && parts[2].bytes().any(|b| b != b'0');
    ok.then(|| value.to_string())
}

/// A new trace: random trace and parent ids, sampled.
pub fn new_traceparent() -> String {
    let trace = Uuid::new_v4().simple().to_string();
    let parent = &Uuid::new_v4().simple().to_string()[..16];
    format!("00-{trace}-{parent}-01")
}

/// The trace id of a `traceparent`.
pub fn trace_id(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_are_checked_and_made_well_formed() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(parse(tp).as_deref(), Some(tp));
        assert_eq!(trace_id(tp), "4bf92f3577b34da6a3ce929d0e0e4736");
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf9-00f067aa0ba902b7-01",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        let made = new_traceparent();
        assert_eq!(parse(&made).as_deref(), Some(made.as_str()));
        assert_ne!(made, new_traceparent());
    }
}
