//! A throwaway PostgreSQL cluster for the tests that need one, started by
//! `scripts/postgres.sh` in a temporary folder (never the system service) and
//! stopped when dropped.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

use crate::helpers::manifest_dir;

pub struct Postgres {
    dir: PathBuf,
    url: String,
    _tmp: TempDir,
}

impl Postgres {
    /// Creates and starts a cluster with a database `secobot` (installing
    /// Debian's postgresql first if it is missing).
    pub fn start() -> Postgres {
        let tmp = tempfile::tempdir().unwrap();
        // Run as root, the server runs as user postgres, which must reach the folder.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = tmp.path().join("pg");
        let out = script(&["start", dir.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "scripts/postgres.sh start failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = stdout.lines().last().unwrap_or_default().trim().to_owned();
        assert!(url.starts_with("postgres://"), "not a URL: {stdout}");
        Postgres {
            dir,
            url,
            _tmp: tmp,
        }
    }

    /// `postgres://secobot@127.0.0.1:PORT/secobot`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster's folder (its `data/` and socket are inside).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let out = script(&["stop", self.dir.to_str().unwrap_or_default()]);
        if !out.status.success() {
            eprintln!(
                "scripts/postgres.sh stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn script(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(manifest_dir().join("scripts/postgres.sh"))
        .args(args)
        .output()
        .unwrap()
}

/// The variable that runs the integration tests against PostgreSQL: the
/// folder of a running throwaway cluster (`scripts/postgres.sh start DIR`).
pub const TEST_CLUSTER_VAR: &str = "SECOBOT_TEST_POSTGRES";

/// With [`TEST_CLUSTER_VAR`] set, the database that stands for the data
/// folder `data`: one per folder, created on first use, so that a restarted
/// server, or `secobot agent add --data` before it starts, finds the same
/// records. `None` without the variable (the tests use sled).
pub fn database_for(data: &std::path::Path) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let cluster = std::env::var_os(TEST_CLUSTER_VAR)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    let name = format!("t_{:016x}", hasher.finish());
    let out = script(&["createdb", cluster.to_str()?, &name]);
    assert!(
        out.status.success(),
        "scripts/postgres.sh createdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
