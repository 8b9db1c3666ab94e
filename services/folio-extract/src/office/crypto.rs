//! Password-protected OOXML (MS-OFFCRYPTO): the DOCX package encrypted inside a Compound File container
//! ([`crate::office::cfb`]) as its `EncryptedPackage` stream, the key material in its `EncryptionInfo` stream.
//! Given the password, [`decrypt`] checks it against the file's verifier and returns the plain package,
//! which the DOCX reader then reads like any other.
//!
//! Two schemes are read: Agile encryption (version 4.4, an XML descriptor: what Office 2010 and later
//! write, usually SHA-512 and AES-256-CBC) and Standard encryption (versions 2.2 to 4.2: AES-ECB and
//! SHA-1, Office 2007). Extensible encryption and RC4 CryptoAPI are refused with an `encrypted` error that
//! says so. (The RC4 and XOR protection of legacy binary `.doc` files never reaches here: those are not
//! OOXML, and are `unsupported_format`.)
//!
//! An Agile file's `dataIntegrity` HMAC is checked over the encrypted package before anything is
//! decrypted: a package changed after it was encrypted is `corrupt`, said so, rather than a zip error.
//!
//! The password is never logged and never put in an error. Every number in `EncryptionInfo` is the
//! file's: sizes are checked, and the hash iteration count is bounded by `max_spin_count`.

use crate::office::cfb::Compound;
use crate::{Limits, Password};
use aes::{Aes128, Aes192, Aes256};
use base64::Engine;
use cbc::cipher::{generic_array::GenericArray, BlockDecryptMut, KeyInit, KeyIvInit};
use folio_core::{ExtractError, ExtractErrorKind};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Agile block keys (MS-OFFCRYPTO 2.3.4.13): which of the password key's derived keys decrypts what.
const BLOCK_VERIFIER_INPUT: [u8; 8] = [0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79];
const BLOCK_VERIFIER_VALUE: [u8; 8] = [0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e];
const BLOCK_KEY_VALUE: [u8; 8] = [0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6];
/// Agile data integrity (MS-OFFCRYPTO 2.3.4.14): the IV block keys of the HMAC key and of the HMAC value.
const BLOCK_INTEGRITY_KEY: [u8; 8] = [0x5f, 0xb2, 0xad, 0x01, 0x0c, 0xb9, 0xe1, 0xf6];
const BLOCK_INTEGRITY_VALUE: [u8; 8] = [0xa0, 0x67, 0x7f, 0x02, 0xb2, 0x2c, 0x84, 0x33];
/// Agile packages are encrypted in segments of this many bytes, each with its own IV.
const SEGMENT_LEN: usize = 4096;
/// Standard encryption's fixed hash iteration count (MS-OFFCRYPTO 2.3.4.7).
const STANDARD_SPIN_COUNT: u32 = 50_000;
const AES_BLOCK: usize = 16;

/// The error for a protected document opened without a password.
pub(crate) fn needs_password() -> ExtractError {
    ExtractError::new(
        ExtractErrorKind::Encrypted,
        "the Word document is protected with a password (encrypted OOXML); supply it per document \
         (folio extract --password-file FILE, or FOLIO_PASSWORD)",
    )
}

fn wrong_password() -> ExtractError {
    ExtractError::new(ExtractErrorKind::Encrypted, "the password given for this document is wrong")
}

fn corrupt(why: impl std::fmt::Display) -> ExtractError {
    ExtractError::new(ExtractErrorKind::Corrupt, format!("the encrypted Word document is damaged: {why}"))
}

fn unsupported(what: impl std::fmt::Display) -> ExtractError {
    ExtractError::new(
        ExtractErrorKind::Encrypted,
        format!(
            "the Word document is protected with {what}, which Folio does not decrypt (it reads Agile and \
             Standard AES encryption); save it again from a current Office, or without the password"
        ),
    )
}

