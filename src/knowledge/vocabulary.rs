//! Typo correction of query words against the folder's own vocabulary:
//! misspellings, spelling by ear, diminutives and words typed glued together
//! are read as the folder's words before analysis.

use std::collections::HashMap;

use super::analyzer::{fold, is_stop_word, names, words, words_and_breaks, CLAUSE_BREAK};

/// The folded words of the indexed text, for typo correction of query words.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    /// word → how often it appears.
    pub(super) counts: HashMap<String, u32>,
    /// Words by first letter and length (in characters), in the order first
    /// seen, so a correction scans only the words it may become (typos keep
    /// the first letter, and change the length by at most one).
    pub(super) by_start_len: HashMap<(char, usize), Vec<String>>,
}

impl Vocabulary {
    pub fn add_text(&mut self, text: &str) {
        for word in words(text) {
            self.add_folded(&fold(&word));
        }
    }

    /// Adds one word already passed through [`fold`].
    pub fn add_folded(&mut self, folded: &str) {
        self.add_folded_times(folded, 1);
    }

    /// Adds `times` occurrences of a word already passed through [`fold`].
    pub fn add_folded_times(&mut self, folded: &str, times: u32) {
        let len = folded.chars().count();
        if len < 3 || folded.bytes().any(|b| b.is_ascii_digit()) {
            return;
        }
        match self.counts.get_mut(folded) {
            Some(n) => *n += times,
            None => {
                let first = folded.chars().next().unwrap_or(' ');
                self.by_start_len
                    .entry((first, len))
                    .or_default()
                    .push(folded.to_owned());
                self.counts.insert(folded.to_owned(), times);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Rewrites `text` replacing words not in the vocabulary with the closest
    /// known word that starts with the same letter and is at most one letter
    /// longer or shorter: edit distance 1 for words of 4–7 letters, 2 from 8.
    /// Stop words, known words, correct Spanish words (see
    /// [`super::lexicon`]) and names (see [`names`]) are left as typed.
    pub fn correct(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let names = names(text);
        for piece in words_and_breaks(text) {
            if !out.is_empty() {
                out.push(' ');
            }
            let Some(word) = piece else {
                out.push_str(CLAUSE_BREAK);
                continue;
            };
            let folded = fold(&word);
            if is_stop_word(&word) || self.counts.contains_key(&folded) || names.contains(&folded) {
                out.push_str(&word);
                continue;
            }
            // Before the dictionary: it knows «botoncito» as a word, and the
            // folder knows «botón».
            if let Some(base) = self.diminutive_base(&folded) {
                out.push_str(base);
                continue;
            }
            // The dictionary is asked only when a correction is at hand: most
            // unknown words have none, and a lookup costs microseconds.
            match self.closest(&folded) {
                Some(fixed) if !super::lexicon::is_word(&word) => out.push_str(fixed),
                Some(_) => out.push_str(&word),
                None => match self.split_glued(&folded) {
                    Some(parts) if !super::lexicon::is_word(&word) => out.push_str(&parts),
                    _ => out.push_str(&word),
                },
            }
        }
        out
    }

    /// The folder's words that the folded `word` runs together, separated
    /// by spaces: on a phone, or in a hurry, «olvidemicontraseña» and
    /// «nopuedoingresar» are typed without spaces, and the whole is no word
    /// the folder knows. At most three parts, each a folder
    /// word or a short function word («mi», «de», «no»), at least one a
    /// folder word of [`MIN_GLUED_CONTENT`] letters; the split with fewest
    /// parts wins, then the one with the longest parts. `None` when no split
    /// reads the whole word.
    fn split_glued(&self, word: &str) -> Option<String> {
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(word.len()))
            .collect();
        let n = bounds.len() - 1;
        if !(MIN_GLUED..=MAX_GLUED).contains(&n) || word.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        // How a piece may be read: a folder word, a function word, or not at all.
        let piece = |from: usize, to: usize| -> Option<bool> {
            let part = &word[bounds[from]..bounds[to]];
            let len = to - from;
            if len >= MIN_GLUED_CONTENT && !is_stop_word(part) && self.counts.contains_key(part) {
                Some(true)
            } else if (len >= 2 && (is_stop_word(part) || part == "no"))
                || (len >= 3 && self.counts.contains_key(part))
            {
                Some(false)
            } else {
                None
            }
        };
        // The parts a split's cuts make, as (from, to) in characters.
        let spans = |cuts: &[usize]| -> Vec<(usize, usize)> {
            let mut from = 0;
            cuts.iter()
                .chain(std::iter::once(&n))
                .map(|&to| (std::mem::replace(&mut from, to), to))
                .collect()
        };
        // The sum of squared part lengths, when every part reads and one is
        // a folder word.
        let score = |cuts: &[usize]| -> Option<usize> {
            let mut content = false;
            let mut score = 0;
            for (from, to) in spans(cuts) {
                content |= piece(from, to)?;
                score += (to - from) * (to - from);
            }
            content.then_some(score)
        };
        let mut two = (2..n - 1).map(|i| vec![i]);
        let mut three =
            (2..n.saturating_sub(3)).flat_map(|i| (i + 2..n - 1).map(move |j| vec![i, j]));
        let best_of = |splits: &mut dyn Iterator<Item = Vec<usize>>| {
            splits
                .filter_map(|cuts| Some((score(&cuts)?, cuts)))
                .max_by_key(|(s, _)| *s)
        };
        let best = best_of(&mut two).or_else(|| best_of(&mut three));
        let (_, cuts) = best?;
        let parts: Vec<&str> = spans(&cuts)
            .into_iter()
            .map(|(from, to)| &word[bounds[from]..bounds[to]])
            .collect();
        Some(parts.join(" "))
    }

    /// The folder's word that the folded `word` is a diminutive of
    /// («facturita» → «factura», «botoncito» → «boton», «clavecita» →
    /// «clave», «contratico» → «contrato», «poquito» → «poco»): users,
    /// polite or unsure, shrink the platform's things, and the stemmer
    /// keeps the suffix («facturit»), a word the folder never uses.
    fn diminutive_base(&self, word: &str) -> Option<&str> {
        DIMINUTIVES.iter().find_map(|(suffix, ends)| {
            let stem = word.strip_suffix(suffix)?;
            if stem.chars().count() < MIN_DIMINUTIVE_STEM {
                return None;
            }
            // The spelling the suffix forced back: «poqu-ito» is «poc-o»,
            // «amigu-ito» is «amig-o».
            let stem = match stem.strip_suffix("qu") {
                Some(s) => format!("{s}c"),
                None => match stem.strip_suffix("gu") {
                    Some(s) => format!("{s}g"),
                    None => stem.to_owned(),
                },
            };
            ends.iter().find_map(|end| {
                let (known, _) = self.counts.get_key_value(format!("{stem}{end}").as_str())?;
                Some(known.as_str())
            })
        })
    }

    /// Whether the vocabulary has this folded word.
    pub fn contains(&self, folded: &str) -> bool {
        self.counts.contains_key(folded)
    }

    fn closest(&self, word: &str) -> Option<&str> {
        // Spelling by ear changes the first letter ("komo", "klave", "ablar"):
        // a respelling the folder knows is taken as it is.
        for variant in respellings(word) {
            if let Some((known, _)) = self.counts.get_key_value(variant.as_str()) {
                return Some(known.as_str());
            }
        }
        if let Some(fixed) = self.closest_same_start(word) {
            return Some(fixed);
        }
        respellings(word)
            .into_iter()
            .find_map(|variant| self.closest_same_start(&variant))
    }

    fn closest_same_start(&self, word: &str) -> Option<&str> {
        let len = word.chars().count();
        if len < 4 || word.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        let max = if len <= 7 { 1 } else { 2 };
        // Typos rarely hit the first letter; requiring it keeps "gmail" from
        // becoming "email".
        let first = word.chars().next()?;
        let mut best: Option<(&str, usize, u32)> = None;
        // At most one letter more or less: a word two letters shorter is more
        // often another word ("presidente" is not "presente") than a typo.
        for l in len.saturating_sub(1)..=len + 1 {
            let Some(bucket) = self.by_start_len.get(&(first, l)) else {
                continue;
            };
            for candidate in bucket {
                // Optimal string alignment: transpositions count as one
                // edit, as in Damerau–Levenshtein, without its per-call hash
                // map (the two differ only for edits inside a transposed
                // pair, more than this distance allows on such words).
                let d = strsim::osa_distance(word, candidate);
                if d == 0 || d > max {
                    continue;
                }
                let count = self.counts.get(candidate).copied().unwrap_or(0);
                let better = match best {
                    None => true,
                    Some((_, bd, bc)) => d < bd || (d == bd && count > bc),
                };
                if better {
                    best = Some((candidate, d, count));
                }
            }
        }
        best.map(|(w, _, _)| w)
    }
}

/// Diminutive suffixes (folded) with the endings the base word may have
/// had, tried in order: «-cito» follows a whole word («boton-cito»,
/// «clave-cita»), «-ito» replaces a final vowel or follows a consonant
/// («factur-ita», «papel-ito»), and the Colombian «-ico» follows a «t»
/// («contrat-ico», «moment-ico»).
const DIMINUTIVES: &[(&str, &[&str])] = &[
    ("citos", &["es", "s", ""]),
    ("citas", &["es", "s", ""]),
    ("cito", &["", "e"]),
    ("cita", &["", "e"]),
    ("itos", &["os", "es", "s", ""]),
    ("itas", &["as", "es", "s", ""]),
    ("ito", &["o", "e", ""]),
    ("ita", &["a", "e", ""]),
    ("ticos", &["tos"]),
    ("ticas", &["tas"]),
    ("tico", &["to"]),
    ("tica", &["ta"]),
];

/// Shortest and longest words, in characters, that [`Vocabulary::split_glued`]
/// reads as glued: «micuenta» is the shortest kind; a longer run is a pasted
/// link or code, not words typed without spaces.
const MIN_GLUED: usize = 7;
const MAX_GLUED: usize = 32;
/// Letters of the folder word a glued word must hold: three-letter parts
/// alone («sol», «mas», «uno») split too many foreign words.
const MIN_GLUED_CONTENT: usize = 4;

/// Letters a diminutive's stem keeps at least («cita» is no diminutive).
const MIN_DIMINUTIVE_STEM: usize = 3;

/// The word with its first letters respelt as Spanish speakers confuse them
/// by ear: k/c/qu, c/s/z, b/v, y/ll, g/j, and a silent h added or dropped.
fn respellings(word: &str) -> Vec<String> {
    const SWAPS: &[(&str, &[&str])] = &[
        ("k", &["c", "qu"]),
        ("qu", &["k", "c"]),
        ("c", &["k", "s"]),
        ("s", &["c", "z"]),
        ("z", &["s", "c"]),
        ("b", &["v"]),
        ("v", &["b"]),
        ("y", &["ll"]),
        ("ll", &["y"]),
        ("g", &["j"]),
        ("j", &["g"]),
    ];
    if word.chars().count() < 3 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (from, tos) in SWAPS {
        if let Some(rest) = word.strip_prefix(from) {
            out.extend(tos.iter().map(|to| format!("{to}{rest}")));
        }
    }
    match word.strip_prefix('h') {
        Some(rest) => out.push(rest.to_owned()),
        None => out.push(format!("h{word}")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glued_words_are_split_into_known_words() {
        let mut v = Vocabulary::default();
        v.add_text("olvidé contraseña puedo ingresar cuenta usuario bloqueado factura proveedor");
        for (typed, read) in [
            ("olvidemicontraseña ayuda", "olvide mi contrasena ayuda"),
            ("nopuedoingresar", "no puedo ingresar"),
            (
                "se me bloqueo el usuariobloqueado",
                "se me bloqueo el usuario bloqueado",
            ),
            ("micuenta", "mi cuenta"),
            ("la facturadel proveedor", "la factura del proveedor"),
        ] {
            assert_eq!(v.correct(typed), read, "{typed:?}");
        }
        // Words of the language, names, codes and links are not glued words.
        for typed in [
            "desafortunadamente",
            "sobretodo",
            "bucaramanga",
            "abc123cuenta",
        ] {
            assert_eq!(v.correct(typed), typed, "{typed:?}");
        }
    }

    #[test]
    fn corrects_typos_by_length() {
        let mut v = Vocabulary::default();
        v.add_text("contraseña bloqueado correo administrador");
        assert_eq!(v.correct("contrasña"), "contrasena");
        assert_eq!(v.correct("bloquaedo"), "bloqueado");
        assert_eq!(v.correct("adminstrador"), "administrador");
        // Too short to correct, and stop words untouched.
        assert_eq!(v.correct("mi cor"), "mi cor");
        // Unknown and far from everything: left alone.
        assert_eq!(v.correct("pasaporte"), "pasaporte");
    }

    #[test]
    fn diminutives_are_read_as_their_base_word() {
        let mut v = Vocabulary::default();
        v.add_text("factura botón clave contrato poco papel cuentas garantía");
        for (typed, read) in [
            ("mi facturita", "mi factura"),
            ("el botoncito", "el boton"),
            ("la clavecita", "la clave"),
            ("el contratico", "el contrato"),
            ("un poquito", "un poco"),
            ("el papelito", "el papel"),
            ("las cuentitas", "las cuentas"),
        ] {
            assert_eq!(v.correct(typed), read, "{typed:?}");
        }
        // Words that end like a diminutive and are not one stay.
        for typed in ["bonita", "cita", "política", "requisito", "visita"] {
            assert_eq!(v.correct(typed), typed, "{typed:?}");
        }
    }

    #[test]
    fn correct_spanish_words_are_not_taken_for_typos() {
        let mut v = Vocabulary::default();
        v.add_text("clave provisional pasaron venció proceso oferta necesito");
        // Words of the language one or two letters from a folder word.
        assert_eq!(v.correct("profesional"), "profesional");
        assert_eq!(v.correct("me pagaron"), "me pagaron");
        assert_eq!(v.correct("lo vendio"), "lo vendio");
        assert_eq!(v.correct("clase"), "clase");
        // Typos of folder words are still corrected, with or without accents.
        assert_eq!(v.correct("proseso"), "proceso");
        assert_eq!(v.correct("ofrta"), "oferta");
        assert_eq!(v.correct("nesecito"), "necesito");
        assert_eq!(v.correct("provicional"), "provisional");
    }
}
