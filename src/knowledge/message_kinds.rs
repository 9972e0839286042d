//! One test per kind of fault in how a message is read as a whole (issue
//! 11): introductions, stories, several questions, context, requests for a
//! person; on the bundled folder.

use super::ranking_kinds::{bundled, outcome};
use super::{Decision, ESCALATION_FLOW};

/// Who writes is context: an introduction whose words no entry holds
/// («soy rector de…», «le escribo desde la secretaría de…») no longer keeps
/// a clear question after it from being answered.
#[test]
fn a_self_introduction_does_not_hide_the_question() {
    for (q, expected) in [
        (
            "Soy profesional universitario de la oficina jurídica de un hospital departamental, ¿cómo se publica la adición de un contrato?",
            "modificar-contrato",
        ),
        (
            "Le escribo desde la secretaría de infraestructura de una gobernación: ¿dónde se registra la liquidación del contrato?",
            "cierre-liquidacion-contrato",
        ),
        (
            "Somos una cooperativa de transporte escolar del Huila, ¿cómo nos inscribimos como proveedores?",
            "registro-proveedor",
        ),
        (
            "mi nombre es Carlos Pérez, soy proveedor de papelería, ¿cómo presento una oferta?",
            "presentar-oferta",
        ),
        // Typed without a stop.
        (
            "somos una fundacion sin animo de lucro de cartagena y queremos inscribirnos como proveedores del estado",
            "registro-proveedor",
        ),
        (
            "le escribo de la secretaria de salud de un municipio del tolima y necesito saber como se publica el plan anual de adquisiciones",
            "paa-crear-publicar",
        ),
    ] {
        assert_eq!(outcome(q), expected, "{q:?}");
    }
}

#[test]
fn long_stories_and_several_questions_answer_the_first_clear_one() {
    let k = bundled();
    let u =
        k.understand("¿Cómo cambio mi contraseña? Y además, ¿dónde cargo la factura del contrato?");
    match u.decision {
        Decision::Answer { topic, .. } => assert_eq!(topic.id(), "cambiar-contrasena"),
        other => panic!("{other:?}"),
    }
    assert!(
        u.also.iter().any(|t| t.id() == "cargar-factura-plan-pagos"),
        "{:?}",
        u.also
    );
    // A story whose clear question comes last is still answered.
    let story = "Buenas tardes, soy contratista de la gobernación desde enero. \
                 Ya terminé el mes y el supervisor me pidió el informe. \
                 ¿Cómo cargo la factura en el plan de pagos?";
    assert_eq!(outcome(story), "cargar-factura-plan-pagos");
}

/// Kind: the later or louder of several written questions won when it
/// carried the whole message ("¿Cómo subo la póliza? y cuánto se demora la
/// entidad en aprobarla" answered the entity's approval).
#[test]
fn of_several_written_questions_the_clear_one_asked_first_goes_first() {
    let k = bundled();
    for (q, first, offered) in [
        (
            "¿Cómo subo la póliza del contrato? y cuánto se demora la entidad en aprobarla",
            "enviar-garantias-proveedor",
            "aprobar-garantias-entidad",
        ),
        (
            "cual es la diferencia entre secop 1 y secop 2? y la tienda virtual q tiene q ver",
            "secop1-vs-secop2",
            "tvec-que-es",
        ),
    ] {
        let u = k.understand(q);
        match u.decision {
            Decision::Answer { topic, .. } => assert_eq!(topic.id(), first, "{q:?}"),
            other => panic!("{q:?}: {other:?}"),
        }
        assert!(
            u.also.iter().any(|t| t.id() == offered),
            "{q:?}: {:?}",
            u.also.iter().map(|t| t.id()).collect::<Vec<_>>()
        );
    }
}

