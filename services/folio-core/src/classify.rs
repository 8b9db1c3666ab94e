//! Suggestions for an editor: which of the Convention's areas a contribution concerns (clearance, stockpile
//! destruction, victim assistance, risk education, cooperation and assistance, transparency and national
//! implementation) and how its cooperation was organised (bilateral, regional, multilateral, South-South or
//! triangular; as donor, recipient or both). Every suggestion carries the evidence that led to it (the cue as
//! found, where, how often, and a short excerpt), so that an editor accepts or rejects it at a glance.
//!
//! The method is a hand-written lexicon of English cues (the call asks for English texts), below, matched
//! case-insensitively on word boundaries. A cue is a phrase of words; a word may list alternatives (`a|b`),
//! end in `*` (any word it begins, e.g. `prosthe*`), be written in capitals (an acronym, matched as written,
//! so that the Spanish article "un" is not the UN), or be `~` (up to [`MAX_GAP`] words of any kind, e.g.
//! "destroyed ~ submunitions"). Every other word also matches its plural ("-s", "-es", "-y"/"-ies"). A phrase
//! does not run across a sentence end. Where cues overlap the longest wins, so "victim assistance" is a victim
//! assistance cue and not also an "assistance" one.
//!
//! Scoring: each hit adds its cue's weight, title hits times [`TITLE_WEIGHT`]; text hits are divided by
//! sqrt(words / [`REFERENCE_WORDS`]) (at least 1), so that a long text needs more hits than a short one but
//! not proportionally more; the sum `x` becomes a score `1 - exp(-x / SATURATION)` in 0..1. An area is
//! suggested when its score reaches [`AREA_THRESHOLD`] and it has a title cue, or [`MIN_DISTINCT_CUES`]
//! distinct cues.
//!
//! Cooperation and assistance is what the whole catalogue is about, so its own words say little: the
//! Working Group's or a Committee's name ("Working Group on Cooperation and Assistance") is ignored outright,
//! and the bare words "cooperation", "assistance" and "cooperation and assistance" are *generic* cues: they
//! weigh little and never suffice alone. The area needs at least one specific cue (donor, funding, capacity
//! building, technical assistance, partnership, ...).
//!
//! Modality: a CSV modality that names one of the five is the suggestion (metadata evidence, score at least
//! [`METADATA_SCORE`], raised by confirming text cues); free words in that column are searched with the
//! modality cues; failing both, the text's cues decide when their score reaches [`MODALITY_THRESHOLD`]. The
//! role comes from the CSV when it names one, else from phrases such as "we funded", "Spain provided",
//! "funded by Spain" (donor when Spain is the contributing State, recipient otherwise), "we received".
//!
//! Pure and deterministic: no I/O, no clock, no randomness; the lexicons are compiled once.

use crate::domain::{Modality, Role};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::OnceLock;

/// A title hit counts this many text hits (and is not divided by the text's length).
pub const TITLE_WEIGHT: f64 = 3.0;
/// Text hits are divided by sqrt(words / REFERENCE_WORDS), at least 1: a page or less is not scaled.
pub const REFERENCE_WORDS: f64 = 300.0;
/// The weighted sum at which a score reaches 1 - 1/e (0.63).
pub const SATURATION: f64 = 3.0;
/// The score from which an area is suggested: about 1.3 weighted hits in a page, e.g. "cleared" and
/// "contaminated" once each, or one strong cue such as "battle area clearance".
pub const AREA_THRESHOLD: f64 = 0.35;
/// Distinct cues (at least one not generic) an area needs when none is in the title.
pub const MIN_DISTINCT_CUES: usize = 2;
/// The score from which a modality is inferred from the text alone: one strong cue ("bilateral", "UNDP",
/// "South-South") in a page, not a passing "regional" or "UN".
pub const MODALITY_THRESHOLD: f64 = 0.3;
/// The score of a modality the contributor named in the CSV, before confirming text cues raise it.
pub const METADATA_SCORE: f64 = 0.8;
/// The most characters of an excerpt, ellipses included.
pub const EXCERPT_CHARS: usize = 120;
/// The most pieces of evidence a suggestion lists (the strongest first).
pub const MAX_EVIDENCE: usize = 8;
/// The most words a `~` in a cue stands for.
pub const MAX_GAP: usize = 3;

/// An area of the Convention on Cluster Munitions that a contribution can concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Clearance,
    StockpileDestruction,
    VictimAssistance,
    RiskEducation,
    CooperationAndAssistance,
    TransparencyAndNationalImplementation,
}

impl Area {
    pub const ALL: [Area; 6] = [
        Self::Clearance,
        Self::StockpileDestruction,
        Self::VictimAssistance,
        Self::RiskEducation,
        Self::CooperationAndAssistance,
        Self::TransparencyAndNationalImplementation,
    ];

    /// The snake_case id, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clearance => "clearance",
            Self::StockpileDestruction => "stockpile_destruction",
            Self::VictimAssistance => "victim_assistance",
            Self::RiskEducation => "risk_education",
            Self::CooperationAndAssistance => "cooperation_and_assistance",
            Self::TransparencyAndNationalImplementation => "transparency_and_national_implementation",
        }
    }

    /// How a person names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Clearance => "Clearance",
            Self::StockpileDestruction => "Stockpile destruction",
            Self::VictimAssistance => "Victim assistance",
            Self::RiskEducation => "Risk education",
            Self::CooperationAndAssistance => "Cooperation and assistance",
            Self::TransparencyAndNationalImplementation => "Transparency and national implementation",
        }
    }

    /// The area an id or a label names, in any case, with spaces, hyphens or underscores.
    pub fn parse(s: &str) -> Option<Area> {
        let id = s.trim().to_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|a| a.as_str() == id)
    }
}

/// One cue found in a contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The cue as found at its first occurrence, whitespace collapsed, e.g. "victim assistance".
    pub phrase: String,
    pub source: EvidenceSource,
    /// Its occurrences in that source.
    pub count: u32,
    /// Up to [`EXCERPT_CHARS`] characters around the first occurrence, whitespace collapsed, "…" where cut.
    pub excerpt: String,
}

/// Where a cue was found: the contribution's title, its documents' text, or the contributor's CSV row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    Title,
    Text,
    Metadata,
}

/// An area the contribution seems to concern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaSuggestion {
    pub area: Area,
    /// 0..1.
    pub score: f64,
    /// At least one; title cues first, then the strongest.
    pub evidence: Vec<Evidence>,
}

/// How the contribution's cooperation seems to have been organised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalitySuggestion {
    /// One of "bilateral", "regional", "multilateral", "south-south", "triangular" ([`Modality::as_str`]).
    pub modality: String,
    /// "donor", "recipient" or "both" ([`Role::as_str`]), when the CSV or the text says.
    pub role: Option<String>,
    /// 0..1.
    pub score: f64,
    /// At least one: the CSV's word, then text cues, then the role's evidence.
    pub evidence: Vec<Evidence>,
}

/// What [`classify`] suggests for one contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Best first; only those that pass [`AREA_THRESHOLD`] and the distinct-cue rule.
    pub areas: Vec<AreaSuggestion>,
    pub modality: Option<ModalitySuggestion>,
}

/// One contribution as the classifier sees it.
pub struct Input<'a> {
    pub title: &'a str,
    /// Its documents' text, joined.
    pub text: &'a str,
    /// The CSV's modality column: one of the five words, or free words, or nothing.
    pub modality: Option<&'a str>,
    /// The CSV's role column.
    pub role: Option<&'a str>,
    /// The contributing State, as the CSV names it (to tell "funded by Spain" from Spain and from Lebanon).
    pub state: &'a str,
}

