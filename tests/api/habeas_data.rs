//! Personal data (Ley 1581 de 2012, habeas data): the privacy notice before the
//! case form, the acceptance kept with the case, and `secobot data export` /
//! `secobot data delete`, with the server running (admin socket) and stopped.
//! The deletion tests grep every file of the data folder for the person's
//! e-mail, document, name and phone.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::helpers::*;

const POLICY: &str = "https://example.org/politica-de-datos-prueba";

/// A person with values found nowhere else, so a grep of the data folder is exact.
struct Person {
    name: &'static str,
    document: &'static str,
    email: &'static str,
    phone: &'static str,
}

const ZULEIMA: Person = Person {
    name: "Zuleima Quinterox Habeas",
    document: "7731904455",
    email: "zuleima.quinterox@example.org",
    phone: "3157731904",
};

const OTTO: Person = Person {
    name: "Otto Retenidox Vargas",
    document: "5566778812",
    email: "otto.retenidox@example.org",
    phone: "3209988776",
};

const LUCIA: Person = Person {
    name: "Lucia Nuevax Rojas",
    document: "4433221100",
    email: "lucia.nuevax@example.org",
    phone: "3001112233",
};

impl Person {
    fn needles(&self) -> [&'static str; 4] {
        [self.name, self.document, self.email, self.phone]
    }
}

fn server() -> TestServer {
    TestServer::start(Opts {
        args: vec!["--privacy-url".into(), POLICY.into()],
        ..Opts::default()
    })
}

fn button(step: &Value, label: &str) -> String {
    step["buttons"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["label"] == label))
        .and_then(|b| b["value"].as_str())
        .unwrap_or_else(|| panic!("no button «{label}» in {step}"))
        .to_owned()
}

