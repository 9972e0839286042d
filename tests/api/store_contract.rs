//! The store's contract (`store::backend`), the same calls on both backends:
//! the embedded sled folder and a throwaway PostgreSQL cluster. A backend that
//! orders, keeps or finds records differently from the other fails here.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use secobot::store::records::{Author, MessageKind};
use secobot::store::{
    AuditEntry, Commit, Feedback, MessageRecord, OutboundMail, RecordKind, SessionId, StateRecord,
    StateSummary, Store, StoreError, Subject,
};
use secobot::tickets::{Priority, Status, Ticket, TicketId};

use crate::postgres_support::Postgres;

fn message(seq: u64, from: Author, text: &str) -> MessageRecord {
    MessageRecord {
        seq,
        from,
        kind: MessageKind::Notice,
        text: text.to_owned(),
        html: None,
        buttons: Vec::new(),
        sources: Vec::new(),
        flow: None,
        ticket: None,
        ts: Utc::now().to_rfc3339(),
        agent_name: None,
    }
}

fn state(last_seq: u64, ticket: Option<&TicketId>, fields: &[(&str, &str)]) -> StateRecord {
    let fields: BTreeMap<&str, &str> = fields.iter().copied().collect();
    StateRecord::encode(&serde_json::json!({
        "last_seq": last_seq,
        "created_at": Utc::now().to_rfc3339(),
        "fields": fields,
        "ticket": ticket.map(|t| t.to_string()),
    }))
    .unwrap()
}

fn mail(id: u64, to: &str, ticket: &TicketId) -> OutboundMail {
    OutboundMail {
        id,
        message_id: format!("<caso_abierto.{ticket}.{id}@secobot>"),
        to: to.to_owned(),
        subject: format!("Su caso {ticket}"),
        body: "Recibimos su caso.".to_owned(),
        kind: "caso_abierto".to_owned(),
        ticket: Some(ticket.to_string()),
        created_at: Utc::now(),
        attempts: 0,
        last_attempt_at: None,
        next_attempt_at: Utc::now(),
        last_error: None,
        sent_at: None,
    }
}

