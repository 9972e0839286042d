//! Text as people really type it, made canonical once at the edge.
//!
//! Every string a person sends (user socket, agent socket) goes through
//! [`normalize`] before limits, validation, storage and search, so the rest of
//! the server sees one spelling of "é" (NFC), no invisible characters (what
//! phones' contact apps wrap around a copied number) and plain spaces.
//! [`mask_secrets`] hides credentials typed into the chat before anything stores,
//! echoes, indexes or shows them.
//!
//! Owns no state and imports nothing from the server.

use unicode_normalization::UnicodeNormalization;

/// What a masked credential reads as.
pub const MASK: &str = "••••••";

/// NFC, without format characters (zero-width spaces, bidi marks, BOM, soft
/// hyphens…) or control characters other than newline and tab, with every
/// Unicode space written as a plain space and line breaks as `\n`.
///
/// Format characters are removed *before* composing, so `e` + U+200B + U+0301
/// still becomes `é`. A zero-width joiner between two pictographs is kept, so
/// emoji sequences survive.
pub fn normalize(input: &str) -> String {
    let chars: Vec<char> = input.chars().collect();
    let mut kept = String::with_capacity(input.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\r' => {
                // \r\n and a lone \r are both one line break.
                kept.push('\n');
                if chars.get(i + 1) == Some(&'\n') {
                    i += 1;
                }
            }
            '\n' | '\t' => kept.push(c),
            '\u{200D}'
                if i > 0
                    && is_pictograph(chars[i - 1])
                    && chars.get(i + 1).copied().is_some_and(is_pictograph) =>
            {
                kept.push(c)
            }
            c if c.is_control() || is_invisible(c) => {}
            c if c != ' ' && is_space(c) => kept.push(' '),
            c => kept.push(c),
        }
        i += 1;
    }
    // Most text is already composed (NFC): the quick check spares the
    // decomposing and recomposing that most of a reload's text would cost.
    if kept.is_ascii()
        || unicode_normalization::is_nfc_quick(kept.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        return kept;
    }
    kept.nfc().collect()
}

/// A character that prints nothing or reorders what follows (format
/// characters: bidi overrides, zero-width spaces…).
pub use secobot_textcat::is_invisible;

/// Spaces other than the plain one (no-break, thin, ideographic…).
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    ) || (c.is_whitespace() && c != '\n' && c != '\t')
}

fn is_pictograph(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1FAFF}' | '\u{FE0F}')
}

/// Words that announce a credential.
const SECRET_WORDS: &[&str] = &[
    "clave",
    "claves",
    "contraseña",
    "contraseñas",
    "contrasena",
    "contrasenas",
    "contraseñá",
    "password",
    "passwd",
    "pass",
    "pwd",
    "pin",
    "código",
    "codigo",
    "otp",
];

/// Words that may sit between the announcing word and the value
/// ("mi clave **de acceso actual es** X").
const FILLERS: &[&str] = &[
    "es",
    "era",
    "sería",
    "seria",
    "fue",
    "quedó",
    "quedo",
    "queda",
    "sigue",
    "siendo",
    "de",
    "del",
    "mi",
    "la",
    "el",
    "acceso",
    "actual",
    "nueva",
    "nuevo",
    "anterior",
    "temporal",
    "secop",
    "ii",
    "usuario",
    "verificación",
    "verificacion",
    "seguridad",
    "confirmación",
    "confirmacion",
    "is",
    "my",
    "puse",
    "pongo",
    "uso",
    "tengo",
    "dice",
    "que",
    "y",
    "con",
];

/// Fillers after which `código`/`pin` really is a credential; plain
/// `código del proceso` is a procurement reference, not a secret.
const CODE_QUALIFIERS: &[&str] = &[
    "verificación",
    "verificacion",
    "seguridad",
    "acceso",
    "confirmación",
    "confirmacion",
];