/// The plain OOXML package of a password-protected file, when `password` opens it.
pub(crate) fn decrypt(bytes: &[u8], password: Option<&Password>, limits: &Limits) -> Result<Vec<u8>, ExtractError> {
    let Some(password) = password else { return Err(needs_password()) };
    let container = Compound::open(bytes)?;
    let info = container.stream("EncryptionInfo")?.ok_or_else(|| corrupt("it has no EncryptionInfo stream"))?;
    let scheme = Scheme::parse(&info, limits)?;
    let mut package =
        container.stream("EncryptedPackage")?.ok_or_else(|| corrupt("it has no EncryptedPackage stream"))?;
    let Some(header) = package.get(..8).and_then(|h| <[u8; 8]>::try_from(h).ok()) else {
        return Err(corrupt("its EncryptedPackage stream is shorter than its size field"));
    };
    let declared = u64::from_le_bytes(header);
    if declared > limits.max_file_bytes {
        return Err(ExtractError::new(
            ExtractErrorKind::TooLarge,
            format!(
                "the decrypted package would be {declared} bytes, more than the limit of {} bytes \
                 (max_file_bytes)",
                limits.max_file_bytes
            ),
        ));
    }
    // The encrypted bytes are the package padded to whole AES blocks; any after those are ignored.
    let encrypted = package.len() - 8;
    let len = usize::try_from(declared)
        .ok()
        .filter(|n| n.checked_next_multiple_of(AES_BLOCK).is_some_and(|p| p <= encrypted));
    let Some(len) = len else {
        return Err(corrupt(format!(
            "its EncryptedPackage declares {declared} bytes but holds {encrypted} encrypted bytes"
        )));
    };
    // Everything that can be checked is, before the key derivation: the expensive step.
    let key = scheme.key(password)?;
    if let Scheme::Agile(agile) = &scheme {
        agile.check_integrity(&key, &package)?;
    }
    // Decrypted in place, without a second copy of the package.
    package.drain(..8);
    package.truncate(len.next_multiple_of(AES_BLOCK));
    scheme.decrypt_package(&key, &mut package)?;
    package.truncate(len);
    Ok(package)
}

/// How the package is encrypted, from `EncryptionInfo`.
enum Scheme {
    Standard(Standard),
    Agile(Agile),
}

/// Standard encryption: AES-ECB with a key from SHA-1 of the salted password, 50,000 times.
struct Standard {
    key_len: usize,
    salt: Vec<u8>,
    encrypted_verifier: Vec<u8>,
    encrypted_verifier_hash: Vec<u8>,
}

/// Agile encryption: the package key, encrypted with a key derived from the password.
struct Agile {
    /// `keyData`: how the package itself is encrypted.
    data: CipherParams,
    /// The password key encryptor (`p:encryptedKey`).
    key: CipherParams,
    spin_count: u32,
    encrypted_verifier_input: Vec<u8>,
    encrypted_verifier_value: Vec<u8>,
    encrypted_key_value: Vec<u8>,
    /// `dataIntegrity`: the encrypted HMAC key and value; Office always writes it, other producers may not.
    integrity: Option<(Vec<u8>, Vec<u8>)>,
}

struct CipherParams {
    salt: Vec<u8>,
    key_len: usize,
    hash: Hash,
}

/// The hash algorithms Agile encryption names (MD5, MD4 and RIPEMD-160 are allowed by the spec, never
/// written by Office, and refused).
#[derive(Clone, Copy)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "SHA1" | "SHA-1" => Some(Hash::Sha1),
            "SHA256" | "SHA-256" => Some(Hash::Sha256),
            "SHA384" | "SHA-384" => Some(Hash::Sha384),
            "SHA512" | "SHA-512" => Some(Hash::Sha512),
            _ => None,
        }
    }

    fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// The hash of `parts`, one after the other.
    fn of(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Sha1>(parts),
            Hash::Sha256 => run::<Sha256>(parts),
            Hash::Sha384 => run::<Sha384>(parts),
            Hash::Sha512 => run::<Sha512>(parts),
        }
    }

    /// HMAC (RFC 2104) of `message` with `key`.
    fn hmac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn run<D: Digest + hmac::digest::core_api::BlockSizeUser>(key: &[u8], message: &[u8]) -> Vec<u8> {
            use hmac::Mac;
            // HMAC takes a key of any length: no error can come from it.
            match <hmac::SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(message);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            Hash::Sha1 => run::<Sha1>(key, message),
            Hash::Sha256 => run::<Sha256>(key, message),
            Hash::Sha384 => run::<Sha384>(key, message),
            Hash::Sha512 => run::<Sha512>(key, message),
        }
    }

    /// H(salt + password), then `count` times H(iterator + previous): MS-OFFCRYPTO 2.3.4.7 and 2.3.4.11.
    fn spin(self, salt: &[u8], password: &[u8], count: u32) -> Vec<u8> {
        fn run<D: Digest>(salt: &[u8], password: &[u8], count: u32) -> Vec<u8> {
            let mut h = D::new().chain_update(salt).chain_update(password).finalize();
            for i in 0..count {
                h = D::new().chain_update(i.to_le_bytes()).chain_update(&h).finalize();
            }
            h.to_vec()
        }
        match self {
            Hash::Sha1 => run::<Sha1>(salt, password, count),
            Hash::Sha256 => run::<Sha256>(salt, password, count),
            Hash::Sha384 => run::<Sha384>(salt, password, count),
            Hash::Sha512 => run::<Sha512>(salt, password, count),
        }
    }
}

