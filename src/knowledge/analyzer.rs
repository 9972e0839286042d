//! Text analysis: turns Spanish text into the terms the index stores and queries.
//!
//! The pipeline is tantivy's: tokenize → lowercase → remove stop words (the list
//! is accented, so this runs *before* folding) → fold accents (so "contrasena"
//! matches "contraseña") → Spanish stemming. After it, synonym groups from
//! `synonyms.txt` map every member to one canonical term, on both the indexing
//! and the query side. Typo correction works on folded, unstemmed words (see
//! [`Vocabulary`]) before analysis.
//!
//! [`Mode::Baseline`] is tantivy's default tokenizer without any of this, for
//! `secobot eval --baseline`.

use std::collections::{HashMap, HashSet};

use super::vocabulary::Vocabulary;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TokenStream,
};

/// How much analysis to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Spanish analysis, synonyms and typo tolerance.
    #[default]
    Spanish,
    /// tantivy's default tokenizer, no synonyms, no typo tolerance.
    Baseline,
}

/// Spanish stop words, accented, plus the unaccented spellings users type.
/// Negations ("no", "sin") are kept out on purpose: they carry meaning in
/// "no solicité" / "sin haberlo pedido".
#[rustfmt::skip]
pub const STOP_WORDS: &[&str] = &[
    "a", "al", "algo", "algunas", "algunos", "ante", "antes", "aqui", "aquí", "asi", "así", "cada",
    "como", "cómo", "con", "contra", "cual", "cuál", "cuales", "cuáles", "cuando", "cuándo", "de",
    "del", "desde", "donde", "dónde", "durante", "e", "el", "él", "ella", "ellas", "ellos", "en",
    "entre", "era", "es", "esa", "esas", "ese", "eso", "esos", "esta", "está", "estan", "están",
    "estas", "estás", "este", "esto", "estos", "estoy", "fue", "ha", "han", "hasta", "hay", "he",
    "la", "las", "le", "les", "lo", "los", "me", "mi", "mí", "mis", "muy", "nos", "o", "para",
    "pero", "por", "porque", "que", "qué", "quien", "quién", "se", "ser", "si", "sí", "sobre",
    "su", "sus", "también", "tambien", "te", "ti", "tu", "tú", "tus", "u", "un", "una", "unas",
    "uno", "unos", "y", "ya", "yo", "usted", "ustedes", "q", "pq", "xq", "x", "lo", "le", "eh",
    "pues", "entonces", "vez", "hola", "buenos", "buenas", "dias", "días", "tardes", "noches",
    "gracias", "favor", "porfa", "ok", "bueno",
    // The auxiliary "haber": "sin haberlo pedido" and "nunca había solicitado"
    // negate the verb after it.
    "haber", "haberlo", "haberla", "había", "habia", "habían", "habian", "hemos", "hube",
    // Forms of "estar" and "ser" other than the ones above: they say when or
    // how, never what about ("yo estaba dormido"). «Estado» stays: it is also
    // «el estado de mi factura».
    "estaba", "estaban", "estábamos", "estabamos", "estuve", "estuvo", "estuvimos", "estamos",
    "estar", "estará", "estara", "estaría", "estaria", "son", "eran", "fueron", "sido", "sea",
    "sean", "siendo", "sería", "seria", "soy", "somos",
    // Forms of address and sign-offs: a letter's frame, never its topic
    // («Señores de Colombia Compra, …»). «Estimado» stays: «valor estimado».
    "señor", "señores", "señora", "señoras", "senor", "senores", "senora", "senoras",
    "estimados", "estimadas", "cordial", "cordialmente", "saludo", "saludos", "atentamente",
    "respetados", "respetadas", "apreciados", "apreciadas",
    // The singular greeting («buen día») and a letter's closing («Atte.»,
    // «quedo atenta», «muy amable», «le agradezco»): «días» is above.
    "buen", "día", "dia", "atte", "att", "atento", "atenta", "atentos", "amable", "agradezco",
    "agradecemos", "agradecería", "agradeceria",
    // Colombian chat fillers: a call for attention («ome», «sumercé»,
    // «parce»), a request frame («dígame», «regáleme los pasos»), «pa» for
    // «para», and «ahí» / «allá» pointing at the screen. They say how the
    // user talks, never what about; unknown to the folder, each weighed as
    // much as a rare topic word and diluted the question.
    "pa", "pal", "ahi", "ahí", "alla", "allá", "aca", "acá", "oiga", "oigan", "oye", "ome",
    "sumercé", "sumerce", "parce", "parcero", "mijo", "mija", "dime", "dígame", "digame",
    // «Qué pena con usted» and «vale la pena» excuse or weigh, «ni» stresses
    // («ya ni lo abro»): the user's manner, not the topic.
    "pena", "ni",
    "cuéntame", "cuentame", "cuénteme", "cuenteme", "regáleme", "regaleme", "regálame",
    "regalame", "regala", "xfa", "porfis", "plis", "pls",
];

