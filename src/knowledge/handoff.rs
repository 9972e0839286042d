//! Requests for a person ("human handoff"): "¿me comunica con un asesor?",
//! "hay alguien de carne y hueso que me atienda", "asesor porfa".
//!
//! Asking for a person is not a topic to rank: the escalation flow's
//! triggers can only hold some of the ways people say it, and the ranking
//! read "¿me podría comunicar con un agente de la mesa de servicio?" as a
//! question about the service desk. A request is a person noun used as the
//! object of the request (an indefinite or bare noun: "un asesor",
//! "alguien", "una persona real"), with a verb of contact or attention, or
//! alone in a short message. A definite or possessive noun names someone
//! else ("el asesor jurídico me pidió…", "la funcionaria de la entidad"),
//! and "alguien" must be the one asked for, not the one who acted
//! ("alguien entró a mi cuenta").
//!
//! Asking to be called back ("¿me pueden llamar?", "llámenme") asks for a
//! person too. Asking the bot to open a support case ("necesito crear un
//! caso", "abrir ticket") is the same request: the bot opens cases itself,
//! so it starts the flow instead of explaining the agency's web form. How-to questions
//! ("¿cómo creo un caso en la página?") and cases already open ("ya abrí un
//! caso") stay with the ranking.

use super::analyzer::{fold, words, CLAUSE_BREAKS};

/// Nouns for a person of the support team, folded.
const PERSON: &[&str] = &[
    "asesor",
    "asesora",
    "asesores",
    "agente",
    "agentes",
    "humano",
    "humana",
    "operador",
    "operadora",
    "funcionario",
    "funcionaria",
    "tecnico",
    "tecnica",
    "persona",
    "ingeniero",
    "ingeniera",
    "especialista",
];

/// Words before a person noun that make it the one asked for.
const DETERMINERS: &[&str] = &["un", "una", "algun", "alguna", "con", "a", "por"];

/// Words before the determiner that make the person the subject of a
/// complaint, not the one asked for ("una queja contra un funcionario").
const ABOUT: &[&str] = &["contra", "sobre", "acerca"];

/// What follows "persona" when it is a kind of supplier, not someone to talk to.
const PERSON_KINDS: &[&str] = &["natural", "naturales", "juridica", "juridicas"];

/// Words a few places after the noun that make it someone of another
/// organisation ("una funcionaria de la alcaldía").
const ELSEWHERE: &[&str] = &[
    "entidad",
    "alcaldia",
    "gobernacion",
    "empresa",
    "contratante",
    "proveedor",
    "juridico",
    "juridica",
    "comercial",
];

/// Verbs of contact or attention (folded prefixes): anywhere in the message,
/// they make a person noun in it a request.
const CONTACT: &[&str] = &[
    "habl", "comuni", "transfi", "transfer", "atien", "atend", "atenc", "chate", "contact", "llam",
];

/// Exact forms of contact verbs whose prefixes say other things
/// ("pasar la administración", "revisar el contrato").
const CONTACT_FORMS: &[&str] = &[
    "pasame", "paseme", "pasenme", "pasarme", "revise", "revisen", "mire", "miren",
];

/// Words of asking (folded prefixes) that make a person noun a request only
/// next to it: "quiero un asesor", "hay algún agente", "un asesor, por favor".
const ASKING: &[&str] = &[
    "quier", "quisier", "necesit", "solicit", "requier", "dame", "deme", "denme", "hay", "existe",
    "porfa", "favor", "urgente", "pido", "pedimos",
];

/// How many words before or after the person noun an [`ASKING`] word counts.
const ASKING_REACH: usize = 2;

/// A message of at most this many words that names a person asks for one
/// ("asesor porfa", "un humano").
const SHORT: usize = 3;

/// Words after "alguien" that make it the one asked for ("alguien que me
/// atienda", "alguien de soporte").
const SOMEONE_ASKED: &[&str] = &["que", "de", "real", "humano"];

