//! Duplicates across a catalogue: the same file sent twice (the same SHA-256 in two contributions), and
//! near duplicates (texts that overlap, such as one report sent by two States, or a revised version beside
//! the first). Near duplicates are found with MinHash over word shingles: each text becomes the set of its
//! runs of [`SHINGLE_WORDS`] words, and [`SIGNATURE_LEN`] minimum hashes estimate the Jaccard similarity of
//! two such sets. Every pair at or above [`NEAR_DUPLICATE`] becomes a finding that names both sides.

use crate::domain::{Finding, FindingCode, Severity};
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
        let words = Words::of(text);
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

/// A text's words as the shingles see them: split at every character that is not a letter or a digit, each
/// lowercased (`str::to_lowercase`, word by word), back to back in one string, with where each ends. One
/// string rather than a `String` a word: a ten-page text has thousands of words.
struct Words {
    lowered: String,
    ends: Vec<usize>,
}

impl Words {
    fn of(text: &str) -> Self {
        let mut lowered = String::with_capacity(text.len());
        let mut ends = Vec::with_capacity(text.len() / 6);
        // Byte by byte through ASCII, character by character past it: where a word starts, and whether it
        // is all ASCII (lowercased byte by byte, as `to_lowercase` would).
        let bytes = text.as_bytes();
        let (mut at, mut start, mut ascii) = (0, None::<usize>, true);
        while at < bytes.len() {
            let (alphanumeric, width) = match bytes[at] {
                b if b.is_ascii() => (b.is_ascii_alphanumeric(), 1),
                _ => match text[at..].chars().next() {
                    Some(c) => (c.is_alphanumeric(), c.len_utf8()),
                    None => break,
                },
            };
            match (alphanumeric, start) {
                (true, None) => {
                    start = Some(at);
                    ascii = width == 1;
                }
                (true, Some(_)) => ascii &= width == 1,
                (false, Some(from)) => {
                    Self::push(&mut lowered, &text[from..at], ascii);
                    ends.push(lowered.len());
                    start = None;
                }
                (false, None) => {}
            }
            at += width;
        }
        if let Some(from) = start {
            Self::push(&mut lowered, &text[from..], ascii);
            ends.push(lowered.len());
        }
        Self { lowered, ends }
    }

