//! Messages that are only courtesy: a greeting, thanks, a goodbye, or the
//! announcement of a question not yet asked ("tengo una pregunta").
//!
//! The bot greets first, so many users answer "hola" or "buenas tardes"
//! before asking, and "gracias" after an answer. Ranked as questions they
//! match nothing and got "no encontré una respuesta confiable", an odd reply
//! to a greeting. A message made only of courtesy words gets a courtesy
//! reply instead; one with any other word ("hola, olvidé mi clave") is a
//! question as before. "Tengo una pregunta", "una consulta" or "necesito
//! ayuda" open most chats and ask nothing yet: ranked, "pregunta" answered
//! the entry about questions to a tender's documents, with confidence.

use crate::knowledge::analyzer::{fold, words};

/// What a courtesy-only message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Courtesy {
    Greeting,
    Thanks,
    Farewell,
    /// A question or a need for help announced, not yet said.
    Opening,
}

impl Courtesy {
    /// The reply template (`templates/replies/<name>.hbs`).
    pub fn template(self) -> &'static str {
        match self {
            Courtesy::Greeting => "courtesy_greeting",
            Courtesy::Thanks => "courtesy_thanks",
            Courtesy::Farewell => "courtesy_farewell",
            Courtesy::Opening => "courtesy_opening",
        }
    }
}

/// Folded words that thank ("muy amable" included).
const THANKS: &[&str] = &["gracias", "agradezco", "agradecido", "agradecida", "amable"];
/// Folded words that take leave.
const FAREWELL: &[&str] = &["chao", "chau", "adios", "bye", "luego", "pronto"];
/// Folded words that greet.
const GREETING: &[&str] = &[
    "hola", "ola", "holi", "buenas", "buenos", "buen", "saludos", "saludo", "cordial",
];
/// Folded words that acknowledge ("ok", "listo"): answered like thanks.
const ACKNOWLEDGEMENT: &[&str] = &[
    "ok",
    "okay",
    "listo",
    "vale",
    "perfecto",
    "excelente",
    "entendido",
    "genial",
];
/// Folded words that go with the others ("buenas tardes", "muchas gracias",
/// "hasta luego") and say nothing of their own.
const FILLER: &[&str] = &[
    "dias",
    "dia",
    "tardes",
    "tarde",
    "noches",
    "noche",
    "muchas",
    "muchisimas",
    "mil",
    "muy",
    "hasta",
    "bien",
    "que",
    "tal",
    "como",
    "esta",
    "señor",
    "senor",
    "señora",
    "senora",
    "a",
    "y",
    "le",
    "por",
    "todo",
    "su",
    "ayuda",
    "ya",
];
/// Folded words that announce a question or ask for help without saying
/// about what.
const OPENING: &[&str] = &[
    "pregunta",
    "preguntas",
    "preguntar",
    "preguntarle",
    "preguntarles",
    "consulta",
    "consultas",
    "consultarle",
    "duda",
    "dudas",
    "inquietud",
    "inquietudes",
    "ayuda",
    "ayudar",
    "ayudarme",
    "ayudame",
    "ayudeme",
    "ayudenme",
    "ayudan",
    "colaboran",
    "colabora",
    "colaborar",
    "colaborarme",
    "colaboracion",
    "orientacion",
];
/// Folded words that go with an [`OPENING`] one ("tengo una pregunta",
/// "me pueden ayudar por favor") and say nothing of their own.
const OPENING_FILLER: &[&str] = &[
    "tengo",
    "necesito",
    "quiero",
    "quisiera",
    "hacer",
    "hacerles",
    "me",
    "nos",
    "pueden",
    "puede",
    "podrian",
    "podria",
    "una",
    "un",
    "otra",
    "otro",
    "unas",
    "favor",
    "porfa",
    "alguien",
    "con",
    "algo",
    "mi",
    "es",
    "la",
    "siguiente",
    "sobre",
    "secop",
    "ii",
    "2",
    // How soon, not what about: «necesito ayuda urgente», «una pregunta rápida».
    "urgente",
    "urgentemente",
    "rapido",
    "rapida",
    "pronto",
    "ya",
    "ahora",
    "xfa",
    "porfis",
    "plis",
];
/// Longer messages are not courtesy alone.
const MAX_WORDS: usize = 8;

/// The courtesy `text` is made of, if it is made of nothing else.
pub fn courtesy(text: &str) -> Option<Courtesy> {
    let folded: Vec<String> = words(text).map(|w| fold(&w)).collect();
    if folded.is_empty() || folded.len() > MAX_WORDS {
        return None;
    }
    let is = |list: &[&str], w: &str| list.contains(&w);
    let any = |list: &[&str]| folded.iter().any(|w| is(list, w));
    let opening = any(OPENING);
    let all_courtesy = folded.iter().all(|w| {
        [THANKS, FAREWELL, GREETING, ACKNOWLEDGEMENT, FILLER]
            .iter()
            .any(|list| is(list, w))
            || (opening && (is(OPENING, w) || is(OPENING_FILLER, w)))
    });
    if !all_courtesy {
        return None;
    }
    // "Gracias por su ayuda" thanks; "gracias, tengo otra pregunta" opens.
    let thanks_only = any(THANKS) && !any(OPENING_FILLER);
    if any(FAREWELL) {
        Some(Courtesy::Farewell)
    } else if opening && !thanks_only {
        Some(Courtesy::Opening)
    } else if any(THANKS) {
        Some(Courtesy::Thanks)
    } else if any(GREETING) {
        Some(Courtesy::Greeting)
    } else if any(ACKNOWLEDGEMENT) {
        Some(Courtesy::Thanks)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courtesy_alone_is_recognised_and_a_question_with_it_is_not() {
        for (text, want) in [
            ("hola", Courtesy::Greeting),
            ("Buenas tardes", Courtesy::Greeting),
            ("¡Hola! buenos días", Courtesy::Greeting),
            ("muchas gracias, muy amable", Courtesy::Thanks),
            ("ok listo", Courtesy::Thanks),
            ("gracias, hasta luego", Courtesy::Farewell),
            ("chao", Courtesy::Farewell),
            ("muchas gracias por su ayuda", Courtesy::Thanks),
        ] {
            assert_eq!(courtesy(text), Some(want), "{text:?}");
        }
        for text in [
            "hola, olvidé mi contraseña",
            "buenas tardes, ¿cómo presento una oferta?",
            "gracias pero no me llegó el correo",
            "",
            "que tal",
            "bien",
        ] {
            assert_eq!(courtesy(text), None, "{text:?}");
        }
    }

    /// Kind: a question announced, not yet asked, was ranked as one.
    #[test]
    fn a_question_announced_but_not_asked_is_an_opening() {
        for text in [
            "tengo una pregunta",
            "Buenas tardes, una consulta por favor",
            "hola, necesito ayuda",
            "me pueden colaborar?",
            "gracias, tengo otra duda",
            "quisiera hacerles una pregunta sobre SECOP II",
            "necesito ayuda urgente",
            "buenas, urgente, una pregunta",
            "una pregunta rápida xfa",
        ] {
            assert_eq!(courtesy(text), Some(Courtesy::Opening), "{text:?}");
        }
        // Any word of a topic makes it a question.
        for text in [
            "tengo una pregunta sobre la póliza",
            "necesito ayuda con la contraseña",
            "una consulta: no me llega el código",
            "quiero hablar con un asesor, necesito ayuda",
        ] {
            assert_eq!(courtesy(text), None, "{text:?}");
        }
    }
}