/// `q` is answered with `expected`, and its `context` alone is not (or the
/// case would no longer test that the context was read as context).
fn assert_context_only_frames_its_question(q: &str, context: &str, expected: &str) {
    assert_ne!(
        outcome(context),
        expected,
        "the case no longer tests anything: {context:?}"
    );
    assert_eq!(outcome(q), expected, "{q:?}");
}

#[test]
fn context_joined_to_its_question_by_a_comma_is_not_a_question_of_its_own() {
    // Each context alone is answered with another entry; joined by a comma
    // to its question, it only says what the question is about.
    for (q, context, expected) in [
        (
            "Soy proveedor y me llegó al correo que me adjudicaron, ¿dónde acepto el contrato?",
            "Soy proveedor y me llegó al correo que me adjudicaron.",
            "aprobar-contrato-proveedor",
        ),
        (
            "Quiero participar en procesos de la gobernación, ¿cómo me registro como proveedor?",
            "Quiero participar en procesos de la gobernación.",
            "registro-proveedor",
        ),
    ] {
        assert_context_only_frames_its_question(q, context, expected);
    }
}

#[test]
fn sentences_around_a_written_question_are_its_context_not_questions() {
    // No context sentence alone gets the expected entry; next to a question
    // written as such, it only says what the question is about.
    for (q, context, expected) in [
        (
            "Soy proveedor y la entidad publicó el pliego. ¿Dónde veo las adendas del proceso?",
            "Soy proveedor y la entidad publicó el pliego.",
            "adendas",
        ),
        (
            "Tengo la factura lista para cobrar. ¿Dónde consulto si la entidad ya me pagó?",
            "Tengo la factura lista para cobrar.",
            "estado-factura-pago",
        ),
        (
            "Un contratista se registró como si fuera nuestra alcaldía. ¿Pueden cancelarle el usuario?",
            "Un contratista se registró como si fuera nuestra alcaldía.",
            "cancelacion-de-usuarios",
        ),
    ] {
        assert_context_only_frames_its_question(q, context, expected);
    }
}

#[test]
fn a_story_that_ends_in_a_short_written_question_is_read_whole() {
    // «¿Qué hago?» is too short to rank alone, but it is a question written
    // as such: the sentences before it are its context, and none of them is
    // answered as if it were the question (each of these was).
    for (q, context_topic) in [
        (
            "Soy el supervisor del contrato. El contratista dice que subió la factura. Yo no la veo por ningún lado. ¿Ahora qué?",
            "supervision-plan-ejecucion",
        ),
        (
            "Me cambiaron de dependencia en la alcaldía. Tenía procesos a mi cargo en SECOP. El nuevo jefe no tiene usuario. ¿Qué hacemos?",
            "areas-de-interes",
        ),
        (
            "Anoche me llegaron correos de inicio de sesión. Yo estaba de viaje. Hoy la oferta aparece retirada. ¿Qué hago?",
            "retirar-modificar-oferta",
        ),
    ] {
        let k = bundled();
        let got = outcome(q);
        assert_ne!(got, context_topic, "{q:?}");
        let whole = match k.decide_from(&k.rank(q)) {
            Decision::Answer { topic, .. } => topic.id().to_owned(),
            Decision::Suggest(o) => format!("suggest:{}", o[0].id()),
            Decision::Fallback { .. } => "fallback".into(),
        };
        assert_eq!(got, whole, "{q:?}: the message read whole");
    }
}

#[test]
fn a_request_to_open_a_case_starts_the_case_flow() {
    // The bot opens cases itself: a request for one is not a question about
    // the agency's web form (which "¿cómo creo un caso en la página?" is).
    for q in [
        "necesito crear un caso",
        "abrir ticket",
        "quisiera radicar un caso nuevo, por favor",
    ] {
        assert_eq!(outcome(q), "crear-caso", "{q:?}");
    }
    assert_eq!(
        outcome("¿cómo creo un caso en la página web de Colombia Compra?"),
        "crear-caso-soporte"
    );
}

