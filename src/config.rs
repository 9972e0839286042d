//! Server settings: flags with `SECOBOT_*` environment equivalents, validated once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::bundled::{KnowledgeSource, TemplateSource};
use crate::knowledge::Thresholds;

/// Where the knowledge folder is (shared by every command that reads it).
#[derive(Debug, Clone, Args)]
pub struct KnowledgeArgs {
    /// The knowledge folder (faq/, terms/, flows/, synonyms.txt). Without it:
    /// ./knowledge if it exists, else the copy embedded in the binary.
    #[arg(long, env = "SECOBOT_KNOWLEDGE")]
    pub knowledge: Option<PathBuf>,
    /// The answer model's probability that the best candidate is right, at
    /// or above which the bot answers (see docs/knowledge.md; before the
    /// answer model it was a fused confidence).
    #[arg(long, env = "SECOBOT_ANSWER_THRESHOLD", default_value_t = Thresholds::default().answer)]
    pub answer_threshold: f32,
    /// Confidence at or above which the bot offers choices ("¿Quiso decir…?").
    #[arg(long, env = "SECOBOT_SUGGEST_THRESHOLD", default_value_t = Thresholds::default().suggest)]
    pub suggest_threshold: f32,
    /// Top candidates closer than this are offered as choices.
    #[arg(long, env = "SECOBOT_SUGGEST_MARGIN", default_value_t = Thresholds::default().margin)]
    pub suggest_margin: f32,
}

impl KnowledgeArgs {
    /// The folder to load, by the rule in `bundled`.
    ///
    /// # Errors
    /// When the embedded copy cannot be written to a temporary folder.
    pub fn source(&self) -> Result<KnowledgeSource, crate::bundled::BundledError> {
        KnowledgeSource::resolve(self.knowledge.as_deref())
    }

    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            answer: self.answer_threshold,
            suggest: self.suggest_threshold,
            margin: self.suggest_margin,
        }
    }
}

/// Where the data folder is.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The data folder (sled database).
    #[arg(long, env = "SECOBOT_DATA", default_value = "data")]
    pub data: PathBuf,
    /// sled's page cache, in MiB (sled's own default is 1 GiB).
    #[arg(long, env = "SECOBOT_CACHE_MB", default_value_t = 64)]
    pub cache_mb: u64,
    /// A PostgreSQL database to keep everything in instead of the folder's
    /// sled database (`postgres://USER:PASSWORD@HOST:PORT/DB`); several
    /// instances may share it. The folder still holds the admin socket.
    #[arg(long, env = "SECOBOT_DATABASE")]
    pub database: Option<String>,
    /// Connections in the PostgreSQL pool of this process.
    #[arg(long, env = "SECOBOT_DATABASE_CONNECTIONS", default_value_t = 16)]
    pub database_connections: u32,
}

impl DataArgs {
    /// The store these arguments name: PostgreSQL with `--database`,
    /// otherwise the sled database in `--data`.
    ///
    /// # Errors
    /// When the database cannot be reached or migrated, or the folder cannot
    /// be opened (e.g. another process holds it).
    pub async fn open_store(&self) -> Result<crate::store::Store, crate::store::StoreError> {
        match &self.database {
            Some(url) => crate::store::Store::connect(url, self.database_connections).await,
            None => crate::store::Store::open(&self.data, self.cache_mb * 1024 * 1024),
        }
    }