/// Whether a lowercased word is a stop word (a set: this runs per query word).
pub fn is_stop_word(word: &str) -> bool {
    static SET: std::sync::OnceLock<HashSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
        .contains(word)
}

/// Words that look like a verb of the speaker's own past act, folded:
/// preterite first person ("pedí", "solicité", typed "pedi", "solicite") and
/// first person plural ("pedimos"). A heuristic of endings: nouns ending in
/// "-e"/"-i" pass too, and are harmless where it is used (only a term that a
/// target's phrasings negate is looked up).
pub fn first_person_verbs(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text).map(|w| fold(&w)).filter(|w| {
        w.chars().count() >= 4
            && !is_stop_word(w)
            && (w.ends_with('e') || w.ends_with('i') || w.ends_with("mos"))
    })
}

/// What a negation makes of the term after it: "no solicité" adds
/// `no_solicit` (see [`Analyzer::terms`]).
pub const NEGATED: &str = "no_";

/// Negations, as the analyzer leaves them (lowercased, folded, stemmed).
const NEGATIONS: &[&str] = &["no", "nunc", "nunca", "sin", "jamas", "jam"];

/// Words too common in this domain to carry a match alone; they weigh little.
pub const GENERIC_WORDS: &[&str] = &[
    "secop",
    "ii",
    "2",
    "plataforma",
    "sistema",
    "colombia",
    "compra",
    "eficiente",
    "cce",
    "usuario",
    "cuenta",
    "hacer",
    "hago",
    "hace",
    "quiero",
    "necesito",
    "puedo",
    "debo",
    "tengo",
    "tiene",
    "sale",
    "aparece",
    "ayuda",
    "ayudar",
    "ayuden",
    "pasa",
    "paso",
    "poder",
    "saber",
    // A request's frame: «me puede decir / explicar / indicar cómo…».
    "decir",
    "diga",
    "digan",
    "explicar",
    "explique",
    "expliquen",
    "explicarme",
    "indicar",
    "indique",
    "indiquen",
    "indicarme",
    "orientar",
    "oriente",
    "orienten",
    "colaborar",
    "colabore",
    "favor",
    "urgente",
    "problema",
    "ahora",
    "hoy",
    "dice",
    "manera",
    "forma",
    "mas",
    "más",
    "bien",
    "deben",
    "puede",
    "pueden",
    "sirve",
    "tema",
    // Negations mean something only bound to the next word ("no_solicit").
    "no",
    "nunca",
    "sin",
    "jamás",
    // "no me deja", "no me sale": a complaint, not yet a topic.
    "deja",
    "dejar",
    "deje",
    "dejo",
];

/// Analyzes text into index terms. Cheap to clone (the tantivy analyzer is).
#[derive(Clone)]
pub struct Analyzer {
    mode: Mode,
    inner: TextAnalyzer,
    synonyms: HashMap<String, String>,
    generic: HashSet<String>,
    /// Terms of pressing a button ([`PRESSING`]), analysed.
    pressing: HashSet<String>,
    /// The negated term of asking for something («no solicité»), analysed.
    not_requested: Option<String>,
}