/// Verbs of wanting that a "no" before them negates ("no quiero hablar con
/// un asesor").
const WANT: &[&str] = &[
    "quiero", "necesito", "deseo", "requiero", "quisiera", "pido",
];

fn starts_with_any(word: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| word.starts_with(p))
}

/// Forms of «llamar» that ask to be called («llámenme», «¿me pueden
/// llamar?», «que me llamen»), folded. The indicative says who called
/// («me llamaron de la entidad», «me llaman de un número raro»): not here.
const CALL_ME: &[&str] = &["llamenme", "llameme", "llamarme", "llamame", "devuelvanme"];

/// «me» plus these, folded, ask to be called: «me pueden llamar», «me llaman
/// ustedes?» is left out on purpose (it is also «they call me…»).
const CALL_ME_AFTER_ME: &[&str] = &["llamen", "llame", "devuelvan"];

/// Modal verbs that, between «me» and «llamar», make a request: «me pueden
/// llamar», «me podrían llamar».
const CALL_MODAL: &[&str] = &["pueden", "puede", "podrian", "podria", "podrán", "podran"];

/// Whether `text` asks to be called back, which only a person can do.
fn asks_for_call(words: &[&str]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        let before = |k: usize| i.checked_sub(k).map(|j| words[j]);
        let negated = before(1) == Some("no") || before(2) == Some("no");
        let asked = CALL_ME.contains(w)
            || (before(1) == Some("me") && CALL_ME_AFTER_ME.contains(w))
            || (*w == "llamar"
                && before(2) == Some("me")
                && before(1).is_some_and(|m| CALL_MODAL.contains(&m)));
        asked && !negated
    })
}

/// Third-person preterite endings, folded: «la atendió una persona», «me
/// llamaron unos funcionarios» tell what someone did, they ask for no one.
const TOLD: &[&str] = &["io", "aron", "ieron"];

/// Verbs of giving (folded, exact forms: subjunctive, imperative and
/// infinitive) that ask for a person when addressed to the writer: «que me
/// asignen un asesor», «¿nos pueden enviar un técnico?». The indicative
/// tells what someone did («me asignaron un funcionario») or does.
const GIVE: &[&str] = &[
    "asignen", "asigne", "asignar", "designen", "designe", "designar", "envien", "envie", "enviar",
    "manden", "mande", "mandar", "pongan", "ponga", "poner",
];

/// [`GIVE`] forms with the writer attached: «asígnenme un asesor».
const GIVE_ME: &[&str] = &[
    "asignenme",
    "asigneme",
    "asignarme",
    "asignarnos",
    "designenme",
    "envienme",
    "envieme",
    "enviarme",
    "mandenme",
    "mandeme",
    "mandarme",
    "ponganme",
    "pongame",
    "ponerme",
];

/// How many words after a giving verb the person noun may come («que me
/// asignen por favor a un asesor»).
const GIVE_REACH: usize = 5;

/// Whether a giving verb addressed to the writer comes at most
/// [`GIVE_REACH`] words before position `i` of `words`.
fn given_to_me(words: &[&str], i: usize) -> bool {
    (i.saturating_sub(GIVE_REACH)..i).any(|j| {
        GIVE_ME.contains(&words[j])
            || (GIVE.contains(&words[j])
                && (1..=2).any(|k| {
                    j.checked_sub(k)
                        .is_some_and(|m| matches!(words[m], "me" | "nos"))
                }))
    })
}

/// Whether the folded contact verb `word` tells what someone did.
fn told(word: &str) -> bool {
    TOLD.iter().any(|end| word.ends_with(end))
}