    /// What a person reads about where the data is: the folder, or the
    /// database without its password.
    pub fn describe(&self) -> String {
        match &self.database {
            Some(url) => format!("la base de datos {}", redact_password(url)),
            None => format!("la carpeta de datos {}", self.data.display()),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// `secobot serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "SECOBOT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// Templates folder (pages, reply wording, widget assets). Without it:
    /// ./templates if it exists, else the copy embedded in the binary.
    #[arg(long, env = "SECOBOT_TEMPLATES")]
    pub templates: Option<PathBuf>,
    /// Largest WebSocket frame accepted, in bytes.
    #[arg(long, env = "SECOBOT_MAX_FRAME", default_value_t = 64 * 1024)]
    pub max_frame: usize,
    /// Longest text a user may send in one message, in characters.
    #[arg(long, env = "SECOBOT_MAX_TEXT", default_value_t = 4000)]
    pub max_text: usize,
    /// Seconds between keepalive pings.
    #[arg(long, env = "SECOBOT_PING_SECS", default_value_t = 30)]
    pub ping_secs: u64,
    /// A socket silent this many seconds (no frames, no pongs) is closed.
    #[arg(long, env = "SECOBOT_IDLE_SECS", default_value_t = 120)]
    pub idle_secs: u64,
    /// Most connections served at once; more wait.
    #[arg(long, env = "SECOBOT_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Most connections one client address may hold at once (0: a tenth of
    /// --max-connections), so one address cannot take every slot.
    #[arg(long, env = "SECOBOT_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 0)]
    pub max_connections_per_address: usize,
    /// Seconds a request's headers (and its body) may take to arrive.
    #[arg(long, env = "SECOBOT_HEADER_TIMEOUT_SECS", default_value_t = 60)]
    pub header_timeout_secs: u64,
    /// Messages per second a connection may send (burst: twice as many).
    #[arg(long, env = "SECOBOT_RATE_LIMIT", default_value_t = 1000)]
    pub rate_limit: u32,
    /// New conversations one address may start per minute, sustained.
    #[arg(
        long,
        env = "SECOBOT_NEW_CONVERSATIONS_PER_MINUTE",
        default_value_t = 60.0
    )]
    pub new_conversations_per_minute: f64,
    /// New conversations one address may start in a burst.
    #[arg(long, env = "SECOBOT_NEW_CONVERSATIONS_BURST", default_value_t = 120)]
    pub new_conversations_burst: u32,
    /// Messages (say, choose, escalate, feedback) per second from one address,
    /// sustained, over all its connections (0: no limit).
    #[arg(long, env = "SECOBOT_TURNS_PER_SECOND", default_value_t = 50.0)]
    pub turns_per_second: f64,
    /// Messages one address may send in a burst.
    #[arg(long, env = "SECOBOT_TURNS_BURST", default_value_t = 100)]
    pub turns_burst: u32,
    /// Days after its last message a conversation without a ticket is deleted (0: never).
    #[arg(long, env = "SECOBOT_RETENTION_DAYS", default_value_t = 90.0)]
    pub retention_days: f64,
    /// Days after a ticket is resolved its personal fields are anonymised (0: never).
    #[arg(long, env = "SECOBOT_ANONYMIZE_AFTER_DAYS", default_value_t = 365.0)]
    pub anonymize_after_days: f64,
    /// The agency's data-treatment policy (Ley 1581 de 2012), linked from the
    /// privacy notice the case form shows before asking for personal data.
    /// The default is the agency's site (its policy page's exact address is
    /// not confirmed): set the policy page itself.
    #[arg(long, env = "SECOBOT_PRIVACY_URL", default_value = crate::tickets::privacy::DEFAULT_POLICY_URL)]
    pub privacy_url: String,
    /// Seconds between retention sweeps.
    #[arg(long, env = "SECOBOT_RETENTION_EVERY_SECS", default_value_t = 3600)]
    pub retention_every_secs: u64,
    /// Consecutive refused frames after which a connection is closed (1008).
    #[arg(long, env = "SECOBOT_MAX_STRIKES", default_value_t = 50)]
    pub max_strikes: u32,
    /// Seconds an agent's conversations stay held after their console disconnects.
    #[arg(long, env = "SECOBOT_AGENT_GRACE_SECS", default_value_t = 60)]
    pub agent_grace_secs: u64,
    /// When agents attend, in Bogotá time, e.g. "lun-vie 07:00-19:00"
    /// (Colombian holidays are always closed). Outside them "Hablar con una
    /// persona" says when agents are back and opens the case directly. Without
    /// it, agents are available whenever a console is open.
    #[arg(long, env = "SECOBOT_HOURS")]
    pub hours: Option<crate::tickets::hours::BusinessHours>,
    /// SMTP server for e-mail to users: smtp://host:25, smtp://host:587?tls=required
    /// (STARTTLS) or smtps://host:465 (TLS); user and password from
    /// SECOBOT_SMTP_USER and SECOBOT_SMTP_PASSWORD. Without it, mail is queued
    /// in the outbox but not sent.
    #[arg(long, env = "SECOBOT_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of e-mail to users.
    #[arg(
        long,
        env = "SECOBOT_MAIL_FROM",
        default_value = "Soporte SECOP II <soporte@secop.invalid>"
    )]
    pub mail_from: String,
    /// The address users open the chat at (e.g. https://ayuda.entidad.gov.co),
    /// for links in e-mail; without it, mail has no links.
    #[arg(long, env = "SECOBOT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds before the first retry of a mail SMTP did not take; each next
    /// retry waits twice as long, up to an hour.
    #[arg(long, env = "SECOBOT_MAIL_RETRY_SECS", default_value_t = 30)]
    pub mail_retry_secs: u64,
    /// Hours an agent login lasts.
    #[arg(long, env = "SECOBOT_LOGIN_HOURS", default_value_t = 12)]
    pub login_hours: u64,
    /// Allowed `Origin` for agent login and the agent socket, besides the server's own
    /// host (repeat or comma-separate).
    #[arg(long, env = "SECOBOT_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Reverse proxies (nginx) whose `X-Forwarded-For` names the user, for
    /// the per-address limits (repeat or comma-separate; exact addresses).
    /// Without it, behind a proxy every user counts as the proxy's address.
    #[arg(
        long = "trusted-proxy",
        env = "SECOBOT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Set the cookie's Secure flag (serve behind TLS).
    #[arg(long, env = "SECOBOT_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// Debounce of knowledge-folder changes, in milliseconds.
    #[arg(long, env = "SECOBOT_RELOAD_DEBOUNCE_MS", default_value_t = 500)]
    pub reload_debounce_ms: u64,
}

