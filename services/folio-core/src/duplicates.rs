//! Duplicates across a catalogue: the same file sent twice (the same SHA-256 in two contributions), and
//! near duplicates (texts that overlap, such as one report sent by two States, or a revised version beside
//! the first). Near duplicates are found with MinHash over word shingles: each text becomes the set of its
//! runs of [`SHINGLE_WORDS`] words, and [`SIGNATURE_LEN`] minimum hashes estimate the Jaccard similarity of
//! two such sets. Every pair at or above [`NEAR_DUPLICATE`] becomes a finding that names both sides.

use crate::domain::{Finding, FindingCode, Severity};
use std::collections::HashSet;
use uuid::Uuid;

/// Words in a shingle.
pub const SHINGLE_WORDS: usize = 5;
/// Hashes in a MinHash signature: the estimate's standard error is about 1/sqrt(128) = 0.09.
pub const SIGNATURE_LEN: usize = 128;
/// The estimated Jaccard similarity from which two texts are near duplicates.
pub const NEAR_DUPLICATE: f64 = 0.5;
/// Texts with fewer words are not compared (a caption or a title says too little).
pub const MIN_WORDS: usize = 50;

/// One contribution as the duplicate check sees it.
pub struct Candidate<'a> {
    pub contribution_id: Uuid,
    /// How a person names it: title, author and State, chapter.
    pub label: String,
    /// Its documents' SHA-256s.
    pub sha256: Vec<&'a str>,
    /// The MinHash signature of its documents' texts together ([`combined_signature`]); `None` for too
    /// little text to compare.
    pub signature: Option<Vec<u64>>,
}

impl Candidate<'_> {
    /// The signature of one text, for callers that hold the text itself.
    pub fn text_signature(text: &str) -> Option<Vec<u64>> {
        signature(text)
    }
}

/// What the checks need of a document's text, computed once when its record is written and kept beside
/// it, so that nothing that runs per request or per sweep reads the text again: its SHA-256 (the build's
/// input stamp), its word count and the MinHash signature of its shingles (near duplicates).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextDigest {
    pub sha256: String,
    /// Words, as the shingles count them.
    pub words: u64,
    /// `None` when the text has fewer words than a shingle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minhash: Option<Vec<u64>>,
}

impl TextDigest {
    pub fn of(text: &str) -> Self {
        use sha2::Digest;
        let words = words(text);
        Self {
            sha256: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            words: words.len() as u64,
            minhash: minhash(&words),
        }
    }
}

