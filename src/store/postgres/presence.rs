//! Presence across instances: which agents have a console open and which
//! users have a tab open, on which instance, refreshed every few seconds by
//! each instance (`crate::cluster`). A console or tab no living instance has
//! recorded lately is gone: its instance died or it closed.

use super::{big, PgStore, Result};
use crate::store::SessionId;

impl PgStore {
    /// Records that `agents` have a console open on this instance now, and
    /// that no other agent has one here any more.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn heartbeat(&self, agents: &[String]) -> Result<()> {
        self.refresh(
            "DELETE FROM agent_presence WHERE instance = $1 AND NOT (agent = ANY($2))",
            "INSERT INTO agent_presence (agent, instance, seen_at)
             SELECT a, $1, now() FROM UNNEST($2::text[]) AS a
             ON CONFLICT (agent, instance) DO UPDATE SET seen_at = now()",
            agents,
        )
        .await
    }

    /// Agents some instance saw with a console open within `within`.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn agents_present(
        &self,
        within: std::time::Duration,
    ) -> Result<std::collections::BTreeSet<String>> {
        let rows: Vec<(String,)> = self.observe(
            sqlx::query_as(
                "SELECT DISTINCT agent FROM agent_presence
                 WHERE seen_at > now() - make_interval(secs => $1)",
            )
            .bind(within.as_secs_f64())
            .fetch_all(&self.pool)
            .await,
        )?;
        Ok(rows.into_iter().map(|(a,)| a).collect())
    }

    /// Records that users have a tab open on this instance on the
    /// conversations `sessions`, and on no other here any more.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn heartbeat_users(&self, sessions: &[String]) -> Result<()> {
        self.refresh(
            "DELETE FROM user_presence WHERE instance = $1 AND NOT (session = ANY($2))",
            "INSERT INTO user_presence (session, instance, seen_at)
             SELECT s, $1, now() FROM UNNEST($2::text[]) AS s
             ON CONFLICT (session, instance) DO UPDATE SET seen_at = now()",
            sessions,
        )
        .await
    }

    /// Replaces this instance's rows of a presence table with `keys`, seen
    /// now, in one transaction: `forget` deletes this instance's rows not in
    /// `$2`, `record` upserts `$2` (both bind `$1` to this instance).
    async fn refresh(&self, forget: &str, record: &str, keys: &[String]) -> Result<()> {
        let mut tx = self.observe(self.pool.begin().await)?;
        for statement in [forget, record] {
            sqlx::query(statement)
                .bind(big(self.instance))
                .bind(keys)
                .execute(&mut *tx)
                .await?;
        }
        let committed = tx.commit().await;
        self.observe(committed)
    }

    /// The last tab of conversation `session` on this instance closed: other
    /// instances stop counting the user as present at once, not after the
    /// presence window.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn user_left(&self, session: &SessionId) -> Result<()> {
        let done = sqlx::query("DELETE FROM user_presence WHERE session = $1 AND instance = $2")
            .bind(session.as_str())
            .bind(big(self.instance))
            .execute(&self.pool)
            .await;
        self.observe(done).map(|_| ())
    }

    /// Whether another instance recorded a tab of the user open on
    /// conversation `session` within `within`.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn user_present_elsewhere(
        &self,
        session: &SessionId,
        within: std::time::Duration,
    ) -> Result<bool> {
        let found: Option<(i64,)> = self.observe(
            sqlx::query_as(
                "SELECT instance FROM user_presence
                 WHERE session = $1 AND instance <> $2
                   AND seen_at > now() - make_interval(secs => $3)
                 LIMIT 1",
            )
            .bind(session.as_str())
            .bind(big(self.instance))
            .bind(within.as_secs_f64())
            .fetch_optional(&self.pool)
            .await,
        )?;
        Ok(found.is_some())
    }
}