/// A request for a person conditioned on the answer («…¿qué hago? Si no
/// tienen solución, que me llame un asesor») no longer skips the question:
/// a clear one is answered, with the person offered; an unclear one, or an
/// unconditional request, still starts the case flow.
#[test]
fn a_request_for_a_person_conditioned_on_the_answer_answers_first() {
    let k = bundled();
    for (q, expected) in [
        (
            "Buenas tardes, ¿cómo se publica una adenda en SECOP II? Si no se puede resolver por aquí, quisiera hablar con un asesor.",
            "adendas",
        ),
        (
            "se me olvidó la contraseña de secop y necesito entrar ya, si no es posible que me llamen porfa",
            "olvide-mi-contrasena",
        ),
        (
            "¿Cómo registro mi empresa como proveedor? De no ser posible por este medio, solicito comunicación con un funcionario.",
            "registro-proveedor",
        ),
        // A «how/where» word of the question says nothing of the case asked
        // for in the condition's own clause.
        (
            "¿Dónde cargo la factura en el plan de pagos de mi contrato? De lo contrario, le agradezco abrirme un caso.",
            "cargar-factura-plan-pagos",
        ),
    ] {
        let understood = k.understand(q);
        match understood.decision {
            Decision::Answer { topic, .. } => assert_eq!(topic.id(), expected, "{q:?}"),
            _ => panic!("{q:?} was not answered"),
        }
        assert!(
            understood.also.iter().any(|t| t.id() == ESCALATION_FLOW),
            "{q:?} does not offer a person"
        );
    }
    for q in [
        "tengo un problema con la plataforma, si no me pueden ayudar por acá quiero hablar con un asesor",
        "¿Cómo publico una adenda? Quiero hablar con un asesor.",
        "quiero hablar con una persona",
    ] {
        assert_eq!(outcome(q), ESCALATION_FLOW, "{q:?}");
    }
}

/// A letter's frame carries no topic: the singular greeting («Buen día») and
/// the closing («Quedo atenta», «Muy amable», «Le agradezco», «Atte.»)
/// weighed like rare topic words and diluted the question between them
/// (each case here was refused or given choices).
#[test]
fn a_letters_greeting_and_closing_carry_no_topic() {
    for (framed, expected) in [
        (
            "Buen día, ¿cómo subo la póliza? Le agradezco, quedo atento. Atte.",
            "enviar-garantias-proveedor",
        ),
        (
            "Buen día, necesito publicar el plan anual de adquisiciones. Muy amable, quedo atento.",
            "paa-crear-publicar",
        ),
        (
            "Buen día, ¿cómo cambio mi contraseña? Le agradezco. Atte.",
            "cambiar-contrasena",
        ),
        (
            "Buen día, necesito inscribir mi empresa como proveedor. Quedo atenta, muy amable.",
            "registro-proveedor",
        ),
    ] {
        assert_eq!(outcome(framed), expected, "{framed:?}");
    }
}

/// A question buried in a story and read alone loses what its pronouns
/// point to: «Ya entré con mi usuario, ¿qué pasos sigo para aprobarlo?»
/// alone is about entering an account, and started the intrusion flow for a
/// contractor asking how to approve the contract of the sentence before. It
/// is answered alone only when the whole message leans that way too.
#[test]
fn a_question_buried_in_a_story_answers_only_what_the_story_is_about() {
    for q in [
        "Soy psicólogo independiente. La secretaría de salud me dijo que el contrato quedó en la plataforma para firmar antes del viernes. Ya entré con mi usuario, ¿qué pasos sigo para aprobarlo?",
        "Yo soy contratista, fonoaudióloga. El hospital me avisó que el contrato ya estaba en la plataforma y que tenía hasta mañana para firmarlo. Ya entré con mi usuario, ¿qué pasos sigo para aprobarlo?",
    ] {
        assert_ne!(outcome(q), "acceso-no-autorizado", "{q:?}");
    }
    // A buried question that the story is about is still answered.
    for (q, expected) in [
        (
            "Buenas tardes. Llevo toda la mañana con esto y ya no sé qué más hacer, el sistema me saca a cada rato. ¿Cómo cambio la contraseña de mi usuario?",
            "cambiar-contrasena",
        ),
        (
            "El hospital me pidió subsanar un documento de la oferta. Ya actualicé el correo de notificaciones, ¿dónde lo subo?",
            "subsanar-oferta-proveedor",
        ),
    ] {
        assert_eq!(outcome(q), expected, "{q:?}");
    }
}