/// `bytes` cut or padded (with 0x36) to `len`, as MS-OFFCRYPTO sizes derived keys and IVs.
fn fit(mut bytes: Vec<u8>, len: usize) -> Vec<u8> {
    bytes.resize(len, 0x36);
    bytes
}

fn utf16le(password: &Password) -> Vec<u8> {
    password.as_str().encode_utf16().flat_map(u16::to_le_bytes).collect()
}

impl Scheme {
    fn parse(info: &[u8], limits: &Limits) -> Result<Self, ExtractError> {
        let short = || corrupt("its EncryptionInfo stream is too short");
        let version = (u16_at(info, 0).ok_or_else(short)?, u16_at(info, 2).ok_or_else(short)?);
        match version {
            (4, 4) => Ok(Scheme::Agile(Agile::parse(info.get(8..).ok_or_else(short)?, limits)?)),
            (2..=4, 2) => {
                let standard = Standard::parse(info)?;
                check_spin_count(STANDARD_SPIN_COUNT, limits)?;
                Ok(Scheme::Standard(standard))
            }
            (3 | 4, 3) => Err(unsupported("extensible encryption (a third-party encryption module)")),
            (major, minor) => Err(unsupported(format!("an encryption of version {major}.{minor}"))),
        }
    }

    /// The package key, when `password` is the right one.
    fn key(&self, password: &Password) -> Result<Vec<u8>, ExtractError> {
        match self {
            Scheme::Standard(s) => s.key(password),
            Scheme::Agile(a) => a.key(password),
        }
    }

    /// Decrypt `data` (whole AES blocks) in place with the package key.
    fn decrypt_package(&self, key: &[u8], data: &mut [u8]) -> Result<(), ExtractError> {
        match self {
            Scheme::Standard(_) => ecb_decrypt(key, data),
            Scheme::Agile(a) => {
                for (index, segment) in data.chunks_mut(SEGMENT_LEN).enumerate() {
                    let index = u32::try_from(index).map_err(|_| corrupt("too many segments"))?;
                    let iv = fit(a.data.hash.of(&[&a.data.salt, &index.to_le_bytes()]), AES_BLOCK);
                    cbc_decrypt(key, &iv, segment)?;
                }
                Ok(())
            }
        }
    }
}