/// Whether `text` asks to be attended by a person (see the module docs).
pub fn asks_for_person(text: &str) -> bool {
    // Words with the clause (between commas, stops and question marks) they are in.
    let mut words_in: Vec<(String, usize)> = Vec::new();
    for (clause, part) in text
        .split([',', '.', ';', '?', '¿', '!', '¡', '\n'])
        .enumerate()
    {
        words_in.extend(words(part).map(|w| (fold(&w), clause)));
    }
    let words: Vec<&str> = words_in.iter().map(|(w, _)| w.as_str()).collect();
    if words
        .windows(3)
        .any(|w| w[0] == "carne" && w[1] == "y" && w[2] == "hueso")
    {
        return true;
    }
    if asks_for_call(&words) {
        return true;
    }
    let contact = words.iter().enumerate().any(|(i, w)| {
        (starts_with_any(w, CONTACT) || CONTACT_FORMS.contains(w))
            && !(i > 0 && words[i - 1] == "no")
            && !told(w)
    });
    let asking_near = |i: usize| {
        let from = i.saturating_sub(ASKING_REACH);
        let to = (i + ASKING_REACH).min(words.len() - 1);
        (from..=to).any(|j| j != i && starts_with_any(words[j], ASKING))
    };
    let negated = |i: usize| {
        let clause = words_in[i].1;
        (1..i.min(6) + 1).any(|k| {
            let j = i - k;
            words_in[j].1 == clause
                && words[j] == "no"
                && words.get(j + 1).is_some_and(|w| WANT.contains(w))
        })
    };
    words.iter().enumerate().any(|(i, w)| {
        let before = |k: usize| i.checked_sub(k).map(|j| words[j]);
        let after = |k: usize| words.get(i + k).copied();
        let asked = if *w == "alguien" {
            before(1) == Some("con") || after(1).is_some_and(|a| SOMEONE_ASKED.contains(&a))
        } else if PERSON.contains(w) {
            // «un ser humano»: the noun phrase starts at «ser».
            let human = matches!(*w, "humano" | "humana") && before(1) == Some("ser");
            let det = if human { before(2) } else { before(1) };
            let bare = det.is_none_or(|b| {
                DETERMINERS.contains(&b)
                    || starts_with_any(b, CONTACT)
                    || starts_with_any(b, ASKING)
            });
            let about = before(if human { 3 } else { 2 }).is_some_and(|b| ABOUT.contains(&b));
            let kind = *w == "persona" && after(1).is_some_and(|a| PERSON_KINDS.contains(&a));
            let elsewhere = (1..=3).any(|k| after(k).is_some_and(|a| ELSEWHERE.contains(&a)));
            bare && !about && !kind && !elsewhere
        } else {
            false
        };
        asked
            && !negated(i)
            && (contact || asking_near(i) || words.len() <= SHORT || given_to_me(&words, i))
    })
}

/// Verbs of opening a case, folded, exact forms (a prefix such as "cre"
/// would take "creo que…").
const OPEN: &[&str] = &[
    "crear",
    "crearme",
    "creen",
    "creeme",
    "abrir",
    "abrirme",
    "abran",
    "abrame",
    "abranme",
    "radicar",
    "radique",
    "abra",
    "genere",
    "radiquen",
    "radicarme",
    "poner",
    "ponerle",
    "generar",
    "generen",
    "levantar",
    "levanten",
    "montar",
    "registrar",
    // A letter's nouns for the act: «solicito la apertura de un caso».
    "apertura",
    "creacion",
    "radicacion",
];

/// The [`OPEN`] forms that are imperatives addressed to support.
const IMPERATIVE: &[&str] = &[
    "creen", "creeme", "abran", "abrame", "abranme", "radiquen", "generen", "levanten",
];

/// Nouns of a support case, folded.
const CASE: &[&str] = &["caso", "ticket", "tiquete", "incidente"];

/// Words that make a case request a question about doing it elsewhere or
/// about a case already open: the ranking answers those.
const NOT_HERE: &[&str] = &[
    "como",
    "donde",
    "pasos",
    "pagina",
    "web",
    "portal",
    "formulario",
    "linea",
    "estado",
    "seguimiento",
    "numero",
];

