//! Whether a word is correct Spanish, so typo correction leaves it alone.
//!
//! Typo correction maps a word the folder does not know to the closest word
//! it does. Most words a user types that the folder lacks are not typos at
//! all: "profesional" became "provisional", "vendió" became "venció",
//! "pagaron" became "pasaron", each a word of another topic. A word the
//! Spanish dictionary accepts is kept as typed; it simply matches nothing.
//!
//! The dictionary is LibreOffice's Spanish Hunspell dictionary (RLA-ES,
//! MPL-1.1+; `assets/hunspell-es/README.md`), embedded in the binary and read
//! by `spellbook`, a Rust port of Nuspell, on first use (about 20 ms).

use std::sync::LazyLock;

static DICTIONARY: LazyLock<Option<spellbook::Dictionary>> = LazyLock::new(|| {
    const AFF: &str = include_str!("../../assets/hunspell-es/es_ES.aff");
    const DIC: &str = include_str!("../../assets/hunspell-es/es_ES.dic");
    match spellbook::Dictionary::new(AFF, DIC) {
        Ok(d) => Some(d),
        Err(e) => {
            // Only a broken embedded asset gets here; correction then works
            // as it did before the lexicon, which is worse but not wrong.
            tracing::error!("el diccionario de español embebido no se pudo leer: {e}");
            None
        }
    }
});

/// Longest word looked up; longer "words" are pasted codes or URLs.
const MAX_CHARS: usize = 24;

/// Whether `word` (lower-cased, accents as typed) is a Spanish word, also
/// when typed without its accent or its ñ ("vendio" for "vendió", "ano" for
/// "año"), or a proper noun typed in lower case ("cali", "bogota").
///
/// A lookup of a word the dictionary lacks costs a few microseconds (affix
/// stripping), so spellings Spanish does not use ("komo", "klave") are
/// refused before it, and an accent is restored only on the last three
/// vowels, where Spanish stress falls.
pub fn is_word(word: &str) -> bool {
    let Some(dictionary) = DICTIONARY.as_ref() else {
        return false;
    };
    if word.is_empty() || word.chars().count() > MAX_CHARS || foreign_spelling(word) {
        return false;
    }
    let known = |w: &str| dictionary.check(w) || dictionary.check(&capitalized(w));
    known(word) || respelt_with_marks(word).any(|variant| known(&variant))
}

/// A place or a company typed in lower case ("cali", "bogota") is in the
/// dictionary only capitalised.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Letters Spanish spells otherwise: k and w (only in loanwords such as
/// "kilo"), a doubled vowel other than e or o ("holaa"), q without u.
fn foreign_spelling(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.iter().any(|c| matches!(c, 'k' | 'w'))
        || chars.windows(2).any(|p| {
            (p[0] == p[1] && matches!(p[0], 'a' | 'i' | 'u')) || (p[0] == 'q' && p[1] != 'u')
        })
}

/// The word with one accent or one ñ restored, for a word typed without
/// any: an accent on one of its last three vowels, or an ñ for one n.
fn respelt_with_marks(word: &str) -> impl Iterator<Item = String> + '_ {
    const MARKED: [(char, char); 5] = [('a', 'á'), ('e', 'é'), ('i', 'í'), ('o', 'ó'), ('u', 'ú')];
    let unmarked = !word.chars().any(|c| "áéíóúüñ".contains(c));
    let chars: Vec<char> = if unmarked {
        word.chars().collect()
    } else {
        Vec::new()
    };
    let vowels: Vec<usize> = (0..chars.len())
        .filter(|&i| MARKED.iter().any(|(plain, _)| *plain == chars[i]))
        .collect();
    let stressable = vowels[vowels.len().saturating_sub(3)..].to_vec();
    let enye = (0..chars.len())
        .filter(|&i| chars[i] == 'n')
        .collect::<Vec<_>>();
    stressable.into_iter().chain(enye).map(move |i| {
        let mut variant = chars.clone();
        variant[i] = match MARKED.iter().find(|(plain, _)| *plain == chars[i]) {
            Some((_, marked)) => *marked,
            None => 'ñ',
        };
        variant.into_iter().collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_the_language_are_words_with_or_without_their_marks() {
        for word in [
            "profesional",
            "pagaron",
            "vendió",
            "vendio",
            "seriedad",
            "ano",
            "tramite",
            "licitacion",
            "cali",
            "bogota",
            "medellin",
        ] {
            assert!(is_word(word), "{word}");
        }
        for typo in [
            "contraceña",
            "proseso",
            "nesecito",
            "requicitos",
            "ofrta",
            "kiero",
            "holaa",
        ] {
            assert!(!is_word(typo), "{typo}");
        }
        assert!(!is_word(""));
        assert!(!is_word(&"a".repeat(40)));
    }
}