/// Refuse a key derivation of more hash iterations than `max_spin_count` before it starts.
fn check_spin_count(spin_count: u32, limits: &Limits) -> Result<(), ExtractError> {
    if spin_count > limits.max_spin_count {
        return Err(ExtractError::new(
            ExtractErrorKind::TooLarge,
            format!(
                "the document asks for {spin_count} hash iterations to check its password, more than the limit \
                 of {} (max_spin_count)",
                limits.max_spin_count
            ),
        ));
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

impl Standard {
    /// MS-OFFCRYPTO 2.3.4.5: version, flags, header size, the header, then the verifier.
    fn parse(info: &[u8]) -> Result<Self, ExtractError> {
        const F_CRYPTO_API: u32 = 0x04;
        const F_EXTERNAL: u32 = 0x10;
        const F_AES: u32 = 0x20;
        let short = || corrupt("its EncryptionInfo stream is cut short");
        let flags = u32_at(info, 4).ok_or_else(short)?;
        let header_len = usize::try_from(u32_at(info, 8).ok_or_else(short)?).map_err(|_| short())?;
        let header = info.get(12..12usize.saturating_add(header_len)).ok_or_else(short)?;
        if flags & F_EXTERNAL != 0 {
            return Err(unsupported("extensible encryption (a third-party encryption module)"));
        }
        let alg_id = u32_at(header, 8).ok_or_else(short)?;
        let hash_id = u32_at(header, 12).ok_or_else(short)?;
        let key_bits = u32_at(header, 16).ok_or_else(short)?;
        let aes = match alg_id {
            0x660E..=0x6610 => true,
            0x6801 => false,
            0 => flags & F_AES != 0,
            other => return Err(unsupported(format!("cipher 0x{other:04X}"))),
        };
        if !aes || flags & F_CRYPTO_API == 0 {
            return Err(unsupported("RC4 encryption (Office 2003's CryptoAPI scheme)"));
        }
        if hash_id != 0 && hash_id != 0x8004 {
            return Err(unsupported(format!("hash 0x{hash_id:04X}")));
        }
        let key_len = match key_bits {
            128 | 192 | 256 => (key_bits / 8) as usize,
            other => return Err(corrupt(format!("an AES key of {other} bits"))),
        };
        // The verifier: salt size (16), salt, encrypted verifier (16), verifier hash size (20), encrypted
        // verifier hash (32: 20 bytes of SHA-1 padded to whole AES blocks).
        let v = info.get(12 + header_len..).ok_or_else(short)?;
        if u32_at(v, 0) != Some(16) {
            return Err(corrupt("its verifier salt is not 16 bytes"));
        }
        Ok(Standard {
            key_len,
            salt: v.get(4..20).ok_or_else(short)?.to_vec(),
            encrypted_verifier: v.get(20..36).ok_or_else(short)?.to_vec(),
            encrypted_verifier_hash: v.get(40..72).ok_or_else(short)?.to_vec(),
        })
    }

    /// MS-OFFCRYPTO 2.3.4.7 (the key) and 2.3.4.9 (checking it against the verifier).
    fn key(&self, password: &Password) -> Result<Vec<u8>, ExtractError> {
        let h = Hash::Sha1.spin(&self.salt, &utf16le(password), STANDARD_SPIN_COUNT);
        let h_final = Hash::Sha1.of(&[&h, &0u32.to_le_bytes()]);
        let mut buf1 = [0x36u8; 64];
        let mut buf2 = [0x5Cu8; 64];
        for (i, b) in h_final.iter().enumerate() {
            buf1[i] ^= b;
            buf2[i] ^= b;
        }
        let mut key = Hash::Sha1.of(&[&buf1]);
        key.extend(Hash::Sha1.of(&[&buf2]));
        key.truncate(self.key_len);

        let mut verifier = self.encrypted_verifier.clone();
        ecb_decrypt(&key, &mut verifier)?;
        let mut verifier_hash = self.encrypted_verifier_hash.clone();
        ecb_decrypt(&key, &mut verifier_hash)?;
        if Hash::Sha1.of(&[&verifier]) != verifier_hash[..20] {
            return Err(wrong_password());
        }
        Ok(key)
    }
}

impl Agile {
    /// The XML descriptor (MS-OFFCRYPTO 2.3.4.10): `keyData`, and the password's `p:encryptedKey`.
    fn parse(xml: &[u8], limits: &Limits) -> Result<Self, ExtractError> {
        let mut reader = Reader::from_reader(xml);
        let mut buf = Vec::new();
        let mut depth = 0u32;
        let mut key_data = None;
        let mut password_key = None;
        let mut integrity = None;
        loop {
            let event = reader.read_event_into(&mut buf).map_err(|e| corrupt(format!("its XML descriptor: {e}")))?;
            let element = match &event {
                Event::Start(e) => {
                    depth += 1;
                    if depth > limits.max_xml_depth {
                        return Err(corrupt("its XML descriptor nests too deep (max_xml_depth)"));
                    }
                    Some(e)
                }
                Event::Empty(e) => Some(e),
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                    None
                }
                Event::Eof => break,
                _ => None,
            };
            if let Some(e) = element {
                match e.local_name().as_ref() {
                    b"keyData" if key_data.is_none() => key_data = Some(attributes(e)?),
                    b"dataIntegrity" if integrity.is_none() => {
                        let a = attributes(e)?;
                        integrity = Some((base64(&a, "encryptedHmacKey")?, base64(&a, "encryptedHmacValue")?));
                    }
                    // The certificate key encryptor's encryptedKey has no spinCount.
                    b"encryptedKey" if password_key.is_none() => {
                        let a = attributes(e)?;
                        if a.iter().any(|(k, _)| k == "spinCount") {
                            password_key = Some(a);
                        }
                    }
                    _ => {}
                }
            }
            buf.clear();
        }
        let key_data = key_data.ok_or_else(|| corrupt("its XML descriptor has no keyData"))?;
        let password_key = password_key
            .ok_or_else(|| unsupported("a certificate instead of a password (no password key encryptor)"))?;
        let spin_count: u32 = number(&password_key, "spinCount")?;
        check_spin_count(spin_count, limits)?;
        Ok(Agile {
            data: CipherParams::from(&key_data)?,
            key: CipherParams::from(&password_key)?,
            spin_count,
            encrypted_verifier_input: base64(&password_key, "encryptedVerifierHashInput")?,
            encrypted_verifier_value: base64(&password_key, "encryptedVerifierHashValue")?,
            encrypted_key_value: base64(&password_key, "encryptedKeyValue")?,
            integrity,
        })
    }

    /// MS-OFFCRYPTO 2.3.4.14: the HMAC key and value, decrypted with the package key (IVs from the keyData
    /// salt and a block key each), and the HMAC of the whole `EncryptedPackage` stream compared.
    fn check_integrity(&self, key: &[u8], stream: &[u8]) -> Result<(), ExtractError> {
        let Some((encrypted_key, encrypted_value)) = &self.integrity else { return Ok(()) };
        let d = &self.data;
        let open = |block: &[u8], encrypted: &[u8]| -> Result<Vec<u8>, ExtractError> {
            let iv = fit(d.hash.of(&[&d.salt, block]), AES_BLOCK);
            let mut out = encrypted.to_vec();
            cbc_decrypt(key, &iv, &mut out)?;
            out.truncate(d.hash.len());
            if out.len() < d.hash.len() {
                return Err(corrupt("its data integrity record is too short"));
            }
            Ok(out)
        };
        let hmac_key = open(&BLOCK_INTEGRITY_KEY, encrypted_key)?;
        let expected = open(&BLOCK_INTEGRITY_VALUE, encrypted_value)?;
        if d.hash.hmac(&hmac_key, stream) != expected {
            return Err(corrupt(
                "its encrypted package fails its integrity check (HMAC): it was changed or damaged after it \
                 was encrypted",
            ));
        }
        Ok(())
    }

    /// MS-OFFCRYPTO 2.3.4.11 to 2.3.4.13: the password's hash, a key per block key, the verifier check,
    /// then the package key.
    fn key(&self, password: &Password) -> Result<Vec<u8>, ExtractError> {
        let k = &self.key;
        let h = k.hash.spin(&k.salt, &utf16le(password), self.spin_count);
        let derived = |block: &[u8]| fit(k.hash.of(&[&h, block]), k.key_len);
        let iv = fit(k.salt.clone(), AES_BLOCK);
        let open = |block: &[u8], encrypted: &[u8]| -> Result<Vec<u8>, ExtractError> {
            let mut out = encrypted.to_vec();
            cbc_decrypt(&derived(block), &iv, &mut out)?;
            Ok(out)
        };
        let input = open(&BLOCK_VERIFIER_INPUT, &self.encrypted_verifier_input)?;
        let value = open(&BLOCK_VERIFIER_VALUE, &self.encrypted_verifier_value)?;
        let input = input.get(..k.salt.len()).ok_or_else(|| corrupt("its verifier is shorter than its salt"))?;
        let expected = value.get(..k.hash.len()).ok_or_else(|| corrupt("its verifier hash is too short"))?;
        if k.hash.of(&[input]) != expected {
            return Err(wrong_password());
        }
        let mut key = open(&BLOCK_KEY_VALUE, &self.encrypted_key_value)?;
        if key.len() < self.data.key_len {
            return Err(corrupt("its encrypted key is shorter than the key"));
        }
        key.truncate(self.data.key_len);
        Ok(key)
    }
}

impl CipherParams {
    /// `keyData` or `p:encryptedKey`: AES-CBC with 16-byte blocks is all Office writes.
    fn from(a: &[(String, String)]) -> Result<Self, ExtractError> {
        let cipher = text(a, "cipherAlgorithm")?;
        if cipher != "AES" {
            return Err(unsupported(format!("the {cipher} cipher")));
        }
        let chaining = text(a, "cipherChaining")?;
        if chaining != "ChainingModeCBC" {
            return Err(unsupported(format!("AES in {chaining}")));
        }
        let hash_name = text(a, "hashAlgorithm")?;
        let hash = Hash::from_name(hash_name).ok_or_else(|| unsupported(format!("the {hash_name} hash")))?;
        if number::<usize>(a, "blockSize")? != AES_BLOCK {
            return Err(corrupt("an AES block size other than 16"));
        }
        if number::<usize>(a, "hashSize")? != hash.len() {
            return Err(corrupt(format!("a {hash_name} hash size other than {}", hash.len())));
        }
        let key_len = match number::<usize>(a, "keyBits")? {
            bits @ (128 | 192 | 256) => bits / 8,
            bits => return Err(corrupt(format!("an AES key of {bits} bits"))),
        };
        Ok(CipherParams { salt: base64(a, "saltValue")?, key_len, hash })
    }
}

/// An element's attributes by local name, values unescaped.
fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, ExtractError> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| corrupt(format!("its XML descriptor: {e}")))?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value =
            a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| corrupt(format!("its XML descriptor: {e}")))?;
        out.push((key, value.into_owned()));
    }
    Ok(out)
}

