//! The privacy notice of the case form (Ley 1581 de 2012): the user's
//! acceptance, kept with the conversation and then with the case, so the
//! agency can show when, and under which policy, each person authorised the
//! treatment of their data.
//!
//! The notice itself is the first step of `knowledge/flows/crear-caso.yaml`;
//! its "Acepto" button sets [`CONSENT_FIELD`], which also lets a second case in
//! the same conversation skip the notice (`skip_if_known`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The data-treatment policy linked from the notice unless `--privacy-url`
/// says otherwise. No public copy of Colombia Compra Eficiente's policy page
/// address could be confirmed (shared/topics/TOPICS.md, topic
/// `datos-personales-publicados`: "sin URL pública recuperada"), so the
/// default is the agency's own site, from which its policy is published;
/// deployments should set the exact page.
pub const DEFAULT_POLICY_URL: &str = "https://www.colombiacompra.gov.co";

/// The case field the notice's "Acepto" button sets.
pub const CONSENT_FIELD: &str = "autorizacion_datos";
/// Its value once accepted.
pub const ACCEPTED: &str = "acepto";
/// The name a flow step's text uses for the policy's address: `{{politica_datos_url}}`.
/// Filled at render time from `--privacy-url`, never stored as a field.
pub const POLICY_URL_VAR: &str = "politica_datos_url";

/// When the user accepted the notice, and which policy it linked to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyConsent {
    pub accepted_at: DateTime<Utc>,
    pub policy_url: String,
}

impl PrivacyConsent {
    /// The consent to record now, if the fields show an acceptance not yet recorded.
    pub fn newly_given(
        fields: &BTreeMap<String, String>,
        recorded: Option<&PrivacyConsent>,
        policy_url: &str,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let accepted = fields.get(CONSENT_FIELD).is_some_and(|v| v == ACCEPTED);
        (accepted && recorded.is_none()).then(|| PrivacyConsent {
            accepted_at: now,
            policy_url: policy_url.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_is_recorded_once_and_only_when_accepted() {
        let now = Utc::now();
        let mut fields = BTreeMap::new();
        assert_eq!(
            PrivacyConsent::newly_given(&fields, None, "https://x.test", now),
            None
        );
        fields.insert(CONSENT_FIELD.to_owned(), String::new());
        assert_eq!(
            PrivacyConsent::newly_given(&fields, None, "https://x.test", now),
            None
        );
        fields.insert(CONSENT_FIELD.to_owned(), ACCEPTED.to_owned());
        let given = PrivacyConsent::newly_given(&fields, None, "https://x.test", now).unwrap();
        assert_eq!(given.policy_url, "https://x.test");
        assert_eq!(
            PrivacyConsent::newly_given(&fields, Some(&given), "https://y.test", now),
            None
        );
    }
}