/// The areas and the modality a contribution seems to concern, each with its evidence.
pub fn classify(input: &Input) -> Classification {
    let title = tokenize(input.title);
    let text = tokenize(input.text);
    let text_factor = 1.0 / (text.len() as f64 / REFERENCE_WORDS).sqrt().max(1.0);
    let sources = [
        Source { kind: EvidenceSource::Title, text: input.title, tokens: &title, factor: TITLE_WEIGHT },
        Source { kind: EvidenceSource::Text, text: input.text, tokens: &text, factor: text_factor },
    ];
    Classification { areas: areas(&sources), modality: modality(input, &sources) }
}

// ---------------------------------------------------------------------------------------------------------
// The lexicons.

/// How a cue counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Speaks for its area.
    Strong,
    /// Weighs little and never suffices alone (the catalogue's own words).
    Generic,
    /// Consumed and not counted (boilerplate that would otherwise match a shorter cue).
    Ignore,
}

struct CueDef {
    pattern: &'static str,
    weight: f64,
    class: Class,
    /// The cue does not count right after one of these words ("it is clear", "made clear").
    not_after: &'static [&'static str],
}

const fn cue(pattern: &'static str, weight: f64) -> CueDef {
    CueDef { pattern, weight, class: Class::Strong, not_after: &[] }
}

const fn generic(pattern: &'static str, weight: f64) -> CueDef {
    CueDef { pattern, weight, class: Class::Generic, not_after: &[] }
}

const fn ignore(pattern: &'static str) -> CueDef {
    CueDef { pattern, weight: 0.0, class: Class::Ignore, not_after: &[] }
}

const CLEAR_ADJECTIVE: &[&str] = &[
    "is", "was", "be", "are", "were", "been", "being", "very", "more", "most", "not", "it", "s", "quite", "so", "made",
    "make", "makes", "making", "a", "the", "crystal", "all",
];

/// Clearance (Article 4): land and its contamination.
const CLEARANCE: &[CueDef] = &[
    cue("battle area clearance", 2.5),
    cue("mine clearance", 2.0),
    cue("clearance", 1.5),
    cue("cleared|clearing", 1.0),
    CueDef { pattern: "clear|clears", weight: 0.5, class: Class::Strong, not_after: CLEAR_ADJECTIVE },
    cue("demining", 2.0),
    cue("de mining", 2.0),
    cue("deminer*", 2.0),
    cue("mine action", 1.0),
    cue("mine detection dog", 2.0),
    cue("UXO", 2.0),
    cue("unexploded", 1.5),
    cue("unexploded ~ ordnance|bomblet|submunition|munition|remnant|device", 2.0),
    cue("explosive remnant of war", 1.0),
    cue("ERW", 1.0),
    cue("explosive ordnance disposal", 2.0),
    cue("EOD", 2.0),
    cue("technical survey", 2.0),
    cue("non technical survey", 2.0),
    cue("land release", 2.0),
    cue("land released", 2.0),
    cue("release|released|releasing ~ land|area|hectare", 1.5),
    cue("contaminated|contamination", 1.0),
    cue("hazardous area", 1.5),
    cue("cluster munition remnant", 1.5),
    cue("minefield", 1.5),
    cue("square metre|meter", 1.0),
    cue("hectare", 0.7),
    cue("article 4", 1.5),
];

/// Stockpile destruction (Article 3).
const STOCKPILE: &[CueDef] = &[
    cue("stockpile destruction", 2.5),
    cue("stockpile|stockpiled|stockpiling", 2.0),
    cue("destruction of ~ munition|submunition|stock|stockpile|bomblet", 2.0),
    cue("destroy|destroys|destroyed|destroying ~ munition|submunition|stock|stockpile|bomblet", 2.0),
    cue("demilitari*", 2.0),
    cue("dismantl*", 1.0),
    cue("open burning|detonation", 1.5),
    cue("article 3", 1.5),
];

/// Victim assistance (Article 5).
const VICTIM: &[CueDef] = &[
    cue("victim assistance", 2.5),
    cue("assistance to ~ victim|survivor", 2.5),
    cue("victim", 1.0),
    cue("survivor", 1.5),
    cue("amput*", 2.0),
    cue("rehabilitation", 1.5),
    cue("prosthe*", 2.0),
    cue("orthop*", 1.5),
    cue("orthot*", 1.5),
    cue("physiotherap*", 1.5),
    cue("disability|disabled", 1.5),
    cue("psychosocial", 2.0),
    cue("psycholog*", 1.0),
    cue("peer support", 1.5),
    cue("wheelchair", 1.5),
    cue("medical care|assistance", 1.0),
    cue("first aid", 1.0),
    cue("injury|injured", 0.7),
    cue("reintegration", 1.0),
    cue("article 5", 1.5),
];

/// Risk education (Article 4, "risk reduction education").
const RISK: &[CueDef] = &[
    cue("risk education", 2.5),
    cue("mine risk education", 2.5),
    cue("explosive ordnance risk education", 2.5),
    cue("MRE", 2.0),
    cue("EORE", 2.0),
    cue("risk reduction", 1.0),
    cue("awareness", 1.0),
    cue("awareness raising|campaign", 1.5),
    cue("school*", 1.0),
    cue("pupil|student|teacher", 0.7),
    cue("safe behaviour|behavior", 1.5),
    cue("community liaison", 1.5),
    cue("leaflet|poster|brochure", 0.7),
    cue("sensitisation|sensitization", 1.0),
    cue("warning sign", 1.0),
];

/// Cooperation and assistance (Article 6): who paid, who trained whom. Its own name is generic (see the
/// module's documentation).
const COOPERATION: &[CueDef] = &[
    generic("cooperation and assistance", 0.3),
    generic("assistance and cooperation", 0.3),
    generic("cooperation", 0.3),
    generic("co operation", 0.3),
    generic("assistance", 0.3),
    cue("donor", 1.5),
    cue("fund|funded|funding|funder", 1.0),
    cue("financ*", 1.0),
    cue("financial support|assistance|contribution", 1.5),
    cue("technical assistance|support|expertise", 1.5),
    cue("capacity building", 2.0),
    cue("capacity development", 2.0),
    cue(
        "build|builds|building|built|strengthen|strengthens|strengthened|strengthening|develop|developed ~ \
         capacity",
        1.5,
    ),
    cue("partnership|partner", 1.0),
    cue("grant", 1.0),
    cue("in kind", 1.0),
    cue("training", 0.5),
    cue("exchange|exchanged|sharing|share|shared ~ experience|expertise|practice|knowledge|lesson", 1.0),
    cue("resource mobilisation|mobilization", 1.5),
    cue("development cooperation", 1.5),
    cue("official development assistance", 1.5),
    cue("AECID|USAID|JICA|GIZ|DFID", 1.5),
    cue("norad", 1.5),
    cue("article 6", 1.5),
];

/// Transparency (Article 7) and national implementation measures (Article 9).
const TRANSPARENCY: &[CueDef] = &[
    cue("article 7", 2.5),
    cue("article 9", 2.5),
    cue("transparency report*", 2.5),
    cue("transparency", 1.5),
    cue("national legislation", 2.0),
    cue("legislation|legislative", 1.0),
    cue("national law", 1.5),
    cue("penal|criminal code", 1.5),
    cue("penal|criminal sanction|offence|offense", 1.5),
    cue("national implementation", 1.5),
    cue("national implementation measure", 2.0),
    cue("implementation measure", 2.0),
    cue("national authority", 2.0),
    cue("focal point", 1.0),
    cue("ratification|ratified|ratify|accession|acceded", 1.0),
    cue("decree", 1.0),
    cue("reporting obligation", 1.5),
    cue("compliance", 1.0),
    cue("parliament", 0.7),
];

/// Boilerplate consumed before the area cues: the names of the bodies that asked for the catalogue.
const BOILERPLATE: &[CueDef] = &[
    ignore("working group on|for ~ cooperation and assistance"),
    ignore("committee|coordinator on|for|of ~ cooperation and assistance"),
];

