//! A second opinion on the language of Latin-script text, from its function words.
//!
//! whatlang scores letter trigrams, which on a sentence or two can favour a language that merely shares
//! spelling habits (plain English read as Catalan; Swahili, which whatlang does not know, read as Javanese or
//! Shona). Function words (articles, pronouns, prepositions, conjunctions) are the most frequent words of a
//! language and mostly its own, so counting them settles those cases. The lists are short on purpose: only
//! frequent words that are rare as words of the other listed languages.

/// Function words by language (ISO 639-1), lower case.
const LISTS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "of", "and", "to", "in", "on", "at", "is", "that", "for", "it", "with", "was", "be", "by", "this",
            "are", "from", "or", "have", "an", "not", "but", "which", "they", "you", "he", "she", "we", "his", "her",
            "their", "has", "had", "been", "were", "will", "would", "can", "what", "if", "me", "my", "am", "let",
            "its", "it's", "there", "about", "all", "these", "those", "than", "then", "who", "when", "where", "how",
            "our", "your", "does", "did", "should", "could", "must", "might", "into", "also", "some", "any", "only",
            "other", "such", "more", "very", "just", "like", "here", "see", "them", "him", "us", "i'm", "don't",
            "doesn't", "isn't", "after", "before", "between", "through", "under", "over", "each", "both", "many",
            "most", "because", "while", "without", "within", "upon",
        ],
    ),
    (
        "sw",
        &[
            "na", "ya", "wa", "kwa", "ni", "za", "katika", "cha", "hii", "kama", "au", "yake", "kuwa", "hiyo", "pia",
            "zaidi", "lakini", "hapa", "huo", "ambao", "ambayo", "ambaye", "kila", "mtu", "watu", "sana", "hadi",
            "baada", "kwamba", "wakati", "kutoka", "yao", "wake", "wao", "huu", "vya", "hizi", "hayo", "lake", "ili",
            "bila", "kuhusu", "juu", "chini", "yeye", "sisi", "wewe", "mimi", "hakuna", "ana", "alikuwa", "ilikuwa",
            "kuna", "haki", "hicho", "hilo", "lolote", "yoyote", "mmoja", "zake",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "des", "du", "et", "est", "une", "dans", "pour", "qui", "que", "sur", "au", "aux",
            "pas", "ne", "avec", "ce", "cette", "il", "elle", "nous", "vous", "ils", "sont", "ont", "été", "être",
            "mais", "ou", "où", "leur", "leurs", "par", "plus", "aussi", "comme", "tout", "très", "à",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "del", "y", "es", "una", "por", "para", "con", "que", "su", "sus", "se", "como",
            "pero", "más", "este", "esta", "está", "son", "fue", "ha", "han", "muy", "también", "sobre", "entre",
            "cuando", "donde", "porque", "hay", "sin", "lo", "le", "al", "ya", "yo",
        ],
    ),
    (
        "pt",
        &[
            "o", "os", "as", "do", "da", "dos", "das", "e", "é", "um", "uma", "em", "no", "na", "nos", "nas", "para",
            "com", "que", "não", "mais", "por", "se", "como", "mas", "foi", "são", "ao", "pelo", "pela", "também",
            "muito", "quando", "onde", "porque", "há", "sem", "já", "eu", "você", "ele", "ela",
        ],
    ),
    (
        "it",
        &[
            "il", "lo", "gli", "della", "delle", "degli", "dei", "del", "e", "è", "un", "una", "di", "che", "per",
            "con", "non", "sono", "nel", "nella", "alla", "al", "ma", "come", "anche", "più", "questo", "questa",
            "molto", "quando", "dove", "perché", "ci", "si", "io", "lui", "lei", "loro",
        ],
    ),
    (
        "ca",
        &[
            "el",
            "els",
            "les",
            "del",
            "dels",
            "amb",
            "és",
            "una",
            "per",
            "que",
            "però",
            "més",
            "aquest",
            "aquesta",
            "són",
            "va",
            "han",
            "molt",
            "també",
            "quan",
            "on",
            "perquè",
            "hi",
            "ho",
            "seu",
            "seva",
            "entre",
            "sobre",
            "sense",
            "jo",
            "nosaltres",
            "pel",
            "als",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "mit", "den", "dem", "ein", "eine", "zu", "von", "auf", "für",
            "sich", "auch", "es", "im", "sie", "wir", "ich", "werden", "wird", "sind", "war", "aber", "oder", "wenn",
            "nach", "bei", "aus", "noch", "nur", "über",
        ],
    ),
    (
        "nl",
        &[
            "de", "het", "een", "en", "van", "is", "dat", "niet", "met", "op", "te", "voor", "zijn", "ook", "aan",
            "er", "maar", "om", "als", "bij", "nog", "wordt", "worden", "werd", "uit", "naar", "dit", "deze", "wij",
            "ze", "hij", "ik", "kan", "door", "over",
        ],
    ),
];

