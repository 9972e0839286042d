//! Questions about preventing a problem: «¿cómo evito que me hackeen la
//! cuenta?», «qué hago para que no me roben la clave». They share their
//! words with the report of the problem («me hackearon la cuenta»), and the
//! guided flows are for problems that happened: they open with «Lamento lo
//! ocurrido» and ask what went wrong. A question of prevention wants the
//! advice entries instead.

use super::analyzer::{fold, words};

/// Verbs of preventing, folded.
const PREVENT: &[&str] = &[
    "evitar",
    "evito",
    "evite",
    "eviten",
    "evitamos",
    "evitaria",
    "prevenir",
    "prevengo",
    "prevenga",
    "prevengan",
    "prevencion",
];

/// Words after «para que» that make it a purpose of prevention («para que
/// no me hackeen», «para que nadie entre»).
const NOBODY: &[&str] = &["no", "nadie", "nunca", "jamas"];

/// Words that say the problem already happened, so the question is how to
/// stop it or keep it from happening again: «¿cómo hago para que no vuelva a
/// pasar?», «cómo evito que me lleguen correos que no pedí», «me llegan
/// avisos, ¿cómo evito…?». That is a report, and the flow fits it.
const HAPPENED: &[&str] = &[
    "vuelva",
    "vuelvan",
    "nuevamente",
    "repita",
    "pedi",
    "solicite",
    "recibi",
    "llego",
    "llegan",
    "llegaron",
    "entraron",
    "entro",
];

/// Word pairs that say it again: «otra vez», «de nuevo» («otra cosa» and «un
/// usuario nuevo» do not).
const AGAIN: &[[&str; 2]] = &[["otra", "vez"], ["de", "nuevo"]];

/// Whether `text` asks how to prevent something rather than reporting it.
pub fn asks_how_to_prevent(text: &str) -> bool {
    let words: Vec<String> = words(text).map(|w| fold(&w)).collect();
    if words.iter().any(|w| HAPPENED.contains(&w.as_str()))
        || words
            .windows(2)
            .any(|w| AGAIN.iter().any(|[a, b]| w[0] == *a && w[1] == *b))
    {
        return false;
    }
    words.iter().any(|w| PREVENT.contains(&w.as_str()))
        || words
            .windows(3)
            .any(|w| w[0] == "para" && w[1] == "que" && NOBODY.contains(&w[2].as_str()))
}

#[cfg(test)]
mod tests {
    use super::asks_how_to_prevent;

    #[test]
    fn a_question_of_prevention_is_not_a_report() {
        for q in [
            "cómo hago para que no me hackeen la cuenta",
            "¿Cómo evito que alguien entre a mi usuario?",
            "qué debo hacer para que nadie use mi clave",
            "recomendaciones para prevenir que me suplanten",
            "olvidé la clave y otra cosa, ¿cómo evito que alguien entre a mi usuario?",
            "tengo usuario nuevo, ¿cómo evito que me lo roben?",
        ] {
            assert!(asks_how_to_prevent(q), "{q:?}");
        }
        for q in [
            "me hackearon la cuenta, ¿qué hago?",
            "alguien entró a mi usuario y cambió la clave",
            "ya recuperé el usuario, ¿cómo hago para que no vuelva a pasar?",
            "no puedo entrar para que me paguen",
            "cómo evito que me lleguen correos de cambio de clave que no pedí",
            "alguien entró a mi cuenta, ¿cómo evito que lo haga otra vez?",
            "me robaron la clave, ¿qué hago para que no pase de nuevo?",
        ] {
            assert!(!asks_how_to_prevent(q), "{q:?}");
        }
    }
}