const AREA_CUES: [(Area, &[CueDef]); 6] = [
    (Area::Clearance, CLEARANCE),
    (Area::StockpileDestruction, STOCKPILE),
    (Area::VictimAssistance, VICTIM),
    (Area::RiskEducation, RISK),
    (Area::CooperationAndAssistance, COOPERATION),
    (Area::TransparencyAndNationalImplementation, TRANSPARENCY),
];

/// The modalities the call names, in the order of [`MODALITY_CUES`].
fn known_modalities() -> [Modality; 5] {
    [Modality::Bilateral, Modality::Regional, Modality::Multilateral, Modality::SouthSouth, Modality::Triangular]
}

/// On a tie, the more specific modality wins: triangular, South-South, regional, bilateral, multilateral.
const MODALITY_RANK: [u8; 5] = [3, 2, 4, 1, 0];

const MODALITY_CUES: [(usize, &[CueDef]); 5] = [
    (
        0,
        &[
            cue("bilateral|bilaterally", 2.5),
            cue("between the government|governments of", 2.0),
            cue("government to government", 1.5),
            cue("memorandum of understanding", 0.7),
            cue("embassy", 0.7),
        ],
    ),
    (
        1,
        &[
            cue("regional", 0.7),
            cue(
                "regional cooperation|programme|program|project|initiative|organisation|organization|body|\
                 centre|center|approach|workshop|seminar|conference|meeting|network|level",
                1.5,
            ),
            cue("ASEAN|ECOWAS|SADC|OSCE|CARICOM|SICA|ARMAC|OAS", 2.0),
            cue("african union", 2.0),
            cue("organization|organisation of american states", 2.0),
            cue("league of arab states", 2.0),
            cue("arab league", 2.0),
            cue("pacific islands forum", 2.0),
            cue("neighbouring|neighboring country|state", 1.0),
            cue("cross border", 1.0),
        ],
    ),
    (
        2,
        &[
            cue("multilateral|multilaterally", 2.5),
            cue("united nations", 1.5),
            cue("UN", 1.0),
            cue("UNDP|UNMAS|UNICEF|UNOPS|UNHCR|UNODA", 2.0),
            cue("trust fund", 2.0),
            cue("world bank", 1.5),
            cue("international organisation|organization", 1.0),
        ],
    ),
    (
        3,
        &[
            cue("south south", 2.5),
            cue("cooperation among developing countries", 2.0),
            cue("horizontal cooperation", 1.5),
        ],
    ),
    (4, &[cue("triangular", 2.5), cue("trilateral", 2.0), cue("tripartite", 1.5)]),
];

// ---------------------------------------------------------------------------------------------------------
// Words.

struct Token<'a> {
    raw: &'a str,
    lower: Cow<'a, str>,
    start: usize,
    end: usize,
    /// A sentence end or a blank line lies between this word and the previous one.
    break_before: bool,
}

/// The text's words: maximal runs of letters and digits ("South-South" is two words, "1,200" two numbers).
fn tokenize(text: &str) -> Vec<Token<'_>> {
    fn push<'a>(text: &'a str, start: usize, end: usize, prev_end: usize, tokens: &mut Vec<Token<'a>>) {
        let raw = &text[start..end];
        let lower = if raw.chars().any(char::is_uppercase) { Cow::Owned(raw.to_lowercase()) } else { raw.into() };
        let break_before = !tokens.is_empty() && is_break(&text[prev_end..start]);
        tokens.push(Token { raw, lower, start, end, break_before });
    }
    let mut tokens = Vec::with_capacity(text.len() / 6);
    let (mut start, mut prev_end) = (None, 0);
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            push(text, s, i, prev_end, &mut tokens);
            prev_end = i;
        }
    }
    if let Some(s) = start {
        push(text, s, text.len(), prev_end, &mut tokens);
    }
    tokens
}

/// Whether the characters between two words end a sentence: "!", "?", ";", a full stop before a space (not
/// the one in "3.3"), or a blank line.
fn is_break(between: &str) -> bool {
    let mut newlines = 0;
    let mut chars = between.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '!' | '?' | ';' => return true,
            '.' if chars.peek().is_some_and(|n| n.is_whitespace()) => return true,
            '\n' => newlines += 1,
            _ => {}
        }
    }
    newlines >= 2
}

// ---------------------------------------------------------------------------------------------------------
// Compiled cues and matching.

enum Alt {
    /// The word or its plural.
    Exact(String),
    /// Any word it begins.
    Prefix(String),
    /// An acronym, as written, or its plural.
    Upper(String),
}

enum Word {
    Alts(Vec<Alt>),
    Gap,
}

struct Cue {
    words: Vec<Word>,
    weight: f64,
    class: Class,
    target: usize,
    not_after: &'static [&'static str],
}

struct Lexicon {
    cues: Vec<Cue>,
    /// First words (and their plurals), lowercased, to the cues they begin.
    by_word: HashMap<String, Vec<usize>>,
    /// Cues whose first word is a prefix.
    by_prefix: Vec<(String, usize)>,
}

impl Lexicon {
    fn build(groups: &[(usize, &[CueDef])]) -> Lexicon {
        let mut lexicon = Lexicon { cues: Vec::new(), by_word: HashMap::new(), by_prefix: Vec::new() };
        for (target, defs) in groups {
            for def in *defs {
                let words: Vec<Word> = def
                    .pattern
                    .split_whitespace()
                    .map(|w| if w == "~" { Word::Gap } else { Word::Alts(w.split('|').map(alt).collect()) })
                    .collect();
                let index = lexicon.cues.len();
                if let Some(Word::Alts(first)) = words.first() {
                    for a in first {
                        match a {
                            Alt::Prefix(p) => lexicon.by_prefix.push((p.clone(), index)),
                            Alt::Exact(w) | Alt::Upper(w) => {
                                for key in inflections(&w.to_lowercase()) {
                                    let list = lexicon.by_word.entry(key).or_default();
                                    if !list.contains(&index) {
                                        list.push(index);
                                    }
                                }
                            }
                        }
                    }
                }
                lexicon.cues.push(Cue {
                    words,
                    weight: def.weight,
                    class: def.class,
                    target: *target,
                    not_after: def.not_after,
                });
            }
        }
        lexicon
    }
}

fn alt(word: &str) -> Alt {
    if let Some(stem) = word.strip_suffix('*') {
        Alt::Prefix(stem.to_lowercase())
    } else if word.len() > 1 && word.chars().all(|c| c.is_uppercase() || c.is_ascii_digit()) {
        Alt::Upper(word.to_string())
    } else {
        Alt::Exact(word.to_lowercase())
    }
}

fn inflections(word: &str) -> Vec<String> {
    let mut forms = vec![word.to_string(), format!("{word}s"), format!("{word}es")];
    if let Some(stem) = word.strip_suffix('y') {
        forms.push(format!("{stem}ies"));
    }
    forms
}

/// Whether `token` is `word` or one of its plurals.
fn inflects(token: &str, word: &str) -> bool {
    match token.strip_prefix(word) {
        Some(rest) => matches!(rest, "" | "s" | "es"),
        None => word
            .strip_suffix('y')
            .is_some_and(|stem| token.len() == stem.len() + 3 && token.starts_with(stem) && token.ends_with("ies")),
    }
}

fn alt_matches(alt: &Alt, token: &Token) -> bool {
    match alt {
        Alt::Exact(w) => inflects(&token.lower, w),
        Alt::Prefix(p) => token.lower.starts_with(p.as_str()),
        Alt::Upper(w) => inflects(token.raw, w),
    }
}

