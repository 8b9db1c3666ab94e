//! A second opinion on the language of Latin-script text, from its function words.
//!
//! whatlang scores letter trigrams, which on a sentence or two can favour a language that merely shares
//! spelling habits (plain English read as Catalan; Swahili, which whatlang does not know, read as Javanese or
//! Shona). Function words (articles, pronouns, prepositions, conjunctions) are the most frequent words of a
//! language and mostly its own, so counting them settles those cases. The lists are short on purpose: only
//! frequent words that are rare as words of the other listed languages.
//!
//! Twenty-seven languages have a list: the nine first (English to Dutch) and eighteen more written in Latin
//! script (Polish to Slovene), none of which repeats a word of the first nine. Close languages (Czech and
//! Slovak, Danish, Norwegian and Swedish, Croatian and Slovene, Finnish and Estonian) share words, which count
//! for each: only a text whose own words clearly lead is named here, and the rest is left to whatlang. A text
//! named here is not sent to whatlang, whose comparison with every Latin-script language costs 100 to 150 µs a
//! paragraph.

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
    (
        "pl",
        &[
            "się",
            "nie",
            "że",
            "jest",
            "jak",
            "ale",
            "od",
            "przez",
            "dla",
            "tak",
            "już",
            "jego",
            "jej",
            "być",
            "czy",
            "który",
            "która",
            "które",
            "którzy",
            "oraz",
            "tylko",
            "może",
            "także",
            "są",
            "był",
            "była",
            "było",
            "przy",
            "pod",
            "nad",
            "bez",
            "tego",
            "tym",
            "ten",
            "ta",
            "jako",
            "jednak",
            "również",
            "lub",
            "albo",
            "gdy",
            "gdzie",
            "więc",
            "tu",
            "bardzo",
            "został",
            "została",
            "zostało",
            "jeszcze",
            "można",
            "między",
            "według",
        ],
    ),
    (
        "cs",
        &[
            "je", "že", "jako", "pro", "které", "který", "která", "jsou", "byl", "byla", "bylo", "také", "nebo",
            "když", "podle", "jeho", "jejich", "tak", "ještě", "však", "při", "před", "mezi", "být", "jsme", "jsem",
            "bude", "budou", "může", "tento", "tato", "toto", "tyto", "už", "jen", "aby", "ale", "pouze", "velmi",
        ],
    ),
    (
        "sk",
        &[
            "sa", "je", "že", "ako", "pre", "ktoré", "ktorý", "ktorá", "sú", "bol", "bola", "bolo", "tiež", "alebo",
            "keď", "podľa", "jeho", "tak", "ešte", "však", "pri", "pred", "medzi", "byť", "sme", "som", "bude", "budú",
            "môže", "tento", "táto", "toto", "tieto", "už", "len", "aby", "ale", "iba", "veľmi",
        ],
    ),
    (
        "sv",
        &[
            "och", "att", "det", "som", "är", "av", "för", "med", "till", "har", "inte", "ett", "men", "var", "jag",
            "sig", "från", "så", "vid", "eller", "när", "efter", "också", "hade", "skulle", "detta", "dessa", "mycket",
            "utan", "mellan", "hur", "vad", "sina", "där", "här", "än", "bara", "vi",
        ],
    ),
    (
        "da",
        &[
            "og", "det", "som", "af", "med", "til", "har", "ikke", "men", "var", "jeg", "sig", "fra", "så", "ved",
            "eller", "når", "efter", "også", "havde", "skulle", "dette", "disse", "meget", "uden", "mellem", "hvordan",
            "hvad", "sine", "hvor", "end", "kun", "alle", "vi", "nogle", "blev",
        ],
    ),
    (
        "nb",
        &[
            "og", "å", "det", "som", "av", "med", "til", "har", "ikke", "men", "var", "jeg", "seg", "fra", "så", "ved",
            "eller", "når", "etter", "også", "hadde", "skulle", "dette", "disse", "mye", "uten", "mellom", "hvordan",
            "hva", "sine", "hvor", "enn", "bare", "alle", "vi", "noen", "ble",
        ],
    ),
    (
        "fi",
        &[
            "ja", "ei", "että", "oli", "ovat", "kun", "mutta", "myös", "tai", "niin", "hän", "joka", "jotka", "sekä",
            "kuin", "tämä", "nämä", "ole", "olla", "vain", "mukaan", "jälkeen", "voi", "sen", "sitä", "siitä",
            "kanssa", "mitä", "miten", "koska", "jos", "vielä", "aina", "sitten", "eli", "olivat",
        ],
    ),
    (
        "et",
        &[
            "ja", "ei", "oli", "kui", "aga", "mis", "või", "oma", "nii", "veel", "siis", "kes", "seda", "selle",
            "nagu", "ole", "olla", "pärast", "üle", "juba", "ainult", "kuid", "sest", "tema", "nad", "need", "mida",
            "kus", "väga", "kõik", "ning", "vaid", "üks", "ka",
        ],
    ),
    (
        "hu",
        &[
            "a", "az", "hogy", "nem", "egy", "meg", "volt", "csak", "már", "még", "mint", "ez", "azt", "ezt", "vagy",
            "után", "között", "alatt", "mert", "pedig", "majd", "minden", "nagyon", "lesz", "lehet", "kell", "szerint",
            "amely", "amelyek", "aki", "akik", "ami", "voltak", "vannak",
        ],
    ),
    (
        "ro",
        &[
            "și", "în", "că", "sunt", "pentru", "care", "sau", "dar", "după", "despre", "această", "acest", "aceste",
            "între", "până", "foarte", "lor", "când", "fost", "prin", "cu", "pe", "din", "mai", "sa", "să", "ale",
            "acum", "fiind",
        ],
    ),
    (
        "tr",
        &[
            "ve", "bir", "bu", "için", "ile", "olarak", "çok", "daha", "gibi", "ama", "kadar", "sonra", "olan", "veya",
            "değil", "var", "yok", "ki", "mi", "ben", "biz", "onlar", "bunu", "şu", "olduğu", "göre", "ancak", "ise",
            "bile",
        ],
    ),
    (
        "id",
        &[
            "dan", "yang", "ini", "itu", "dengan", "untuk", "dari", "dalam", "tidak", "akan", "pada", "juga", "ke",
            "ada", "oleh", "atau", "karena", "bisa", "sudah", "saya", "kami", "mereka", "telah", "lebih", "seperti",
            "hanya", "sebagai", "tersebut", "adalah", "namun", "bahwa", "antara", "sangat", "masih", "belum", "harus",
            "dapat", "kepada",
        ],
    ),
    (
        "vi",
        &[
            "và", "của", "là", "có", "trong", "được", "cho", "không", "những", "các", "một", "với", "người", "này",
            "đã", "để", "khi", "từ", "theo", "về", "như", "nhưng", "cũng", "đến", "tại", "ra", "sẽ", "thì", "đó",
            "nhiều", "năm", "hơn", "nên", "vì", "bị", "lại", "rất", "mà",
        ],
    ),
    (
        "zu",
        &[
            "futhi",
            "ukuthi",
            "kanye",
            "noma",
            "kodwa",
            "ngoba",
            "lapho",
            "kakhulu",
            "wonke",
            "yonke",
            "bonke",
            "ngokuthi",
            "nokuthi",
            "ngesikhathi",
            "abantu",
            "umuntu",
            "ukuze",
            "njengoba",
            "lokhu",
            "lokho",
            "kuyo",
            "kuzo",
            "yini",
        ],
    ),
    (
        "lt",
        &[
            "ir", "kad", "yra", "buvo", "į", "iš", "tai", "bet", "kaip", "jos", "jų", "arba", "taip", "dar", "tik",
            "apie", "nuo", "iki", "po", "prie", "už", "kuris", "kuri", "kurie", "kurių", "bus", "būti", "gali",
            "labai", "jau", "tačiau", "todėl", "nes",
        ],
    ),
    (
        "lv",
        &[
            "ir", "ka", "ar", "uz", "bet", "kā", "tas", "tā", "arī", "vai", "nav", "bija", "būs", "jau", "vēl",
            "tikai", "pēc", "līdz", "pie", "kas", "kur", "kad", "viņš", "viņa", "šis", "šī", "tie", "ļoti", "lai",
            "tad", "gan", "var",
        ],
    ),
    (
        "hr",
        &[
            "i", "je", "u", "od", "koji", "koja", "koje", "što", "ali", "kao", "bi", "biti", "bio", "sam", "smo", "će",
            "iz", "po", "još", "samo", "već", "kako", "zbog", "prema", "nije", "nisu", "može", "ima", "ovo", "ova",
            "ovaj",
        ],
    ),
    (
        "sl",
        &[
            "je", "v", "so", "od", "ki", "ali", "kot", "bi", "biti", "bil", "smo", "bo", "bodo", "iz", "po", "še",
            "samo", "že", "kako", "zaradi", "tudi", "niso", "lahko", "ima", "ta", "ter", "pa",
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
/// Tokens read at most: the beginning of a long text says as much as the whole.
const MAX_TOKENS: usize = 2_000;

/// What a text's function words say of its language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Reading {
    /// One listed language clearly leads (at least twice the hits of any other), with the share of the
    /// tokens that are its function words.
    Named(&'static str, f64),
    /// Function words are frequent enough to count, but two or more close languages share the lead (Czech and
    /// Slovak, Danish and Norwegian, Croatian and Slovene): the listed languages with more than half the
    /// leader's hits (bit `i` for `LISTS[i]`). A listed language below that is ruled out, as it is when one
    /// language leads clearly.
    Between(u32),
    /// Too short, or too few function words of any list to tell.
    Unknown,
}

/// What the function words of `text` say: see [`Reading`].
pub(crate) fn read(text: &str) -> Reading {
    // One buffer for every token's lower-case form: this runs on every paragraph of every document.
    let mut word = String::new();
    let mut tokens = 0usize;
    let mut counts = [0usize; 32];
    let separator =
        |c: char| c.is_whitespace() || matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | '(' | ')' | '"' | '“' | '”');
    for raw in text.split(separator) {
        let token = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’');
        if !token.chars().any(char::is_alphabetic) {
            continue;
        }
        if tokens == MAX_TOKENS {
            break;
        }
        tokens += 1;
        word.clear();
        for c in token.chars() {
            if c == '’' {
                word.push('\'');
            } else {
                word.extend(c.to_lowercase());
            }
        }
        if let Some(&languages) = INDEX.get(word.as_str()) {
            for (i, count) in counts.iter_mut().enumerate().take(LISTS.len()) {
                *count += usize::from(languages & (1 << i) != 0);
            }
        }
    }
    if tokens < MIN_TOKENS {
        return Reading::Unknown;
    }
    // The language with most hits (the first listed on a tie) and the most hits of any other.
    let counts = &counts[..LISTS.len()];
    let best = (0..counts.len()).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
    let best_hits = counts[best];
    let share = best_hits as f64 / tokens as f64;
    if best_hits < MIN_HITS || share < MIN_SHARE {
        return Reading::Unknown;
    }
    let runner_up = counts.iter().enumerate().filter(|(i, _)| *i != best).map(|(_, n)| *n).max().unwrap_or(0);
    if best_hits >= 2 * runner_up.max(1) {
        return Reading::Named(LISTS[best].0, share);
    }
    let close = counts.iter().enumerate().filter(|(_, n)| 2 * **n > best_hits).fold(0u32, |m, (i, _)| m | 1 << i);
    Reading::Between(close)
}

/// The codes of the listed languages in a [`Reading::Between`] mask.
pub(crate) fn codes(mask: u32) -> impl Iterator<Item = &'static str> {
    LISTS.iter().enumerate().filter(move |(i, _)| mask & (1 << i) != 0).map(|(_, (code, _))| *code)
}