impl ServeArgs {
    /// Checks what clap cannot.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_frame < 1024 {
            return Err("--max-frame must be at least 1024 bytes".into());
        }
        if self.ping_secs == 0 || self.idle_secs <= self.ping_secs {
            return Err("--idle-secs must be greater than --ping-secs, and both above 0".into());
        }
        if !(self.new_conversations_per_minute >= 0.0
            && self.turns_per_second >= 0.0
            && self.retention_days >= 0.0
            && self.anonymize_after_days >= 0.0)
        {
            return Err("rate limits and retention days must be 0 or more".into());
        }
        if !(self.privacy_url.starts_with("https://") || self.privacy_url.starts_with("http://"))
            || self.privacy_url.contains(char::is_whitespace)
        {
            return Err(format!(
                "--privacy-url must be a web address (https://…), not {:?}",
                self.privacy_url
            ));
        }
        if self.retention_every_secs == 0 {
            return Err("--retention-every-secs must be above 0".into());
        }
        if self.header_timeout_secs == 0 {
            return Err("--header-timeout-secs must be above 0".into());
        }
        if self.max_connections_per_address > self.max_connections {
            return Err("--max-connections-per-address must not exceed --max-connections".into());
        }
        if self.max_connections == 0 {
            return Err("--max-connections must be above 0".into());
        }
        let t = self.knowledge.thresholds();
        if !(0.0..=1.0).contains(&t.answer)
            || !(0.0..=1.0).contains(&t.suggest)
            || t.suggest > t.answer
        {
            return Err(
                "thresholds must be in 0..1 with --suggest-threshold <= --answer-threshold".into(),
            );
        }
        Ok(())
    }

    /// Where the templates come from, by the rule in `bundled`.
    pub fn template_source(&self) -> TemplateSource {
        TemplateSource::resolve(self.templates.as_deref())
    }

    /// The per-address connection cap, resolved.
    pub fn per_address_connections(&self) -> usize {
        if self.max_connections_per_address == 0 {
            (self.max_connections / 10).max(1)
        } else {
            self.max_connections_per_address
        }
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_secs)
    }
}