/// Verbs of pressing a button, as people write them: «nunca le di a
/// "Olvidé mi contraseña"», «no hice clic en nada», «no oprimí ningún
/// enlace». Not pressing the button that asks for a thing is not asking
/// for it, so a negated press also reads as «no solicité».
const PRESSING: &[&str] = &[
    "di", "dio", "dimos", "clic", "undi", "hundi", "toque", "pique",
];

/// Terms a button's name takes at most («olvidé mi contraseña»,
/// «recuperar clave», «restablecer contraseña»; see
/// [`Analyzer::drop_button_name`]).
const BUTTON_NAME: usize = 2;

/// Stems of «nada», «ningún», «ninguna»: what was not pressed is nothing.
const NOTHING: &[&str] = &["nad", "ningun"];

impl Analyzer {
    /// Builds the analyzer; `synonym_groups` are lines of `synonyms.txt`, already split.
    pub fn new(mode: Mode, synonym_groups: &[Vec<String>]) -> Self {
        let inner = match mode {
            Mode::Spanish => TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(StopWordFilter::remove(
                    STOP_WORDS.iter().map(|w| (*w).to_owned()),
                ))
                .filter(AsciiFoldingFilter)
                .filter(Stemmer::new(Language::Spanish))
                .build(),
            Mode::Baseline => TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .build(),
        };
        let mut analyzer = Analyzer {
            mode,
            inner,
            synonyms: HashMap::new(),
            generic: HashSet::new(),
            pressing: HashSet::new(),
            not_requested: None,
        };
        if mode == Mode::Spanish {
            for group in synonym_groups {
                let terms: Vec<String> = group.iter().flat_map(|w| analyzer.raw_terms(w)).collect();
                let Some((canonical, rest)) = terms.split_first() else {
                    continue;
                };
                for term in rest.iter().cloned() {
                    if term != *canonical {
                        analyzer.synonyms.insert(term, canonical.clone());
                    }
                }
            }
            let generic: HashSet<String> = GENERIC_WORDS
                .iter()
                .flat_map(|w| analyzer.terms(w))
                .collect();
            analyzer.generic = generic;
            analyzer.pressing = PRESSING.iter().flat_map(|w| analyzer.terms(w)).collect();
            analyzer.not_requested = analyzer
                .terms("no solicité")
                .into_iter()
                .find(|t| t.starts_with(NEGATED));
        }
        analyzer
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The index terms of `text`, in order, synonyms mapped to their canonical term.
    ///
    /// A negation binds to the next term: "no solicité" also yields `no_solicit`,
    /// a rare term that tells "I did not request it" from "I requested it".
    pub fn terms(&self, text: &str) -> Vec<String> {
        let text = crate::text::normalize(text);
        let text = self.read(&text);
        let clauses = text
            .split(CLAUSE_BREAKS)
            .map(|clause| {
                let mut terms = self.tokens(clause);
                self.map_synonyms(&mut terms);
                terms
            })
            .collect();
        self.add_negations(clauses)
    }

    /// [`Analyzer::terms`], remembering each word's analysis in `cache` and
    /// counting the word there (for the typo-correction [`Vocabulary`]). A
    /// folder's texts repeat their words, and analysing them again was most
    /// of a reload's analysis. Once [`Analyzer::read`] has blanked figures
    /// and rewritten the few words whose sense their neighbour decides, the
    /// tokenizer splits at every character that is not a letter or digit,
    /// each filter reads one token and synonyms map one term, so a word's
    /// terms do not depend on its neighbours: the result is the same.
    pub fn analyze_cached(&self, text: &str, cache: &mut WordCache) -> Vec<String> {
        let text = crate::text::normalize(text);
        let text = self.read(&text);
        let mut clauses = Vec::new();
        for clause in text.split(CLAUSE_BREAKS) {
            clauses.push(self.analyze_clause_cached(clause, cache));
        }
        self.add_negations(clauses)
    }

    /// The terms of one clause of [`Analyzer::analyze_cached`]'s text.
    fn analyze_clause_cached(&self, clause: &str, cache: &mut WordCache) -> Vec<String> {
        let mut terms = Vec::new();
        for word in word_slices(clause) {
            let i = match cache.by_word.get(word) {
                Some(i) => *i,
                None => {
                    let mut word_terms = self.tokens(word);
                    self.map_synonyms(&mut word_terms);
                    cache.words.push(WordAnalysis {
                        folded: fold(&word.to_lowercase()),
                        terms: word_terms,
                        count: 0,
                    });
                    let i = cache.words.len() - 1;
                    cache.by_word.insert(word.to_owned(), i);
                    i
                }
            };
            let analysis = &mut cache.words[i];
            analysis.count += 1;
            terms.extend(analysis.terms.iter().cloned());
        }
        terms
    }

    fn map_synonyms(&self, terms: &mut [String]) {
        for term in terms {
            if let Some(canonical) = self.synonyms.get(term.as_str()) {
                term.clone_from(canonical);
            }
        }
    }

    /// The terms of a text's clauses, in order, and after them the negated
    /// pairs: a negation binds to the next term of its own clause (see
    /// [`Analyzer::terms`]); «…una con dígito y otra sin él, ¿cómo se
    /// arregla?» negates nothing after the comma.
    fn add_negations(&self, mut clauses: Vec<Vec<String>>) -> Vec<String> {
        if self.mode != Mode::Spanish {
            return clauses.into_iter().flatten().collect();
        }
        let mut negated = Vec::new();
        let mut pressed = false;
        for terms in &mut clauses {
            negated.extend(
                terms
                    .windows(2)
                    .filter(|w| {
                        NEGATIONS.contains(&w[0].as_str())
                            && !NEGATIONS.contains(&w[1].as_str())
                            // "no me deja" negates nothing a topic is about.
                            && !self.generic.contains(&w[1])
                    })
                    .map(|w| format!("{NEGATED}{}", w[1])),
            );
            // «no le di», and «no hice clic» with «hacer» before the press.
            let press = (0..terms.len()).find_map(|i| {
                if !NEGATIONS.contains(&terms[i].as_str()) {
                    return None;
                }
                match (terms.get(i + 1), terms.get(i + 2)) {
                    (Some(next), _) if self.pressing.contains(next) => Some(i + 1),
                    (Some(next), Some(then))
                        if next.starts_with("hic") && self.pressing.contains(then) =>
                    {
                        Some(i + 2)
                    }
                    _ => None,
                }
            });
            if let Some(at) = press {
                pressed = true;
                self.drop_button_name(terms, at + 1);
            }
        }
        let mut terms: Vec<String> = clauses.into_iter().flatten().collect();
        terms.extend(negated);
        if let Some(not_requested) = self.not_requested.as_ref().filter(|_| pressed) {
            if !terms.contains(not_requested) {
                terms.push(not_requested.clone());
            }
        }
        terms
    }

    /// Removes the name of a button not pressed, the up to [`BUTTON_NAME`]
    /// terms from `from` after any more press terms («nunca le di clic a
    /// "Olvidé mi contraseña"»): the user names the button to say they did
    /// not ask, and its words would answer as if they had forgotten it.
    /// «no le di a nada», «no oprimí ningún enlace» name no button.
    fn drop_button_name(&self, terms: &mut Vec<String>, from: usize) {
        let start = (from..terms.len())
            .find(|&j| !self.pressing.contains(&terms[j]))
            .unwrap_or(terms.len());
        if terms
            .get(start)
            .is_some_and(|t| NOTHING.iter().any(|n| t.starts_with(n)))
        {
            return;
        }
        let end = (start + BUTTON_NAME).min(terms.len());
        terms.drain(start..end);
    }

    fn raw_terms(&self, text: &str) -> Vec<String> {
        // The edge already normalised what people send; editors' files and
        // the command line get the same treatment here.
        let text = crate::text::normalize(text);
        self.tokens(&self.read(&text))
    }

    /// The analyser's tokens of already normalised text.
    fn tokens(&self, text: &str) -> Vec<String> {
        // `TextAnalyzer::token_stream` needs `&mut`; a clone is a few pointer copies.
        let mut analyzer = self.inner.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// The query's terms, like [`Analyzer::terms`], except that a word the
    /// folder never uses (`known` says which folded words it does) whose
    /// ending after the stem makes it a different word ([`DERIVED_ENDINGS`])
    /// becomes an unknown term: "restaurante" must not match "restaurar".
    pub fn query_terms(&self, text: &str, known: &dyn Fn(&str) -> bool) -> Vec<String> {
        if self.mode != Mode::Spanish {
            return self.terms(text);
        }
        let guarded: Vec<String> = words_and_breaks(text)
            .map(|piece| {
                let Some(word) = piece else {
                    return CLAUSE_BREAK.to_owned();
                };
                let folded = fold(&word);
                if known(&folded) || is_stop_word(&word) {
                    return word;
                }
                let Some(stem) = self.raw_terms(&word).into_iter().next() else {
                    return word;
                };
                let derived = folded
                    .strip_prefix(stem.as_str())
                    .is_some_and(|ending| DERIVED_ENDINGS.contains(&ending));
                if derived {
                    // Digits keep the stemmer from finding the stem again.
                    format!("{folded}0")
                } else {
                    word
                }
            })
            .collect();
        self.terms(&guarded.join(" "))
    }

    /// How every judge reads a text before analysis, in Spanish mode: with
    /// figures as blanks ([`super::figures::without_figures`]) and the senses
    /// that stemming merges told apart ([`super::senses::disambiguate`]). The
    /// baseline reads the text as written (it is the yardstick, as built).
    pub fn read<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match self.mode {
            Mode::Spanish => match super::figures::without_figures(text) {
                std::borrow::Cow::Borrowed(t) => super::senses::disambiguate(t),
                std::borrow::Cow::Owned(t) => {
                    std::borrow::Cow::Owned(super::senses::disambiguate(&t).into_owned())
                }
            },
            Mode::Baseline => std::borrow::Cow::Borrowed(text),
        }
    }

    /// Whether a term is too common in this domain to carry a match.
    pub fn is_generic(&self, term: &str) -> bool {
        self.generic.contains(term)
    }
}

/// One word's analysis, for [`Analyzer::analyze_cached`]: its folded form,
/// its terms (synonyms mapped) and how many times it was seen.
#[derive(Debug)]
struct WordAnalysis {
    folded: String,
    terms: Vec<String>,
    count: u32,
}

/// Each word's analysis, by word as normalised text spells it, in the order
/// the words were first seen.
#[derive(Debug, Default)]
pub struct WordCache {
    by_word: rustc_hash::FxHashMap<String, usize>,
    words: Vec<WordAnalysis>,
}

impl WordCache {
    /// Adds the words seen, in the order first seen, with their counts: the
    /// same vocabulary as adding every occurrence in turn.
    pub fn add_to(&self, vocabulary: &mut Vocabulary) {
        for w in &self.words {
            vocabulary.add_folded_times(&w.folded, w.count);
        }
    }
}

/// Word endings that make a different word from the same stem: the Spanish
/// stemmer maps "restaurante" and "restaurar", "cliente" and "client…" alike.
/// A query word the folder never uses, ending like this after its stem, is
/// treated as an unknown word rather than as the folder's word.
const DERIVED_ENDINGS: &[&str] = &[
    "ante", "antes", "ente", "entes", "iente", "ientes", "ero", "era", "eros", "eras", "eria",
    "erias", "ista", "istas", "amo", "amos", "ario", "aria", "arios", "arias",
];

/// Lowercases and strips accents the way the index does (ñ → n), keeping only
/// letters and digits. Used for typo correction and normalising questions in reports.
pub fn fold(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    word.nfd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Characters that end a clause: a negation does not reach past them.
pub const CLAUSE_BREAKS: &[char] = &[',', '.', ';', ':', '?', '!', '¿', '¡', '\n'];

/// What a rewritten query keeps where the text broke a clause (see
/// [`words_and_breaks`]).
pub const CLAUSE_BREAK: &str = ",";

/// Like [`words`], with `None` where the text breaks a clause
/// ([`CLAUSE_BREAKS`]; one for several in a row): what rewrites a query
/// word by word keeps them, so a negation still ends at its clause.
pub fn words_and_breaks(text: &str) -> impl Iterator<Item = Option<String>> {
    let text = crate::text::normalize(text);
    let mut out = Vec::new();
    for clause in text.split(CLAUSE_BREAKS) {
        let before = out.len();
        out.extend(word_slices(clause).map(|w| Some(w.to_lowercase())));
        if out.len() > before {
            out.push(None);
        }
    }
    out.pop();
    out.into_iter()
}

/// Splits text into words (letters and digits), lowercased, accents kept
/// (composed; invisible format characters dropped, see [`crate::text::normalize`]).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    let text = crate::text::normalize(text);
    word_slices(&text)
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .into_iter()
}

/// The runs of letters and digits of already normalised text, as typed.
fn word_slices(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The folded words that `text` writes as names: capitalised, or in capitals,
/// inside a sentence («el usuario de Siigo», «el CUFE de la factura»). A
/// name is not a typo of a folder word («Siigo» is not «sigo»). The first
/// word of a sentence is capitalised anyway, and a message in capitals says
/// nothing by its case: neither gives names.
pub fn names(text: &str) -> HashSet<String> {
    let text = crate::text::normalize(text);
    let (upper, lower) = text.chars().fold((0, 0), |(u, l), c| {
        (
            u + usize::from(c.is_uppercase()),
            l + usize::from(c.is_lowercase()),
        )
    });
    let mut out = HashSet::new();
    if upper * 2 > upper + lower {
        return out;
    }
    let mut sentence_start = true;
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            if !sentence_start && word.chars().next().is_some_and(char::is_uppercase) {
                out.insert(fold(&word));
            }
            sentence_start = false;
            word.clear();
        }
        if matches!(c, '.' | '?' | '!' | '¿' | '¡' | '\n' | ':' | ';') {
            sentence_start = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> Analyzer {
        Analyzer::new(
            Mode::Spanish,
            &[vec!["clave".into(), "contraseña".into(), "password".into()]],
        )
    }

    #[test]
    fn the_word_cache_gives_the_terms_and_vocabulary_of_a_word_by_word_pass() {
        let a = analyzer();
        let texts = [
            "Olvidé mi CONTRASEÑA, no solicité el correo",
            "olvide la clave",
            "Correo que no solicité: ¿qué hago?",
            "que\u{301} pasa con mi password y mi Clave",
        ];
        let mut cache = WordCache::default();
        let mut expected = Vocabulary::default();
        for t in texts {
            assert_eq!(a.analyze_cached(t, &mut cache), a.terms(t), "{t:?}");
            expected.add_text(t);
        }
        let mut got = Vocabulary::default();
        cache.add_to(&mut got);
        assert_eq!(got.counts, expected.counts);
        assert_eq!(got.by_start_len, expected.by_start_len);
    }

    #[test]
    fn folds_before_stemming_and_maps_synonyms() {
        let a = analyzer();
        assert_eq!(
            a.terms("Olvidé mi CONTRASEÑA"),
            a.terms("olvide contrasena")
        );
        assert_eq!(a.terms("password"), a.terms("clave"));
        assert!(a.terms("¿qué es esto?").is_empty());
        assert!(a.terms("").is_empty());
    }

    /// Kind: a letter's frame weighed as its topic (unknown to the folder,
    /// «señores» got the highest weight and diluted every candidate).
    #[test]
    fn forms_of_address_carry_no_topic() {
        let a = analyzer();
        for (framed, plain) in [
            (
                "Señores de Colombia Compra, cordial saludo",
                "Colombia Compra",
            ),
            (
                "Estimados señores: ¿dónde descargo el contrato?",
                "dónde descargo el contrato",
            ),
            (
                "Respetadas señoras, la póliza. Atentamente, Juan",
                "la póliza Juan",
            ),
        ] {
            assert_eq!(a.terms(framed), a.terms(plain), "{framed:?}");
        }
        assert!(!a.terms("el valor estimado del contrato").is_empty());
        assert_eq!(a.terms("valor estimado").len(), 2);
    }

    /// The tantivy baseline is the yardstick as built: none of secobot's
    /// readings of the text reach it.
    #[test]
    fn the_baseline_reads_the_text_as_written() {
        let baseline = Analyzer::new(Mode::Baseline, &[]);
        assert_eq!(
            baseline.terms("soy servidor público"),
            ["soy", "servidor", "público"]
        );
        assert!(!analyzer()
            .terms("soy servidor público")
            .iter()
            .any(|t| t.starts_with("public")));
    }

    #[test]
    fn colloquial_fillers_carry_no_topic() {
        let a = analyzer();
        for (chatty, plain) in [
            (
                "ome, ¿dónde veo la póliza pa subirla?",
                "dónde veo la póliza subirla",
            ),
            (
                "Sumercé, regáleme el teléfono de soporte",
                "el teléfono de soporte",
            ),
            (
                "parce dígame qué le pongo ahí al RUP",
                "qué le pongo al RUP",
            ),
            (
                "oiga, cuénteme cómo firmo el contrato xfa",
                "cómo firmo el contrato",
            ),
        ] {
            assert_eq!(a.terms(chatty), a.terms(plain), "{chatty:?}");
        }
        // Whole words only: «paso», «ahora», «dimos» keep their terms.
        assert_eq!(a.terms("paso ahora").len(), 2);
        assert!(!a.terms("nos dimos cuenta").is_empty());
    }

    #[test]
    fn negation_binds_to_the_next_term() {
        let a = analyzer();
        let not_requested = a.terms("correo que no solicité");
        let requested = a.terms("correo que solicité");
        let solicit = a.terms("solicité")[0].clone();
        assert!(
            not_requested.contains(&format!("no_{solicit}")),
            "{not_requested:?}"
        );
        assert!(
            !requested.iter().any(|t| t.starts_with("no_")),
            "{requested:?}"
        );
        assert!(Analyzer::new(Mode::Baseline, &[])
            .terms("no sé")
            .iter()
            .all(|t| !t.starts_with("no_")));
    }

    #[test]
    fn a_negated_press_of_a_button_is_not_asking() {
        let a = Analyzer::new(
            Mode::Spanish,
            &[
                vec!["clic".into(), "oprimí".into(), "presioné".into()],
                vec!["solicité".into(), "pedí".into()],
            ],
        );
        let not_requested = a
            .terms("no solicité")
            .into_iter()
            .find(|t| t.starts_with(NEGATED))
            .unwrap();
        for text in [
            "nunca le di a olvidé mi contraseña",
            "yo no oprimí ningún botón y me llegó el correo",
            "no hice clic en el enlace",
            "jamás presioné recuperar clave",
        ] {
            assert!(a.terms(text).contains(&not_requested), "{text:?}");
        }
        for text in [
            "le di a olvidé mi contraseña y no llega el correo",
            "hice clic en el enlace y no abre",
            "no me llega el correo",
        ] {
            assert!(!a.terms(text).contains(&not_requested), "{text:?}");
        }
    }

    #[test]
    fn the_name_of_a_button_not_pressed_carries_no_topic() {
        let a = Analyzer::new(
            Mode::Spanish,
            &[vec!["clic".into(), "oprimí".into(), "presioné".into()]],
        );
        let has = |text: &str, word: &str| {
            let stem = a.terms(word).remove(0);
            a.terms(text).contains(&stem)
        };
        for (text, button_word) in [
            (
                "nunca le di a olvidé mi contraseña y me llegó el enlace",
                "olvidé",
            ),
            (
                "jamás le di clic a recuperar clave y me llegó el correo",
                "recuperar",
            ),
            (
                "no oprimí restablecer contraseña, ¿por qué me llegó?",
                "restablecer",
            ),
        ] {
            assert!(!has(text, button_word), "{text:?}");
            // What comes after the button's name still counts.
            assert!(has(text, "llegó"), "{text:?}");
        }
        // A button pressed is named as what the user did.
        assert!(has(
            "le di a olvidé mi contraseña y no llega nada",
            "olvidé"
        ));
        // «Nothing» names no button: the words after it stay.
        assert!(has("no le di a nada y me llegó un enlace", "enlace"));
    }

    #[test]
    fn negation_ends_at_its_clause() {
        let a = analyzer();
        for text in [
            "una con dígito y otra sin él, ¿cómo se arregla?",
            "no. Arreglar la oferta",
            "nunca; arreglar la oferta",
        ] {
            let terms = a.terms(text);
            assert!(
                !terms.iter().any(|t| t.starts_with(NEGATED)),
                "{text:?}: {terms:?}"
            );
        }
        // Within a clause a negation still binds, and the word-by-word pass agrees.
        let mut cache = WordCache::default();
        for text in ["sin arreglar, la oferta", "no, no lo arreglé"] {
            let terms = a.terms(text);
            assert!(
                terms.iter().any(|t| t.starts_with(NEGATED)),
                "{text:?}: {terms:?}"
            );
            assert_eq!(a.analyze_cached(text, &mut cache), terms, "{text:?}");
        }
        // The typo corrector keeps the break for the reading after it.
        let mut v = Vocabulary::default();
        v.add_text("arreglar oferta");
        assert_eq!(v.correct("sin él, arrelgar"), "sin él , arreglar");
    }

    #[test]
    fn baseline_only_lowercases() {
        let a = Analyzer::new(Mode::Baseline, &[]);
        assert_eq!(a.terms("Olvidé mi clave"), vec!["olvidé", "mi", "clave"]);
    }

    #[test]
    fn auxiliary_verbs_carry_no_topic() {
        // «Estar» and «ser» say when or how: a sentence of them and one
        // unknown word matched whatever entry says «la plataforma estaba caída».
        let a = analyzer();
        for q in [
            "yo estaba dormido",
            "estuvimos de viaje",
            "fueron ellos, siendo sincero",
        ] {
            let terms = a.terms(q);
            for aux in ["estab", "estuv", "fueron", "fuer", "sid", "siend", "son"] {
                assert!(!terms.iter().any(|t| t == aux), "{q:?}: {terms:?}");
            }
        }
        // «Estado» is also a noun: «el estado de mi factura».
        assert!(a
            .terms("el estado de mi factura")
            .iter()
            .any(|t| t == "estad"));
    }

    #[test]
    fn a_name_written_with_a_capital_is_not_a_typo() {
        let mut v = Vocabulary::default();
        v.add_text("sigo proceso clave factura cufe");
        // Inside a sentence, a capital or capitals make a name: kept as typed.
        assert_eq!(v.correct("el usuario de Siigo"), "el usuario de siigo");
        assert_eq!(
            v.correct("la factura con el CUFEE"),
            "la factura con el cufee"
        );
        // The first word of a sentence is capitalised anyway: still a typo.
        assert_eq!(v.correct("Proseso bloqueado"), "proceso bloqueado");
        assert_eq!(
            v.correct("ya entré. Proseso nuevo"),
            "ya entré , proceso nuevo"
        );
        // A message in capitals says nothing by its case.
        assert_eq!(v.correct("NO VEO EL PROSESO"), "no veo el proceso");
        // Lower case is no name.
        assert_eq!(v.correct("la clabe"), "la clave");
    }

    #[test]
    fn generic_words_are_known() {
        let a = analyzer();
        for t in a.terms("plataforma SECOP") {
            assert!(a.is_generic(&t), "{t}");
        }
    }

    #[test]
    fn first_person_verbs_are_the_speakers_own_acts() {
        let found: Vec<String> =
            first_person_verbs("Ya pedí el enlace, solicite otro y lo pedimos de nuevo").collect();
        for verb in ["pedi", "solicite", "pedimos"] {
            assert!(found.iter().any(|w| w == verb), "{verb}: {found:?}");
        }
        let found: Vec<String> =
            first_person_verbs("alguien solicitó un mensaje pidiendo la clave").collect();
        for verb in ["solicito", "pidiendo"] {
            assert!(!found.iter().any(|w| w == verb), "{verb}: {found:?}");
        }
    }
}