/// Whether `code` has a function-word list (a reading that rules out listed languages says nothing of the
/// others).
pub(crate) fn knows(code: &str) -> bool {
    LISTS.iter().any(|(lang, _)| *lang == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The language a reading names outright, if any.
    fn named(text: &str) -> Option<&'static str> {
        match read(text) {
            Reading::Named(code, _) => Some(code),
            _ => None,
        }
    }

    #[test]
    fn names_the_language_of_prose() {
        assert_eq!(named("Let me see what happens if I insert a worksheet."), Some("en"));
        assert_eq!(named("Kila mmoja ana haki ya uhuru wa kutoa na kueleza maoni yake"), Some("sw"));
        assert_eq!(named("Le catalogue rassemble les pratiques des États et leur expérience"), Some("fr"));
        assert!(knows("sw") && !knows("jv"));
        // The eighteen added later, on sentences of their own.
        for (text, language) in [
            ("Nie wiem, czy to jest prawda, ale jego brat był tam przez cały dzień.", "pl"),
            ("Vi vet inte om det är sant, och hon har inte heller sagt att hon vill åka från Sverige.", "sv"),
            ("Bu proje için çok daha fazla zaman ve para gerekiyor, ama bu mümkün değil.", "tr"),
            ("Hän sanoi, että se oli myös hänen mielestään hyvä, mutta ei kuitenkaan paras.", "fi"),
            ("A gyerekek nem tudták, hogy az iskola már zárva volt, de még vártak egy kicsit.", "hu"),
            ("Este un lucru pe care nu îl știm, dar care a fost foarte important pentru ei.", "ro"),
            ("Kami tidak tahu bahwa mereka sudah datang ke rumah itu dengan keluarga mereka.", "id"),
            ("Chúng tôi đã làm việc này trong nhiều năm và những người đó cũng đã giúp.", "vi"),
        ] {
            assert_eq!(named(text), Some(language), "{text}");
        }
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
    fn says_nothing_on_too_little() {
        assert_eq!(read("Hello World"), Reading::Unknown);
        assert_eq!(read("Apache Tika OCR Testing"), Reading::Unknown);
        assert_eq!(read("fn main() { let x = 1; println!(x); }"), Reading::Unknown);
    }

    /// Danish and Norwegian share most function words: neither leads, both stay candidates, and the lists
    /// that score under half the leader's hits are ruled out.
    #[test]
    fn close_languages_without_a_clear_lead_stay_candidates() {
        let text = "Det er ikke noe som vi har sett for, men han var der og de kom til huset med alle sine ting.";
        let Reading::Between(mask) = read(text) else { panic!("{:?}", read(text)) };
        let candidates: Vec<&str> = codes(mask).collect();
        assert!(candidates.contains(&"da") && candidates.contains(&"nb"), "{candidates:?}");
        assert!(!candidates.contains(&"en") && !candidates.contains(&"fr"), "{candidates:?}");
    }
}
