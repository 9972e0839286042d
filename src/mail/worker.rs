//! The outbox worker: sends queued mail over SMTP with lettre, one at a time,
//! oldest first; retries temporary failures with exponential back-off
//! (`--mail-retry-secs`, 30 s by default, then twice as long each time, up to 1 h) and gives up after [`MAX_ATTEMPTS`] or on a
//! permanent refusal (5xx). Each attempt is recorded before it is made.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::store::{OutboundMail, Store};

/// Attempts before a mail is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// How long one SMTP conversation may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the worker looks at the outbox when not woken.
const POLL: Duration = Duration::from_secs(2);

/// `--smtp-url` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("--smtp-url inválida ({0}): use smtp://servidor:25, smtp://servidor:587?tls=required (STARTTLS) o smtps://servidor:465 (TLS)")]
    Url(String),
    #[error("--mail-from inválido «{0}»: use una dirección como «Soporte SECOP II <soporte@entidad.gov.co>»")]
    From(String),
}

/// A configured SMTP transport and sender address.
#[derive(Clone)]
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Sender {
    /// From `--smtp-url` and `--mail-from`; credentials from
    /// `SECOBOT_SMTP_USER` and `SECOBOT_SMTP_PASSWORD` (or the URL).
    ///
    /// # Errors
    /// A URL lettre cannot use, or an unreadable sender address.
    pub fn new(url: &str, from: &str) -> Result<Sender, MailConfigError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailConfigError::Url(e.to_string()))?
            .timeout(Some(SEND_TIMEOUT));
        if let (Ok(user), Ok(password)) = (
            std::env::var("SECOBOT_SMTP_USER"),
            std::env::var("SECOBOT_SMTP_PASSWORD"),
        ) {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let from: Mailbox = from
            .parse()
            .map_err(|_| MailConfigError::From(from.to_owned()))?;
        Ok(Sender {
            transport: builder.build(),
            from,
        })
    }

    /// The domain of the sender address, for `Message-ID`s.
    pub fn domain(&self) -> String {
        self.from.email.domain().to_owned()
    }

    async fn send(&self, mail: &OutboundMail) -> Result<(), Failure> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| Failure::Permanent(format!("dirección inválida {}: {e}", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| Failure::Permanent(format!("mensaje inválido: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::Permanent(e.to_string())),
            Err(e) => Err(Failure::Temporary(e.to_string())),
        }
    }
}

enum Failure {
    Temporary(String),
    Permanent(String),
}

/// Delay before attempt `n + 1` after `n` failed: `base` · 2^(n−1), at most 1 h.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let secs = base
        .as_secs()
        .max(1)
        .saturating_mul(1 << attempts.saturating_sub(1).min(12));
    Duration::from_secs(secs.min(3600))
}

/// Starts the worker; `wake` is notified when mail is queued. Without a
/// sender (no `--smtp-url`) mail stays queued and nothing is sent.
pub fn spawn(store: Store, sender: Option<Sender>, wake: Arc<Notify>, retry_base: Duration) {
    tokio::spawn(async move {
        update_gauge(&store).await;
        let Some(sender) = sender else {
            tracing::warn!("--smtp-url is not set: e-mail is queued in the outbox but not sent");
            return;
        };
        loop {
            let _ = tokio::time::timeout(POLL, wake.notified()).await;
            if let Err(e) = run_once(&store, &sender, retry_base).await {
                tracing::warn!(error = %e, "mail outbox: storage error; will retry");
            }
            update_gauge(&store).await;
        }
    });
}

async fn update_gauge(store: &Store) {
    if let Ok(b) = store.mail_backlog(Utc::now()).await {
        metrics::gauge!("secobot_mail_queued").set(b.queued as f64);
    }
}

/// Sends what is due now.
async fn run_once(
    store: &Store,
    sender: &Sender,
    retry_base: Duration,
) -> crate::store::Result<()> {
    for mut mail in store.due_mail(Utc::now(), 32).await? {
        store.mail_attempt(&mut mail, Utc::now()).await?;
        match sender.send(&mail).await {
            Ok(()) => {
                store.mail_sent(&mut mail, Utc::now()).await?;
                metrics::counter!("secobot_mail_sent_total").increment(1);
                tracing::info!(kind = %mail.kind, ticket = ?mail.ticket, "mail sent");
            }
            Err(Failure::Permanent(e)) => {
                metrics::counter!("secobot_mail_failed_total").increment(1);
                tracing::warn!(error = %e, kind = %mail.kind, "mail refused for good");
                store.mail_failed(&mut mail, e).await?;
            }
            Err(Failure::Temporary(e)) if mail.attempts >= MAX_ATTEMPTS => {
                metrics::counter!("secobot_mail_failed_total").increment(1);
                tracing::warn!(error = %e, attempts = mail.attempts, "mail given up");
                store.mail_failed(&mut mail, e).await?;
            }
            Err(Failure::Temporary(e)) => {
                metrics::counter!("secobot_mail_attempts_failed_total").increment(1);
                let next = Utc::now()
                    + chrono::Duration::from_std(backoff(retry_base, mail.attempts))
                        .unwrap_or_default();
                tracing::info!(error = %e, attempts = mail.attempts, "mail not sent; will retry");
                store.mail_retry(&mut mail, e, next).await?;
                // The server is likely down: leave the rest for the next round.
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        let secs: Vec<u64> = (1..=9).map(|n| backoff(base, n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
