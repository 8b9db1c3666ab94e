//! Rebuilding a broken cross-reference table, as poppler and qpdf do: many real PDFs have a wrong
//! `startxref` offset or a damaged `xref` keyword, and lopdf 0.38 has no recovery of its own.
//!
//! We scan the file for `N G obj` headers, write a fresh xref table and trailer (keeping the old
//! trailer's /Root, /Info, /Encrypt and /ID) after the original bytes, and let lopdf load the result.
//! Everything here is a flat scan over the bytes: no recursion, linear time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Largest object number the PDF specification allows.
const MAX_OBJECT_NUMBER: u32 = 8_388_607;

/// The file with a rebuilt xref table appended, or `None` when no catalog can be found.
pub(crate) fn rebuild_xref(bytes: &[u8]) -> Option<Vec<u8>> {
    let start = crate::sniff::find(bytes, b"%PDF-")?;
    let pdf = &bytes[start..];
    let objects = scan_objects(pdf);
    if objects.is_empty() {
        return None;
    }
    let root = last_reference(pdf, b"/Root").or_else(|| find_catalog(pdf, &objects))?;
    let size = objects.keys().next_back().copied().unwrap_or(0) + 1;

    let mut out = pdf.to_vec();
    out.extend_from_slice(b"\n");
    let xref_at = out.len();
    let mut table = format!("xref\n0 {size}\n");
    for num in 0..size {
        match objects.get(&num) {
            Some(&(generation, offset)) => {
                let _ = write!(table, "{offset:010} {generation:05} n\r\n");
            }
            None => table.push_str("0000000000 65535 f\r\n"),
        }
    }
    let _ = write!(table, "trailer\n<< /Size {size} /Root {} {} R", root.0, root.1);
    if let Some((n, g)) = last_reference(pdf, b"/Info") {
        let _ = write!(table, " /Info {n} {g} R");
    }
    if let Some((n, g)) = last_reference(pdf, b"/Encrypt") {
        let _ = write!(table, " /Encrypt {n} {g} R");
    }
    if let Some(id) = last_id_array(pdf) {
        table.push_str(" /ID ");
        table.push_str(&id);
    }
    let _ = write!(table, " >>\nstartxref\n{xref_at}\n%%EOF\n");
    out.extend_from_slice(table.as_bytes());
    Some(out)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

fn is_delimiter(b: u8) -> bool {
    is_space(b) || matches!(b, b'<' | b'>' | b'[' | b']' | b'(' | b')' | b'/' | b'%' | b'{' | b'}')
}

/// Object number → (generation, offset of the header); a later definition wins (incremental updates).
fn scan_objects(pdf: &[u8]) -> BTreeMap<u32, (u16, usize)> {
    let mut objects = BTreeMap::new();
    let mut from = 0;
    while let Some(rel) = crate::sniff::find(&pdf[from..], b"obj") {
        let at = from + rel;
        from = at + 3;
        if pdf.get(at + 3).is_some_and(|&b| !is_delimiter(b)) {
            continue; // "objx", e.g. part of "endobj" is excluded below
        }
        if let Some((num, generation, offset)) = object_header_before(pdf, at) {
            if num <= MAX_OBJECT_NUMBER {
                objects.insert(num, (generation, offset));
            }
        }
    }
    objects
}

/// Parse `N G ` backwards from the `obj` keyword at `at`.
fn object_header_before(pdf: &[u8], at: usize) -> Option<(u32, u16, usize)> {
    let mut i = at;
    let skip_space = |i: &mut usize| -> bool {
        let before = *i;
        while *i > 0 && is_space(pdf[*i - 1]) {
            *i -= 1;
        }
        *i < before
    };
    let digits = |i: &mut usize| -> Option<(usize, usize)> {
        let end = *i;
        while *i > 0 && pdf[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        (*i < end).then_some((*i, end))
    };
    skip_space(&mut i);
    let (gs, ge) = digits(&mut i)?;
    if !skip_space(&mut i) {
        return None;
    }
    let (ns, ne) = digits(&mut i)?;
    if ns > 0 && !is_delimiter(pdf[ns - 1]) {
        return None;
    }
    let num = std::str::from_utf8(&pdf[ns..ne]).ok()?.parse().ok()?;
    let generation = std::str::from_utf8(&pdf[gs..ge]).ok()?.parse().ok()?;
    Some((num, generation, ns))
}

/// The last `KEY N G R` in the file (the newest trailer wins).
fn last_reference(pdf: &[u8], key: &[u8]) -> Option<(u32, u16)> {
    let mut end = pdf.len();
    while let Some(at) = rfind(&pdf[..end], key) {
        end = at;
        let rest = &pdf[at + key.len()..pdf.len().min(at + key.len() + 40)];
        if rest.first().is_some_and(|&b| !is_delimiter(b)) {
            continue; // e.g. "/RootX"
        }
        let text = String::from_utf8_lossy(rest);
        let mut words = text.split(|c: char| c.is_ascii_whitespace()).filter(|w| !w.is_empty());
        let (Some(n), Some(g), Some(r)) = (words.next(), words.next(), words.next()) else { continue };
        if !r.starts_with('R') {
            continue;
        }
        if let (Ok(n), Ok(g)) = (n.parse(), g.parse()) {
            return Some((n, g));
        }
    }
    None
}

/// The last `/ID [<...> <...>]` array, copied verbatim when it is plain hex strings.
fn last_id_array(pdf: &[u8]) -> Option<String> {
    let at = rfind(pdf, b"/ID")?;
    let rest = &pdf[at + 3..pdf.len().min(at + 3 + 200)];
    let open = rest.iter().position(|&b| b == b'[')?;
    let close = rest.iter().position(|&b| b == b']')?;
    if close < open {
        return None;
    }
    let inner = &rest[open..=close];
    inner
        .iter()
        .all(|&b| b.is_ascii_hexdigit() || is_space(b) || matches!(b, b'<' | b'>' | b'[' | b']'))
        .then(|| String::from_utf8_lossy(inner).into_owned())
}

/// An object whose body says `/Type /Catalog`, for files whose trailer is lost.
fn find_catalog(pdf: &[u8], objects: &BTreeMap<u32, (u16, usize)>) -> Option<(u32, u16)> {
    objects.iter().rev().find_map(|(&num, &(generation, offset))| {
        let body = &pdf[offset..pdf.len().min(offset + 4096)];
        let body = &body[..crate::sniff::find(body, b"endobj").unwrap_or(body.len())];
        let squeezed: Vec<u8> = body.iter().copied().filter(|&b| !is_space(b)).collect();
        crate::sniff::find(&squeezed, b"/Type/Catalog").map(|_| (num, generation))
    })
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (0..=haystack.len() - needle.len()).rev().find(|&i| &haystack[i..i + needle.len()] == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_object_headers_and_references() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n12 3 obj 5 endobj trailer << /Root 1 0 R >>";
        let objects = scan_objects(pdf);
        assert_eq!(objects.get(&1), Some(&(0, 9)));
        assert_eq!(objects.get(&12).map(|o| o.0), Some(3));
        assert_eq!(objects.len(), 2);
        assert_eq!(last_reference(pdf, b"/Root"), Some((1, 0)));
        assert_eq!(find_catalog(pdf, &objects), Some((1, 0)));
        assert!(rebuild_xref(pdf).is_some());
    }
}

/// Page objects found by scanning the file: objects (latest definition of each number) whose dictionary
/// says `/Type /Page`. For files whose page tree cannot be walked (content locked behind a password): page
/// dictionaries are not encrypted, only strings and streams are. Pages inside compressed object streams are
/// not seen, so this can undercount, never overcount.
pub(crate) fn count_page_objects(pdf: &[u8]) -> usize {
    let objects = scan_objects(pdf);
    objects
        .values()
        .filter(|(_, offset)| {
            // Search a bounded window: many headers without `endobj` must not make this quadratic.
            let body = &pdf[*offset..pdf.len().min(*offset + 64 * 1024)];
            let end = crate::sniff::find(body, b"endobj").unwrap_or(body.len());
            is_page_dictionary(&body[..end])
        })
        .count()
}

/// Whether an object's text has `/Type /Page` (and not `/Pages`), with any white space between.
fn is_page_dictionary(object: &[u8]) -> bool {
    let mut from = 0;
    while let Some(rel) = crate::sniff::find(&object[from..], b"/Type") {
        let mut i = from + rel + 5;
        while i < object.len() && is_space(object[i]) {
            i += 1;
        }
        let rest = &object[i..];
        if rest.starts_with(b"/Page") && rest.get(5).is_none_or(|&b| is_delimiter(b)) {
            return true;
        }
        from = i;
    }
    false
}

#[cfg(test)]
mod page_scan_tests {
    use super::*;

    #[test]
    fn counts_latest_page_objects_and_not_page_trees() {
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type/Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj <</Type/Page/Parent 2 0 R>> endobj\n4 0 obj <</Type /Page /Parent 2 0 R /Rotate 90>> endobj\n";
        assert_eq!(count_page_objects(pdf), 2, "a redefined object counts once; /Pages is not a page");
        assert_eq!(count_page_objects(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"), 0);
    }
}