fn text<'a>(a: &'a [(String, String)], name: &str) -> Result<&'a str, ExtractError> {
    a.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .ok_or_else(|| corrupt(format!("its XML descriptor has no {name}")))
}

fn number<T: std::str::FromStr>(a: &[(String, String)], name: &str) -> Result<T, ExtractError> {
    text(a, name)?.parse().map_err(|_| corrupt(format!("its XML descriptor's {name} is not a number")))
}

fn base64(a: &[(String, String)], name: &str) -> Result<Vec<u8>, ExtractError> {
    let value: String = text(a, name)?.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|_| corrupt(format!("its XML descriptor's {name} is not base64")))
}

/// Decrypt whole blocks of `data` in place with AES-CBC; a trailing partial block is left as it is.
fn cbc_decrypt(key: &[u8], iv: &[u8], data: &mut [u8]) -> Result<(), ExtractError> {
    let bad = |_| corrupt("a key or IV of the wrong length");
    match key.len() {
        16 => blocks(cbc::Decryptor::<Aes128>::new_from_slices(key, iv).map_err(bad)?, data),
        24 => blocks(cbc::Decryptor::<Aes192>::new_from_slices(key, iv).map_err(bad)?, data),
        32 => blocks(cbc::Decryptor::<Aes256>::new_from_slices(key, iv).map_err(bad)?, data),
        n => return Err(corrupt(format!("an AES key of {n} bytes"))),
    }
    Ok(())
}