/// Asking how to prevent an intrusion is not reporting one: «¿cómo hago
/// para que no me hackeen la cuenta?» shares its words with «me hackearon
/// la cuenta» and started the intrusion flow («Lamento lo ocurrido…»). It
/// gets the advice entry; a report, or a question of stopping what already
/// happens, still gets the flow.
#[test]
fn a_question_of_prevention_gets_advice_not_the_incident_flow() {
    for q in [
        "cómo hago para que no me hackeen la cuenta",
        "cómo hago para que no me hackeen el usuario de secop",
        "qué recomiendan para evitar que alguien use mi usuario",
    ] {
        assert_eq!(outcome(q), "seguridad-de-la-cuenta", "{q:?}");
    }
    assert_ne!(
        outcome("¿Cómo evito que alguien entre a mi usuario?"),
        "acceso-no-autorizado"
    );
    for (q, expected) in [
        ("me hackearon el usuario de secop", "acceso-no-autorizado"),
        (
            "alguien entró a mi usuario sin permiso, ¿cómo evito que lo vuelva a hacer?",
            "acceso-no-autorizado",
        ),
        (
            "cómo evito que me lleguen correos de restablecer la clave que no pedí",
            "correo-no-solicitado",
        ),
    ] {
        assert_eq!(outcome(q), expected, "{q:?}");
    }
}

/// «Otra cosa», «otra pregunta», «otra duda», «aparte de eso» join a second
/// question in the same sentence, as «además» does: read whole, «olvidé la
/// clave y otra cosa, ¿se puede cambiar el correo?» mixed both and got only
/// choices. The first is answered and the second offered.
#[test]
fn questions_joined_by_otra_cosa_are_asked_apart() {
    let k = bundled();
    for (q, first, second) in [
        (
            "no me acuerdo de la clave y otra cosa, ¿cómo cambio el correo de mi usuario?",
            "olvide-mi-contrasena",
            "cambiar-correo",
        ),
        (
            "como publico el plan anual de adquisiciones otra pregunta donde veo las adendas de un proceso",
            "paa-crear-publicar",
            "adendas",
        ),
    ] {
        let u = k.understand(q);
        match u.decision {
            Decision::Answer { topic, .. } => assert_eq!(topic.id(), first, "{q:?}"),
            other => panic!("{q:?}: {other:?}"),
        }
        assert!(
            u.also.iter().any(|t| t.id() == second),
            "{q:?}: {:?}",
            u.also.iter().map(|t| t.id()).collect::<Vec<_>>()
        );
    }
    // «Otra cosa» as what the screen shows joins nothing.
    assert_eq!(
        outcome("me sale otra cosa cuando busco el proceso"),
        "buscar-procesos"
    );
}

