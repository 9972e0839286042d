//! Managing agent accounts while the server runs, and the audit log of those
//! changes. One set of operations for the three ways in: the supervisors' page
//! (`server::admin`), the local admin channel ([`channel`], used by `secobot
//! agent …` and `secobot backup` while the server runs) and the command line
//! with the server stopped (direct store access).
//!
//! Every change is written to the audit log (`store::audit`) before it is
//! reported done; a password never is.

pub mod channel;
pub mod personal_data;

use std::sync::Arc;

use serde::Serialize;

use crate::agents::accounts::{self, Account, AccountError, Role};
use crate::agents::Agents;
use crate::store::{AuditEntry, RecordKind, Store, StoreError};

/// Why an account change was refused (people read these).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("No existe la cuenta «{0}».")]
    NoSuchAccount(String),
    #[error("Ya existe la cuenta «{0}».")]
    Exists(String),
    #[error("El usuario «{0}» no es válido: use de 2 a 32 letras minúsculas, dígitos, puntos, guiones o guiones bajos.")]
    BadName(String),
    #[error("La contraseña debe tener al menos 8 caracteres.")]
    WeakPassword,
    #[error("El rol «{0}» no existe: use agent o supervisor.")]
    BadRole(String),
    #[error("El nombre visible no puede quedar vacío.")]
    EmptyDisplayName,
    #[error("No puede deshabilitar, eliminar ni quitar el rol de supervisor a su propia cuenta.")]
    OwnAccount,
    #[error("Error de almacenamiento: {0}")]
    Store(#[from] StoreError),
    #[error("No se pudo procesar la contraseña: {0}")]
    Hash(String),
}

impl From<AccountError> for AdminError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Store(s) => AdminError::Store(s),
            AccountError::Hash(h) => AdminError::Hash(h),
            AccountError::BadName(n) => AdminError::BadName(n),
            AccountError::WeakPassword => AdminError::WeakPassword,
        }
    }
}

impl AdminError {
    /// Whether the request was wrong (as opposed to the server failing).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, AdminError::Store(_) | AdminError::Hash(_))
    }
}

/// An account as the page and `agent list` show it (no hash).
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub name: String,
    pub display_name: String,
    pub role: &'static str,
    pub disabled: bool,
}

/// The operations, over a store and — when the server runs — its live agents
/// (to close consoles and clear login throttles).
pub struct Admin<'a> {
    store: &'a Store,
    live: Option<&'a Arc<Agents>>,
    /// Who is making the changes, for the audit log.
    actor: String,
}

impl<'a> Admin<'a> {
    pub fn new(store: &'a Store, live: Option<&'a Arc<Agents>>, actor: impl Into<String>) -> Self {
        Admin {
            store,
            live,
            actor: actor.into(),
        }
    }

    async fn record(&self, action: &str, target: &str, detail: String) -> Result<(), AdminError> {
        self.store
            .audit(&AuditEntry::now(&self.actor, action, target, detail))
            .await?;
        tracing::info!(actor = %self.actor, action, target, "account change");
        Ok(())
    }

    async fn account(&self, name: &str) -> Result<Account, AdminError> {
        self.store
            .record::<Account>(RecordKind::Agent, name)
            .await?
            .ok_or_else(|| AdminError::NoSuchAccount(name.to_owned()))
    }

    fn not_self(&self, name: &str) -> Result<(), AdminError> {
        if self.actor == name {
            return Err(AdminError::OwnAccount);
        }
        Ok(())
    }

    /// Every account, by name.
    ///
    /// # Errors
    /// On a storage failure.
    pub async fn list(&self) -> Result<Vec<AccountView>, AdminError> {
        Ok(self
            .store
            .records::<Account>(RecordKind::Agent)
            .await?
            .into_iter()
            .map(|(_, a)| AccountView {
                name: a.name,
                display_name: a.display_name,
                role: a.role.as_str(),
                disabled: a.disabled,
            })
            .collect())
    }

