//! `secobot ask --explain`: why a question got the reply it got, in Spanish,
//! for the editors who must fix the folder when it goes wrong.

use std::fmt::Write;

use super::analyzer::NEGATED;
use super::decide::{clauses, LEADING, LEAD_GAP};
use super::index::{Target, DENIED_SHARE};
use super::verdict::{effective, AnswerRule, Basis, FEATURE_NAMES, WORDS_ONLY_ANSWER};
use super::{Decision, Knowledge, CONTRADICTED, FUSION, OTHER_SIDE};

impl Knowledge {
    /// A readable account of the ranking of `text`: the analysed terms, the
    /// top candidates with what each part contributed, the thresholds, and
    /// why the reply kind was chosen.
    pub fn explain(&self, text: &str) -> String {
        let mut out = String::new();
        let index = &self.index;
        let corrected = index.corrected(text);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "Pregunta: {text}");
        if corrected != super::analyzer::words(text).collect::<Vec<_>>().join(" ") {
            let _ = writeln!(out, "Tras corregir errores de escritura: {corrected}");
        }
        let _ = writeln!(
            out,
            "Términos (sin palabras vacías, sin tildes, raíz, sinónimos) y su peso:"
        );
        for t in index.term_report(text) {
            let kind = match (t.known, t.generic) {
                (false, _) => " (no aparece en la carpeta)",
                (true, true) => " (genérico: pesa poco)",
                (true, false) => "",
            };
            let _ = writeln!(out, "  {} = {:.2}{kind}", t.term, t.weight);
        }
        // The cosine with the nearest phrasing has no weight in the fusion:
        // measured or not, the order is the one the bot decides on.
        let ranking = self.rank_with(text, true);
        let parts = clauses(text);
        if parts.len() > 1 {
            let _ = writeln!(out, "Cláusulas leídas por separado:");
            for (i, p) in parts.iter().enumerate() {
                let label = match self.decide_from(&self.rank(&p.text)) {
                    Decision::Answer { topic, confidence }
                        if !p.context && !self.leads(&ranking, &topic) =>
                    {
                        format!(
                            "clara: {} ({confidence:.2}), pero no está entre los {LEADING} primeros candidatos del mensaje completo a menos de {LEAD_GAP:.2} del primero: sola no se responde",
                            topic.id()
                        )
                    }
                    Decision::Answer { topic, confidence } => {
                        format!("clara: {} ({confidence:.2})", topic.id())
                    }
                    Decision::Suggest(_) => "dudosa".to_owned(),
                    Decision::Fallback { .. } => "sin respuesta".to_owned(),
                };
                let mark = if p.marked {
                    " (escrita como pregunta)"
                } else if p.context {
                    " (contexto de la pregunta escrita)"
                } else {
                    ""
                };
                let _ = writeln!(out, "  {}. «{}»{mark} → {label}", i + 1, p.text);
            }
        }
        let hits = &ranking.hits;
        let terms = index.query_terms(text);
        let affirmed = self.affirmed_terms(text);
        let preventing = super::prevention::asks_how_to_prevent(text);
        let speaker = ranking.signals.side;
        let secop_one = super::reranking::asks_about_secop_one_only(text);
        if secop_one {
            let _ = writeln!(
                out,
                "La pregunta nombra SECOP I y no SECOP II: se quitaron las respuestas cuyo texto no habla de SECOP I (sus pasos son de SECOP II); la mejor de ellas queda como rival del primero, sin pasarlo."
            );
        }
        let w = FUSION;
        let _ = writeln!(
            out,
            "Candidatos (similitud = {:.2} × léxica × (1 − {:.2} + {:.2} × BM25/BM25 del mejor) + {:.2} × n-gramas, donde n-gramas = {:.2} × frase más cercana + {:.2} × centroide del tema; {}):",
            1.0 - w.ngram,
            w.bm25,
            w.bm25,
            w.ngram,
            1.0 - w.centroid,
            w.centroid,
            if self.has_model() {
                format!(
                    "confianza = {:.2} × similitud + {:.2} × √(probabilidad del clasificador)",
                    1.0 - w.model,
                    w.model
                )
            } else {
                "confianza = similitud: esta carpeta no tiene clasificador".to_owned()
            }
        );
        for (i, h) in hits.iter().take(5).enumerate() {
            let name = match h.target {
                Target::OutOfScope(j) => format!(
                    "fuera de alcance: «{}»",
                    self.out_of_scope_phrase(j).unwrap_or("")
                ),
                t => self.target_id(t).unwrap_or_default(),
            };
            let matched = index.matched_terms(h.target, &terms);
            let _ = writeln!(
                out,
                "  {}. {name}: {:.3} (léxica {:.3}, cubre {:.0} % de la pregunta, frase más cercana {:.3}, centroide {:.3}, clasificador {}, BM25 {:.1}; términos en común: {})",
                i + 1,
                h.confidence,
                h.lexical,
                100.0 * h.coverage,
                h.ngram,
                h.centroid,
                h.model.map_or("—".to_owned(), |p| format!("{p:.3}")),
                h.bm25,
                if matched.is_empty() {
                    "ninguno".to_owned()
                } else {
                    matched.join(", ")
                }
            );
            if let Some(term) = index.contradicted_term(self.ordinal(h.target), &affirmed, &terms) {
                let _ = writeln!(
                    out,
                    "     la pregunta afirma «{term}» (un acto del propio usuario) y muchas de sus frases ({:.0} % o más) lo niegan: su confianza se multiplicó por {CONTRADICTED}",
                    100.0 * DENIED_SHARE
                );
            }
            if secop_one && self.is_secop_two_only(h.target) {
                let _ = writeln!(
                    out,
                    "     es de SECOP II y la pregunta de SECOP I: queda solo como rival, con la confianza del primero como tope"
                );
            }
            if let Some(r) = speaker.filter(|r| self.for_the_other_side(*r, h.target)) {
                let (who, whom) = match r {
                    super::role::Role::Supplier => ("un proveedor", "la Entidad"),
                    super::role::Role::Entity => ("un funcionario de la Entidad", "el proveedor"),
                };
                let _ = writeln!(
                    out,
                    "     quien escribe parece ser {who} y esta respuesta es para {whom}: su confianza se multiplicó por {OTHER_SIDE}"
                );
            }
            if preventing && self.is_incident(h.target) {
                let _ = writeln!(
                    out,
                    "     la pregunta es de prevención («cómo evito…», «para que no…») y este flujo es para un incidente de seguridad que ya ocurrió: su confianza se multiplicó por {CONTRADICTED}"
                );
            }
            if let Some(term) = index.negated_assertion(self.ordinal(h.target), &terms) {
                let _ = writeln!(
                    out,
                    "     la pregunta niega «{}», que muchas de sus frases ({:.0} % o más) afirman y otra respuesta trata de que no ocurra: su confianza se multiplicó por {CONTRADICTED}",
                    term.strip_prefix(NEGATED).unwrap_or(term),
                    100.0 * DENIED_SHARE
                );
            }
        }
        if let Some(p) = ranking.signals.out_of_scope {
            let _ = writeln!(
                out,
                "Probabilidad de que la pregunta esté fuera de alcance (clasificador): {p:.3}"
            );
        }
        let right = self.sureness(&ranking);
        match (
            &self.answer_rule,
            self.answer_rule.basis(hits, ranking.signals),
        ) {
            (AnswerRule::Model(_), Basis::Generic) => {
                let _ = writeln!(
                    out,
                    "Ninguna palabra de la pregunta es propia de un tema de la carpeta (solo palabras genéricas): el bot no responde directamente; a lo sumo ofrece opciones."
                );
            }
            (AnswerRule::Model(model), Basis::BelowFloor) => {
                let _ = writeln!(
                    out,
                    "La confianza del primero no llega a {:.2}, la mínima con que se responde: el modelo de responder o no ni se consulta.",
                    model.floor
                );
            }
            (AnswerRule::Model(_), Basis::WordsOnly) => {
                let _ = writeln!(
                    out,
                    "El clasificador no opina en esta pregunta (niega algo que la carpeta también niega, y un clasificador de caracteres no ve el alcance de una negación): decide la evidencia por palabras. Confianza efectiva (la del primero más parte de su ventaja sobre el segundo): {:.3}, contra {WORDS_ONLY_ANSWER:.2}: {}.",
                    effective(hits),
                    if right >= 1.0 { "alcanza" } else { "no alcanza" }
                );
            }
            (AnswerRule::Model(model), _) => {
                let _ = writeln!(
                    out,
                    "Probabilidad de que el primero sea la respuesta correcta: {right:.3} (modelo de responder o no), según:"
                );
                let features = super::verdict::features(hits, ranking.signals);
                for ((name, value), weight) in FEATURE_NAMES.iter().zip(features).zip(model.weights)
                {
                    let _ = writeln!(out, "  {name} = {value:.3} (peso {weight:+.2})");
                }
            }
            (AnswerRule::Confidence, _) => {
                let _ = writeln!(
                    out,
                    "Confianza efectiva (la del primero más parte de su ventaja sobre el segundo): {right:.3}"
                );
            }
        }
        let t = self.thresholds;
        let margin = self.answer_rule.margin(hits, t);
        let _ = writeln!(
            out,
            "Umbrales: responder si esa cifra es ≥ {:.2} (la evidencia por palabras, si alcanza, cuenta como 1) y ningún otro candidato queda a menos de {margin:.2} del primero; ofrecer opciones con confianza ≥ {:.2}.",
            t.answer,
            t.suggest
        );
        let understood = self.understand(text);
        let whole_unclear = !matches!(self.decide_from(&ranking), Decision::Answer { .. });
        let introduced = self
            .introduced_question(text, &ranking)
            .map(|(_, rest)| rest);
        let conditioned = self.conditioned_handoff(text).map(|(_, q)| q);
        let why = match &understood.decision {
            Decision::Answer { topic, confidence }
                if conditioned.is_some() && self.handoff(text).is_some() =>
            {
                format!(
                "responder con «{}» (confianza {confidence:.2}) y ofrecer hablar con una persona: el mensaje pide una persona solo si la respuesta no le sirve, y lo que pregunta antes es claro: «{}».",
                topic.id(),
                conditioned.unwrap_or_default()
            )
            }
            Decision::Answer { topic, .. } if self.handoff(text).is_some() => format!(
                "iniciar «{}»: el mensaje pide que lo atienda una persona (un asesor, un agente, alguien de soporte) o que le abran un caso, lo que no se decide por la clasificación de arriba.",
                topic.id()
            ),
            Decision::Answer { topic, confidence } if whole_unclear && introduced.is_some() => {
                // Unclear because two candidates tie, or because the leader is unsure.
                let whole = if right >= t.answer {
                    format!("el mensaje completo empata entre dos candidatos (a menos de {margin:.2})")
                } else {
                    format!("el mensaje completo no es claro (probabilidad de acierto {right:.2})")
                };
                format!(
                    "responder con «{}» (confianza {confidence:.2}): {whole}, pero lo que pregunta después de presentarse es claro: «{}».",
                    topic.id(),
                    introduced.unwrap_or_default()
                )
            }
            Decision::Answer { topic, confidence } if introduced.is_some() => {
                format!(
                    "responder con «{}» (confianza {confidence:.2}): lo que pregunta después de presentarse es claro: «{}»; quien escribe es contexto, y sus palabras no deciden el tema cuando la pregunta lo dice sola.",
                    topic.id(),
                    introduced.unwrap_or_default()
                )
            }
            Decision::Answer { topic, confidence } => format!(
                "responder con «{}» (confianza {confidence:.2}; probabilidad de acierto del mensaje completo {right:.2}).",
                topic.id()
            ),
            Decision::Suggest(topics) => {
                let ids = topics.iter().map(|t| t.id()).collect::<Vec<_>>().join(", ");
                if right >= t.answer {
                    format!(
                        "ofrecer opciones ({ids}): otro candidato queda a menos de {margin:.2} del primero (empate)."
                    )
                } else {
                    format!(
                        "ofrecer opciones ({ids}): la probabilidad de acierto {right:.2} no llega a {:.2}.",
                        t.answer
                    )
                }
            }
            Decision::Fallback { .. } if self.index.names_another_system(text) => {
                "decir con amabilidad que el tema está fuera de alcance: el mensaje pregunta por la clave o la cuenta de otro sistema (el correo, el computador, el banco, una marca que la carpeta no conoce…), lo que no se decide por la clasificación de arriba.".to_owned()
            }
            Decision::Fallback {
                out_of_scope: Some(_),
            } => {
                "decir con amabilidad que el tema está fuera de alcance: el primer candidato es una frase de fuera-de-alcance.txt.".to_owned()
            }
            Decision::Fallback { out_of_scope: None } => format!(
                "decir que no sabe: la probabilidad de acierto {right:.2} no llega a {:.2} y no hay dos candidatos con confianza ≥ {:.2} que ofrecer.",
                t.answer, t.suggest
            ),
        };
        let _ = writeln!(out, "Decisión: {why}");
        if let Some(nearest) = &understood.nearest {
            let _ = writeln!(
                out,
                "Se ofrece como el tema más parecido, sin responderlo: {}",
                nearest.id()
            );
        }
        if !understood.also.is_empty() {
            let _ = writeln!(
                out,
                "También se ofrecen: {}",
                understood
                    .also
                    .iter()
                    .map(|t| t.id())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Knowledge, Mode, Thresholds};

    /// `--explain` names the rule that decided, not the answer model's
    /// features where the model was never consulted.
    #[test]
    fn the_explanation_names_the_rule_that_decided() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let k = Knowledge::load(&dir, Mode::Spanish, Thresholds::default()).expect("bundled");
        let model = "modelo de responder o no), según:";
        for q in [
            "no me llega el correo para recuperar la contraseña",
            "nunca pedí cambiar la clave y me llegó un enlace",
        ] {
            let e = k.explain(q);
            assert!(e.contains("El clasificador no opina"), "{q}: {e}");
            assert!(!e.contains(model), "{q}: {e}");
        }
        for q in ["no me deja", "tengo un problema"] {
            let e = k.explain(q);
            assert!(e.contains("solo palabras genéricas"), "{q}: {e}");
        }
        for q in [
            "cómo publico el plan anual de adquisiciones",
            "firma electrónica del contrato",
        ] {
            let e = k.explain(q);
            assert!(e.contains(model), "{q}: {e}");
        }
        // The rules that lower a candidate or set a clause aside say so.
        let e = k.explain("¿cómo evito que alguien entre a mi usuario?");
        assert!(e.contains("la pregunta es de prevención"), "{e}");
        let e = k.explain("Soy psicólogo independiente. La secretaría de salud me dijo que el contrato quedó en la plataforma para firmar antes del viernes. Ya entré con mi usuario, ¿qué pasos sigo para aprobarlo?");
        assert!(e.contains("sola no se responde"), "{e}");
        let e = k.explain("¿cómo cambio la clave de mi usuario del secop 1?");
        assert!(
            e.contains("La pregunta nombra SECOP I y no SECOP II"),
            "{e}"
        );
        assert!(!k
            .explain("¿cómo cambio la clave de mi usuario de SECOP II?")
            .contains("La pregunta nombra SECOP I"));
        // The question after an introduction: a whole message that ties is
        // called a tie, not unsure; a clear one, pulled by the introduction.
        let e = k.explain(
            "buenas. soy proveedor registrado. no me llegan las notificaciones de los procesos. que hago",
        );
        assert!(e.contains("el mensaje completo empata"), "{e}");
        assert!(
            !e.contains("no es claro (probabilidad de acierto 1.00)"),
            "{e}"
        );
        let e = k.explain("buenas. somos una empresa registrada como proveedor. queremos presentar una oferta en una licitación. cuáles son los pasos");
        assert!(e.contains("quien escribe es contexto"), "{e}");
    }
}