/// Frequent English words beyond the function words, for [`short_text`]: greetings, time, people and the
/// words of reports, projects and cooperation that make up the titles, captions and signs of this field.
/// Written for Folio; words that are also common words of another listed language are left out.
const COMMON_EN: &[&str] = &[
    "hello",
    "hi",
    "world",
    "happy",
    "new",
    "year",
    "years",
    "day",
    "days",
    "good",
    "morning",
    "evening",
    "night",
    "thank",
    "thanks",
    "please",
    "welcome",
    "yes",
    "no",
    "great",
    "best",
    "first",
    "last",
    "next",
    "old",
    "young",
    "big",
    "small",
    "long",
    "short",
    "high",
    "low",
    "right",
    "left",
    "open",
    "closed",
    "free",
    "true",
    "false",
    "time",
    "times",
    "week",
    "month",
    "today",
    "tomorrow",
    "people",
    "person",
    "man",
    "woman",
    "men",
    "women",
    "child",
    "children",
    "family",
    "friend",
    "friends",
    "life",
    "home",
    "house",
    "school",
    "work",
    "working",
    "city",
    "country",
    "countries",
    "state",
    "states",
    "nation",
    "nations",
    "national",
    "international",
    "world's",
    "government",
    "report",
    "reports",
    "project",
    "projects",
    "programme",
    "program",
    "plan",
    "page",
    "pages",
    "text",
    "test",
    "testing",
    "tests",
    "example",
    "sample",
    "document",
    "documents",
    "file",
    "files",
    "title",
    "chapter",
    "part",
    "section",
    "table",
    "figure",
    "photo",
    "picture",
    "image",
    "map",
    "list",
    "note",
    "notes",
    "news",
    "story",
    "letter",
    "message",
    "name",
    "names",
    "number",
    "numbers",
    "date",
    "place",
    "area",
    "areas",
    "road",
    "street",
    "water",
    "land",
    "field",
    "fields",
    "help",
    "support",
    "aid",
    "assistance",
    "cooperation",
    "partnership",
    "training",
    "education",
    "health",
    "safety",
    "risk",
    "victim",
    "victims",
    "survivor",
    "survivors",
    "clearance",
    "mine",
    "mines",
    "demining",
    "cluster",
    "munitions",
    "convention",
    "treaty",
    "meeting",
    "conference",
    "working",
    "group",
    "committee",
    "council",
    "office",
    "ministry",
    "agency",
    "centre",
    "center",
    "university",
    "library",
    "hospital",
    "water",
    "food",
    "power",
    "energy",
    "money",
    "make",
    "made",
    "take",
    "taken",
    "give",
    "given",
    "get",
    "got",
    "go",
    "going",
    "come",
    "came",
    "know",
    "think",
    "say",
    "said",
    "tell",
    "ask",
    "use",
    "used",
    "find",
    "found",
    "show",
    "shown",
    "read",
    "write",
    "written",
    "learn",
    "learned",
    "build",
    "built",
    "start",
    "end",
    "stop",
    "keep",
    "need",
    "want",
    "look",
    "live",
    "love",
    "play",
    "run",
    "move",
    "change",
    "call",
    "try",
    "turn",
    "bring",
    "hold",
    "stand",
    "meet",
    "lead",
    "way",
    "ways",
    "thing",
    "things",
    "hand",
    "eye",
    "head",
    "side",
    "point",
    "case",
    "fact",
    "question",
    "problem",
    "service",
    "services",
    "system",
    "data",
    "information",
    "result",
    "results",
    "level",
    "order",
    "best",
    "practice",
    "practices",
    "lesson",
    "lessons",
    "experience",
    "story",
    "stories",
    "future",
    "past",
    "peace",
    "security",
    "human",
    "rights",
    "development",
    "community",
    "communities",
    "local",
    "public",
];

/// Words a short text needs before [`short_text`] names its language.
const SHORT_MIN_WORDS: usize = 2;
/// Words beyond which a text is not short (statistics and function words take over).
const SHORT_MAX_WORDS: usize = 12;

/// The language of a text too short for statistics (a title, a caption, a sign: "Hello World", "Happy New Year
/// 2003!"), named only when every one of its words is a frequent word of that language and of no other listed
/// language; `None` otherwise, which callers report as `und`. Numbers are skipped; a word
/// unknown anywhere (an acronym, a name) makes the answer `None`.
pub(crate) fn short_text(text: &str) -> Option<&'static str> {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|t| t.trim_matches(|c: char| c == '\'' || c == '’').replace('’', "'"))
        .filter(|t| t.chars().any(char::is_alphabetic))
        .collect();
    if words.len() < SHORT_MIN_WORDS || words.len() > SHORT_MAX_WORDS {
        return None;
    }
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let in_language = |code: &str, word: &str| {
        LISTS.iter().any(|(lang, list)| *lang == code && list.contains(&word))
            || (code == "en" && COMMON_EN.contains(&word))
    };
    let mut named = None;
    for (code, _) in LISTS {
        if lower.iter().all(|w| in_language(code, w)) {
            if named.is_some() {
                return None;
            }
            named = Some(*code);
        }
    }
    named
}