/// The end (exclusive) of `words` matched from token `at`, for a cue that began at `start`.
fn match_from(words: &[Word], tokens: &[Token], start: usize, at: usize) -> Option<usize> {
    let Some((first, rest)) = words.split_first() else { return Some(at) };
    match first {
        Word::Alts(alts) => {
            let token = tokens.get(at)?;
            if (at > start && token.break_before) || !alts.iter().any(|a| alt_matches(a, token)) {
                return None;
            }
            match_from(rest, tokens, start, at + 1)
        }
        Word::Gap => {
            for skip in 0..=MAX_GAP {
                if skip > 0 {
                    let skipped = at + skip - 1;
                    if tokens.get(skipped).is_none_or(|t| skipped > start && t.break_before) {
                        break;
                    }
                }
                if let Some(end) = match_from(rest, tokens, start, at + skip) {
                    return Some(end);
                }
            }
            None
        }
    }
}

/// A cue found: its index and the tokens it spans.
struct Hit {
    cue: usize,
    start: usize,
    end: usize,
}

/// The cues of `lexicon` in `tokens`, left to right, the longest at each place; ignored cues are consumed
/// and not returned. The words a cue's `~` skipped are scanned too ("sharing humanitarian demining expertise"
/// is an exchange of expertise and a demining cue), but the words after the `~` are not matched again.
fn scan(lexicon: &Lexicon, tokens: &[Token]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut i = 0;
    // The words after a gap, from..to: cues inside the gap end before them, and the scan jumps over them.
    let mut fence: Option<(usize, usize)> = None;
    while i < tokens.len() {
        if let Some((from, to)) = fence {
            if i >= from {
                i = to;
                fence = None;
                continue;
            }
        }
        let limit = fence.map_or(tokens.len(), |(from, _)| from);
        let token = &tokens[i];
        let exact = lexicon.by_word.get(token.lower.as_ref()).map(Vec::as_slice).unwrap_or_default();
        let prefixed = lexicon.by_prefix.iter().filter(|(p, _)| token.lower.starts_with(p.as_str())).map(|(_, c)| c);
        let mut best: Option<(usize, usize)> = None;
        for &c in exact.iter().chain(prefixed) {
            let cue = &lexicon.cues[c];
            if i > 0 && !token.break_before && cue.not_after.contains(&tokens[i - 1].lower.as_ref()) {
                continue;
            }
            if let Some(end) = match_from(&cue.words, &tokens[..limit], i, i) {
                if best.is_none_or(|(e, b)| end > e || (end == e && c < b)) {
                    best = Some((end, c));
                }
            }
        }
        let Some((end, c)) = best else {
            i += 1;
            continue;
        };
        let cue = &lexicon.cues[c];
        if cue.class != Class::Ignore {
            hits.push(Hit { cue: c, start: i, end });
        }
        match cue.words.iter().position(|w| matches!(w, Word::Gap)) {
            Some(gap) if fence.is_none() => {
                fence = Some((end - (cue.words.len() - gap - 1), end));
                i += gap;
            }
            _ => i = end,
        }
    }
    hits
}

/// A cue's occurrences in one source: how many, and the bytes of the first.
struct Tally {
    count: u32,
    first: (usize, usize),
}

fn tally(hits: &[Hit], tokens: &[Token]) -> BTreeMap<usize, Tally> {
    let mut tallies: BTreeMap<usize, Tally> = BTreeMap::new();
    for hit in hits {
        let first = (tokens[hit.start].start, tokens[hit.end - 1].end);
        tallies.entry(hit.cue).or_insert(Tally { count: 0, first }).count += 1;
    }
    tallies
}

struct Source<'a, 't> {
    kind: EvidenceSource,
    text: &'a str,
    tokens: &'t [Token<'a>],
    /// What one unit of cue weight adds to a score's sum.
    factor: f64,
}

fn evidence(source: EvidenceSource, text: &str, count: u32, (start, end): (usize, usize)) -> Evidence {
    Evidence { phrase: collapse(&text[start..end]), source, count, excerpt: excerpt(text, start, end) }
}

fn saturate(sum: f64) -> f64 {
    let score = 1.0 - (-sum / SATURATION).exp();
    (score * 1000.0).round() / 1000.0
}

fn area_lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut groups: Vec<(usize, &[CueDef])> = vec![(usize::MAX, BOILERPLATE)];
        groups.extend(AREA_CUES.iter().map(|(area, defs)| (*area as usize, *defs)));
        Lexicon::build(&groups)
    })
}

fn modality_lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| Lexicon::build(&MODALITY_CUES))
}

/// Evidence with its sort key: source, then weighted count (descending), then position.
struct Ranked {
    weight: f64,
    position: usize,
    evidence: Evidence,
}

fn sorted(mut ranked: Vec<Ranked>) -> Vec<Evidence> {
    ranked.sort_by(|a, b| {
        (a.evidence.source as u8)
            .cmp(&(b.evidence.source as u8))
            .then(b.weight.total_cmp(&a.weight))
            .then(a.position.cmp(&b.position))
    });
    ranked.into_iter().take(MAX_EVIDENCE).map(|r| r.evidence).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Areas.

fn areas(sources: &[Source]) -> Vec<AreaSuggestion> {
    let lexicon = area_lexicon();
    let tallies: Vec<BTreeMap<usize, Tally>> =
        sources.iter().map(|s| tally(&scan(lexicon, s.tokens), s.tokens)).collect();
    let mut suggestions = Vec::new();
    for area in Area::ALL {
        let (mut sum, mut title_cue) = (0.0, false);
        let (mut strong, mut weak) = (BTreeSet::new(), BTreeSet::new());
        let mut ranked = Vec::new();
        for (source, tallies) in sources.iter().zip(&tallies) {
            for (&c, t) in tallies.iter().filter(|(&c, _)| lexicon.cues[c].target == area as usize) {
                let cue = &lexicon.cues[c];
                let weight = cue.weight * f64::from(t.count);
                sum += weight * source.factor;
                if cue.class == Class::Strong {
                    strong.insert(c);
                    title_cue |= source.kind == EvidenceSource::Title;
                } else {
                    weak.insert(c);
                }
                ranked.push(Ranked {
                    weight,
                    position: t.first.0,
                    evidence: evidence(source.kind, source.text, t.count, t.first),
                });
            }
        }
        let score = saturate(sum);
        let enough = title_cue || (!strong.is_empty() && strong.len() + weak.len() >= MIN_DISTINCT_CUES);
        if score >= AREA_THRESHOLD && enough {
            suggestions.push(AreaSuggestion { area, score, evidence: sorted(ranked) });
        }
    }
    suggestions.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.area.cmp(&b.area)));
    suggestions
}

// ---------------------------------------------------------------------------------------------------------
// Modality and role.

fn modality(input: &Input, sources: &[Source]) -> Option<ModalitySuggestion> {
    let lexicon = modality_lexicon();
    let mut sums = [0.0; 5];
    let mut ranked: [Vec<Ranked>; 5] = Default::default();
    for source in sources {
        for (c, t) in tally(&scan(lexicon, source.tokens), source.tokens) {
            let cue = &lexicon.cues[c];
            let weight = cue.weight * f64::from(t.count);
            sums[cue.target] += weight * source.factor;
            ranked[cue.target].push(Ranked {
                weight,
                position: t.first.0,
                evidence: evidence(source.kind, source.text, t.count, t.first),
            });
        }
    }
    let scores = sums.map(saturate);
    let better = |a: usize, b: usize, score: &[f64; 5]| {
        score[a] > score[b] || (score[a] == score[b] && MODALITY_RANK[a] < MODALITY_RANK[b])
    };

    let (chosen, score, mut found) = match metadata_modality(input.modality) {
        Some((m, evidence)) => (m, 1.0 - (1.0 - METADATA_SCORE) * (1.0 - scores[m]), evidence),
        None => {
            let best = (0..5).reduce(|a, b| if better(b, a, &scores) { b } else { a })?;
            if scores[best] < MODALITY_THRESHOLD {
                return None;
            }
            (best, scores[best], Vec::new())
        }
    };
    found.extend(sorted(std::mem::take(&mut ranked[chosen])));
    let role = role(input, &sources[1]).map(|(role, evidence)| {
        found.extend(evidence);
        role.as_str().to_string()
    });
    Some(ModalitySuggestion {
        modality: known_modalities()[chosen].as_str().to_string(),
        role,
        score: (score * 1000.0).round() / 1000.0,
        evidence: found,
    })
}

