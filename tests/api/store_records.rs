//! The store's records keep the disk format: a data folder written before the
//! store owned its record types (main at 7d060e9) opens, replays, exports and
//! goes on, and what is read back encodes to the very bytes that were stored.
//!
//! The fixture `tests/fixtures/store-7d060e9/records.json` holds every record
//! of the `conversations` and `tickets` trees of a folder written by that build
//! (a case opened through `crear-caso`, claimed by an agent who answered, a
//! thumbs-up, and a second conversation stopped in the middle of the form),
//! with `export-zuleima.json`, what `secobot data export` printed for it then.
//! They were captured by a one-off test run against that build: the scenario
//! through the real server, then every key and value of the two trees read
//! with sled (keys in hex, values as the JSON text stored).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use secobot::conversation::{ConversationState, Reply};
use secobot::store::{SessionId, Store};

use crate::helpers::*;

fn fixture_dir() -> PathBuf {
    manifest_dir().join("tests/fixtures/store-7d060e9")
}

fn read_json(name: &str) -> Value {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// One raw record of the fixture.
struct Raw {
    tree: String,
    key: Vec<u8>,
    value: String,
}

fn raw_records(fixture: &Value) -> Vec<Raw> {
    fixture["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let hex = r["key"].as_str().unwrap();
            let key = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            Raw {
                tree: r["tree"].as_str().unwrap().to_owned(),
                key,
                value: r["value"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

/// A data folder holding exactly the fixture's records, written with sled
/// itself (not through the code under test), and released: ready to open.
fn old_folder(records: &[Raw], dir: &Path) {
    let db = sled::open(dir).unwrap();
    for r in records {
        db.open_tree(&r.tree)
            .unwrap()
            .insert(r.key.as_slice(), r.value.as_bytes())
            .unwrap();
    }
    db.flush().unwrap();
    drop(db);
    wait_until_unlocked(dir);
}

/// sled 0.34 releases its folder's lock (a `flock` on `db`) only once its
/// background flusher has stopped, a moment after the handle is dropped
/// (spacejam/sled#1234): the next open, here or in the server, would find it
/// taken. Waits until the lock can be taken, as that open will take it.
fn wait_until_unlocked(dir: &Path) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(dir.join("db")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if taken {
            // SAFETY: as above; closing the file would release it too.
            unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sled still holds {} 30 s after it was dropped",
            dir.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The stored value of `session`'s state and of its messages, in seq order.
fn stored_conversation(records: &[Raw], session: &str) -> (String, Vec<String>) {
    let mut state = None;
    let mut messages = Vec::new();
    for r in records.iter().filter(|r| r.tree == "conversations") {
        if !r.key.starts_with(session.as_bytes()) {
            continue;
        }
        match r.key[session.len()] {
            b'#' => state = Some(r.value.clone()),
            b'/' => messages.push(r.value.clone()),
            _ => {}
        }
    }
    (state.unwrap(), messages)
}

#[tokio::test]
async fn data_folder_written_before_the_store_split_still_opens() {
    let fixture = read_json("records.json");
    let records = raw_records(&fixture);
    let session = fixture["session"].as_str().unwrap();
    let mid_flow = fixture["mid_flow_session"].as_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // Through the library: every record decodes into the new types and encodes
    // back to the bytes on disk (so new writes keep the format too).
    let direct = tmp.path().join("direct");
    old_folder(&records, &direct);
    {
        let store = Store::open(&direct, 1 << 20)
            .unwrap_or_else(|e| panic!("the old folder does not open: {e}"));
        for id in [session, mid_flow] {
            let (state_bytes, message_bytes) = stored_conversation(&records, id);
            let id = SessionId::parse(id).unwrap();
            let state: ConversationState = store.conversation(&id).await.unwrap().unwrap();
            assert_eq!(
                String::from_utf8(state.to_record().unwrap().as_bytes().to_vec()).unwrap(),
                state_bytes
            );
            let messages = store.messages_after(&id, 0, 1000).await.unwrap();
            assert_eq!(messages.len(), message_bytes.len());
            for (record, bytes) in messages.into_iter().zip(&message_bytes) {
                // Through the conversation's own type and back, as a replay does.
                let reply = Reply::from(record);
                let again = secobot::store::MessageRecord::from(reply);
                assert_eq!(&serde_json::to_string(&again).unwrap(), bytes);
            }
        }
        let dumps = store.scan_conversations().await.unwrap();
        let main = dumps.iter().find(|d| d.session == session).unwrap();
        assert_eq!(main.messages.len(), 30);
        assert_eq!(main.feedback.len(), 1, "the thumbs-up on the answer");
        assert!(main.feedback[0].1.useful);
        assert_eq!(store.tickets().await.unwrap().len(), 1);
    }

    // `secobot data export` reads the conversation as it did before the split.
    let exported_dir = tmp.path().join("exported");
    old_folder(&records, &exported_dir);
    let out = run_cli(
        &[
            "data",
            "export",
            "--email",
            "zuleima.quinterox@example.org",
            "--data",
            exported_dir.to_str().unwrap(),
        ],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported: Value = serde_json::from_str(&stdout).unwrap();
    let before = read_json("export-zuleima.json");
    // The fixture holds no mail trees; everything else must be the same.
    for part in ["subject", "tickets", "conversations"] {
        assert_eq!(exported[part], before[part], "export's {part} changed");
    }

    // A server on the old folder resumes both conversations from their
    // history and goes on with the next seq, the form where it stopped.
    let served = tmp.path().join("served");
    old_folder(&records, &served);
    let server = TestServer::start(Opts {
        data_dir: Some(served),
        ..Opts::default()
    });
    let mut ws = server.connect().await;
    let welcome = ws.hello(Some(session), Some(0)).await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    let (_, stored) = stored_conversation(&records, session);
    let history = welcome["history"].as_array().unwrap();
    assert_eq!(history.len(), stored.len(), "{welcome}");
    for (shown, bytes) in history.iter().zip(&stored) {
        let stored: Value = serde_json::from_str(bytes).unwrap();
        assert_eq!(shown["seq"], stored["seq"]);
        assert_eq!(shown["text"], stored["text"]);
        assert_eq!(shown["from"], stored["from"]);
    }

    let mut form = server.connect().await;
    let welcome = form.hello(Some(mid_flow), Some(0)).await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    let last = welcome["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["seq"], 7);
    assert_eq!(flow_step(&last), "tipo-documento", "{last}");
    let frames = form.choose(&button_values(&last)[0]).await;
    let next = last_bot(&frames);
    assert_eq!(next["seq"], json!(9), "{}", pretty(&frames));
    assert_eq!(flow_step(next), "numero-documento", "{next}");
}