/// Each function word with the languages whose list holds it (bit `i` for `LISTS[i]`): one lookup a token,
/// where a search of every list cost most of a paragraph's detection time.
static INDEX: std::sync::LazyLock<std::collections::HashMap<&'static str, u32>> = std::sync::LazyLock::new(|| {
    assert!(LISTS.len() <= 32, "the index holds a bit a language");
    let mut index = std::collections::HashMap::new();
    for (i, (_, words)) in LISTS.iter().enumerate() {
        for word in *words {
            *index.entry(*word).or_insert(0u32) |= 1 << i;
        }
    }
    index
});

/// Tokens needed before the function words count: on fewer, one coincidence would decide.
const MIN_TOKENS: usize = 4;
/// Function words needed to name a language.
const MIN_HITS: usize = 3;
/// Share of the tokens that must be the winner's function words: prose runs at 30–50 %; a list of names or
/// a code listing that happens to contain a few of them stays well below.
const MIN_SHARE: f64 = 0.2;

/// The language whose function words clearly dominate `text`, with the share of its tokens that are its
/// function words; `None` when the text is too short or no language clearly leads. "Clearly" means at least
/// twice the hits of the runner-up.
pub(crate) fn dominant(text: &str) -> Option<(&'static str, f64)> {
    let tokens: Vec<String> = text
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | '(' | ')' | '"' | '“' | '”')
        })
        .map(|t| {
            t.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’').replace('’', "'").to_lowercase()
        })
        .filter(|t| t.chars().any(char::is_alphabetic))
        .take(2_000)
        .collect();
    if tokens.len() < MIN_TOKENS {
        return None;
    }
    let mut counts = [0usize; 32];
    for token in &tokens {
        if let Some(&languages) = INDEX.get(token.as_str()) {
            for (i, count) in counts.iter_mut().enumerate().take(LISTS.len()) {
                *count += usize::from(languages & (1 << i) != 0);
            }
        }
    }
    let mut hits: Vec<(&'static str, usize)> = LISTS.iter().zip(counts).map(|((lang, _), n)| (*lang, n)).collect();
    hits.sort_by_key(|h| std::cmp::Reverse(h.1));
    let (best, best_hits) = hits[0];
    let runner_up = hits.get(1).map_or(0, |h| h.1);
    let share = best_hits as f64 / tokens.len() as f64;
    (best_hits >= MIN_HITS && share >= MIN_SHARE && best_hits >= 2 * runner_up.max(1)).then_some((best, share))
}

/// Whether `code` has a function-word list (an answer of whatlang for a listed language is checked against
/// it; one for an unlisted language is overruled only by a clear lead).
#[cfg(test)]
pub(crate) fn knows(code: &str) -> bool {
    LISTS.iter().any(|(lang, _)| *lang == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_language_of_prose() {
        assert_eq!(dominant("Let me see what happens if I insert a worksheet.").map(|d| d.0), Some("en"));
        assert_eq!(dominant("Kila mmoja ana haki ya uhuru wa kutoa na kueleza maoni yake").map(|d| d.0), Some("sw"));
        assert_eq!(
            dominant("Le catalogue rassemble les pratiques des États et leur expérience").map(|d| d.0),
            Some("fr")
        );
        assert!(knows("sw") && !knows("jv"));
    }

    #[test]
    fn names_short_texts_only_from_frequent_words_of_one_language() {
        assert_eq!(short_text("Hello World"), Some("en"));
        assert_eq!(short_text("Happy New Year 2003!"), Some("en"));
        assert_eq!(short_text("Victim assistance in the field"), Some("en"));
        // A word no list knows, a single word, or words of two languages: no answer.
        assert_eq!(short_text("Apache Tika OCR Testing"), None);
        assert_eq!(short_text("Hello"), None);
        assert_eq!(short_text("Hola mundo"), None);
        assert_eq!(short_text("de la"), None, "function words of several languages");
        assert_eq!(short_text("2003 2004"), None);
    }

    #[test]
    fn says_nothing_on_too_little_or_no_clear_lead() {
        assert_eq!(dominant("Hello World"), None);
        assert_eq!(dominant("Apache Tika OCR Testing"), None);
        assert_eq!(dominant("fn main() { let x = 1; println!(x); }"), None);
    }
}