/// The modality the CSV names: one of the five words, else the modality cues among its free words.
fn metadata_modality(value: Option<&str>) -> Option<(usize, Vec<Evidence>)> {
    let value = value?.trim();
    let known = known_modalities();
    match Modality::from_str(value) {
        Ok(Modality::Other(_)) => {}
        Ok(m) => {
            let index = known.iter().position(|k| *k == m)?;
            let evidence = evidence(EvidenceSource::Metadata, value, 1, (0, value.len()));
            return Some((index, vec![evidence]));
        }
        Err(_) => return None,
    }
    let lexicon = modality_lexicon();
    let tokens = tokenize(value);
    let tallies = tally(&scan(lexicon, &tokens), &tokens);
    let mut sums = [0.0; 5];
    for (&c, t) in &tallies {
        sums[lexicon.cues[c].target] += lexicon.cues[c].weight * f64::from(t.count);
    }
    let best = (0..5).filter(|&m| sums[m] > 0.0).reduce(|a, b| {
        if sums[b] > sums[a] || (sums[b] == sums[a] && MODALITY_RANK[b] < MODALITY_RANK[a]) {
            b
        } else {
            a
        }
    })?;
    let evidence = tallies
        .iter()
        .filter(|(&c, _)| lexicon.cues[c].target == best)
        .map(|(_, t)| evidence(EvidenceSource::Metadata, value, t.count, t.first))
        .collect();
    Some((best, evidence))
}

const DONOR_WORDS: &[&str] = &["donor", "donors", "provider", "providers", "funder", "funders", "giver"];
const RECIPIENT_WORDS: &[&str] = &["recipient", "recipients", "beneficiary", "beneficiaries", "receiver"];
const FILLERS: &[&str] = &[
    "have",
    "has",
    "had",
    "also",
    "then",
    "generously",
    "jointly",
    "successfully",
    "further",
    "directly",
    "already",
    "recently",
    "kindly",
    "will",
    "would",
    "was",
    "were",
    "is",
    "are",
    "been",
    "be",
];
const BE: &[&str] = &["was", "were", "is", "are", "been", "be"];
const DONOR_VERBS: &[&str] = &[
    "funded",
    "financed",
    "donated",
    "provided",
    "contributed",
    "granted",
    "sponsored",
    "supported",
    "sent",
    "fund",
    "funds",
    "finance",
    "finances",
    "donate",
    "donates",
    "provide",
    "provides",
    "contribute",
    "contributes",
    "support",
    "supports",
    "offered",
    "offers",
];
const RECIPIENT_VERBS: &[&str] = &[
    "received",
    "receive",
    "receives",
    "receiving",
    "benefited",
    "benefitted",
    "benefit",
    "benefits",
    "benefiting",
    "benefitting",
    "obtained",
    "requested",
];
/// After "was", "were", ...: the subject was given something.
const PASSIVE_VERBS: &[&str] =
    &["funded", "financed", "supported", "assisted", "helped", "sponsored", "trained", "equipped", "provided"];
/// "funded by X", "sponsored by X".
const AGENT_VERBS: &[&str] =
    &["funded", "financed", "sponsored", "donated", "supported", "paid", "assisted", "provided", "granted"];
/// "funding from X", "the support of X".
const AGENT_NOUNS: &[&str] = &[
    "funding",
    "funds",
    "support",
    "assistance",
    "contribution",
    "contributions",
    "grant",
    "grants",
    "donation",
    "donations",
    "help",
    "financing",
    "aid",
];
const AGENT_SKIP: &[&str] = &["the", "government", "governments", "of", "people", "generous", "kind"];

/// The role the CSV names (also in free words: "provider of expertise"), else the one the text's phrases
/// point to, with the evidence for it.
fn role(input: &Input, text: &Source) -> Option<(Role, Vec<Evidence>)> {
    if let Some(value) = input.role.map(str::trim).filter(|v| !v.is_empty()) {
        let named = Role::from_str(value).ok().or_else(|| {
            let tokens = tokenize(value);
            let has = |words: &[&str]| tokens.iter().any(|t| words.contains(&t.lower.as_ref()));
            match (has(DONOR_WORDS), has(RECIPIENT_WORDS), has(&["both"])) {
                (true, true, _) | (_, _, true) => Some(Role::Both),
                (true, false, _) => Some(Role::Donor),
                (false, true, _) => Some(Role::Recipient),
                _ => None,
            }
        });
        if let Some(named) = named {
            let mut found = vec![evidence(EvidenceSource::Metadata, value, 1, (0, value.len()))];
            let (donor, recipient) = role_phrases(input.state, text);
            let agree: Vec<Ranked> = match named {
                Role::Donor => donor,
                Role::Recipient => recipient,
                Role::Both => donor.into_iter().chain(recipient).collect(),
            };
            found.extend(sorted(agree));
            return Some((named, found));
        }
    }
    let (donor, recipient) = role_phrases(input.state, text);
    let count = |r: &[Ranked]| r.iter().map(|r| r.evidence.count).sum::<u32>();
    let (d, r) = (count(&donor), count(&recipient));
    let role = match (d, r) {
        (0, 0) => return None,
        (_, 0) => Role::Donor,
        (0, _) => Role::Recipient,
        _ if d >= 2 * r => Role::Donor,
        _ if r >= 2 * d => Role::Recipient,
        _ => Role::Both,
    };
    let chosen = match role {
        Role::Donor => donor,
        Role::Recipient => recipient,
        Role::Both => donor.into_iter().chain(recipient).collect(),
    };
    Some((role, sorted(chosen)))
}

