//! Signed bundles. `manifest.json` lists every other file of a bundle with its SHA-256, so a signature over
//! the manifest's bytes covers the whole bundle. The signature is Ed25519 (RFC 8032), written beside the
//! manifest as `signature.json`; keys are 32 bytes written as 64 hexadecimal digits: the operator's secret
//! seed (`bundle.signing_key_file`, FOLIO_SIGNING_KEY) and the public key editors check bundles with.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The signature's file in a bundle.
pub const SIGNATURE_FILE: &str = "signature.json";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key is 64 hexadecimal digits (32 bytes): {0}")]
    Malformed(String),
    #[error("reading the signing key: {0}")]
    Io(#[from] std::io::Error),
}

/// `signature.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureFile {
    /// `ed25519`.
    pub algorithm: String,
    /// The public key, hexadecimal.
    pub public_key: String,
    /// The first 16 hexadecimal digits of the public key's SHA-256: a short name for it.
    pub key_id: String,
    /// The SHA-256 of `manifest.json`, hexadecimal.
    pub manifest_sha256: String,
    /// The signature of `manifest.json`'s bytes, hexadecimal.
    pub signature: String,
}

/// The operator's signing key. Its `Debug` shows the public key only.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(key_id {})", key_id(&self.key.verifying_key()))
    }
}

fn bytes32(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim();
    let bytes = hex::decode(text).map_err(|e| KeyError::Malformed(e.to_string()))?;
    bytes.try_into().map_err(|b: Vec<u8>| KeyError::Malformed(format!("{} bytes", b.len())))
}

/// A public key from its 64 hexadecimal digits.
pub fn public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_bytes(&bytes32(text)?).map_err(|e| KeyError::Malformed(e.to_string()))
}

/// Whether `signature_hex` is the Ed25519 signature of `bytes` by the key `public_hex` (how a webhook's
/// receiver checks `Folio-Signature`).
pub fn verify_bytes(public_hex: &str, bytes: &[u8], signature_hex: &str) -> bool {
    let Ok(key) = public_key(public_hex) else { return false };
    let Some(bytes64) = hex::decode(signature_hex.trim()).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    key.verify_strict(bytes, &ed25519_dalek::Signature::from_bytes(&bytes64)).is_ok()
}

/// A key's short name: the first 16 hexadecimal digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))[..16].to_string()
}

impl Signer {
    /// From the secret seed's 64 hexadecimal digits (surrounding white space ignored).
    pub fn from_hex(seed: &str) -> Result<Self, KeyError> {
        Ok(Self { key: SigningKey::from_bytes(&bytes32(seed)?) })
    }

    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Io(std::io::Error::other(e.to_string())))?;
        Ok(Self { key: SigningKey::from_bytes(&seed) })
    }

    /// The secret seed, hexadecimal (to be kept secret: write it only where the operator asked).
    pub fn seed_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// The signature of any bytes (a webhook's body), hexadecimal.
    pub fn sign_bytes_hex(&self, bytes: &[u8]) -> String {
        hex::encode(self.key.sign(bytes).to_bytes())
    }

    /// The signature file for a manifest's bytes.
    pub fn sign(&self, manifest_json: &[u8]) -> SignatureFile {
        let public = self.key.verifying_key();
        SignatureFile {
            algorithm: "ed25519".into(),
            public_key: hex::encode(public.as_bytes()),
            key_id: key_id(&public),
            manifest_sha256: hex::encode(Sha256::digest(manifest_json)),
            signature: hex::encode(self.key.sign(manifest_json).to_bytes()),
        }
    }
}

impl SignatureFile {
    /// Checks the signature over `manifest_json` with the key it names; returns that key.
    pub fn check(&self, manifest_json: &[u8]) -> Result<VerifyingKey, String> {
        if self.algorithm != "ed25519" {
            return Err(format!("unknown signature algorithm '{}'", self.algorithm));
        }
        let key = public_key(&self.public_key).map_err(|e| format!("public key: {e}"))?;
        let bytes: [u8; 64] = hex::decode(self.signature.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "the signature is not 128 hexadecimal digits".to_string())?;
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        key.verify_strict(manifest_json, &signature).map_err(|_| {
            "the signature does not match manifest.json: the manifest was changed after signing".to_string()
        })?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_manifest_only() {
        let signer = Signer::from_hex(&"07".repeat(32)).unwrap();
        let file = signer.sign(b"{\"files\": []}");
        assert_eq!(file.check(b"{\"files\": []}").unwrap(), signer.public_key());
        assert!(file.check(b"{\"files\": [1]}").is_err());
        let mut forged = file.clone();
        forged.public_key = Signer::from_hex(&"08".repeat(32)).unwrap().public_key_hex();
        assert!(forged.check(b"{\"files\": []}").is_err());
        assert!(!format!("{signer:?}").contains(&"07".repeat(4)), "the seed is not shown");
        assert!(Signer::from_hex("abc").is_err());
        let fresh = Signer::generate().unwrap();
        assert_ne!(fresh.seed_hex(), signer.seed_hex());
        assert_eq!(Signer::from_hex(&fresh.seed_hex()).unwrap().public_key(), fresh.public_key());
    }
}