/// The signature of several documents' texts together, from their digests: the position-wise minimum of
/// their signatures is the signature of the union of their shingles. `None` when they hold fewer than
/// [`MIN_WORDS`] words together.
pub fn combined_signature<'a>(digests: impl IntoIterator<Item = &'a TextDigest>) -> Option<Vec<u64>> {
    let mut words = 0u64;
    let mut combined: Option<Vec<u64>> = None;
    for digest in digests {
        words += digest.words;
        if let Some(signature) = &digest.minhash {
            combined = Some(match combined {
                None => signature.clone(),
                Some(mut c) => {
                    c.iter_mut().zip(signature).for_each(|(a, b)| *a = (*a).min(*b));
                    c
                }
            });
        }
    }
    combined.filter(|_| words >= MIN_WORDS as u64)
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn minhash(words: &[String]) -> Option<Vec<u64>> {
    if words.len() < SHINGLE_WORDS {
        return None;
    }
    let shingles: HashSet<u64> = words.windows(SHINGLE_WORDS).map(shingle_hash).collect();
    // Shingle by shingle over the whole signature (the seeds computed once): the same minima as seed by seed
    // over every shingle, in one pass over the set.
    let seeds: Vec<u64> = (0..SIGNATURE_LEN as u64).map(seed).collect();
    let mut signature = vec![u64::MAX; SIGNATURE_LEN];
    for shingle in shingles {
        for (min, seed) in signature.iter_mut().zip(&seeds) {
            *min = (*min).min(mix(shingle ^ seed));
        }
    }
    Some(signature)
}

/// FNV-1a of a shingle's words joined by single spaces, without joining them.
fn shingle_hash(words: &[String]) -> u64 {
    let step = |h: u64, b: &u8| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    let mut hash = 0xcbf2_9ce4_8422_2325;
    for (index, word) in words.iter().enumerate() {
        if index > 0 {
            hash = step(hash, &b' ');
        }
        hash = word.as_bytes().iter().fold(hash, step);
    }
    hash
}

/// A MinHash signature of a text's shingles; `None` for a text too short to compare.
pub fn signature(text: &str) -> Option<Vec<u64>> {
    let words = words(text);
    if words.len() < MIN_WORDS {
        return None;
    }
    minhash(&words)
}

/// The share of signature positions that agree: an estimate of the two texts' Jaccard similarity.
pub fn similarity(a: &[u64], b: &[u64]) -> f64 {
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len().max(1) as f64
}

/// splitmix64's finaliser: a good mix of 64 bits, the same on every machine.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn seed(i: u64) -> u64 {
    mix(i.wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// The duplicate findings of a catalogue's contributions (given in book order). Each pair gives one finding,
/// on the later contribution, naming the earlier: `duplicate` for a file sent in both, else
/// `near_duplicate` with the estimated overlap. Warnings: an editor decides which one stays.
pub fn check(candidates: &[Candidate<'_>]) -> Vec<Finding> {
    let signatures: Vec<Option<&Vec<u64>>> = candidates.iter().map(|c| c.signature.as_ref()).collect();
    let mut findings = Vec::new();
    for (j, later) in candidates.iter().enumerate() {
        for (i, earlier) in candidates.iter().enumerate().take(j) {
            if let Some(sha) = later.sha256.iter().find(|s| earlier.sha256.contains(s)) {
                findings.push(Finding {
                    code: FindingCode::Duplicate,
                    severity: Severity::Warning,
                    contribution_id: Some(later.contribution_id),
                    file_name: None,
                    message: format!(
                        "The same file (SHA-256 {}…) was also sent in {}: keep one of the two.",
                        &sha[..sha.len().min(12)],
                        earlier.label
                    ),
                });
                continue;
            }
            if let (Some(a), Some(b)) = (&signatures[i], &signatures[j]) {
                let share = similarity(a, b);
                if share >= NEAR_DUPLICATE {
                    findings.push(Finding {
                        code: FindingCode::NearDuplicate,
                        severity: Severity::Warning,
                        contribution_id: Some(later.contribution_id),
                        file_name: None,
                        message: format!(
                            "Its text overlaps about {:.0}% with {} (runs of {SHINGLE_WORDS} words in common): a \
                             duplicate or another version of it?",
                            share * 100.0,
                            earlier.label
                        ),
                    });
                }
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signatures are kept with records: the one computed now must be the one computed when they were
    /// written (seed by seed over the shingles of joined words, as first written).
    #[test]
    fn the_signature_is_the_one_older_records_hold() {
        fn fnv1a(bytes: &[u8]) -> u64 {
            bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
        }
        fn as_first_written(words: &[String]) -> Vec<u64> {
            let shingles: HashSet<u64> = words.windows(SHINGLE_WORDS).map(|w| fnv1a(w.join(" ").as_bytes())).collect();
            (0..SIGNATURE_LEN as u64)
                .map(|i| shingles.iter().map(|s| mix(s ^ seed(i))).min().unwrap_or(u64::MAX))
                .collect()
        }
        let text = "Cooperation between States Parties on victim assistance: the programme trained 120 Ärzte \
                    and nurses, and the second phase of the programme trained 80 more in three provinces. "
            .repeat(7);
        let words = words(&text);
        assert!(words.len() > 100);
        assert_eq!(minhash(&words), Some(as_first_written(&words)));
    }

    const REPORT: &str = "The national mine action centre cleared forty hectares of land in the south during the \
        year with teams trained under the bilateral programme and equipment provided by the donor State the \
        survey found cluster munition remnants in orchards and fields near villages and the cleared land was \
        handed back to farmers who now grow olives and tobacco again risk education reached schools in every \
        district and victims received medical care and vocational training through the partnership";

    fn candidate(title: &str, sha: &'static str, text: &str) -> Candidate<'static> {
        Candidate {
            contribution_id: Uuid::new_v5(&Uuid::NAMESPACE_OID, title.as_bytes()),
            label: format!("“{title}”"),
            sha256: vec![sha],
            signature: combined_signature([&TextDigest::of(text)]),
        }
    }

    #[test]
    fn digests_of_several_documents_combine_into_the_signature_of_their_union() {
        let half = REPORT.len() / 2;
        let split = REPORT[..half].rfind(' ').unwrap();
        let (first, second) = (&REPORT[..split], &REPORT[split..]);
        let combined = combined_signature([&TextDigest::of(first), &TextDigest::of(second)]).unwrap();
        let whole = signature(REPORT).unwrap();
        // Only the shingles across the cut differ: nearly the same set.
        assert!(similarity(&combined, &whole) > 0.9, "{}", similarity(&combined, &whole));
        let digest = TextDigest::of(REPORT);
        assert_eq!(digest.sha256.len(), 64);
        assert_eq!(digest.words, REPORT.split_whitespace().count() as u64);
        assert!(combined_signature([&TextDigest::of("a few words only here")]).is_none(), "under MIN_WORDS");
    }

    #[test]
    fn a_revised_text_is_a_near_duplicate_and_an_unrelated_one_is_not() {
        let revised = REPORT.replace("forty hectares", "forty-two hectares").replace("olives", "olives, wheat");
        let unrelated = "Victim assistance in the region relies on community health workers who visit families \
            at home every month they record needs for prostheses physiotherapy and psychological support and \
            refer survivors to the national rehabilitation centre which was built with regional funds in the \
            capital and now trains technicians from neighbouring countries in a triangular arrangement with \
            two donor States and a university that evaluates the outcomes each year for the ministry";
        let findings = check(&[
            candidate("Clearance in the south", "aa", REPORT),
            candidate("Unrelated", "bb", unrelated),
            candidate("Clearance in the south, revised", "cc", &revised),
        ]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        let f = &findings[0];
        assert_eq!(f.code, FindingCode::NearDuplicate);
        assert_eq!(f.contribution_id, Some(Uuid::new_v5(&Uuid::NAMESPACE_OID, b"Clearance in the south, revised")));
        assert!(f.message.contains("“Clearance in the south”"), "{}", f.message);
    }

    #[test]
    fn the_same_file_twice_is_a_duplicate_and_short_texts_are_not_compared() {
        let findings =
            check(&[candidate("One", "abcdef0123456789", "a photo"), candidate("Two", "abcdef0123456789", "")]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, FindingCode::Duplicate);
        assert!(findings[0].message.contains("“One”") && findings[0].message.contains("abcdef012345"));
        assert!(signature("too short to say anything").is_none());
        let same = check(&[candidate("A", "1", "caption"), candidate("B", "2", "caption")]);
        assert!(same.is_empty(), "short texts are not near duplicates");
    }

    #[test]
    fn signatures_are_stable_and_similarity_is_one_for_the_same_text() {
        let a = signature(REPORT).unwrap();
        assert_eq!(a, signature(REPORT).unwrap());
        assert_eq!(similarity(&a, &a), 1.0);
        assert_eq!(a.len(), SIGNATURE_LEN);
    }
}