/// Every call of the contract, checked on `store` (an empty store).
async fn keeps_the_contract(store: &Store) {
    // Conversations: messages by seq, in order, paged.
    let chat = SessionId::generate();
    let messages = [
        message(1, Author::Bot, "¡Hola! ¿En qué le ayudo?"),
        message(2, Author::User, "olvidé mi contraseña"),
        message(3, Author::Bot, "Puede restablecerla así…"),
    ];
    store
        .commit(Commit {
            session: Some((&chat, &state(3, None, &[]))),
            messages: &messages,
            ..Commit::default()
        })
        .await
        .unwrap();
    let seqs = |page: Vec<MessageRecord>| page.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.messages_after(&chat, 0, 100).await.unwrap()),
        [1, 2, 3]
    );
    assert_eq!(seqs(store.messages_after(&chat, 1, 1).await.unwrap()), [2]);
    assert!(store
        .messages_after(&chat, 3, 100)
        .await
        .unwrap()
        .is_empty());
    let summary: StateSummary = store.conversation(&chat).await.unwrap().unwrap();
    assert_eq!(summary.last_seq, 3);
    let unknown = SessionId::generate();
    assert!(store
        .conversation::<StateSummary>(&unknown)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.messages_after(&chat, 0, 100).await.unwrap()[1].text,
        "olvidé mi contraseña",
        "text comes back as written"
    );

    // Feedback: the last one given wins.
    for useful in [true, false] {
        let feedback = Feedback {
            useful,
            ts: Utc::now().to_rfc3339(),
        };
        store.put_feedback(&chat, 3, &feedback).await.unwrap();
    }
    let dumps = store.scan_conversations().await.unwrap();
    let dump = dumps.iter().find(|d| d.session == chat.as_str()).unwrap();
    assert_eq!(dump.messages.len(), 3);
    assert_eq!(dump.feedback.len(), 1);
    assert_eq!(dump.feedback[0].0, 3);
    assert!(!dump.feedback[0].1.useful);

    // A case with its conversation and its e-mail, in one commit.
    let first = store.next_ticket_number().await.unwrap();
    let number = store.next_ticket_number().await.unwrap();
    assert!(number > first, "ticket numbers grow: {first} then {number}");
    let id = TicketId::from_number(number);
    let case_chat = SessionId::generate();
    let fields: BTreeMap<String, String> = [
        ("nombre", "Ana Pérez"),
        ("correo", "ana.perez@example.gov.co"),
        ("numero_documento", "1020304050"),
        (
            "descripcion",
            "Me llegó un correo de restablecimiento que no pedí",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut ticket = Ticket::open(
        id.clone(),
        case_chat.to_string(),
        fields,
        Priority::Normal,
        None,
        Utc::now(),
    );
    let mail_id = store.next_mail_id().await.unwrap();
    assert!(store.next_mail_id().await.unwrap() > mail_id);
    let case_messages = [
        message(1, Author::User, "quiero hablar con una persona"),
        message(2, Author::User, "mi correo es ana.perez@example.gov.co"),
    ];
    store
        .commit(Commit {
            session: Some((
                &case_chat,
                &state(
                    2,
                    Some(&id),
                    &[
                        ("correo", "ana.perez@example.gov.co"),
                        ("nombre", "Ana Pérez"),
                    ],
                ),
            )),
            messages: &case_messages,
            ticket: Some(&ticket),
            mail: &[mail(mail_id, "ana.perez@example.gov.co", &id)],
        })
        .await
        .unwrap();
    assert_eq!(
        store.ticket(&id).await.unwrap().unwrap().session,
        case_chat.as_str()
    );
    assert!(store.tickets().await.unwrap().iter().any(|t| t.id == id));
    assert!(store
        .ticket(&TicketId::from_number(number + 1000))
        .await
        .unwrap()
        .is_none());

    // The outbox: due, attempted, postponed, sent.
    let mut due = store.due_mail(Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let mut queued = due.remove(0);
    assert_eq!(queued.id, mail_id);
    store.mail_attempt(&mut queued, Utc::now()).await.unwrap();
    store
        .mail_retry(
            &mut queued,
            "421 servicio no disponible".into(),
            Utc::now() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert!(store.due_mail(Utc::now(), 10).await.unwrap().is_empty());
    let later = store
        .due_mail(Utc::now() + Duration::hours(2), 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].attempts, 1, "the attempt was kept");
    let backlog = store.mail_backlog(Utc::now()).await.unwrap();
    assert_eq!((backlog.queued, backlog.sent, backlog.failed), (1, 0, 0));
    let mut sending = later[0].clone();
    store.mail_sent(&mut sending, Utc::now()).await.unwrap();
    let backlog = store.mail_backlog(Utc::now()).await.unwrap();
    assert_eq!((backlog.queued, backlog.sent, backlog.failed), (0, 1, 0));

    // Keyed records.
    store
        .put_record(
            RecordKind::Agent,
            "laura",
            &serde_json::json!({"name": "laura"}),
        )
        .await
        .unwrap();
    store
        .put_record(
            RecordKind::Agent,
            "andres",
            &serde_json::json!({"name": "andres"}),
        )
        .await
        .unwrap();
    let all: Vec<(String, serde_json::Value)> = store.records(RecordKind::Agent).await.unwrap();
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["andres", "laura"], "by key order");
    assert!(store
        .records::<serde_json::Value>(RecordKind::Login)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .remove_record(RecordKind::Agent, "laura")
        .await
        .unwrap());
    assert!(!store
        .remove_record(RecordKind::Agent, "laura")
        .await
        .unwrap());
    assert!(store
        .record::<serde_json::Value>(RecordKind::Agent, "laura")
        .await
        .unwrap()
        .is_none());

    // The audit log, newest first.
    for action in ["agent_add", "agent_disable"] {
        store
            .audit(&AuditEntry::now("supervisora", action, "laura", ""))
            .await
            .unwrap();
    }
    let log = store.audit_log(1).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "agent_disable");

    // The secret is made once.
    let secret = store.secret("transcript").await.unwrap();
    assert_eq!(store.secret("transcript").await.unwrap(), secret);
    assert_ne!(store.secret("otro").await.unwrap(), secret);

    // Habeas data: the person is found by e-mail, with their case, its
    // conversation and their e-mail, and erased.
    let subject = Subject::email("ANA.PEREZ@example.gov.co ").unwrap();
    let found = store.subject_records(&subject).await.unwrap();
    assert_eq!(found.tickets.len(), 1);
    assert_eq!(found.conversations.len(), 1);
    assert_eq!(found.conversations[0].session, case_chat.as_str());
    assert_eq!(found.mail.len(), 1);
    assert_eq!(found.mail[0].folder, "mail_sent");
    let by_document = store
        .subject_records(&Subject::document("1.020.304.050").unwrap())
        .await
        .unwrap();
    assert_eq!(by_document.tickets.len(), 1);
    store.erase(&found).await.unwrap();
    assert!(store.ticket(&id).await.unwrap().is_none());
    assert!(store
        .messages_after(&case_chat, 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.subject_records(&subject).await.unwrap().is_empty());
    assert_eq!(store.mail_backlog(Utc::now()).await.unwrap().sent, 0);

    // Retention: a resolved case is anonymised, wherever its conversation
    // repeats the values; an idle conversation without a case is deleted.
    let id = TicketId::from_number(store.next_ticket_number().await.unwrap());
    let resolved_chat = SessionId::generate();
    ticket.id = id.clone();
    ticket.session = resolved_chat.to_string();
    ticket.status = Status::Resolved;
    ticket.resolved_at = Some(Utc::now() - Duration::days(400));
    store
        .commit(Commit {
            session: Some((
                &resolved_chat,
                &state(1, Some(&id), &[("nombre", "Ana Pérez")]),
            )),
            messages: &[message(
                1,
                Author::User,
                "soy Ana Pérez, documento 1020304050",
            )],
            ticket: Some(&ticket),
            mail: &[],
        })
        .await
        .unwrap();
    let swept = store
        .sweep(
            Some(Utc::now() + Duration::minutes(1)),
            Some(Utc::now() - Duration::days(30)),
        )
        .await
        .unwrap();
    assert_eq!(swept.anonymized, 1);
    assert_eq!(swept.deleted, 1, "only the conversation without a case");
    assert!(store
        .conversation::<StateSummary>(&chat)
        .await
        .unwrap()
        .is_none());
    let anonymised = store.ticket(&id).await.unwrap().unwrap();
    assert_eq!(anonymised.fields["nombre"], secobot::tickets::ANONYMIZED);
    let text = &store.messages_after(&resolved_chat, 0, 10).await.unwrap()[0].text;
    assert!(
        !text.contains("Ana Pérez") && !text.contains("1020304050"),
        "the transcript still names the person: {text}"
    );
    let state: StateSummary = store.conversation(&resolved_chat).await.unwrap().unwrap();
    assert_eq!(state.fields["nombre"], secobot::tickets::ANONYMIZED);

    assert_eq!(store.degraded(), None);
    assert!(store.size_on_disk().await.unwrap() > 0);
}

#[tokio::test]
async fn the_sled_store_keeps_the_store_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("data"), 1 << 20).unwrap();
    assert_eq!(store.backend_name(), "sled");
    keeps_the_contract(&store).await;
}