/// Walks `crear-caso` for `person` (accepting the notice if shown) and
/// returns the ticket id.
async fn open_case(ws: &mut WsClient, person: &Person, problem: &str) -> String {
    let frames = ws.escalate(None).await;
    let mut step = last_bot(&frames).clone();
    for _ in 0..20 {
        assert_eq!(flow_id(&step), "crear-caso", "{step}");
        let frames = match (flow_step(&step), step["flow"]["input"].as_str()) {
            ("aviso-datos", _) => ws.choose(&button(&step, "Acepto")).await,
            ("confirmar", _) => {
                let mut frames = ws.choose(&button(&step, "Confirmar y crear el caso")).await;
                if !frames.iter().any(|f| is_type(f, "ticket")) {
                    frames.extend(ws.recv_until(|f| is_type(f, "ticket")).await);
                }
                return bot_replies(&frames)
                    .into_iter()
                    .find(|r| kind(r) == "ticket")
                    .and_then(|r| r["ticket"]["id"].as_str())
                    .unwrap_or_else(|| panic!("no ticket reply:\n{}", pretty(&frames)))
                    .to_owned();
            }
            ("nombre", _) => ws.say(person.name).await,
            ("numero-documento", _) => ws.say(person.document).await,
            ("correo", _) => ws.say(person.email).await,
            ("telefono", _) => ws.say(person.phone).await,
            ("organizacion", _) => ws.say("Alcaldía de Villa de Leyva").await,
            (_, Some("text")) => ws.say(problem).await,
            (_, None) => ws.choose(&button_values(&step)[0]).await,
            (s, Some(other)) => panic!("unexpected input {other} at {s}"),
        };
        step = last_bot(&frames).clone();
    }
    panic!("crear-caso never reached the summary");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `(file, needle)` for every needle found in a file of the data folder.
fn grep_data(data: &Path, needles: &[&str]) -> Vec<(PathBuf, String)> {
    let mut hits = Vec::new();
    for file in files_under(data) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue; // the admin socket
        };
        for needle in needles {
            let n = needle.as_bytes();
            if bytes.windows(n.len()).any(|w| w == n) {
                hits.push((file.clone(), needle.to_string()));
            }
        }
    }
    hits
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = run_cli(args, "");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn export(data: &Path, flag: &str, value: &str) -> Value {
    let (code, stdout, stderr) = cli(&[
        "data",
        "export",
        flag,
        value,
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "export failed:\n{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("export is not JSON ({e}):\n{stdout}"))
}

#[tokio::test]
async fn privacy_notice_comes_before_any_personal_question() {
    let server = server();
    let (mut ws, _) = server.fresh().await;
    let notice = last_bot(&ws.escalate(None).await).clone();
    assert_eq!(flow_step(&notice), "aviso-datos", "{notice}");
    assert!(
        notice["flow"]["input"].is_null(),
        "the notice asks for nothing typed: {notice}"
    );
    let text = notice["text"].as_str().unwrap();
    for must in [
        "Colombia Compra Eficiente",
        "atender y hacer seguimiento a su caso",
        "conocer, actualizar, rectificar y suprimir",
        "revocar",
    ] {
        assert!(text.contains(must), "the notice lacks «{must}»:\n{text}");
    }
    let html = notice["html"].as_str().unwrap();
    assert!(
        html.contains(&format!(r#"href="{POLICY}""#)) && html.contains(r#"target="_blank""#),
        "the policy link (from --privacy-url) must open in a new tab:\n{html}"
    );
    let labels: Vec<&str> = notice["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Acepto", "No acepto"]);

    // Declining ends the form, kindly, with the other way to open a case.
    let declined = last_bot(&ws.choose(&button(&notice, "No acepto")).await).clone();
    let text = declined["text"].as_str().unwrap();
    assert!(text.contains("no podemos abrir el caso"), "{text}");
    assert!(
        text.contains("Crear caso"),
        "no alternative channel: {text}"
    );
    assert!(
        declined["buttons"].as_array().is_none_or(|b| b.is_empty()),
        "{declined}"
    );
    // Whoever declined is asked again, not sent to the refusal.
    let again = last_bot(&ws.escalate(None).await).clone();
    assert_eq!(flow_step(&again), "aviso-datos", "{again}");
    let first_question = last_bot(&ws.choose(&button(&again, "Acepto")).await).clone();
    assert_eq!(flow_step(&first_question), "nombre", "{first_question}");
    assert!(first_question["text"]
        .as_str()
        .unwrap()
        .contains("nombre completo"));
}

#[tokio::test]
async fn case_stores_the_privacy_acceptance_and_a_second_form_skips_the_notice() {
    let server = server();
    let (mut ws, _) = server.fresh().await;
    let notice = last_bot(&ws.escalate(None).await).clone();
    let name_step = last_bot(&ws.choose(&button(&notice, "Acepto")).await).clone();
    assert_eq!(flow_step(&name_step), "nombre");
    ws.say("cancelar").await;
    // Accepted once in this conversation: the next form starts with the questions.
    let again = last_bot(&ws.escalate(None).await).clone();
    assert_eq!(flow_step(&again), "nombre", "{again}");
    ws.say("cancelar").await;
    let before = chrono::Utc::now();
    let id = open_case(&mut ws, &ZULEIMA, "No puedo firmar el contrato en SECOP II").await;

    let exported = export(&server.data_dir, "--email", ZULEIMA.email);
    let ticket = &exported["tickets"][0];
    assert_eq!(ticket["id"], id.as_str());
    assert_eq!(ticket["privacy"]["policy_url"], POLICY, "{ticket}");
    let accepted: chrono::DateTime<chrono::Utc> = ticket["privacy"]["accepted_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        accepted <= chrono::Utc::now() && accepted > before - chrono::Duration::minutes(5),
        "{accepted}"
    );
    assert_eq!(ticket["fields"]["autorizacion_datos"], "acepto");
}

#[tokio::test]
async fn data_export_by_email_lists_cases_and_messages() {
    let server = server();
    let (mut ws, _) = server.fresh().await;
    let id = open_case(
        &mut ws,
        &ZULEIMA,
        "La oferta no carga en el proceso CD-7731",
    )
    .await;
    let (mut other, _) = server.fresh().await;
    open_case(&mut other, &OTTO, "Otro problema distinto").await;

    // Any capitalisation of the address finds the person.
    let exported = export(&server.data_dir, "--email", "Zuleima.QuinteroX@EXAMPLE.org");
    let tickets = exported["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "{exported:#}");
    assert_eq!(tickets[0]["id"], id.as_str());
    assert_eq!(tickets[0]["fields"]["numero_documento"], ZULEIMA.document);
    let conversations = exported["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1);
    assert_eq!(
        conversations[0]["session"],
        ws.session.clone().unwrap().as_str()
    );
    let texts: Vec<&str> = conversations[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("CD-7731")), "{texts:?}");
    assert!(texts.contains(&ZULEIMA.phone), "{texts:?}");
    let mail = exported["mail"].as_array().unwrap();
    assert!(
        mail.iter()
            .any(|m| m["to"] == ZULEIMA.email && m["ticket"] == id.as_str()),
        "the case-opened mail is part of the export: {mail:?}"
    );
    assert!(
        !exported.to_string().contains(OTTO.email),
        "another person leaked in"
    );

    // By document, dots and all.
    let by_document = export(&server.data_dir, "--document", "7.731.904.455");
    assert_eq!(by_document["tickets"][0]["id"], id.as_str());

    // Nobody: exit 1 and what to do, in Spanish.
    let data = server.data_dir.to_str().unwrap();
    let (code, stdout, stderr) = cli(&[
        "data",
        "export",
        "--email",
        "nadie@example.org",
        "--data",
        data,
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("no hay ningún caso") && stderr.contains("--document"),
        "{stderr}"
    );
    // A malformed address is a usage error.
    let (code, _, stderr) = cli(&["data", "export", "--email", "zuleima", "--data", data]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no es un correo"), "{stderr}");
}

#[tokio::test]
async fn data_delete_leaves_no_personal_field_in_the_data_folder() {
    let mut server = server();
    let (mut ws, _) = server.fresh().await;
    let id = open_case(&mut ws, &ZULEIMA, "No puedo publicar el pliego").await;
    let session = ws.session.clone().unwrap();
    let (mut other, _) = server.fresh().await;
    let kept = open_case(&mut other, &OTTO, "Otro problema distinto").await;
    // Elsewhere she typed her address in a question, and started a form that
    // she left after giving her name and document: both are hers too.
    let (mut chat, _) = server.fresh().await;
    chat.say(&format!("no me llegan los correos a {}", ZULEIMA.email))
        .await;
    let (mut left, _) = server.fresh().await;
    let first = escalate_past_the_notice(&mut left).await;
    assert_eq!(flow_step(&first), "nombre");
    let kind_step = last_bot(&left.say(ZULEIMA.name).await).clone();
    left.choose(&button(&kind_step, "Cédula de ciudadanía"))
        .await;
    left.say(ZULEIMA.document).await;
    left.say("cancelar").await;
    let data = server.data_dir.clone();
    let data_s = data.to_str().unwrap();
    assert!(
        !grep_data(&data, &ZULEIMA.needles()).is_empty(),
        "the case should be on disk before the delete"
    );

    let (code, stdout, stderr) =
        cli(&["data", "delete", "--email", ZULEIMA.email, "--data", data_s]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&id), "{stdout}");
    assert_eq!(
        grep_data(&data, &ZULEIMA.needles()),
        vec![],
        "with the server running"
    );
    // The grep does find what was kept.
    assert!(!grep_data(&data, &[OTTO.email]).is_empty());

    // A returning tab gets a new conversation, not the erased history.
    let mut back = server.connect().await;
    let welcome = back.hello(Some(&session), Some(0)).await;
    assert_ne!(welcome["session"], session.as_str(), "{welcome}");
    assert!(!welcome.to_string().contains(ZULEIMA.email), "{welcome}");
    // The tab still open on the erased conversation goes on blank: it cannot
    // write the erased data back, and a new form asks for everything again.
    let frames = ws.escalate(None).await;
    assert_eq!(
        flow_step(last_bot(&frames)),
        "aviso-datos",
        "{}",
        pretty(&frames)
    );
    assert_eq!(
        grep_data(&data, &ZULEIMA.needles()),
        vec![],
        "after a turn of the open tab"
    );

    // One audit line, with the case number and without the person's data.
    let (_, audit, _) = cli(&["agent", "audit", "--data", data_s]);
    let line = audit
        .lines()
        .find(|l| l.contains("suprimió los datos"))
        .unwrap_or_else(|| panic!("no audit line:\n{audit}"));
    assert!(
        line.contains(&id) && line.contains("línea de comandos"),
        "{line}"
    );
    assert!(
        ZULEIMA.needles().iter().all(|n| !line.contains(n)),
        "{line}"
    );

    // Nothing is left to export; the other person's case is intact.
    let (code, _, _) = cli(&["data", "export", "--email", ZULEIMA.email, "--data", data_s]);
    assert_eq!(code, 1);
    assert_eq!(
        export(&data, "--email", OTTO.email)["tickets"][0]["id"],
        kept.as_str()
    );
    // The server still works on the rewritten files.
    let (mut later, _) = server.fresh().await;
    let third = open_case(&mut later, &LUCIA, "Un caso nuevo").await;
    assert_ne!(third, id);

    assert!(server.terminate().success());
    assert_eq!(
        grep_data(&data, &ZULEIMA.needles()),
        vec![],
        "after stopping the server"
    );
}

#[tokio::test]
async fn data_delete_by_document_with_the_server_stopped() {
    let mut server = server();
    let (mut ws, _) = server.fresh().await;
    let id = open_case(&mut ws, &ZULEIMA, "No puedo publicar el pliego").await;
    let (mut other, _) = server.fresh().await;
    let kept = open_case(&mut other, &OTTO, "Otro problema distinto").await;
    assert!(server.terminate().success());
    let data = server.data_dir.clone();
    let data_s = data.to_str().unwrap();

    // Export works on the folder directly too.
    let exported = export(&data, "--email", ZULEIMA.email);
    assert_eq!(exported["tickets"][0]["id"], id.as_str());

    let (code, stdout, stderr) = cli(&[
        "data",
        "delete",
        "--document",
        "7.731.904.455",
        "--data",
        data_s,
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&id), "{stdout}");
    assert_eq!(
        grep_data(&data, &ZULEIMA.needles()),
        vec![],
        "with the server stopped"
    );

    let (_, audit, _) = cli(&["agent", "audit", "--data", data_s]);
    assert!(
        audit
            .lines()
            .any(|l| l.contains("suprimió los datos") && l.contains(&id)),
        "{audit}"
    );
    // The folder opens again, with the other person's case.
    server.restart();
    let exported = export(&data, "--document", OTTO.document);
    assert_eq!(exported["tickets"][0]["id"], kept.as_str());
}

/// Retention applies to cases: a resolved case past `--anonymize-after-days`
/// loses its personal fields, its e-mails go, and the database is rewritten so
/// the old values are not left in sled's log either.
#[tokio::test]
async fn retention_leaves_no_bytes_of_an_anonymised_case() {
    // 0.00003 days ≈ 2.6 s.
    let server = start_with_agents(
        &[("ana", "agent")],
        &[
            "--anonymize-after-days",
            "0.00003",
            "--retention-every-secs",
            "1",
        ],
    );
    let mut user = server.connect().await;
    user.hello(None, None).await;
    let id = open_case(&mut user, &ZULEIMA, "No puedo firmar el contrato").await;
    let session = user.session.clone().unwrap();
    let (mut agent, _) = agent_console(&server, "ana").await;
    assert!(is_type(&claim(&mut agent, &session).await, "claimed"));
    agent
        .send_json(serde_json::json!({"type": "resolve", "session": session, "note": "Resuelto."}))
        .await;
    agent.recv_until(|f| is_type(f, "resolved")).await;
    let data = server.data_dir.clone();
    assert!(!grep_data(&data, &ZULEIMA.needles()).is_empty());
    eventually(
        std::time::Duration::from_secs(20),
        "no byte of the resolved case's personal fields on disk",
        || async {
            match grep_data(&data, &ZULEIMA.needles()) {
                hits if hits.is_empty() => Ok(()),
                hits => Err(format!("{hits:?}")),
            }
        },
    )
    .await;
    // The case itself is kept, anonymised.
    assert!(!grep_data(&data, &[id.as_str()]).is_empty());
}

/// Writes that arrive while `data delete` rewrites the database wait for it and
/// land in the new files: another user's conversation loses nothing.
#[tokio::test]
async fn turns_during_a_delete_are_kept() {
    let server = server();
    let (mut ws, _) = server.fresh().await;
    open_case(&mut ws, &ZULEIMA, "No puedo publicar el pliego").await;
    let (mut other, _) = server.fresh().await;
    let session = other.session.clone().unwrap();
    let data = server.data_dir.clone();
    let delete = tokio::task::spawn_blocking(move || {
        cli(&[
            "data",
            "delete",
            "--email",
            ZULEIMA.email,
            "--data",
            data.to_str().unwrap(),
        ])
    });
    let mut said = Vec::new();
    for n in 0..15 {
        let text = format!("pregunta número {n} sobre el proceso");
        other.say(&text).await;
        said.push(text);
    }
    let (code, stdout, stderr) = delete.await.unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(grep_data(&server.data_dir, &ZULEIMA.needles()), vec![]);
    let mut back = server.connect().await;
    let welcome = back.hello(Some(&session), Some(0)).await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    let history = welcome["history"].to_string();
    for text in &said {
        assert!(
            history.contains(text.as_str()),
            "{text} was lost:\n{history}"
        );
    }
}
