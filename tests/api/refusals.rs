//! What the bot says when it is not sure enough to answer.

use crate::helpers::*;

/// Kind: a refusal that left the user with nothing to click although one
/// topic came near (a long formal letter dilutes its own question). The
/// refusal stays a refusal, names the nearest topic, and offers it as a
/// button next to the person; a message about nothing in particular, or
/// about something the folder does not cover, is offered no topic.
#[tokio::test]
async fn a_refusal_offers_the_one_topic_that_came_near() {
    let server = TestServer::default_start();
    let (mut ws, _) = server.fresh().await;
    let frames = ws
        .say("Respetados señores: en mi calidad de Secretario de Hacienda del municipio solicito se me indique quién figura como administrador de la cuenta de la alcaldía, toda vez que el funcionario que la tenía ya no labora con nosotros.")
        .await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "fallback", "frames:\n{}", pretty(&frames));
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("no encontré una respuesta confiable"),
        "{text}"
    );
    assert!(text.contains("El tema más parecido"), "{text}");
    let buttons = buttons_of(reply);
    assert_eq!(buttons.len(), 2, "{buttons:?}");
    let (label, value) = &buttons[0];
    assert!(
        text.contains(label.as_str()),
        "the button is not the topic named: {label}"
    );
    assert_eq!(buttons[1].0, "Hablar con una persona", "{buttons:?}");
    // The button answers the topic it names.
    let frames = ws.choose(value).await;
    let reply = first_bot(&frames);
    assert_eq!(kind(reply), "answer", "frames:\n{}", pretty(&frames));
    assert_eq!(source_id(reply), "administrador-de-cuenta", "{reply}");

    for nothing_near in [
        "tengo un problema",
        "¿cuál es la capital de Australia?",
        "mi perro no quiere comer concentrado",
    ] {
        let frames = ws.say(nothing_near).await;
        let reply = first_bot(&frames);
        assert_eq!(
            kind(reply),
            "fallback",
            "{nothing_near}:\n{}",
            pretty(&frames)
        );
        let buttons = buttons_of(reply);
        assert_eq!(buttons.len(), 1, "{nothing_near}: {buttons:?}");
        assert_eq!(buttons[0].0, "Hablar con una persona", "{buttons:?}");
        let text = reply["text"].as_str().unwrap_or_default();
        assert!(
            !text.contains("El tema más parecido"),
            "{nothing_near}: {text}"
        );
    }
}
