//! Kinds 15 and 16 of the hardening issue: files that are not entries never
//! block a reload, and knowledge behind symlinks is reloaded like any other
//! edit (the usual atomic deploy switches `current -> releases/vN`).

use std::time::Duration;

use crate::helpers::*;

/// The entry count `/healthz` reports once it equals `want`.
async fn entries_become(server: &TestServer, want: u64, what: &str) {
    eventually(Duration::from_secs(30), what, || async {
        let h = server.get("/healthz").await.json();
        if h["knowledge"]["entries"].as_u64() == Some(want) {
            Ok(())
        } else {
            Err(h.to_string())
        }
    })
    .await;
}

fn entry(title: &str) -> String {
    format!("---\ntitle: {title}\nquestions:\n  - {title}\nsources:\n  - seed\nreviewed: 2026-11-29\n---\nCuerpo de prueba.\n")
}

#[tokio::test]
async fn symlinked_knowledge_folder_switch_is_reloaded() {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = tmp.path().join("releases/v1");
    let v2 = tmp.path().join("releases/v2");
    copy_dir(&manifest_dir().join("knowledge"), &v1);
    copy_dir(&manifest_dir().join("knowledge"), &v2);
    std::fs::write(
        v2.join("faq/prueba-release-dos.md"),
        entry("Entrada solo en la versión dos"),
    )
    .unwrap();
    let current = tmp.path().join("current");
    std::os::unix::fs::symlink(&v1, &current).unwrap();
    let server = TestServer::start(Opts {
        knowledge: Some(current.clone()),
        ..Opts::default()
    });
    let before = server.get("/healthz").await.json()["knowledge"]["entries"]
        .as_u64()
        .expect("entries in /healthz");
    // Atomic switch: a new link renamed over the old one.
    let next = tmp.path().join("current.next");
    std::os::unix::fs::symlink(&v2, &next).unwrap();
    std::fs::rename(&next, &current).unwrap();
    entries_become(&server, before + 1, "the switch to releases/v2 is served").await;
}

#[tokio::test]
async fn edited_target_of_a_symlinked_entry_is_reloaded() {
    let tmp = tempfile::tempdir().unwrap();
    let knowledge = tmp.path().join("knowledge");
    copy_dir(&manifest_dir().join("knowledge"), &knowledge);
    let outside = tmp.path().join("shared-entries");
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.join("enlazada.md");
    std::fs::write(&target, entry("Entrada enlazada de prueba")).unwrap();
    std::os::unix::fs::symlink(&target, knowledge.join("faq/enlazada.md")).unwrap();
    let server = TestServer::start(Opts {
        knowledge: Some(knowledge.clone()),
        ..Opts::default()
    });
    let before = server.get("/healthz").await.json()["knowledge"]["entries"]
        .as_u64()
        .expect("entries in /healthz");
    // Breaking the target (outside the watched folder) must be noticed: the
    // folder then has a problem and /healthz says so.
    std::fs::write(&target, "sin encabezado\n").unwrap();
    eventually(
        Duration::from_secs(30),
        "an edit to the symlink's target is seen",
        || async {
            let h = server.get("/healthz").await.json();
            if h.to_string().contains("enlazada") {
                Ok(())
            } else {
                Err(h.to_string())
            }
        },
    )
    .await;
    // Fixing it brings the entry back.
    std::fs::write(&target, entry("Entrada enlazada, corregida")).unwrap();
    entries_become(&server, before, "the fixed target is served").await;
}

#[tokio::test]
async fn stray_editor_files_are_ignored_and_never_block_a_reload() {
    let server = TestServer::default_start();
    let faq = server.knowledge_dir.join("faq");
    let before = server.get("/healthz").await.json()["knowledge"]["entries"]
        .as_u64()
        .expect("entries in /healthz");
    // Editors' leftovers: backups, emacs and vim files, a dotfile, an empty one.
    for name in [
        "x.md.orig",
        "#x.md#",
        ".x.md.swp",
        "x.md~",
        "notas.txt",
        ".DS_Store",
    ] {
        std::fs::write(faq.join(name), "").unwrap();
    }
    std::fs::write(faq.join("acceso/.#borrador.md"), "").unwrap();
    // A real edit made after them is served, and the folder stays healthy.
    std::fs::write(
        faq.join("prueba-despues-de-basura.md"),
        entry("Entrada escrita después de los archivos sueltos"),
    )
    .unwrap();
    entries_become(
        &server,
        before + 1,
        "the edit after the stray files is served",
    )
    .await;
    let h = server.get("/healthz").await.json();
    assert_eq!(h["status"], "ok", "{h}");
    // `check` exits 0 and names each ignored file.
    let out = std::process::Command::new(bin())
        .args(["check", "--knowledge"])
        .arg(&server.knowledge_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for name in ["x.md.orig", "#x.md#", ".x.md.swp", "notas.txt"] {
        assert!(stderr.contains(name), "{name} not named in: {stderr}");
    }
}
