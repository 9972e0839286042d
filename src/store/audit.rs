//! The audit log: who changed what about an agent account (and, later, about a
//! person's data), and when. Append-only; supervisors read it on `/agent/admin`.
//!
//! Tree `audit`: `ID(u64 BE)` → [`AuditEntry`] (JSON). IDs come from
//! `Db::next_id` (sled's monotonic id generator, continued across a rewrite),
//! so key order is append order across restarts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{decode, encode, Result, SledStore};

/// One change. Never holds a password or a token: `detail` says what changed,
/// in Spanish, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who did it: an agent name, or `línea de comandos (…)` for the operator.
    pub actor: String,
    /// What kind of change, a stable identifier (`agent_add`, `agent_disable`, …).
    pub action: String,
    /// What it was done to (an account name, an e-mail…).
    pub target: String,
    /// What changed, in Spanish.
    pub detail: String,
}

impl AuditEntry {
    pub fn now(actor: &str, action: &str, target: &str, detail: impl Into<String>) -> Self {
        AuditEntry {
            at: Utc::now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.into(),
        }
    }
}

impl SledStore {
    /// Appends an entry and waits for the disk: a change is not done until it
    /// is on record.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        let value = encode(entry)?;
        self.write(|db| {
            let id = db.next_id()?;
            db.audit.insert(id.to_be_bytes(), value)?;
            Ok(())
        })?;
        self.flush().await
    }

    /// The newest `limit` entries, newest first.
    ///
    /// # Errors
    /// On a storage failure or a corrupt record.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.db()?
            .audit
            .iter()
            .rev()
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                decode(&key, &value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_come_back_newest_first() {
        let store = SledStore::temporary().unwrap();
        for n in 0..3 {
            store
                .audit(&AuditEntry::now(
                    "ana",
                    "agent_add",
                    &format!("a{n}"),
                    "creada",
                ))
                .await
                .unwrap();
        }
        let log = store.audit_log(2).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].target, "a2");
        assert_eq!(log[1].target, "a1");
    }
}