    /// Creates an account. With `replace`, an existing one gets the new
    /// password, role and display name instead (what `agent add` always did).
    /// Without `password`, one is generated and returned, to show once.
    ///
    /// # Errors
    /// A bad name or password, an existing account (without `replace`), storage.
    pub async fn add(
        &self,
        name: &str,
        display_name: &str,
        role: &str,
        password: Option<String>,
        replace: bool,
    ) -> Result<(Account, Option<String>), AdminError> {
        let name = crate::text::normalize(name.trim()).to_lowercase();
        let role = Role::parse(role.trim()).ok_or_else(|| AdminError::BadRole(role.to_owned()))?;
        let display = crate::text::normalize(display_name.trim());
        let display = if display.is_empty() {
            name.clone()
        } else {
            display
        };
        let existing = self
            .store
            .record::<Account>(RecordKind::Agent, &name)
            .await?;
        if existing.is_some() && !replace {
            return Err(AdminError::Exists(name));
        }
        if existing.is_some() && role != Role::Supervisor {
            self.not_self(&name)?;
        }
        let (password, generated) = match password {
            Some(p) => (p, None),
            None => {
                let p = accounts::new_password();
                (p.clone(), Some(p))
            }
        };
        let account = accounts::upsert(self.store, &name, &display, role, &password).await?;
        let detail = match &existing {
            None => format!(
                "creó la cuenta ({}, «{}»)",
                role_label(role),
                account.display_name
            ),
            Some(_) => format!(
                "cambió la contraseña, el rol ({}) y el nombre visible («{}»)",
                role_label(role),
                account.display_name
            ),
        };
        let action = if existing.is_some() {
            "agent_replace"
        } else {
            "agent_add"
        };
        if existing.is_some() {
            // A new password ends the logins made with the old one.
            accounts::remove_logins_of(self.store, &name).await?;
            if let Some(live) = self.live {
                live.revoke(&name);
            }
        }
        self.record(action, &name, detail).await?;
        Ok((account, generated))
    }

    /// Changes the role.
    ///
    /// # Errors
    /// Unknown account, a bad role, one's own supervisor role, storage.
    pub async fn set_role(&self, name: &str, role: &str) -> Result<Account, AdminError> {
        let role = Role::parse(role.trim()).ok_or_else(|| AdminError::BadRole(role.to_owned()))?;
        let mut account = self.account(name).await?;
        if account.role == role {
            return Ok(account);
        }
        if role != Role::Supervisor {
            self.not_self(name)?;
        }
        let before = account.role;
        account.role = role;
        self.store
            .put_record(RecordKind::Agent, name, &account)
            .await?;
        self.record(
            "agent_role",
            name,
            format!(
                "cambió el rol de {} a {}",
                role_label(before),
                role_label(role)
            ),
        )
        .await?;
        Ok(account)
    }

    /// Changes the name users see.
    ///
    /// # Errors
    /// Unknown account, an empty name, storage.
    pub async fn set_display_name(&self, name: &str, display: &str) -> Result<Account, AdminError> {
        let display: String = crate::text::normalize(display.trim())
            .chars()
            .take(80)
            .collect();
        if display.is_empty() {
            return Err(AdminError::EmptyDisplayName);
        }
        let mut account = self.account(name).await?;
        if account.display_name == display {
            return Ok(account);
        }
        let before = std::mem::replace(&mut account.display_name, display);
        self.store
            .put_record(RecordKind::Agent, name, &account)
            .await?;
        self.record(
            "agent_display_name",
            name,
            format!(
                "cambió el nombre visible de «{before}» a «{}»",
                account.display_name
            ),
        )
        .await?;
        Ok(account)
    }

