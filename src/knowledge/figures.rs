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

/// `text` with each figure replaced by a space: a whitespace-separated token
/// of at least [`FIGURE_DIGITS`] digits, made only of letters, digits and
/// [`FIGURE_PUNCTUATION`] (not a year, nor a number after a word of
/// [`NORMS`]); an amount or a time of day in words or short digits (see
/// [`is_quantity_word`]). Borrowed when there is none (most questions).
pub fn without_figures(text: &str) -> Cow<'_, str> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    // Most questions have neither a figure nor an amount word (a short number
    // is a figure only before one): one scan without folding a word.
    if digits < FIGURE_DIGITS
        && !tokens(text).any(|(_, t)| may_be_quantity_word(t.trim_matches(AROUND)))
    {
        return Cow::Borrowed(text);
    }
    let folded: Vec<(usize, &str, String)> = tokens(text)
        .map(|(start, token)| {
            let bare = token.trim_matches(AROUND);
            (start, token, super::analyzer::fold(bare))
        })
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut last = 0;
    let mut after_norm = false;
    for (i, (start, token, word)) in folded.iter().enumerate() {
        let bare = token.trim_matches(AROUND);
        let next = |k: usize| folded.get(i + k).map_or("", |(_, _, w)| w.as_str());
        let figure = (digits >= FIGURE_DIGITS && !after_norm && is_figure(bare))
            || (may_be_quantity_word(bare) && is_quantity_word(word))
            || (is_number(word) && counts_a_quantity(next(1), next(2), next(3)));
        if figure {
            out.push_str(&text[last..*start]);
            out.push(' ');
            last = start + token.len();
            changed = true;
        }
        after_norm = NORMS.contains(&word.as_str());
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Units of an amount of money, folded: «45 millones», «doce millones de
/// pesos», «un palo» (a million, colloquial).
const AMOUNT_UNITS: &[&str] = &[
    "millon", "millones", "mil", "pesos", "palos", "billon", "billones", "cop",
];

/// Marks of a time of day, folded («a las 3 pm», «8am»).
const TIME_MARKS: &[&str] = &["am", "pm", "hrs"];

/// Parts of the day after «de la» that make a number before them an hour
/// («a las 3 de la mañana»), folded.
const DAY_PARTS: &[&str] = &["manana", "tarde", "noche", "madrugada"];

/// Number words up to ten, folded («un», «uno» and «una» are stop words):
/// they count things the folder also counts («dos cuentas», «tres días»),
/// so they are figures only before a unit.
const SMALL_NUMBERS: &[&str] = &[
    "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez",
];

/// Number words from eleven, folded (with the prefixes «veinti…»,
/// «dieci…»): the folder counts nothing so large, so in a question they are
/// an amount, a date or an hour.
#[rustfmt::skip]
const LARGE_NUMBERS: &[&str] = &[
    "once", "doce", "trece", "catorce", "quince", "veinte", "treinta", "cuarenta", "cincuenta",
    "sesenta", "setenta", "ochenta", "noventa", "cien", "ciento", "cientos", "doscientos",
    "trescientos", "cuatrocientos", "quinientos", "seiscientos", "setecientos", "ochocientos",
    "novecientos",
];

/// Whether the folded word is an amount or a time by itself: a unit of
/// money, a time mark, or a number word from eleven.
fn is_quantity_word(word: &str) -> bool {
    AMOUNT_UNITS.contains(&word)
        || TIME_MARKS.contains(&word)
        || LARGE_NUMBERS.contains(&word)
        || ["veinti", "dieci"]
            .iter()
            .any(|p| word.len() > p.len() && word.starts_with(p))
}

/// Whether a token as typed may fold to a word of [`is_quantity_word`] or be
/// a part of the day that makes a number before it an hour. A gate run on
/// every token of every text read (the folder's too, at each reload), so it
/// compares only the openings for the token's first letter, ASCII case
/// aside (the accents of these words come later: «millón», «veintiún»);
/// parts of the day must match whole («buenas tardes» is a greeting).
fn may_be_quantity_word(token: &str) -> bool {
    let Some(first) = token.as_bytes().first() else {
        return false;
    };
    let (openings, whole): (&[&str], &[&str]) = match first.to_ascii_lowercase() {
        b'm' => (&["mil"], &["madrugada", "mañana", "manana"]),
        b'p' => (&["peso", "palo", "pm"], &[]),
        b'b' => (&["bill"], &[]),
        b'c' => (
            &[
                "cop",
                "catorce",
                "cuarenta",
                "cincuenta",
                "cien",
                "cuatrocien",
            ],
            &[],
        ),
        b'a' => (&["am"], &[]),
        b'h' => (&["hrs"], &[]),
        b'o' => (&["once", "ochenta", "ochocien"], &[]),
        b'd' => (&["doce", "dieci", "doscien"], &[]),
        b't' => (&["trece", "treinta", "trescien"], &["tarde"]),
        b'q' => (&["quince", "quinien"], &[]),
        b'v' => (&["veint"], &[]),
        b's' => (&["sesenta", "setenta", "seiscien", "setecien"], &[]),
        b'n' => (&["noventa", "novecien"], &["noche"]),
        _ => return false,
    };
    let bytes = token.as_bytes();
    openings.iter().any(|o| {
        bytes
            .get(..o.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(o.as_bytes()))
    }) || whole.iter().any(|w| token.eq_ignore_ascii_case(w))
}

/// Whether the folded word is a number: short digits or a small number word.
fn is_number(word: &str) -> bool {
    (!word.is_empty() && word.len() <= 2 && word.bytes().all(|b| b.is_ascii_digit()))
        || SMALL_NUMBERS.contains(&word)
}

/// Whether the words after a number make it an amount or an hour: a unit
/// («dos millones»), a time mark («a las 3 pm») or «de la» and a part of the
/// day («a las 3 de la tarde»).
fn counts_a_quantity(next: &str, second: &str, third: &str) -> bool {
    AMOUNT_UNITS.contains(&next)
        || TIME_MARKS.contains(&next)
        || (next == "de" && second == "la" && DAY_PARTS.contains(&third))
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

    /// Amounts and hours written in words or short digits weighed like rare
    /// topic words the folder never uses («millones», «doce») and diluted
    /// the question around them.
    #[test]
    fn amounts_and_hours_in_words_are_read_as_blanks() {
        for (text, expected) in [
            ("dice doce millones y eran veintiún millones", "dice y eran"),
            ("por 45 millones de pesos", "por de"),
            ("cierra a las 3 de la tarde", "cierra a las de la tarde"),
            ("desde las 8 pm", "desde las"),
            (
                "el cierre es a las cinco de la tarde",
                "el cierre es a las de la tarde",
            ),
            ("un contrato de quinientos mil", "un contrato de"),
        ] {
            let read = without_figures(text);
            let words: Vec<&str> = read.split_whitespace().collect();
            assert_eq!(words.join(" "), expected, "{text:?}");
        }
    }

    /// The gate's openings are a second copy of the word lists: each word
    /// of theirs must pass it, or the slow pass would never see it.
    #[test]
    fn the_quantity_gate_lets_every_quantity_word_through() {
        for word in AMOUNT_UNITS
            .iter()
            .chain(TIME_MARKS)
            .chain(LARGE_NUMBERS)
            .chain(DAY_PARTS)
            .chain(&["veintiún", "dieciséis", "millón", "mañana", "MILLONES"])
        {
            assert!(may_be_quantity_word(word), "{word}");
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
            "tengo dos cuentas y tres días de plazo",
            "a las 3 me bloqueé",
            "sin números",
        ] {
            assert!(
                matches!(without_figures(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }
}
