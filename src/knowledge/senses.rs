//! Word senses that stemming merges, told apart by the word before.
//!
//! The Spanish stemmer makes «pública», «públicos» and «publicar» one term,
//! `public`. In this domain the adjective is everywhere («entidad pública»,
//! «contratación pública», «servidor público») and says nothing of a topic,
//! while the verb is a topic of its own (publishing a process): «qué es la
//! contratación pública» answered the entry on publishing a process, and «soy
//! servidor público» (a civil servant) the one on the platform failing
//! («error del servidor»). Before analysis, the adjective after a noun it
//! qualifies is dropped and «servidor público» becomes «funcionario», the
//! folder's word for entity staff.
//!
//! «Seguro» is the same: `segur` is «seguridad» (the security entries), but
//! «estoy segura de que la clave es esa» is certainty, and «seguramente» a
//! guess. After «estoy», «estamos»… (with «muy», «bien» or «totalmente»
//! between) the adjective says nothing of a topic and is dropped, as is
//! «seguramente»; «¿es seguro guardar la clave?» keeps its sense of safety.
//!
//! «Mismo» after an adverb of time or place («ya mismo», «ahora mismo», «hoy
//! mismo», «aquí mismo») means «right now / right here»: it is dropped, so
//! «¿qué hago ya mismo?» is not about using «el mismo usuario» in two
//! accounts.

use std::borrow::Cow;

use super::analyzer::fold;

/// Nouns that «público» qualifies in users' questions, folded.
#[rustfmt::skip]
const QUALIFIED_NOUNS: &[&str] = &[
    "entidad", "entidades", "servidor", "servidora", "servidores", "servidoras", "funcionario",
    "funcionaria", "funcionarios", "funcionarias", "empleado", "empleada", "empleados",
    "empleadas", "contratacion", "compra", "compras", "licitacion", "licitaciones", "sector",
    "servicio", "servicios", "universidad", "universidades", "empresa", "empresas", "informacion",
    "institucion", "instituciones", "obra", "obras", "audiencia", "audiencias", "recursos",
    "hospital", "hospitales", "funcion", "gasto", "dinero", "dineros", "bienes", "cargo", "cargos",
];

/// The adjective's forms, folded. «publica» and «publico» are also the verb
/// («la entidad publica el aviso», «publico el proceso»); see [`is_verb`].
const ADJECTIVE_FORMS: &[&str] = &["publico", "publica", "publicos", "publicas"];

/// Words that open the object of «publica»/«publico» used as a verb.
#[rustfmt::skip]
const OBJECT_OPENERS: &[&str] = &[
    "el", "la", "los", "las", "lo", "un", "una", "unos", "unas", "su", "sus", "mi", "mis",
    "nuestro", "nuestra", "nuestros", "nuestras", "este", "esta", "estos", "estas", "ese", "esa",
    "esos", "esas", "todo", "todos", "todas", "cada", "en", "hoy", "ya",
];

/// «servidor público» and its forms: a civil servant.
const SERVANT: &[&str] = &["servidor", "servidora", "servidores", "servidoras"];

/// First-person forms of «estar» after which «seguro» is the writer's
/// certainty, folded: «la cuenta está segura» is about safety.
const BE: &[&str] = &[
    "estoy",
    "estamos",
    "estabamos",
    "estuve",
    "estuvimos",
    "quede",
];

/// Words that may stand between «estar» and «seguro» («estoy muy segura»).
const DEGREE: &[&str] = &["muy", "bien", "totalmente", "completamente", "cien"];

/// The forms of «seguro», folded.
const SURE: &[&str] = &["seguro", "segura", "seguros", "seguras"];

/// Adverbs after which «mismo» means «right (now, here)», folded.
const RIGHT: &[&str] = &[
    "ya", "ahora", "ahorita", "hoy", "aqui", "aca", "ahi", "alli", "alla", "asi",
];

/// `text` with the senses that stemming merges told apart (see the module
/// docs). Borrowed when nothing changes (most questions: the checks are
/// scans of the bytes for «blic» and «segur»).
pub fn disambiguate(text: &str) -> Cow<'_, str> {
    let passes: [fn(&str) -> Cow<'_, str>; 3] = [public, certainty, right_now];
    let mut out = Cow::Borrowed(text);
    for pass in passes {
        let changed = match pass(&out) {
            Cow::Owned(t) => Some(t),
            Cow::Borrowed(_) => None,
        };
        if let Some(t) = changed {
            out = Cow::Owned(t);
        }
    }
    out
}

/// `text` without «mismo» of «ya mismo», «ahora mismo», «aquí mismo»…
fn right_now(text: &str) -> Cow<'_, str> {
    drop_words(text, b"mism", |folded, i| {
        i > 0
            && matches!(folded[i].as_str(), "mismo" | "misma")
            && RIGHT.contains(&folded[i - 1].as_str())
    })
}

/// `text` without «seguro» of certainty and without «seguramente».
fn certainty(text: &str) -> Cow<'_, str> {
    drop_words(text, b"segur", |folded, i| {
        let sure = SURE.contains(&folded[i].as_str()) && {
            let mut j = i;
            while j > 0 && DEGREE.contains(&folded[j - 1].as_str()) {
                j -= 1;
            }
            j > 0 && BE.contains(&folded[j - 1].as_str())
        };
        sure || folded[i] == "seguramente"
    })
}

