//! `folio verify BUNDLE`: checks a bundle folder against its manifest and its signature, and says exactly
//! what does not match: a file changed (its SHA-256 differs), missing, or added (not in the manifest), and
//! whether the signature holds, and by which key.

use crate::manifest::Manifest;
use crate::signature::{key_id, SignatureFile, SIGNATURE_FILE};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

/// What checking a bundle found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Files the manifest lists, found with their checksum.
    pub matching: usize,
    /// Each problem, a sentence: changed, missing or added files, a bad or missing signature.
    pub problems: Vec<String>,
    /// The key id of a signature that holds.
    pub signed_by: Option<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex::encode(hash.finalize()));
        }
        hash.update(&buffer[..n]);
    }
}

/// Every file under `root`, relative, with forward slashes.
fn files_under(root: &Path) -> std::io::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(out)
}

/// Checks the bundle in `dir`. With `trusted`, the bundle must be signed by that key; without, a signature
/// that is there must hold (an unsigned bundle is a problem only when `require_signature`).
pub fn verify_bundle(dir: &Path, trusted: Option<&VerifyingKey>, require_signature: bool) -> Verification {
    let mut v = Verification::default();
    let manifest_path = dir.join("manifest.json");
    let manifest_json = match std::fs::read(&manifest_path) {
        Ok(bytes) => bytes,
        Err(e) => {
            v.problems.push(format!("manifest.json cannot be read ({e}): this is not a Folio bundle"));
            return v;
        }
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_json) {
        Ok(m) => m,
        Err(e) => {
            v.problems.push(format!("manifest.json is not a Folio manifest: {e}"));
            return v;
        }
    };
    let present = match files_under(dir) {
        Ok(files) => files,
        Err(e) => {
            v.problems.push(format!("the bundle folder cannot be listed: {e}"));
            return v;
        }
    };
    let mut listed = BTreeSet::new();
    for file in &manifest.files {
        listed.insert(file.path.clone());
        let path = dir.join(&file.path);
        if file.path.split('/').any(|p| p == ".." || p.is_empty()) {
            v.problems.push(format!("the manifest names a path outside the bundle: {}", file.path));
            continue;
        }
        match sha256_of(&path) {
            Ok(sha) if sha == file.sha256 => v.matching += 1,
            Ok(sha) => v
                .problems
                .push(format!("changed: {} (SHA-256 {} in the manifest, {} now)", file.path, file.sha256, sha)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => v.problems.push(format!("missing: {}", file.path)),
            Err(e) => v.problems.push(format!("unreadable: {} ({e})", file.path)),
        }
    }
    for extra in present.iter().filter(|p| !listed.contains(*p) && *p != "manifest.json" && *p != SIGNATURE_FILE) {
        v.problems.push(format!("added: {extra} (not in the manifest)"));
    }
    match std::fs::read(dir.join(SIGNATURE_FILE)) {
        Ok(bytes) => match serde_json::from_slice::<SignatureFile>(&bytes) {
            Ok(signature) => match signature.check(&manifest_json) {
                Ok(key) => match trusted {
                    Some(trusted) if *trusted != key => v.problems.push(format!(
                        "signed by key {}, not by the trusted key {}",
                        key_id(&key),
                        key_id(trusted)
                    )),
                    _ => v.signed_by = Some(key_id(&key)),
                },
                Err(why) => v.problems.push(format!("{SIGNATURE_FILE}: {why}")),
            },
            Err(e) => v.problems.push(format!("{SIGNATURE_FILE} is not a signature file: {e}")),
        },
        Err(_) if trusted.is_some() || require_signature => {
            v.problems.push(format!("not signed: the bundle has no {SIGNATURE_FILE}"))
        }
        Err(_) => {}
    }
    v
}