#[tokio::test]
async fn the_postgres_store_keeps_the_store_contract() {
    let pg = Postgres::start();
    let store = Store::connect(pg.url(), 4).await.unwrap();
    assert_eq!(store.backend_name(), "postgresql");
    keeps_the_contract(&store).await;
}

/// Two instances writing one conversation: the second writer of a seq is
/// refused whole (its state, messages, ticket and mail), never overwrites.
#[tokio::test]
async fn a_seq_another_instance_wrote_first_is_refused_whole() {
    let pg = Postgres::start();
    let a = Store::connect(pg.url(), 2).await.unwrap();
    // The second instance applies the (already applied) migrations too.
    let b = Store::connect(pg.url(), 2).await.unwrap();
    let chat = SessionId::generate();
    a.commit(Commit {
        session: Some((&chat, &state(2, None, &[]))),
        messages: &[
            message(1, Author::Bot, "¡Hola!"),
            message(2, Author::User, "de A"),
        ],
        ..Commit::default()
    })
    .await
    .unwrap();
    let id = TicketId::from_number(b.next_ticket_number().await.unwrap());
    let ticket = Ticket::open(
        id.clone(),
        chat.to_string(),
        BTreeMap::new(),
        Priority::Normal,
        None,
        Utc::now(),
    );
    let refused = b
        .commit(Commit {
            session: Some((&chat, &state(3, Some(&id), &[]))),
            messages: &[
                message(2, Author::User, "de B"),
                message(3, Author::Bot, "respuesta a B"),
            ],
            ticket: Some(&ticket),
            mail: &[mail(b.next_mail_id().await.unwrap(), "x@example.co", &id)],
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::SeqTaken { seq: 2, .. }),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("another instance"),
        "{refused}"
    );
    let texts: Vec<String> = a
        .messages_after(&chat, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["¡Hola!", "de A"]);
    let summary: StateSummary = b.conversation(&chat).await.unwrap().unwrap();
    assert_eq!(summary.last_seq, 2);
    assert!(b.ticket(&id).await.unwrap().is_none());
    assert_eq!(b.mail_backlog(Utc::now()).await.unwrap().queued, 0);
}