/// Words of asking (folded prefixes) that make an [`OPEN`] verb a request.
const ASKING_OPEN: &[&str] = &[
    "quier", "quisier", "necesit", "requier", "requerim", "deseo", "pido", "puede", "podria",
    "favor", "porfa", "ayud", "gustaria", "agrade", "solicit",
];

/// A message of at most this many words that opens a case asks for one ("abrir caso").
const SHORT_CASE: usize = 4;

/// Whether `text` asks the bot to open a support case (see the module docs).
pub fn asks_for_case(text: &str) -> bool {
    let words: Vec<String> = words(text).map(|w| fold(&w)).collect();
    if words.iter().any(|w| NOT_HERE.contains(&w.as_str())) {
        return false;
    }
    words.iter().enumerate().any(|(i, w)| {
        if !OPEN.contains(&w.as_str()) {
            return false;
        }
        // "crear un caso", "abrir ticket", "radicar un nuevo caso".
        let case = (1..=3).any(|k| words.get(i + k).is_some_and(|a| CASE.contains(&a.as_str())));
        let before = &words[..i];
        let negated = before.iter().rev().take(4).any(|b| b == "no");
        // «radiquen un ticket por mí, porfa»: an imperative asks by itself,
        // and «por favor» may come after the verb.
        let asked = IMPERATIVE.contains(&w.as_str())
            || words.iter().any(|b| starts_with_any(b, ASKING_OPEN))
            || words.len() <= SHORT_CASE;
        case && asked && !negated
    })
}

/// Whether `text` asks for a case in a condition's own clause, which
/// [`asks_for_case`] misses when the question before it has a «how/where»
/// word: «¿Dónde veo el plan de pagos? De lo contrario, ábranme un caso».
/// A case noun is looked for first, on the text as typed: the clause-by-clause
/// reading of [`conditional_request`] folds words at every clause break, and
/// this runs on every message.
pub fn asks_for_case_in_condition(text: &str) -> bool {
    let lower = text.to_lowercase();
    CASE.iter().any(|c| lower.contains(c)) && conditional_request(text).is_some()
}

/// Whether folded `words` open with a condition («si no se puede…», «de no
/// ser posible», «de lo contrario», «en caso de que no…», «caso contrario»),
/// after an optional «y», «o» or «pero».
fn opens_condition(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let w = match w.as_slice() {
        ["y" | "o" | "pero", rest @ ..] => rest,
        all => all,
    };
    matches!(
        w,
        ["si" | "sino", ..]
            | ["de", "no" | "lo" | "ser", ..]
            | ["en", "caso", ..]
            | ["caso", "contrario", ..]
    )
}

/// Where a request for a person that is conditioned on the bot's answer
/// begins: the byte offset in `text` of the condition, when the text before
/// it is a question that asks for no one. «Intento subir un PDF de 80 megas
/// y no me deja, ¿qué hago? Si no tienen solución, que me contacte un
/// técnico» asks first; the person is for when the answer does not help, so
/// the question is answered and the person offered. `None` when the
/// message asks for a person without condition, or only for one.
pub fn conditional_request(text: &str) -> Option<usize> {
    text.char_indices()
        .filter(|(_, c)| CLAUSE_BREAKS.contains(c))
        .map(|(at, c)| at + c.len_utf8())
        .find(|&at| {
            let (before, tail) = text.split_at(at);
            let opening: Vec<String> = words(tail).take(4).map(|w| fold(&w)).collect();
            opens_condition(&opening)
                && (asks_for_person(tail) || asks_for_case(tail))
                && words(before).next().is_some()
                && !asks_for_person(before)
                && !asks_for_case(before)
        })
        .map(|at| {
            // The condition starts after the separator's trailing spaces.
            at + text[at..].len() - text[at..].trim_start().len()
        })
}