/// `text` without the words at which `drop(folded words, index)` holds;
/// only texts holding `needle` (ASCII, any case) are read word by word.
fn drop_words<'t>(
    text: &'t str,
    needle: &[u8],
    drop: impl Fn(&[String], usize) -> bool,
) -> Cow<'t, str> {
    if !holds(text, needle) {
        return Cow::Borrowed(text);
    }
    let spans = word_spans(text);
    let folded: Vec<String> = spans.iter().map(|(s, e)| fold(&text[*s..*e])).collect();
    let edits = (0..folded.len())
        .filter(|&i| drop(&folded, i))
        .map(|i| (spans[i].0, spans[i].1, ""))
        .collect();
    apply(text, edits)
}

/// `text` with the adjective «público» dropped after a noun it qualifies, and
/// «servidor público» written «funcionario».
fn public(text: &str) -> Cow<'_, str> {
    if !holds(text, b"blic") {
        return Cow::Borrowed(text);
    }
    let spans = word_spans(text);
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    for i in 1..spans.len() {
        let (start, end) = spans[i];
        let word = &text[start..end];
        // Folding allocates: only the words that can be the adjective.
        if !holds(word, b"blic") {
            continue;
        }
        let folded = fold(word);
        if !ADJECTIVE_FORMS.contains(&folded.as_str()) {
            continue;
        }
        let (prev_start, prev_end) = spans[i - 1];
        let adjacent = text[prev_end..start].chars().all(char::is_whitespace);
        let noun = fold(&text[prev_start..prev_end]);
        if !adjacent || !QUALIFIED_NOUNS.contains(&noun.as_str()) {
            continue;
        }
        let next = spans.get(i + 1).map(|(s, e)| fold(&text[*s..*e]));
        if is_verb(word, &folded, next.as_deref()) {
            continue;
        }
        if SERVANT.contains(&noun.as_str()) {
            edits.push((prev_start, prev_end, "funcionario"));
        }
        edits.push((start, end, ""));
    }
    apply(text, edits)
}

/// `text` with each `(start, end, replacement)` edit made, in order.
fn apply<'t>(text: &'t str, edits: Vec<(usize, usize, &str)>) -> Cow<'t, str> {
    if edits.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, with) in edits {
        out.push_str(&text[at..start]);
        out.push_str(with);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Whether the form is the verb: unaccented singular followed by the opening
/// of its object («la entidad publica el proceso»). The accented forms
/// («pública») and the plurals are never the verb a user means.
fn is_verb(word: &str, folded: &str, next: Option<&str>) -> bool {
    let accented = word.chars().any(|c| matches!(c, 'ú' | 'Ú'));
    !accented
        && matches!(folded, "publica" | "publico")
        && next.is_some_and(|n| OBJECT_OPENERS.contains(&n))
}

/// Whether `text` holds `needle` (ASCII, any case).
fn holds(text: &str, needle: &[u8]) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Byte ranges of the maximal runs of letters and digits (the analyzer's
/// words).
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adjective_publico_is_dropped_after_the_noun_it_qualifies() {
        for (text, expected) in [
            ("qué es la contratación pública", "qué es la contratación "),
            ("una entidad publica de Boyacá", "una entidad  de Boyacá"),
            ("Soy servidor público.", "Soy funcionario ."),
            ("las compras publicas, ¿dónde?", "las compras , ¿dónde?"),
            ("los servidores PÚBLICOS", "los funcionario "),
        ] {
            assert_eq!(disambiguate(text), expected, "{text:?}");
        }
    }

    #[test]
    fn seguro_of_certainty_is_not_security() {
        for (text, expected) in [
            (
                "estoy segura de que la clave es esa",
                "estoy  de que la clave es esa",
            ),
            ("No estoy muy seguro si llegó", "No estoy muy  si llegó"),
            ("seguramente es un error", " es un error"),
            ("estamos totalmente SEGUROS", "estamos totalmente "),
        ] {
            assert_eq!(disambiguate(text), expected, "{text:?}");
        }
        for text in [
            "¿es seguro guardar la contraseña en el navegador?",
            "la seguridad de mi cuenta",
            "la póliza de seguro del contrato",
            "la cuenta está segura?",
        ] {
            let kept = disambiguate(text);
            assert!(
                kept.contains("segur") || kept.contains("SEGUR"),
                "{text:?} → {kept:?}"
            );
        }
    }

    #[test]
    fn mismo_of_right_now_is_not_the_same() {
        for (text, expected) in [
            ("¿qué hago ya mismo?", "¿qué hago ya ?"),
            ("necesito entrar ahora mismo", "necesito entrar ahora "),
            ("lo cargo aquí mismo", "lo cargo aquí "),
        ] {
            assert_eq!(disambiguate(text), expected, "{text:?}");
        }
        for text in [
            "puedo usar el mismo usuario en dos empresas",
            "la misma cuenta",
            "lo hago yo mismo",
        ] {
            assert_eq!(disambiguate(text), text, "{text:?}");
        }
    }

    #[test]
    fn the_verb_publicar_is_kept() {
        for text in [
            "la entidad publica el proceso mañana",
            "cuando la entidad publica un aviso",
            "¿cómo publico el proceso?",
            "la entidad, publica ya",
            "publicación del contrato",
            "no tiene nada que ver",
        ] {
            assert_eq!(disambiguate(text), text, "{text:?}");
        }
    }
}
