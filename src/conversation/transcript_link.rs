//! Links that show a conversation without giving it away.
//!
//! The session token is the key to a conversation: whoever has it can resume
//! it and write as the user. A transcript link is meant to be forwarded
//! (printed, mailed, attached to a complaint), so it must not contain the
//! token. It carries the token sealed with AES-256-GCM under a secret of the
//! data folder instead: the server opens it to find the conversation, and the
//! holder of the link can read the transcript but never learn the token.
//! Stateless (nothing to store or expire per link), and a link survives
//! restarts, backups and restores because the secret lives in the store.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::SessionId;

/// Seals session tokens into transcript keys and opens them back.
pub struct TranscriptKeys {
    key: LessSafeKey,
}

impl TranscriptKeys {
    /// Keys from a 32-byte secret (see `Store::secret`); `None` only if the
    /// crypto library refuses a 32-byte AES-256 key, which it does not.
    pub fn new(secret: &[u8; 32]) -> Option<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, secret).ok()?;
        Some(TranscriptKeys {
            key: LessSafeKey::new(unbound),
        })
    }

    /// The transcript key of `session`: URL-safe base64 of nonce ‖ sealed
    /// token ‖ tag. Each call gives a different key for the same session.
    /// `None` when the system's random generator fails (a repeated nonce
    /// would weaken every key, so no key is made then).
    pub fn seal(&self, session: &SessionId) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).ok()?;
        let mut sealed = session.as_str().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    /// The session a transcript key was sealed for; `None` for anything this
    /// server did not seal (a guess, a key from another data folder, a
    /// session token pasted as a key).
    pub fn open(&self, key: &str) -> Option<SessionId> {
        if key.len() > 512 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(key.trim()).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut sealed)
            .ok()?;
        SessionId::parse(std::str::from_utf8(plain).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_key_never_reveals_or_replaces_the_session_token() {
        let keys = TranscriptKeys::new(&[7; 32]).unwrap();
        let session = SessionId::generate();
        let key = keys.seal(&session).unwrap();
        assert!(!key.contains(session.as_str()), "{key}");
        assert_eq!(keys.open(&key), Some(session.clone()));
        // Another folder's secret, the token itself, garbage and a tampered key.
        assert_eq!(TranscriptKeys::new(&[8; 32]).unwrap().open(&key), None);
        assert_eq!(keys.open(session.as_str()), None);
        assert_eq!(keys.open(""), None);
        assert_eq!(keys.open("../../etc/passwd"), None);
        let mut tampered = key.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(keys.open(std::str::from_utf8(&tampered).unwrap()), None);
    }
}
