//! Figures carry no topic: process numbers, amounts, dates, phone numbers.
//!
//! Users write them into their questions («el contrato CO1.PCCNTR.1234567»,
//! «me deben $25.000.000», «cierra el 15/03/2025», «llámenme al 3104567890»)
//! and the folder's texts hold others (dates of sources, numbers of guides).
//! Each digit group became a term; one the folder never uses weighed as much
//! as a rare topic word, one it uses by chance («2024», «500») matched an
//! unrelated entry, and either way the question's real words covered less of
//! it: «la póliza del contrato 123-2024 por $4.500.000, ¿cómo la envío?» was
//! refused, though without the figures it is the guarantees entry. Before
//! analysis, every judge now reads such a figure as a blank.
//!
//! Some numbers are names and stay: short ones («SECOP 1» is the old
//! platform, «2 cuentas» counts), years («un contrato de 2014» is older than
//! SECOP II) and the number of a norm («Ley 527», «Decreto 1082»).

use std::borrow::Cow;

/// Digits from which a token is a figure rather than a word or a count.
const FIGURE_DIGITS: usize = 3;

/// Characters a figure may hold besides letters and digits: separators of
/// thousands, decimals, dates, times and codes, currency and percent.
const FIGURE_PUNCTUATION: &[char] = &['.', ',', '-', '/', ':', '$', '%', '#', '_', '+'];

/// Words after which a number names a norm, folded.
const NORMS: &[&str] = &[
    "ley",
    "decreto",
    "resolucion",
    "circular",
    "articulo",
    "art",
    "numeral",
];

/// Years a user may name: a bare number in this range is a year.
const YEARS: std::ops::RangeInclusive<u32> = 1990..=2039;

/// Punctuation that ends or opens a sentence around a figure («…$4.500.000,»).
const AROUND: &[char] = &[
    '.', ',', ';', ':', '!', '?', '¿', '¡', '(', ')', '"', '\'', '«', '»', '[', ']',
];

/// `text` with each figure (a whitespace-separated token of at least
/// [`FIGURE_DIGITS`] digits, made only of letters, digits and
/// [`FIGURE_PUNCTUATION`]; not a year, nor a number after a word of
/// [`NORMS`]) replaced by a space. Borrowed when there is none (most
/// questions: one scan for three digits).
pub fn without_figures(text: &str) -> Cow<'_, str> {
    if text.bytes().filter(u8::is_ascii_digit).count() < FIGURE_DIGITS {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut last = 0;
    let mut after_norm = false;
    for (start, token) in tokens(text) {
        let bare = token.trim_matches(AROUND);
        if !after_norm && is_figure(bare) {
            out.push_str(&text[last..start]);
            out.push(' ');
            last = start + token.len();
            changed = true;
        }
        after_norm = NORMS.contains(&super::analyzer::fold(bare).as_str());
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The whitespace-separated tokens of `text` with their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace()
        .map(move |t| (t.as_ptr() as usize - text.as_ptr() as usize, t))
}

fn is_figure(token: &str) -> bool {
    let year = token.parse::<u32>().is_ok_and(|n| YEARS.contains(&n));
    !year
        && token.chars().filter(char::is_ascii_digit).count() >= FIGURE_DIGITS
        && token
            .chars()
            .all(|c| c.is_alphanumeric() || FIGURE_PUNCTUATION.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_as_blanks() {
        for (text, expected) in [
            (
                "el contrato CO1.PCCNTR.1234567 no aparece",
                "el contrato   no aparece",
            ),
            ("me deben $25.000.000, ¿qué hago?", "me deben   ¿qué hago?"),
            ("cierra el 15/03/2025 a las 10:00", "cierra el   a las  "),
            ("llámenme al 3104567890 porfa", "llámenme al   porfa"),
            ("(proceso 123-2024)", "(proceso  "),
            ("el 15/03/2025 de 2025", "el   de 2025"),
        ] {
            assert_eq!(without_figures(text), expected, "{text:?}");
        }
    }

    #[test]
    fn words_and_short_numbers_are_kept() {
        for text in [
            "cómo entro a SECOP 1",
            "secop2 no carga",
            "tengo 2 cuentas y 15 días",
            "cuánto es 2+2",
            "un contrato de 2014 que no encuentro",
            "la Ley 527 y el Decreto 1082 de 2015",
            "el artículo 1.2.3.4 del decreto",
            "el 10% de la garantía",
            "sin números",
        ] {
            assert!(
                matches!(without_figures(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }
}
