//! Benchmarks of the hot path: search, render, store append (with and without
//! the durable flush), a full conversation turn in process, and a full reload
//! of a generated 10,000-entry knowledge folder.
//!
//! `cargo bench --bench hot_path` prints the figures; docs/performance.md lists them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use secobot::conversation::{
    Author, ConversationState, Hub, Limits, Reply, ReplyKind, SessionId, UserInput,
};
use secobot::knowledge::{Knowledge, LiveKnowledge, Mode, Thresholds};
use secobot::render::Renderer;
use secobot::store::{Commit, MessageRecord, Store};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled folder plus `n` generated entries, in a temporary folder.
fn generate_folder(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    secobot::knowledge::synthetic::generate(&manifest().join("knowledge"), dir.path(), n)
        .expect("generate");
    dir
}

const QUESTION: &str = "me llegó un correo para restablecer la contraseña y yo no lo pedí";

fn search(c: &mut Criterion) {
    let bundled = Knowledge::load(
        &manifest().join("knowledge"),
        Mode::Spanish,
        Thresholds::default(),
    )
    .expect("bundled folder");
    c.bench_function("decide/bundled", |b| {
        b.iter(|| std::hint::black_box(bundled.decide(QUESTION)).clone())
    });
    // Every iteration a question the cache has not seen: the real cost of
    // analysis, both indexes, fusion and the decision on the bundled folder.
    let questions = [
        QUESTION,
        "cómo cargo la factura en el plan de pagos del contrato",
        "komo kambio la klave de secop",
        "buenas tardes, soy contratista de la alcaldía y no me deja presentar la oferta, ¿qué hago?",
        "¿Cómo cambio mi contraseña? Y además, ¿dónde cargo la factura?",
        "me recomienda un restaurante en Medellín",
    ];
    let mut i = 0;
    c.bench_function("decide/bundled-uncached", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            std::hint::black_box(bundled.understand_uncached(questions[i]).decision).clone()
        })
    });
    let big_dir = generate_folder(10_000);
    let big =
        Knowledge::load(big_dir.path(), Mode::Spanish, Thresholds::default()).expect("10k folder");
    c.bench_function("decide/10k", |b| {
        b.iter(|| std::hint::black_box(big.decide(QUESTION)).clone())
    });
    c.bench_function("decide/10k-typos", |b| {
        b.iter(|| {
            std::hint::black_box(big.decide("olvide mi contrasñea, como la recupreo")).clone()
        })
    });
    let mut group = c.benchmark_group("reload");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("10k", |b| {
        b.iter(|| {
            Knowledge::load(big_dir.path(), Mode::Spanish, Thresholds::default()).expect("load")
        })
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    let renderer = Renderer::load(&secobot::render::TemplateSource::Dir(
        manifest().join("templates"),
    ))
    .expect("templates");
    let data = serde_json::json!({ "id": "SB-000123", "due": "01/12/2026", "correo": "ana@entidad.gov.co" });
    c.bench_function("render/ticket_opened", |b| {
        b.iter(|| renderer.reply("ticket_opened", &data))
    });
    let body = std::fs::read_to_string(manifest().join("knowledge/faq/olvide-mi-contrasena.md"))
        .expect("entry");
    c.bench_function("render/markdown_entry", |b| {
        b.iter(|| secobot::render::markdown(&body))
    });
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = rt
        .block_on(async { Store::open(dir.path(), 64 << 20) })
        .expect("store");
    let id = SessionId::generate();
    let mut state = ConversationState::default();
    let reply = Reply::new(Author::Bot, ReplyKind::Answer, "x".repeat(600));
    // Each iteration appends the conversation's next message.
    let mut next = move || {
        state.last_seq += 1;
        let mut r = reply.clone();
        r.seq = state.last_seq;
        (state.clone(), r)
    };
    c.bench_function("store/append_no_flush", |b| {
        b.iter_batched(
            &mut next,
            |(s, r)| {
                // Encoding the state and the message is part of an append, as
                // it was when the store encoded them itself.
                let s = s.to_record().expect("encode");
                let r = MessageRecord::from(r);
                store
                    .sled()
                    .expect("a sled store")
                    .apply(&Commit {
                        session: Some((&id, &s)),
                        messages: std::slice::from_ref(&r),
                        ticket: None,
                        mail: &[],
                    })
                    .expect("apply")
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("store/append_durable", |b| {
        b.to_async(&rt).iter_batched(
            &mut next,
            |(s, r)| {
                let store = store.clone();
                let id = id.clone();
                async move {
                    let s = s.to_record().expect("encode");
                    let r = MessageRecord::from(r);
                    store
                        .commit(Commit {
                            session: Some((&id, &s)),
                            messages: std::slice::from_ref(&r),
                            ticket: None,
                            mail: &[],
                        })
                        .await
                        .expect("commit")
                }
            },
            BatchSize::SmallInput,
        )
    });
}

fn turn(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = rt.block_on(async {
        let store = Store::open(dir.path(), 64 << 20).expect("store");
        let knowledge = Knowledge::load(
            &manifest().join("knowledge"),
            Mode::Spanish,
            Thresholds::default(),
        )
        .expect("folder");
        let render = Arc::new(
            Renderer::load(&secobot::render::TemplateSource::Dir(
                manifest().join("templates"),
            ))
            .expect("templates"),
        );
        Arc::new(Hub::new(
            store,
            Arc::new(LiveKnowledge::new(knowledge)),
            render,
            Limits {
                fanout: 64,
                history: 100,
            },
            None,
        ))
    });
    let opened = rt.block_on(hub.open(None, 0)).expect("open");
    let session = opened.session;
    c.bench_function("turn/say_answer_durable", |b| {
        b.to_async(&rt).iter(|| {
            let hub = hub.clone();
            let session = session.clone();
            async move {
                hub.user_input(
                    &session,
                    UserInput::Say("olvidé mi contraseña de SECOP II".into()),
                    0,
                )
                .await
                .expect("turn")
            }
        })
    });
}

criterion_group!(benches, search, render, store, turn);
criterion_main!(benches);