/// Decrypt whole blocks of `data` in place with AES-ECB (Standard encryption).
fn ecb_decrypt(key: &[u8], data: &mut [u8]) -> Result<(), ExtractError> {
    let bad = |_| corrupt("a key of the wrong length");
    match key.len() {
        16 => blocks(ecb::Decryptor::<Aes128>::new_from_slice(key).map_err(bad)?, data),
        24 => blocks(ecb::Decryptor::<Aes192>::new_from_slice(key).map_err(bad)?, data),
        32 => blocks(ecb::Decryptor::<Aes256>::new_from_slice(key).map_err(bad)?, data),
        n => return Err(corrupt(format!("an AES key of {n} bytes"))),
    }
    Ok(())
}

fn blocks<D: BlockDecryptMut>(mut decryptor: D, data: &mut [u8]) {
    for block in data.chunks_exact_mut(D::block_size()) {
        decryptor.decrypt_block_mut(GenericArray::from_mut_slice(block));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_test_vectors() {
        // RFC 4231 test case 2 (SHA-256, SHA-512) and RFC 2202 test case 2 (SHA-1).
        let (key, data) = (b"Jefe".as_slice(), b"what do ya want for nothing?".as_slice());
        assert_eq!(
            hex::encode(Hash::Sha256.hmac(key, data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(Hash::Sha512.hmac(key, data)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert_eq!(hex::encode(Hash::Sha1.hmac(key, data)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        // A key longer than the block is hashed first (RFC 4231 test case 6).
        let long_key = [0xaa_u8; 131];
        assert_eq!(
            hex::encode(Hash::Sha256.hmac(&long_key, b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_changed_agile_package_fails_its_integrity_check() {
        let file = include_bytes!("../../tests/fixtures/agile-protected.docx");
        let password = Password::new("folio-agile");
        let limits = Limits::default();
        let plain = decrypt(file, Some(&password), &limits).expect("the fixture opens with its password");
        // The EncryptedPackage stream starts with the plain package's size, 8 bytes little-endian.
        let size = (plain.len() as u64).to_le_bytes();
        let at = file.windows(8).position(|w| w == size).expect("the package's size field") + 8;
        let mut changed = file.to_vec();
        changed[at + 100] ^= 0x01;
        let e = decrypt(&changed, Some(&password), &limits).expect_err("a changed package");
        assert_eq!(e.kind, ExtractErrorKind::Corrupt);
        assert!(e.message.contains("integrity"), "{}", e.message);
    }

    #[test]
    fn keys_are_fitted_as_the_spec_says() {
        assert_eq!(fit(vec![1, 2, 3], 2), [1, 2]);
        assert_eq!(fit(vec![1], 3), [1, 0x36, 0x36]);
    }

    #[test]
    fn the_spin_matches_a_hand_rolled_loop() {
        let salt = [9u8; 16];
        let pw = utf16le(&Password::new("pw"));
        let mut h = Sha512::new().chain_update(salt).chain_update(&pw).finalize().to_vec();
        for i in 0u32..3 {
            h = Sha512::new().chain_update(i.to_le_bytes()).chain_update(&h).finalize().to_vec();
        }
        assert_eq!(Hash::Sha512.spin(&salt, &pw, 3), h);
    }

    #[test]
    fn unknown_versions_and_rc4_are_refused_by_name() {
        let limits = Limits::default();
        let err = Scheme::parse(&[3, 0, 3, 0, 0, 0, 0, 0], &limits).err().unwrap();
        assert_eq!(err.kind, ExtractErrorKind::Encrypted);
        assert!(err.message.contains("extensible"), "{}", err.message);
        let err = Scheme::parse(&[1, 0, 1, 0, 0, 0, 0, 0], &limits).err().unwrap();
        assert!(err.message.contains("version 1.1"), "{}", err.message);
        // Standard 4.2 with RC4 (0x6801) as its cipher.
        let mut rc4 = vec![4, 0, 2, 0, 0x04, 0, 0, 0, 32, 0, 0, 0];
        rc4.extend([0u8; 8]);
        rc4.extend(0x6801u32.to_le_bytes());
        rc4.extend(0x8004u32.to_le_bytes());
        rc4.extend(128u32.to_le_bytes());
        rc4.resize(12 + 32 + 80, 0);
        let err = Scheme::parse(&rc4, &limits).err().unwrap();
        assert_eq!(err.kind, ExtractErrorKind::Encrypted);
        assert!(err.message.contains("RC4"), "{}", err.message);
        assert_eq!(Scheme::parse(&[4, 0], &limits).err().unwrap().kind, ExtractErrorKind::Corrupt);
    }

    #[test]
    fn a_huge_spin_count_is_refused_before_hashing() {
        let xml = br#"<encryption><keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/><keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><p:encryptedKey xmlns:p="x" spinCount="4000000000" saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA==" encryptedVerifierHashInput="AAAAAAAAAAAAAAAAAAAAAA==" encryptedVerifierHashValue="AAAA" encryptedKeyValue="AAAA"/></keyEncryptor></keyEncryptors></encryption>"#;
        let mut info = vec![4, 0, 4, 0, 0x40, 0, 0, 0];
        info.extend_from_slice(xml);
        let err = Scheme::parse(&info, &Limits::default()).err().unwrap();
        assert_eq!(err.kind, ExtractErrorKind::TooLarge);
        assert!(err.message.contains("max_spin_count"), "{}", err.message);
    }
}
