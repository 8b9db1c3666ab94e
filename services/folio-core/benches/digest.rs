//! What a document's text digest costs (its SHA-256, word count and MinHash signature), made once a
//! document when its record is written.
//!
//! ```sh
//! cargo bench -p folio-core --bench digest -- --rounds 5
//! ```
//!
//! Texts of 600 words (the example's PDFs), 5,000 (ten pages) and 20,000, of words drawn from an English
//! lexicon by a fixed generator, with capitals, digits and accented words as running text has them.
//! Prints the best of `--rounds` runs of each, in microseconds a text.

use folio_core::duplicates::TextDigest;
use std::time::Instant;

const LEXICON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "with",
    "as",
    "by",
    "was",
    "were",
    "States",
    "programme",
    "cooperation",
    "assistance",
    "victims",
    "clearance",
    "land",
    "national",
    "centre",
    "trained",
    "survivors",
    "rehabilitation",
    "Ministry",
    "partnership",
    "hectares",
    "districts",
    "education",
    "risk",
    "cluster",
    "munition",
    "remnants",
    "survey",
    "donor",
    "équipe",
    "Größe",
    "año",
    "2012",
    "120",
    "Convention",
    "implementation",
    "capacity",
    "regional",
    "community",
    "support",
    "technical",
    "international",
    "report",
];

fn text(words: usize) -> String {
    // A fixed linear congruential generator: the same text on every run and machine.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = String::new();
    for i in 0..words {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        out.push_str(LEXICON[(state >> 33) as usize % LEXICON.len()]);
        out.push_str(if i % 17 == 16 {
            ". "
        } else if i % 7 == 6 {
            ", "
        } else {
            " "
        });
    }
    out
}

fn main() {
    let mut rounds = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|r| r.parse().ok()).unwrap_or(rounds),
            // cargo bench passes --bench.
            "--bench" => {}
            other => eprintln!("ignored argument {other}"),
        }
    }
    println!("{:>8} {:>10} {:>14} {:>16}", "words", "bytes", "digest µs", "of which sha256");
    for words in [600, 5_000, 20_000] {
        let text = text(words);
        let repeat = (200_000 / words).max(5);
        let best = |f: &dyn Fn()| {
            (0..rounds.max(1))
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..repeat {
                        f();
                    }
                    start.elapsed().as_secs_f64() * 1e6 / repeat as f64
                })
                .fold(f64::INFINITY, f64::min)
        };
        let digest = best(&|| {
            std::hint::black_box(TextDigest::of(std::hint::black_box(&text)));
        });
        let sha = best(&|| {
            use sha2::Digest;
            std::hint::black_box(sha2::Sha256::digest(std::hint::black_box(text.as_bytes())));
        });
        println!("{words:>8} {:>10} {digest:>14.1} {sha:>16.1}", text.len());
    }
}