/// A question that names SECOP I alone is not answered with SECOP II's
/// steps: «¿cómo recupero la clave del SECOP 1?» shares every word with the
/// SECOP II entry, whose screens and support are another platform's. Only
/// entries that speak of SECOP I may answer it; a SECOP I mention in the
/// context of a SECOP II question changes nothing.
#[test]
fn a_question_about_secop_one_is_not_answered_with_secop_two_steps() {
    let k = bundled();
    for q in [
        "se me olvidó la contraseña del secop 1, ¿cómo la recupero?",
        "cómo creo un usuario nuevo en SECOP I para la secretaría",
        "en el secop uno cómo adjunto el acta de liquidación",
    ] {
        let answered = match k.decide(q) {
            Decision::Answer { topic, .. } => Some(topic.id().to_owned()),
            _ => None,
        };
        if let Some(id) = answered {
            let entry = k.entry(&id).expect("an entry");
            let text = format!(
                "{} {} {}",
                entry.title,
                entry.questions.join(" "),
                entry.body
            );
            assert!(super::platform::named(&text).one, "{q:?} → {id}");
        }
    }
    for (q, expected) in [
        (
            "En SECOP I subíamos solo el PDF del contrato. ¿Cómo publico un proceso de mínima cuantía?",
            "publicar-proceso",
        ),
        (
            "qué diferencia hay entre el secop 1 y el 2",
            "secop1-vs-secop2",
        ),
    ] {
        assert_eq!(outcome(q), expected, "{q:?}");
    }
}

/// A question read alone is not answered over a story that leans clearly
/// elsewhere: «¿Cómo se hace la solicitud de subsanación?» alone is a
/// supplier's question, but after «Estoy en el comité evaluador…» the whole
/// message leads to the entity's entry by far. Among the whole message's
/// leading candidates, a part's topic must also be close to the first
/// ([`super::decide::LEAD_GAP`]).
#[test]
fn a_question_read_alone_does_not_override_a_story_that_leans_elsewhere() {
    // No word of it says who writes (see [`super::role`]), so the gap alone
    // keeps the clause from answering.
    let q = "Trabajo en el instituto departamental de deportes y estamos evaluando las ofertas de una convocatoria. Un proponente olvidó la declaración de multas y sanciones firmada por el revisor fiscal. ¿Cómo se hace la solicitud de subsanación en la plataforma?";
    assert_eq!(
        outcome("¿Cómo se hace la solicitud de subsanación en la plataforma?"),
        "subsanar-oferta-proveedor"
    );
    let k = bundled();
    let whole = k.rank(q);
    let ids: Vec<String> = whole
        .hits
        .iter()
        .take(super::decide::LEADING)
        .filter_map(|h| k.target_id(h.target))
        .collect();
    assert!(
        ids.iter().any(|id| id == "subsanar-oferta-proveedor"),
        "{ids:?}"
    );
    assert_ne!(outcome(q), "subsanar-oferta-proveedor", "{q:?}");
}

/// A refusal whose one near candidate is named (`Understanding::nearest`),
/// so the user has it one click away; never for an answer, a choice, an
/// out-of-scope phrase, another system's password or a message of generic
/// words alone.
#[test]
fn a_refusal_names_the_one_topic_that_came_near() {
    let k = bundled();
    for (q, near) in [
        (
            "Respetados señores: en mi calidad de Secretario de Hacienda del municipio solicito se me indique quién figura como administrador de la cuenta de la alcaldía, toda vez que el funcionario que la tenía ya no labora con nosotros.",
            "administrador-de-cuenta",
        ),
        (
            "Señores Colombia Compra: la aseguradora nos entregó la póliza de cumplimiento firmada digitalmente y el supervisor insiste en que se envíe por la plataforma electrónica antes del viernes, según lo pactado en la minuta.",
            "enviar-garantias-proveedor",
        ),
    ] {
        let u = k.understand(q);
        assert!(matches!(u.decision, Decision::Fallback { out_of_scope: None }), "{q:?}: {:?}", u.decision);
        assert_eq!(u.nearest.map(|t| t.id().to_owned()).as_deref(), Some(near), "{q:?}");
    }
    for q in [
        "tengo un problema",
        "olvidé la clave del wifi de la oficina",
        "¿cuánto es dos más dos?",
        "olvidé mi contraseña de SECOP II, ¿cómo la recupero?",
        "mi perro no quiere comer concentrado",
    ] {
        let u = k.understand(q);
        assert!(
            u.nearest.is_none(),
            "{q:?}: {:?} near {:?}",
            u.decision,
            u.nearest.as_ref().map(|t| t.id())
        );
    }
}