#[cfg(test)]
mod tests {
    use super::{asks_for_case, asks_for_person, conditional_request};

    #[test]
    fn requests_for_a_person_in_other_words_are_recognised() {
        for q in [
            "¿Me puede pasar con un asesor, por favor?",
            "necesito hablar con alguien de Colombia Compra",
            "un humano por favor",
            "asesora",
            "quisiera que me atienda una persona real",
            "Comuníquenme con un operador de la mesa de ayuda",
            "Requiero la atención de un funcionario de soporte, gracias.",
            "¿hay algún agente disponible?",
            "existe alguien de carne y hueso en este chat?",
            "QUIERO UN TECNICO QUE REVISE MI CUENTA",
            "me transfiere con una asesora? el bot no me entiende",
            "chatear con persona",
            "Lo único que pido es que un ser humano de soporte revise mi caso.",
            "¿puedo hablar con algún ser humano?",
            "pido un asesor ya",
            "a efectos de que un especialista revise la situación de la cuenta",
        ] {
            assert!(asks_for_person(q), "{q}");
        }
    }

    #[test]
    fn a_request_to_be_called_back_asks_for_a_person() {
        for q in [
            "me pueden llamar al 3001234567?",
            "llámenme por favor, es urgente",
            "necesito que me llamen hoy mismo",
            "¿me podría llamar alguien de soporte a este número?",
            "pueden llamarme? tengo un problema con la oferta",
        ] {
            assert!(asks_for_person(q), "{q}");
        }
        for q in [
            "me llamaron de la entidad para firmar el contrato",
            "me llaman de un número extraño diciendo que son de SECOP",
            "a qué número puedo llamar a soporte",
            "no me llamen, prefiero el chat",
            "cómo se llama el módulo de facturas",
        ] {
            assert!(!asks_for_person(q), "{q}");
        }
    }

    #[test]
    fn a_person_given_to_the_writer_is_asked_for() {
        for q in [
            "Solicito respetuosamente que nos asignen un funcionario para revisar la situación.",
            "¿me pueden enviar un técnico? no sé qué más hacer",
            "asígnenme por favor a un asesor",
            "les pido que me manden una persona que sepa del tema",
            "buenas, me podrían poner con un agente",
        ] {
            assert!(asks_for_person(q), "{q}");
        }
        for q in [
            "¿cómo le asigno un rol a un funcionario nuevo de la entidad?",
            "me asignaron un funcionario como supervisor y no aprueba la factura",
            "cómo asigno una persona como ordenador del gasto",
            "la entidad me envió una persona a revisar la obra",
            "me mandan un código al correo, un asesor dice que es normal",
            "necesito asignar a una persona como supervisor del contrato",
        ] {
            assert!(!asks_for_person(q), "{q}");
        }
    }

    #[test]
    fn what_a_person_already_did_is_not_a_request() {
        for text in [
            "Asigné una tarea al grupo de jurídica y solo la atendió una persona, ¿no le llega a todos?",
            "me llamaron de un número desconocido y una persona dijo ser de soporte de secop",
            "nos contactaron unos funcionarios diciendo que eran de la agencia",
            "un asesor me atendió ayer por teléfono, ¿dónde veo el número del caso?",
        ] {
            assert!(!asks_for_person(text), "{text}");
        }
        // The request itself is still one.
        assert!(asks_for_person("quiero que me atienda una persona"));
    }

