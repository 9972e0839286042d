//! Agent accounts and login sessions, stored through `store`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{RecordKind, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
}

impl Role {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "agent" | "asesor" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub display_name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// A disabled account cannot log in and its logins no longer count.
    #[serde(default)]
    pub disabled: bool,
}

/// A logged-in console: the cookie's token maps to this.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub agent: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("failed to hash the password: {0}")]
    Hash(String),
    #[error("invalid agent name {0:?}: use 2-32 lowercase letters, digits, dots, hyphens or underscores")]
    BadName(String),
    #[error("the password must have at least 8 characters")]
    WeakPassword,
}

/// Account names are also storage keys and appear in logs.
pub fn valid_name(name: &str) -> bool {
    (2..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Hashes with argon2id (CPU-heavy: call from a blocking thread).
///
/// # Errors
/// When hashing fails.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Checks a password against a stored hash (CPU-heavy: call from a blocking thread).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A dummy hash so unknown names take as long as wrong passwords.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

/// Creates or resets an account.
///
/// # Errors
/// A bad name, a short password, or a storage failure.
pub async fn upsert(
    store: &Store,
    name: &str,
    display_name: &str,
    role: Role,
    password: &str,
) -> Result<Account, AccountError> {
    if !valid_name(name) {
        return Err(AccountError::BadName(name.to_owned()));
    }
    if password.chars().count() < 8 {
        return Err(AccountError::WeakPassword);
    }
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    let existing = store.record::<Account>(RecordKind::Agent, name).await?;
    let account = Account {
        name: name.to_owned(),
        display_name: display_name.to_owned(),
        role,
        password_hash,
        created_at: existing.as_ref().map_or_else(Utc::now, |a| a.created_at),
        disabled: existing.is_some_and(|a| a.disabled),
    };
    store.put_record(RecordKind::Agent, name, &account).await?;
    Ok(account)
}

/// A new login session token (256 random bits, URL-safe).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // Without the OS generator no secret can be made; refusing to continue is right.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The key a login is stored under: a hash of its token, so a copy of the
/// data folder (a backup, a report's copy) holds no usable cookie. The token has
/// 256 random bits, so a fast unsalted hash is enough (no dictionary to try).
pub fn login_key(token: &str) -> String {
    use blake2::{Blake2b512, Digest};
    let digest = Blake2b512::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..32])
}

/// Forgets a login (logout).
///
/// # Errors
/// On a storage failure.
pub async fn remove_login(store: &Store, token: &str) -> Result<bool, StoreError> {
    store
        .remove_record(RecordKind::Login, &login_key(token))
        .await
}

/// Stores a login for `agent` lasting `hours`; returns its token.
///
/// # Errors
/// On a storage failure.
pub async fn create_login(
    store: &Store,
    agent: &str,
    hours: u64,
) -> Result<(String, Login), StoreError> {
    let token = new_token();
    let login = Login {
        agent: agent.to_owned(),
        expires_at: Utc::now() + Duration::hours(i64::try_from(hours).unwrap_or(12)),
    };
    store
        .put_record(RecordKind::Login, &login_key(&token), &login)
        .await?;
    Ok((token, login))
}

/// The account behind a login token, if the login is valid and unexpired.
///
/// # Errors
/// On a storage failure.
pub async fn account_for_token(store: &Store, token: &str) -> Result<Option<Account>, StoreError> {
    if token.len() != 43 {
        return Ok(None);
    }
    let Some(login) = store
        .record::<Login>(RecordKind::Login, &login_key(token))
        .await?
    else {
        return Ok(None);
    };
    if login.expires_at < Utc::now() {
        return Ok(None);
    }
    Ok(store
        .record::<Account>(RecordKind::Agent, &login.agent)
        .await?
        .filter(|a| !a.disabled))
}

/// Ends every login of `agent` (disabled, removed, or its password reset).
/// Returns how many there were.
///
/// # Errors
/// On a storage failure.
pub async fn remove_logins_of(store: &Store, agent: &str) -> Result<usize, StoreError> {
    let mine: Vec<String> = store
        .records::<Login>(RecordKind::Login)
        .await?
        .into_iter()
        .filter(|(_, l)| l.agent == agent)
        .map(|(key, _)| key)
        .collect();
    for key in &mine {
        store.remove_record(RecordKind::Login, key).await?;
    }
    Ok(mine.len())
}

/// A new password to show once (18 random characters, URL-safe).
pub fn new_password() -> String {
    let mut bytes = [0u8; 14];
    // As in `new_token`: without the OS generator no secret can be made.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let h = hash_password("correcta-horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correcta-horse"));
        assert!(!verify_password(&h, "incorrecta"));
        assert!(!verify_password("basura", "x"));
    }

    #[tokio::test]
    async fn logins_expire_and_need_an_account() {
        let store = Store::temporary().unwrap();
        upsert(&store, "ana", "Ana", Role::Agent, "una-clave-larga")
            .await
            .unwrap();
        let (token, _) = create_login(&store, "ana", 1).await.unwrap();
        assert_eq!(
            account_for_token(&store, &token)
                .await
                .unwrap()
                .unwrap()
                .name,
            "ana"
        );
        assert!(account_for_token(&store, "nope").await.unwrap().is_none());
        assert!(
            upsert(&store, "Ana Pérez", "x", Role::Agent, "una-clave-larga")
                .await
                .is_err()
        );
        assert!(upsert(&store, "luis", "x", Role::Agent, "corta")
            .await
            .is_err());
    }
}