/// The text's donor and recipient phrases, grouped by what they say (lowercased).
fn role_phrases(state: &str, text: &Source) -> (Vec<Ranked>, Vec<Ranked>) {
    let state: Vec<String> = tokenize(state).iter().map(|t| t.lower.to_string()).collect();
    let tokens = text.tokens;
    let lower = |i: usize| tokens.get(i).map(|t| t.lower.as_ref());
    let joined = |i: usize| tokens.get(i).is_some_and(|t| !t.break_before);
    let is_state = |i: usize| {
        !state.is_empty()
            && state.iter().enumerate().all(|(k, w)| lower(i + k) == Some(w.as_str()) && (k == 0 || joined(i + k)))
    };

    let mut found: Vec<(Role, String, Tally)> = Vec::new();
    let mut record = |role: Role, start: usize, end: usize| {
        let phrase = collapse(&text.text[tokens[start].start..tokens[end - 1].end]).to_lowercase();
        match found.iter_mut().find(|(r, p, _)| *r == role && *p == phrase) {
            Some((_, _, t)) => t.count += 1,
            None => found.push((role, phrase, Tally { count: 1, first: (tokens[start].start, tokens[end - 1].end) })),
        }
    };

    let mut i = 0;
    while i < tokens.len() {
        // A subject ("we", "our government", the State) and its verb.
        let subject = match lower(i) {
            Some("we") => 1,
            Some("our") if matches!(lower(i + 1), Some("government" | "country" | "ministry" | "state")) => 2,
            _ if is_state(i) => state.len(),
            _ => 0,
        };
        if subject > 0 {
            let (mut j, mut passive) = (i + subject, false);
            while j < i + subject + 3 && joined(j) && lower(j).is_some_and(|w| FILLERS.contains(&w)) {
                passive |= lower(j).is_some_and(|w| BE.contains(&w));
                j += 1;
            }
            let verb = if joined(j) { lower(j) } else { None };
            let role = match verb {
                Some(v) if passive && PASSIVE_VERBS.contains(&v) => Some(Role::Recipient),
                Some(v) if !passive && DONOR_VERBS.contains(&v) => Some(Role::Donor),
                Some(v) if RECIPIENT_VERBS.contains(&v) => Some(Role::Recipient),
                _ => None,
            };
            if let Some(role) = role {
                record(role, i, j + 1);
                i = j + 1;
                continue;
            }
        }
        // An agent: "funded by Spain", "funding from the Government of Spain".
        let agent_link = match (lower(i), lower(i + 1)) {
            (Some(v), Some("by")) => AGENT_VERBS.contains(&v),
            (Some(n), Some("from" | "of")) => AGENT_NOUNS.contains(&n),
            _ => false,
        };
        if agent_link && joined(i + 1) {
            let mut k = i + 2;
            while k < i + 6 && joined(k) && lower(k).is_some_and(|w| AGENT_SKIP.contains(&w)) {
                k += 1;
            }
            if joined(k) {
                let role = if is_state(k) {
                    Some((Role::Donor, k + state.len()))
                } else if matches!(lower(k), Some("us" | "our")) {
                    Some((Role::Donor, k + 1))
                } else if tokens[k].raw.chars().next().is_some_and(char::is_uppercase) {
                    Some((Role::Recipient, k + 1))
                } else {
                    None
                };
                if let Some((role, end)) = role {
                    record(role, i, end);
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }

    let (mut donor, mut recipient) = (Vec::new(), Vec::new());
    for (role, _, t) in found {
        let ranked = Ranked {
            weight: f64::from(t.count),
            position: t.first.0,
            evidence: evidence(text.kind, text.text, t.count, t.first),
        };
        if role == Role::Donor {
            donor.push(ranked)
        } else {
            recipient.push(ranked)
        }
    }
    (donor, recipient)
}

// ---------------------------------------------------------------------------------------------------------
// Excerpts.

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// About [`EXCERPT_CHARS`] characters around `text[start..end]`, whitespace collapsed, cut on whole words
/// where it can, with "…" where the text goes on.
fn excerpt(text: &str, start: usize, end: usize) -> String {
    let hit = collapse(&text[start..end]);
    let hit_chars = hit.chars().count();
    if hit_chars + 2 >= EXCERPT_CHARS {
        return hit.chars().take(EXCERPT_CHARS).collect();
    }
    let room = (EXCERPT_CHARS - hit_chars - 2) / 2;

    // Walk back `room` collapsed characters, then forward past a cut word.
    let mut from = last_within(text[..start].char_indices().rev(), room).map_or(start, |(i, _)| i);
    if from > 0 && !text[..from].ends_with(char::is_whitespace) {
        if let Some(space) = text[from..start].find(char::is_whitespace) {
            from += space;
        }
    }

    // Walk forward `room` collapsed characters, then back before a cut word.
    let mut to = last_within(text[end..].char_indices(), room).map_or(end, |(i, c)| end + i + c.len_utf8());
    if to < text.len() && !text[to..].starts_with(char::is_whitespace) {
        if let Some(space) = text[end..to].rfind(char::is_whitespace) {
            to = end + space;
        }
    }

    let mut out = String::new();
    if !text[..from].trim().is_empty() {
        out.push('…');
    }
    out.push_str(&collapse(&text[from..to]));
    if !text[to..].trim().is_empty() {
        out.push('…');
    }
    out
}

/// The last of `chars` within `room` characters, each run of white space counted as one.
fn last_within(chars: impl Iterator<Item = (usize, char)>, room: usize) -> Option<(usize, char)> {
    let (mut taken, mut was_space, mut last) = (0, false, None);
    for (i, c) in chars {
        let space = c.is_whitespace();
        if !(space && was_space) {
            taken += 1;
        }
        if taken > room {
            break;
        }
        was_space = space;
        last = Some((i, c));
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(title: &'a str, text: &'a str) -> Input<'a> {
        Input { title, text, modality: None, role: None, state: "" }
    }

    /// The invariants every classification keeps, whatever the text.
    fn checked(input: &Input) -> Classification {
        let c = classify(input);
        for s in &c.areas {
            assert!(!s.evidence.is_empty(), "{:?} has no evidence", s.area);
            assert!((AREA_THRESHOLD..=1.0).contains(&s.score), "{s:?}");
        }
        assert!(c.areas.windows(2).all(|w| w[0].score >= w[1].score), "{c:?}");
        if let Some(m) = &c.modality {
            assert!(!m.evidence.is_empty() && (0.0..=1.0).contains(&m.score), "{m:?}");
            assert!(known_modalities().iter().any(|k| k.as_str() == m.modality), "{m:?}");
        }
        for e in c.areas.iter().flat_map(|s| &s.evidence).chain(c.modality.iter().flat_map(|m| &m.evidence)) {
            assert!(e.count >= 1 && !e.phrase.is_empty(), "{e:?}");
            assert!(e.excerpt.chars().count() <= EXCERPT_CHARS, "{e:?}");
            assert!(!e.excerpt.contains("  ") && !e.excerpt.contains('\n'), "{e:?}");
            let phrase = e.phrase.to_lowercase();
            assert!(e.excerpt.to_lowercase().contains(&phrase), "the excerpt shows the phrase: {e:?}");
        }
        assert_eq!(&classify(input), &c, "deterministic");
        c
    }

    fn areas_of(c: &Classification) -> Vec<Area> {
        c.areas.iter().map(|s| s.area).collect()
    }

    fn assert_none_of<const N: usize>(c: &Classification, wrong: [Area; N]) {
        for area in wrong {
            assert!(!areas_of(c).contains(&area), "{area:?} in {c:#?}");
        }
    }

    fn find<'c>(c: &'c Classification, area: Area, phrase: &str) -> &'c Evidence {
        let s = c.areas.iter().find(|s| s.area == area).unwrap_or_else(|| panic!("no {area:?} in {c:?}"));
        s.evidence
            .iter()
            .find(|e| e.phrase.eq_ignore_ascii_case(phrase))
            .unwrap_or_else(|| panic!("no '{phrase}' in {:?}", s.evidence))
    }

    const LEBANON: &str = "Between 2009 and 2011 the Lebanon Mine Action Centre coordinated battle area \
        clearance in the south of the country. Thanks to funding from the Government of Spain, two teams \
        cleared 1.2 million square metres of land contaminated by unexploded submunitions. Technical survey \
        and land release procedures allowed farmers to return to their orchards. Lebanon received detectors \
        and vehicles, and the project was carried out under a bilateral agreement between the Government \
        of Spain and the Government of Lebanon.";

    #[test]
    fn a_clearance_project_funded_by_spain() {
        let c = checked(&Input {
            title: "Clearing cluster munition strike areas in South Lebanon",
            text: LEBANON,
            modality: Some("bilateral"),
            role: Some("recipient"),
            state: "Lebanon",
        });
        assert_eq!(c.areas[0].area, Area::Clearance, "{c:#?}");
        assert_eq!(c.areas[0].evidence[0].source, EvidenceSource::Title);
        let e = find(&c, Area::Clearance, "battle area clearance");
        assert_eq!((e.source, e.count), (EvidenceSource::Text, 1));
        assert!(e.excerpt.contains("Mine Action Centre coordinated battle area clearance in the south"), "{e:?}");
        assert!(find(&c, Area::Clearance, "technical survey").excerpt.contains("land release"));
        assert_none_of(&c, [Area::StockpileDestruction, Area::VictimAssistance, Area::RiskEducation]);
        let m = c.modality.as_ref().expect("a modality");
        assert_eq!((m.modality.as_str(), m.role.as_deref()), ("bilateral", Some("recipient")));
        assert_eq!(m.evidence[0].source, EvidenceSource::Metadata);
        assert!(m.evidence.iter().any(|e| e.phrase == "bilateral" && e.source == EvidenceSource::Text));
        assert!(m.evidence.iter().any(|e| e.phrase == "Lebanon received"), "{m:#?}");
        assert!(m.score > METADATA_SCORE, "confirmed by the text: {m:?}");
    }

    #[test]
    fn the_same_project_without_csv_words_infers_them_from_the_text() {
        let c = checked(&Input { title: "", text: LEBANON, modality: None, role: None, state: "Lebanon" });
        let m = c.modality.expect("a modality");
        assert_eq!((m.modality.as_str(), m.role.as_deref()), ("bilateral", Some("recipient")), "{m:#?}");
        assert!(m.evidence.iter().all(|e| e.source == EvidenceSource::Text));
        assert!(m.evidence.iter().any(|e| e.phrase == "funding from the Government of Spain"), "{m:#?}");
        // Written by Spain, the same words make Spain the donor.
        let c = checked(&Input { title: "", text: LEBANON, modality: None, role: None, state: "Spain" });
        let m = c.modality.expect("a modality");
        assert_eq!(m.role.as_deref(), Some("donor"), "Spain funded (\"Lebanon received\" is not Spain's): {m:#?}");
        assert!(m.evidence.iter().any(|e| e.phrase == "funding from the Government of Spain"));
    }

    #[test]
    fn a_survivors_testimonial() {
        let c = checked(&input(
            "Testimonial of a survivor",
            "I was injured by a cluster submunition in 2008 while working in the rice fields, and I lost my \
             left leg. At the rehabilitation centre in Vientiane I received a prosthesis and physiotherapy. \
             Peer support from other survivors and psychosocial counselling helped me to go back to my \
             family. Today I work with an association of persons with disabilities.",
        ));
        assert_eq!(areas_of(&c), vec![Area::VictimAssistance], "{c:#?}");
        let e = find(&c, Area::VictimAssistance, "survivor");
        assert_eq!((e.source, e.excerpt.as_str()), (EvidenceSource::Title, "Testimonial of a survivor"));
        let e = find(&c, Area::VictimAssistance, "prosthesis");
        assert!(e.excerpt.contains("I received a prosthesis and physiotherapy"), "{e:?}");
        assert!(find(&c, Area::VictimAssistance, "psychosocial").count == 1);
        assert!(c.modality.is_none(), "{c:#?}");
    }

    #[test]
    fn a_stockpile_destruction_report() {
        let c = checked(&Input {
            title: "Destruction of our stockpile of cluster munitions",
            text: "In accordance with Article 3 of the Convention, the Armed Forces destroyed 52,000 cluster \
                   munitions containing 3.3 million submunitions between 2009 and 2010, well before the \
                   deadline. The stockpile was dismantled at a demilitarisation facility, and the explosive \
                   was recycled. We provided technical expertise to other States Parties.",
            modality: None,
            role: None,
            state: "Norway",
        });
        assert_eq!(c.areas[0].area, Area::StockpileDestruction, "{c:#?}");
        let e = find(&c, Area::StockpileDestruction, "Destruction of our stockpile");
        assert_eq!(e.source, EvidenceSource::Title);
        let e = find(&c, Area::StockpileDestruction, "destroyed 52,000 cluster munitions");
        assert!(e.excerpt.contains("the Armed Forces destroyed 52,000 cluster munitions containing"), "{e:?}");
        assert!(find(&c, Area::StockpileDestruction, "demilitarisation").count == 1);
        assert_none_of(&c, [Area::Clearance, Area::VictimAssistance, Area::RiskEducation]);
    }

    #[test]
    fn a_risk_education_programme_in_schools() {
        let c = checked(&input(
            "",
            "The mine risk education programme reached 120 schools in the three districts most affected. \
             Teachers were trained to deliver MRE sessions, and pupils learned safe behaviour: do not touch, \
             mark the place, tell an adult. Awareness campaigns on the radio and leaflets reached the \
             families of farmers and shepherds.",
        ));
        assert_eq!(areas_of(&c)[0], Area::RiskEducation, "{c:#?}");
        let e = find(&c, Area::RiskEducation, "mine risk education");
        assert!(e.excerpt.starts_with("The mine risk education programme reached 120 schools"), "{e:?}");
        assert_eq!(find(&c, Area::RiskEducation, "schools").count, 1);
        assert_eq!(find(&c, Area::RiskEducation, "MRE").count, 1);
        assert_none_of(&c, [Area::Clearance, Area::StockpileDestruction, Area::VictimAssistance]);
    }

    #[test]
    fn an_article_7_report_on_national_legislation() {
        let c = checked(&input(
            "National implementation of the Convention",
            "Peru submitted its initial Article 7 transparency report in 2013. The report describes the \
             national legislation adopted under Article 9: a law that makes the use, production and transfer \
             of cluster munitions a criminal offence, with penal sanctions. A national authority coordinates \
             the implementation measures and the annual reports.",
        ));
        assert_eq!(areas_of(&c), vec![Area::TransparencyAndNationalImplementation], "{c:#?}");
        let e = find(&c, Area::TransparencyAndNationalImplementation, "national implementation");
        assert_eq!(e.source, EvidenceSource::Title);
        let e = find(&c, Area::TransparencyAndNationalImplementation, "Article 7");
        assert!(e.excerpt.contains("Peru submitted its initial Article 7 transparency report"), "{e:?}");
        assert_eq!(find(&c, Area::TransparencyAndNationalImplementation, "national authority").count, 1);
    }

    #[test]
    fn south_south_cooperation_named_in_free_words() {
        let c = checked(&Input {
            title: "Sharing humanitarian demining expertise with Ecuador",
            text: "Under South-South cooperation, Colombia shared its experience in humanitarian demining with \
                   the Ecuadorian army. We provided training to 40 deminers and advised on land release; \
                   capacity building continued through exchanges of expertise between the two national \
                   mine action authorities.",
            modality: Some("South South cooperation with Ecuador"),
            role: Some("provider of expertise"),
            state: "Colombia",
        });
        let areas = areas_of(&c);
        assert_eq!(areas[0], Area::Clearance, "{c:#?}");
        assert!(areas.contains(&Area::CooperationAndAssistance), "{c:#?}");
        assert!(find(&c, Area::CooperationAndAssistance, "capacity building").excerpt.contains("land release;"));
        let m = c.modality.expect("a modality");
        assert_eq!((m.modality.as_str(), m.role.as_deref()), ("south-south", Some("donor")), "{m:#?}");
        let e = &m.evidence[0];
        assert_eq!((e.source, e.phrase.as_str()), (EvidenceSource::Metadata, "South South"));
        assert_eq!(e.excerpt, "South South cooperation with Ecuador");
        assert!(m.evidence.iter().any(|e| e.source == EvidenceSource::Text && e.phrase == "South-South"));
        assert!(m.evidence.iter().any(|e| e.source == EvidenceSource::Metadata && e.phrase == "provider of expertise"));
        assert!(m.evidence.iter().any(|e| e.phrase == "We provided"), "{m:#?}");
    }

    #[test]
    fn triangular_cooperation_and_the_donor_role_from_the_text_alone() {
        let c = checked(&Input {
            title: "",
            text: "Spain funded a triangular cooperation project in which Chilean experts trained the \
                   national authority of Guatemala in victim assistance and in the rehabilitation of \
                   survivors.",
            modality: Some("  "),
            role: None,
            state: "Spain",
        });
        let m = c.modality.as_ref().expect("a modality");
        assert_eq!((m.modality.as_str(), m.role.as_deref()), ("triangular", Some("donor")), "{m:#?}");
        assert!(m.evidence.iter().any(|e| e.phrase == "triangular" && e.excerpt.contains("Spain funded a triangular")));
        assert!(m.evidence.iter().any(|e| e.phrase == "Spain funded"));
        assert!(areas_of(&c).contains(&Area::VictimAssistance), "{c:#?}");
    }

    #[test]
    fn a_text_without_cues_suggests_nothing() {
        let c = checked(&Input {
            title: "Statement at the Meeting of States Parties",
            text: "The weather in Geneva was pleasant. The delegates enjoyed lunch by the lake, and it is clear \
                   that the conference room was too small. The next meeting will be held in Oslo in September.",
            modality: Some("other"),
            role: Some("unknown"),
            state: "Norway",
        });
        assert_eq!(c, Classification { areas: Vec::new(), modality: None });
        assert_eq!(checked(&input("", "")), Classification { areas: Vec::new(), modality: None });
    }

    #[test]
    fn the_working_groups_name_alone_is_not_cooperation_and_assistance() {
        let text = "As co-chairs of the Working Group on Cooperation and Assistance, Mexico and Spain thank the \
                    States Parties. Cooperation and assistance remain at the heart of the Convention, and \
                    international cooperation and assistance will be discussed in Oslo.";
        let c = checked(&input("Cooperation and assistance", text));
        assert!(c.areas.is_empty(), "{c:#?}");
        // One specific cue with the generic ones is enough.
        let funded = format!("{text} Norway funded the meeting, and the donors met there.");
        let c = checked(&input("", &funded));
        assert_eq!(areas_of(&c), vec![Area::CooperationAndAssistance], "{c:#?}");
        let s = &c.areas[0];
        assert!(s.evidence.iter().any(|e| e.phrase == "funded") && s.evidence.iter().any(|e| e.phrase == "donors"));
        assert!(s.evidence.iter().all(|e| !e.excerpt.starts_with("As co-chairs")), "the boilerplate is not evidence");
    }

    /// The seed contribution: Mexico's statement on cooperation and assistance, in Spanish (trimmed). The
    /// lexicon is English, so no area is suggested (the language rule reports the text); "cooperación
    /// triangular" still names a modality.
    const SEED_MEXICO: &str = "Cooperación y Asistencia - conclusiones y recomendaciones relacionadas al \
        mandato del Comité de Incremento de Cooperación y Asistencia\n\nGracias, señor Presidente.\n\nLa \
        asistencia y cooperación internacional requiere del compromiso compartido entre los Estados parte con \
        obligaciones y en condiciones de ofrecerlas, para asegurar la plena aplicación de la Convención. \
        Todos los Estados parte, de una manera u otra, podemos coadyuvar a la implementación de la \
        Convención.\n\nLa cooperación internacional juega un papel fundamental para avanzar en la \
        consolidación de una cultura de respeto a los principios y normas internacionales a fin de reparar \
        el daño a las víctimas y a las comunidades afectadas por las minas antipersonal.\n\nMás allá de las \
        indispensables contribuciones financieras, se tienen que explorar formas adicionales de asistencia \
        como provisión de equipos, compartir conocimientos y personal especializados e intercambio de las \
        mejores prácticas, bajo distintos esquemas como cooperación triangular y cooperación Sur-Sur.";

    #[test]
    fn the_seed_contribution_in_spanish() {
        let c = checked(&Input {
            title: "Cooperación y Asistencia",
            text: SEED_MEXICO,
            modality: None,
            role: None,
            state: "Mexico",
        });
        assert!(c.areas.is_empty(), "{c:#?}");
        let m = c.modality.expect("a modality");
        assert_eq!((m.modality.as_str(), m.role), ("triangular", None));
        let e = &m.evidence[0];
        assert_eq!((e.source, e.phrase.as_str(), e.count), (EvidenceSource::Text, "triangular", 1));
        assert!(e.excerpt.ends_with("bajo distintos esquemas como cooperación triangular y cooperación Sur-Sur."));
    }

    #[test]
    fn areas_parse_and_serialise_by_their_ids() {
        for area in Area::ALL {
            assert_eq!(Area::parse(area.as_str()), Some(area));
            assert_eq!(Area::parse(area.label()), Some(area));
            assert_eq!(serde_json::to_value(area).unwrap(), serde_json::json!(area.as_str()));
        }
        assert_eq!(Area::parse(" Victim-Assistance "), Some(Area::VictimAssistance));
        assert_eq!(Area::parse("demining"), None);
        assert_eq!(serde_json::to_value(EvidenceSource::Metadata).unwrap(), serde_json::json!("metadata"));
        let known = known_modalities();
        let names: Vec<&str> = known.iter().map(|m| m.as_str()).collect();
        assert_eq!(names, ["bilateral", "regional", "multilateral", "south-south", "triangular"]);
    }

    #[test]
    fn words_match_on_boundaries_with_plurals_and_acronyms_as_written() {
        let lexicon = area_lexicon();
        let hits = |text: &str| {
            let tokens = tokenize(text);
            scan(lexicon, &tokens)
                .iter()
                .map(|h| collapse(&text[tokens[h.start].start..tokens[h.end - 1].end]))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            hits("Victims, survivors and disabilities; nuclear clearances"),
            ["Victims", "survivors", "disabilities", "clearances"]
        );
        assert_eq!(hits("unclear victimhood, it is clear, we clear land"), ["clear"]);
        assert_eq!(hits("UXO and UXOs but not uxo"), ["UXO", "UXOs"]);
        assert_eq!(hits("the victim. Assistance"), ["victim", "Assistance"], "no phrase across a sentence end");
        assert_eq!(
            hits("sharing humanitarian demining expertise; destruction of our stockpile"),
            ["sharing humanitarian demining expertise", "demining", "destruction of our stockpile"],
            "the words a gap skips are scanned, the words after it are not matched again"
        );
        assert_eq!(hits("victim\nassistance"), ["victim\nassistance"].map(collapse));
        let tokens = tokenize("un proyecto de la ONU; UN agencies");
        assert_eq!(scan(modality_lexicon(), &tokens).len(), 1);
    }

    #[test]
    fn excerpts_are_short_cut_on_words_and_safe_on_multibyte_text() {
        let text = format!("{} la víctima {}", "ñandú é ".repeat(40), "añejo ü ".repeat(40));
        let start = text.find("víctima").unwrap_or_default();
        let e = excerpt(&text, start, start + "víctima".len());
        assert!(e.starts_with("…é ") || e.starts_with("…ñandú "), "{e}");
        assert!(e.ends_with(" añejo…") || e.ends_with(" ü…"), "{e}");
        assert!(e.contains("la víctima añejo") && e.chars().count() <= EXCERPT_CHARS, "{e}");
        assert_eq!(excerpt("  short\n\n text  ", 2, 7), "short text");
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long, 0, 500).chars().count(), EXCERPT_CHARS);
    }

    #[test]
    fn ten_pages_take_well_under_a_millisecond() {
        let page = format!("{LEBANON} {}", "The committee met again and agreed on the plan for next year. ".repeat(40));
        let text = page.repeat(10);
        let input =
            Input { title: "Ten pages", text: &text, modality: Some("bilateral"), role: None, state: "Lebanon" };
        let _ = classify(&input);
        let runs = 20;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            std::hint::black_box(classify(std::hint::black_box(&input)));
        }
        let each = started.elapsed() / runs;
        eprintln!("classify: {} words in {each:?}", tokenize(&text).len());
        assert!(each < std::time::Duration::from_millis(20), "{each:?}");
    }
}