    #[test]
    fn a_person_named_as_someone_else_is_not_a_request() {
        for q in [
            "el asesor jurídico de la alcaldía me pidió subir la póliza",
            "alguien entró a mi cuenta y cambió la contraseña",
            "alguien me cambió el correo de la cuenta",
            "cómo me registro como persona natural",
            "una persona natural puede presentar oferta?",
            "necesito que la funcionaria de contratación apruebe mi cuenta de cobro",
            "quiero hablar con una funcionaria de la entidad contratante sobre el pago",
            "cómo cambio la contraseña",
            "no quiero hablar con un asesor, solo dígame dónde cargo la factura",
            "el supervisor del contrato no aprueba la factura",
            "cómo le entrego la administración de la cuenta a otra persona",
            "puedo darle mi clave a otra persona de la oficina?",
            "quiero radicar una queja contra un funcionario por mala atención",
            "como administrador, cómo acepto a un funcionario que pidió unirse a la cuenta",
            "el especialista de la entidad me pidió revisar la póliza",
            "soy especialista en contratación y necesito crear un proceso",
        ] {
            assert!(!asks_for_person(q), "{q}");
        }
    }

    #[test]
    fn a_request_to_open_a_case_opens_one() {
        for q in [
            "necesito abrir un ticket con soporte",
            "quisiera radicar un caso, no me deja aprobar la garantía",
            "por favor crear caso",
            "abrir ticket",
            "me pueden crear un caso? llevo dos días con el error",
            "quiero poner un caso nuevo a soporte",
            "radiquen un ticket con mi problema, porfa",
            "abranme un caso, la garantía no carga",
            // An impersonal request, in a letter's words.
            "solicito que se radique un ticket con el área técnica",
            "le agradezco que se abra un caso por este error",
            // The act named by a noun, as formal letters do.
            "de manera atenta solicito la apertura de un caso ante la mesa de servicio",
            "requerimos la creación de un ticket para revisar la cuenta",
            "les agradecería la radicación de un caso por la falla en la garantía",
        ] {
            assert!(asks_for_case(q), "{q}");
        }
        for q in [
            "¿cómo creo un caso en la página de Colombia Compra?",
            "ya abrí un caso y no me responden",
            "quiero saber el estado del caso que radiqué",
            "necesito crear un proceso de contratación",
            "en qué caso puedo crear una adición al contrato",
            "no quiero abrir un caso, solo dígame dónde cargo la factura",
            "quiero abrir un caso en solución en línea",
            "creo que el caso es de la entidad",
            "¿cuál es el número de radicación de mi caso?",
            "la apertura de ofertas del caso de la licitación fue ayer",
        ] {
            assert!(!asks_for_case(q), "{q}");
        }
    }

    #[test]
    fn a_request_for_a_person_conditioned_on_the_answer_keeps_the_question() {
        for (text, question) in [
            (
                "¿Cómo anulo una factura que cargué mal? Si no se puede por aquí, quiero hablar con un asesor.",
                "¿Cómo anulo una factura que cargué mal?",
            ),
            (
                "no encuentro el botón para firmar el contrato, de no ser posible resolverlo por este medio solicito que me llamen",
                "no encuentro el botón para firmar el contrato,",
            ),
            (
                "Necesito publicar una adenda hoy. En caso de que no me puedan ayudar, comuníqueme con un funcionario, gracias",
                "Necesito publicar una adenda hoy.",
            ),
            (
                "como subo la poliza? y si no, que me llame alguien porfa",
                "como subo la poliza?",
            ),
            (
                "¿Dónde veo el plan de pagos? De lo contrario, le agradezco abrirme un caso.",
                "¿Dónde veo el plan de pagos?",
            ),
        ] {
            let at = conditional_request(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(text[..at].trim_end(), question, "{text}");
        }
    }

    #[test]
    fn an_unconditional_request_for_a_person_is_not_conditional() {
        for text in [
            "quiero hablar con un asesor",
            "¿Cómo cambio la clave? Quiero hablar con una persona.",
            "Si es posible, comuníqueme con un asesor.",
            "Buenas tardes, por favor que un ingeniero me devuelva la llamada",
            "si no me llega el código, ¿cómo lo pido otra vez?",
            "¿Cómo cambio el correo? Si no se puede, igual gracias.",
        ] {
            assert_eq!(conditional_request(text), None, "{text}");
        }
    }
}