    fn push(lowered: &mut String, word: &str, ascii: bool) {
        if ascii {
            let from = lowered.len();
            lowered.push_str(word);
            lowered[from..].make_ascii_lowercase();
        } else {
            lowered.push_str(&word.to_lowercase());
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The `index`th word's bytes.
    fn word(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.lowered.as_bytes()[start..self.ends[index]]
    }
}

/// The signature of `words`' shingles: for each of [`SIGNATURE_LEN`] seeds, the least `mix(shingle ^ seed)`
/// over the distinct shingles (a shingle's hash: FNV-1a of its words joined by single spaces).
fn minhash(words: &Words) -> Option<Vec<u64>> {
    if words.len() < SHINGLE_WORDS {
        return None;
    }
    let mut shingles = shingle_hashes(words);
    // Each distinct shingle once (a repeated one cannot lower a minimum): sorted, not hashed into a set.
    shingles.sort_unstable();
    shingles.dedup();
    let seeds: [u64; SIGNATURE_LEN] = std::array::from_fn(|i| seed(i as u64));
    let mut signature = [u64::MAX; SIGNATURE_LEN];
    fold_shingles(&mut signature, &seeds, &shingles);
    Some(signature.to_vec())
}

/// Each shingle's hash: FNV-1a of its [`SHINGLE_WORDS`] words joined by single spaces, without joining them.
/// FNV-1a is a chain of multiplies, each waiting for the one before; [`LANES`] shingles are hashed side by
/// side, a word of each in turn, so that the processor works on their chains at once.
fn shingle_hashes(words: &Words) -> Vec<u64> {
    const LANES: usize = 4;
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    #[inline(always)]
    fn step(h: u64, b: u8) -> u64 {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }
    let count = words.len() + 1 - SHINGLE_WORDS;
    let mut hashes = Vec::with_capacity(count);
    let mut first = 0;
    while first < count {
        let lanes = LANES.min(count - first);
        let mut lane = [OFFSET; LANES];
        for offset in 0..SHINGLE_WORDS {
            for (k, hash) in lane.iter_mut().enumerate().take(lanes) {
                if offset > 0 {
                    *hash = step(*hash, b' ');
                }
                *hash = words.word(first + k + offset).iter().fold(*hash, |h, b| step(h, *b));
            }
        }
        hashes.extend_from_slice(&lane[..lanes]);
        first += lanes;
    }
    hashes
}

/// Lowers each position of `signature` to `mix(shingle ^ seed)` for every shingle: shingles times
/// [`SIGNATURE_LEN`] mixes, most of a digest's time. The same loop, compiled also for the vector units the
/// processor has (AVX-512 multiplies eight 64-bit lanes at once, AVX2 four by parts), chosen at run time:
/// every variant gives the same signature.
fn fold_shingles(signature: &mut [u64; SIGNATURE_LEN], seeds: &[u64; SIGNATURE_LEN], shingles: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
            // SAFETY: the processor has the features the function is compiled for (checked just above).
            return unsafe { fold_shingles_avx512(signature, seeds, shingles) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { fold_shingles_avx2(signature, seeds, shingles) };
        }
    }
    fold_shingles_portable(signature, seeds, shingles);
}

#[inline(always)]
fn fold_shingles_portable(signature: &mut [u64; SIGNATURE_LEN], seeds: &[u64; SIGNATURE_LEN], shingles: &[u64]) {
    for &shingle in shingles {
        for (min, seed) in signature.iter_mut().zip(seeds) {
            *min = (*min).min(mix(shingle ^ seed));
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn fold_shingles_avx512(signature: &mut [u64; SIGNATURE_LEN], seeds: &[u64; SIGNATURE_LEN], shingles: &[u64]) {
    fold_shingles_portable(signature, seeds, shingles);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fold_shingles_avx2(signature: &mut [u64; SIGNATURE_LEN], seeds: &[u64; SIGNATURE_LEN], shingles: &[u64]) {
    fold_shingles_portable(signature, seeds, shingles);
}

/// A MinHash signature of a text's shingles; `None` for a text too short to compare.
pub fn signature(text: &str) -> Option<Vec<u64>> {
    let words = Words::of(text);
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
#[inline(always)]
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

    /// The words and signature as first written (a `String` a word, shingles joined, hashed into a set, seed
    /// by seed): what older records hold.
    fn as_first_written(text: &str) -> (usize, Option<Vec<u64>>) {
        fn fnv1a(bytes: &[u8]) -> u64 {
            bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
        }
        let words: Vec<String> =
            text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
        if words.len() < SHINGLE_WORDS {
            return (words.len(), None);
        }
        let shingles: std::collections::HashSet<u64> =
            words.windows(SHINGLE_WORDS).map(|w| fnv1a(w.join(" ").as_bytes())).collect();
        let signature = (0..SIGNATURE_LEN as u64)
            .map(|i| shingles.iter().map(|s| mix(s ^ seed(i))).min().unwrap_or(u64::MAX))
            .collect();
        (words.len(), Some(signature))
    }

    /// Signatures are kept with records: the one computed now must be the one computed when they were
    /// written, whatever the text's letters (ASCII, accented, Greek with its final sigma, Cyrillic, Han,
    /// capitals, digits, repeated shingles, words split by punctuation).
    #[test]
    fn the_signature_is_the_one_older_records_hold() {
        let texts = [
            "Cooperation between States Parties on victim assistance: the programme trained 120 Ärzte \
             and nurses, and the second phase of the programme trained 80 more in three provinces. "
                .repeat(7),
            "ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ και ΟΔΟΣ ΑΡΙΣΤΟΤΕΛΟΥΣ: Η ΣΥΝΕΡΓΑΣΙΑ ΤΩΝ ΚΡΑΤΩΝ, ΟΔΥΣΣΕΥΣ ΚΑΙ ΣΙΣΥΦΟΣ. ".repeat(4),
            "Сотрудничество ГОСУДАРСТВ-участников İstanbul ǅemal ﬁnance straße STRASSE 二〇一二年 合作 项目 ".repeat(3),
            "one two three four".to_string(),
            "A b C d E f G h".to_string(),
            String::new(),
        ];
        for text in &texts {
            let (words, signature) = as_first_written(text);
            let digest = TextDigest::of(text);
            assert_eq!(digest.words, words as u64, "{text}");
            assert_eq!(digest.minhash, signature, "{text}");
        }
    }

    /// Each compiled variant of the signature's loop gives the portable one's signature, on this machine's
    /// processor where it has their vector units.
    #[test]
    fn every_variant_of_the_signature_loop_agrees() {
        let seeds: [u64; SIGNATURE_LEN] = std::array::from_fn(|i| seed(i as u64));
        let shingles: Vec<u64> = (0..1000u64).map(|i| mix(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))).collect();
        let mut portable = [u64::MAX; SIGNATURE_LEN];
        fold_shingles_portable(&mut portable, &seeds, &shingles);
        let mut chosen = [u64::MAX; SIGNATURE_LEN];
        fold_shingles(&mut chosen, &seeds, &shingles);
        assert_eq!(chosen, portable);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut avx2 = [u64::MAX; SIGNATURE_LEN];
                // SAFETY: the processor has AVX2 (checked).
                unsafe { fold_shingles_avx2(&mut avx2, &seeds, &shingles) };
                assert_eq!(avx2, portable);
            }
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
                let mut avx512 = [u64::MAX; SIGNATURE_LEN];
                // SAFETY: the processor has AVX-512 F and DQ (checked).
                unsafe { fold_shingles_avx512(&mut avx512, &seeds, &shingles) };
                assert_eq!(avx512, portable);
            }
        }
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