/// Hides credentials typed into the chat: the value after "clave",
/// "contraseña", "password", "pin" or "código de verificación" (with `:`/`=`,
/// "es", quotes…) becomes [`MASK`]. Returns `None` when there was nothing to hide.
///
/// A value is masked when it is announced by `:`/`=`, quoted, or looks like a
/// credential (has a digit or a symbol); "mi clave es incorrecta" is left alone.
pub fn mask_secrets(text: &str) -> Option<String> {
    let tokens = tokenize(text);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let word = tokens[i].word(text);
        if !SECRET_WORDS.contains(&word.as_str()) {
            i += 1;
            continue;
        }
        // "…use «¿Olvidó su contraseña?»**)." ends its sentence: what follows
        // is not its value (agents insert help articles that name the word).
        let raw = &text[tokens[i].start..tokens[i].end];
        if raw
            .trim_end_matches(['*', '_'])
            .ends_with(['.', '?', '!', ')', '»', '”'])
        {
            i += 1;
            continue;
        }
        let is_code = matches!(word.as_str(), "código" | "codigo" | "pin" | "otp");
        let mut qualified = !matches!(word.as_str(), "código" | "codigo");
        let mut announced = tokens[i].trailing_colon(text);
        let mut j = i + 1;
        // Skip fillers, noting a `:`/`=` on the way.
        while j < tokens.len() && !announced {
            let w = tokens[j].word(text);
            if w == ":" || w == "=" {
                announced = true;
                j += 1;
                break;
            }
            if FILLERS.contains(&w.as_str()) && j - i <= 5 {
                if CODE_QUALIFIERS.contains(&w.as_str()) {
                    qualified = true;
                }
                announced = tokens[j].trailing_colon(text);
                j += 1;
                continue;
            }
            break;
        }
        let Some(value) = tokens.get(j) else {
            break;
        };
        // A value is on the same line, and a parenthesis opens an aside
        // ("la contraseña (por ejemplo…"), not a secret.
        let gap = &text[tokens[j - 1].end..value.start];
        if gap.contains('\n') || text[value.start..].starts_with('(') {
            i = j;
            continue;
        }
        let (start, end) = value_span(&text[value.start..], value.end - value.start);
        let inner = &text[value.start + start..value.start + end];
        let quoted = start > 0;
        let looks_secret = inner.chars().any(|c| c.is_ascii_digit())
            || inner
                .chars()
                .any(|c| !c.is_alphanumeric() && !matches!(c, '-' | '\''));
        let digits_only = !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit());
        let mask = !inner.is_empty()
            && if is_code && !qualified {
                digits_only && (4..=8).contains(&inner.len())
            } else {
                announced || quoted || looks_secret
            };
        if mask {
            spans.push((value.start + start, value.start + end));
        }
        // Go on after the value (a quoted one may span several tokens).
        let after = value.start + end;
        i = j + 1;
        while i < tokens.len() && tokens[i].start < after {
            i += 1;
        }
    }
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// The part of a value token that is the secret: inside quotes if quoted,
/// without trailing sentence punctuation otherwise.
fn value_span(rest: &str, token_len: usize) -> (usize, usize) {
    const QUOTES: &[(char, char)] = &[('"', '"'), ('\'', '\''), ('«', '»'), ('“', '”'), ('‘', '’')];
    for (open, close) in QUOTES {
        if let Some(inner) = rest.strip_prefix(*open) {
            let start = open.len_utf8();
            // A quoted secret may hold spaces; look a little past the token.
            let window: usize = inner
                .char_indices()
                .take(100)
                .last()
                .map_or(0, |(i, c)| i + c.len_utf8());
            let end = inner[..window]
                .find(*close)
                .map_or(token_len, |p| start + p);
            return (start, end.max(start));
        }
    }
    let raw = &rest[..token_len];
    let trimmed = raw.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
    // "Secop2024*." keeps its star; only the sentence's full stop goes.
    (
        0,
        if trimmed.is_empty() {
            raw.len()
        } else {
            trimmed.len()
        },
    )
}

/// A whitespace-separated token, by byte offsets.
struct Token {
    start: usize,
    end: usize,
}

impl Token {
    /// Lower-cased, without surrounding punctuation other than a lone `:`/`=`.
    fn word(&self, text: &str) -> String {
        let raw = &text[self.start..self.end];
        if raw == ":" || raw == "=" {
            return raw.to_owned();
        }
        raw.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    }

    fn trailing_colon(&self, text: &str) -> bool {
        let raw = &text[self.start..self.end];
        raw.len() > 1 && (raw.ends_with(':') || raw.ends_with('='))
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                tokens.push(Token { start: s, end: i });
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        tokens.push(Token {
            start: s,
            end: text.len(),
        });
    }
    // "clave:Secop1" is two tokens: the word and the value.
    let mut split = Vec::with_capacity(tokens.len());
    for t in tokens {
        let raw = &text[t.start..t.end];
        match raw.find([':', '=']) {
            Some(p) if p > 0 && p + 1 < raw.len() => {
                split.push(Token {
                    start: t.start,
                    end: t.start + p + 1,
                });
                split.push(Token {
                    start: t.start + p + 1,
                    end: t.end,
                });
            }
            _ => split.push(t),
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_accents_and_invisible_characters() {
        let cases = [
            (
                "que\u{301} es la firma electro\u{301}nica",
                "qué es la firma electrónica",
            ),
            ("\u{202D}+57 300 123 4567\u{202C}", "+57 300 123 4567"),
            ("300\u{00A0}123\u{202F}4567", "300 123 4567"),
            ("ana@correo.co\u{200B}", "ana@correo.co"),
            ("\u{FEFF}hola\r\nmundo\u{7}", "hola\nmundo"),
            ("e\u{200B}\u{301}", "é"),
            ("\u{200B}\u{200C}\u{2060}", ""),
            ("👨\u{200D}👩", "👨\u{200D}👩"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), want, "{input:?}");
        }
    }

    #[test]
    fn masks_credentials_in_the_ways_people_write_them() {
        let cases = [
            (
                "mi clave es Secop2024* y no puedo entrar",
                "mi clave es •••••• y no puedo entrar",
            ),
            ("contraseña: perrito", "contraseña: ••••••"),
            ("Contraseña:Perro123", "Contraseña:••••••"),
            (
                "mi contraseña es \"gato feliz\"",
                "mi contraseña es \"••••••\"",
            ),
            ("password=abc123", "password=••••••"),
            ("mi pin es 4821.", "mi pin es ••••••."),
            (
                "el código de verificación es 123456",
                "el código de verificación es ••••••",
            ),
            (
                "mi clave de acceso actual es Hola#2024",
                "mi clave de acceso actual es ••••••",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(mask_secrets(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn leaves_ordinary_questions_alone() {
        for text in [
            "olvidé mi clave y no puedo entrar",
            "¿cómo cambio la contraseña?",
            "mi clave es incorrecta",
            "el código del proceso es CO1.PCCNTR.123456",
            "qué es el código UNSPSC",
            // A help article an agent inserts.
            "1. Use la opción para recuperar la contraseña (por ejemplo, **«¿Olvidó su contraseña?»**).\n2. Escriba su usuario.",
            "Cambie la contraseña.\n3. Listo",
        ] {
            assert_eq!(mask_secrets(text), None, "{text}");
        }
    }
}