    /// Disables (ends the account's logins and closes its consoles) or enables.
    ///
    /// # Errors
    /// Unknown account, one's own account, storage.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<Account, AdminError> {
        let mut account = self.account(name).await?;
        if !enabled {
            self.not_self(name)?;
        }
        if account.disabled != enabled {
            return Ok(account);
        }
        account.disabled = !enabled;
        self.store
            .put_record(RecordKind::Agent, name, &account)
            .await?;
        let mut detail = if enabled {
            "habilitó la cuenta".to_owned()
        } else {
            "deshabilitó la cuenta".to_owned()
        };
        if !enabled {
            let ended = accounts::remove_logins_of(self.store, name).await?;
            if let Some(live) = self.live {
                live.revoke(name);
            }
            detail.push_str(&format!(" (sesiones cerradas: {ended})"));
        }
        self.record(
            if enabled {
                "agent_enable"
            } else {
                "agent_disable"
            },
            name,
            detail,
        )
        .await?;
        Ok(account)
    }

    /// Sets a new random password, returned to show once; ends the account's logins.
    ///
    /// # Errors
    /// Unknown account, storage.
    pub async fn reset_password(&self, name: &str) -> Result<String, AdminError> {
        let account = self.account(name).await?;
        let password = accounts::new_password();
        accounts::upsert(
            self.store,
            name,
            &account.display_name,
            account.role,
            &password,
        )
        .await?;
        accounts::remove_logins_of(self.store, name).await?;
        if let Some(live) = self.live {
            live.revoke(name);
        }
        self.record(
            "agent_password",
            name,
            "restableció la contraseña (sesiones cerradas)".to_owned(),
        )
        .await?;
        Ok(password)
    }

    /// Clears the failed logins counted against an account.
    ///
    /// # Errors
    /// Storage.
    pub async fn unlock(&self, name: &str) -> Result<(), AdminError> {
        let name = crate::text::normalize(name.trim()).to_lowercase();
        // Unknown names may be throttled too (guesses), but not malformed ones.
        if !accounts::valid_name(&name) {
            return Err(AdminError::BadName(name));
        }
        if let Some(live) = self.live {
            live.throttle.unlock(&name);
        }
        self.record(
            "agent_unlock",
            &name,
            "desbloqueó el usuario tras intentos fallidos".to_owned(),
        )
        .await
    }

    /// Removes an account and its logins.
    ///
    /// # Errors
    /// Unknown account, one's own account, storage.
    pub async fn remove(&self, name: &str) -> Result<(), AdminError> {
        self.not_self(name)?;
        if !self.store.remove_record(RecordKind::Agent, name).await? {
            return Err(AdminError::NoSuchAccount(name.to_owned()));
        }
        accounts::remove_logins_of(self.store, name).await?;
        if let Some(live) = self.live {
            live.revoke(name);
        }
        self.record("agent_remove", name, "eliminó la cuenta".to_owned())
            .await
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Agent => "asesor",
        Role::Supervisor => "supervisor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_are_audited_without_passwords() {
        let store = Store::temporary().unwrap();
        let admin = Admin::new(&store, None, "jefa");
        let (_, generated) = admin
            .add("luis", "Luis", "agent", None, false)
            .await
            .unwrap();
        let generated = generated.unwrap();
        assert!(matches!(
            admin.add("luis", "", "agent", None, false).await,
            Err(AdminError::Exists(_))
        ));
        admin.set_enabled("luis", false).await.unwrap();
        let reset = admin.reset_password("luis").await.unwrap();
        admin.set_role("luis", "supervisor").await.unwrap();
        assert!(matches!(
            admin.set_enabled("jefa", false).await,
            Err(AdminError::NoSuchAccount(_))
        ));
        let log = store.audit_log(10).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["agent_role", "agent_password", "agent_disable", "agent_add"]
        );
        for e in &log {
            assert_eq!(e.actor, "jefa");
            assert!(!e.detail.contains(&generated) && !e.detail.contains(&reset));
        }
    }
}