/// Kind: the other side's half of a step. Entries come in pairs for the
/// two sides of one step (the supplier sends the guarantee, the Entity
/// approves or rejects it), sharing nearly every word; «la entidad me
/// rechazó la póliza» answered the Entity's entry on rejecting one. When
/// the message says who writes and both halves lead, the speaker's half
/// wins; an entry for both sides, with no counterpart near, is untouched.
#[test]
fn the_speakers_side_decides_between_the_two_halves_of_a_step() {
    for (q, expected) in [
        (
            "la entidad me rechazó la póliza, ¿cómo envío la corregida?",
            "enviar-garantias-proveedor",
        ),
        (
            "el contratista nos mandó la garantía con la vigencia mal, ¿cómo se la rechazo?",
            "aprobar-garantias-entidad",
        ),
        (
            "soy proveedor, ¿cómo funciona la subasta en secop?",
            "subasta-proveedor",
        ),
        (
            "como entidad queremos hacer la subasta inversa, ¿cómo la gestionamos?",
            "subasta-electronica",
        ),
        (
            "soy proveedor, ¿se puede pedir que parte de mi oferta sea confidencial?",
            "confidencialidad-ofertas",
        ),
    ] {
        assert_eq!(outcome(q), expected, "{q:?}");
    }
    // The Entity's official is not answered the supplier's half.
    let q = "el contratista me subió la factura pero tiene errores, ¿cómo la rechazo?";
    assert_ne!(
        outcome(q),
        "factura-rechazada-o-aprobada-por-error",
        "{q:?}"
    );
}

/// An introduction whose words an entry holds («somos una empresa registrada
/// como proveedor», «soy persona natural registrada») pulls the whole
/// message to that entry even when the message is clear: the question after
/// it, when it names a leading candidate, decides.
#[test]
fn an_introduction_does_not_pull_a_clear_question_to_its_own_entry() {
    let k = bundled();
    for (q, introduced, expected) in [
        (
            "buenas. somos una empresa registrada como proveedor. queremos presentar una oferta en una licitación. cuáles son los pasos",
            "registro-proveedor",
            "presentar-oferta",
        ),
        (
            "hola. soy persona natural registrada. dónde cargo la factura de mi contrato",
            "registro-persona-natural-contratista",
            "cargar-factura-plan-pagos",
        ),
    ] {
        match k.decide_from(&k.rank(q)) {
            Decision::Answer { topic, .. } => assert_eq!(topic.id(), introduced, "{q:?} read whole"),
            other => panic!("{q:?} read whole: {other:?}"),
        }
        assert_eq!(outcome(q), expected, "{q:?}");
    }
    // A role that decides the topic still counts.
    for (q, expected) in [
        (
            "soy proveedor extranjero, ¿cómo me registro?",
            "registro-proveedor-extranjero",
        ),
        (
            "soy proveedor, ¿cómo apruebo el contrato?",
            "aprobar-contrato-proveedor",
        ),
    ] {
        assert_eq!(outcome(q), expected, "{q:?}");
    }
}

/// Naming the button one did not press («nunca le di a "Olvidé mi
/// contraseña"») says the reset was not requested; the button's words used
/// to tie the message with the forgotten-password entry.
#[test]
fn a_button_not_pressed_is_not_the_question() {
    for q in [
        "jamás le di clic a recuperar contraseña y aun así me llegó el correo para cambiarla",
        "no oprimí olvidé mi contraseña y me llegó un enlace para crear una nueva",
        "yo no le di a restablecer clave, por qué me llega ese mensaje",
    ] {
        assert_eq!(outcome(q), "correo-no-solicitado", "{q:?}");
    }
    assert_eq!(
        outcome("le di a olvidé mi contraseña y no me llega nada"),
        "olvide-mi-contrasena"
    );
}
