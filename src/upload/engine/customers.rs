//! Resolving a document's customer to its id on the account: from the
//! ledger, found by number (or tax id), or created, with one creation in
//! flight per customer however many documents wait for it, and the answer
//! (an id, or why the customer was refused) cached for the rest of the run.

use super::counters::bump;
use super::directory::Known;
use super::send::UnitEnd;
use super::{describe_rows, put_import_key, Engine, Halt, OnExisting};
use crate::ledger::{NewUnit, UnitKind};
use crate::model::{Draft, MatchOn};
use crate::upload::keys;
use crate::upload::remote::{Found, Listed, Remote};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// One customer's answer, shared by every document waiting for it.
pub(super) type CustomerCell = Arc<OnceCell<Result<i64, String>>>;

impl<R: Remote> Engine<R> {
    /// The draft's customer id on the account: from the ledger, found by
    /// number (or tax id), or created, once per customer for the whole run.
    /// `Ok(Err(message))`: the customer was refused (cached too, so the
    /// documents waiting for it are rejected without more requests).
    pub(super) async fn customer(&self, draft: &Draft) -> Result<Result<i64, String>, Halt> {
        let c = &draft.customer;
        let (on, value) = match (draft.match_on, c.number.as_deref(), c.tax_id.as_deref()) {
            (MatchOn::Number, Some(n), _) if !n.trim().is_empty() => (MatchOn::Number, n),
            (MatchOn::TaxId, _, Some(t)) if !t.trim().is_empty() => (MatchOn::TaxId, t),
            (_, Some(n), _) if !n.trim().is_empty() => (MatchOn::Number, n),
            (_, _, Some(t)) if !t.trim().is_empty() => (MatchOn::TaxId, t),
            // Only its id on the account (a row of an older export): that one.
            _ if c.id.is_some() && draft.record == crate::model::Record::Document => {
                return Ok(Ok(c.id.unwrap_or_default()));
            }
            _ => {
                return Ok(Err(
                    "the customer has neither a number nor a tax id to be matched on".into(),
                ))
            }
        };
        let key = keys::customer_key(&self.cfg.env, on, value);
        let cell = {
            let mut map = self.customers.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let got = cell
            .get_or_try_init(|| self.customer_uncached(draft, on, value, &key))
            .await?;
        Ok(got.clone())
    }

    /// `--update-customers` with `--on-existing update`.
    fn updates_customers(&self) -> bool {
        self.cfg.update_customers && self.cfg.on_existing == OnExisting::Update
    }

    async fn customer_uncached(
        &self,
        draft: &Draft,
        on: MatchOn,
        value: &str,
        key: &str,
    ) -> Result<Result<i64, String>, Halt> {
        let prior = self
            .ledger
            .unit(&self.cfg.env, key)
            .map_err(|e| self.ledger_failed(e))?;
        // Known from an earlier run; with `--update-customers`, a customer
        // that run only found (neither created nor updated: another's) is
        // compared again.
        let compare_again = self.updates_customers();
        if let Some(u) = &prior {
            let found_only = !u.created && u.before_image.is_none();
            if matches!(
                u.state,
                crate::ledger::UnitState::Done | crate::ledger::UnitState::Skipped
            ) && !(compare_again && found_only)
            {
                if let Some(id) = u.remote_id {
                    return Ok(Ok(id));
                }
            }
        }
        let mut body = match serde_json::to_value(&draft.customer) {
            Ok(v) => v,
            Err(e) => return Ok(Err(format!("could not be encoded as JSON: {e}"))),
        };
        // Its id and timestamps (a round trip's new customer carries those
        // of the row it was copied from) are the API's.
        crate::upload::diff::strip_read_only(&mut body, crate::model::fields::CUSTOMER);
        if let Err(msg) = put_import_key(&mut body, key) {
            return Ok(Err(msg));
        }
        let hash = keys::payload_hash(&body);
        let new_unit = NewUnit {
            kind: UnitKind::Customer,
            import_key: key.to_string(),
            source_key: format!(
                "{}={value}",
                match on {
                    MatchOn::Number => "number",
                    MatchOn::TaxId => "tax_id",
                }
            ),
            source_rows: describe_rows(draft),
            number: draft.customer.number.clone(),
            payload_hash: hash,
        };
        // On the account already? From the account's list when the batch
        // has many customers; on its own after a creation of ours that may
        // have reached the account (the list may be older than it).
        let sent_before = prior
            .as_ref()
            .is_some_and(|u| u.state == crate::ledger::UnitState::Sending);
        let listed = if sent_before {
            Known::Unknown
        } else {
            self.listed_customer(on, value).await?
        };
        let found = match listed {
            Known::Found(f) => Some(f),
            Known::Absent => None,
            Known::Unknown => {
                self.retrying(|| self.remote.find_customer(on, value))
                    .await?
            }
        };
        if let Some(f) = found {
            // Ours when it carries our key, or when an earlier attempt of
            // ours may have created it (the unit was left `sending`).
            let ours = f.import_key.as_deref() == Some(key)
                || prior
                    .as_ref()
                    .is_some_and(|u| u.state == crate::ledger::UnitState::Sending);
            let unit = self.claim(prior, &new_unit).await?;
            if !ours && self.updates_customers() {
                // Someone else's: made what the batch's record says, only
                // what differs sent, its previous version kept for rollback.
                // Our import key is not put on it: it stays theirs.
                let mut wanted = body.clone();
                without_import_key(&mut wanted);
                self.note_customer(Listed {
                    found: f.clone(),
                    number: (on == MatchOn::Number).then(|| value.to_string()),
                    tax_id: (on == MatchOn::TaxId).then(|| value.to_string()),
                });
                let table = crate::model::fields::CUSTOMER;
                return Ok(
                    match self.update_existing(&unit, f.id, &wanted, table).await? {
                        UnitEnd::Updated(id) => {
                            bump(&self.counters.customers_updated);
                            Ok(id)
                        }
                        UnitEnd::Done(id) | UnitEnd::Unchanged(id) => {
                            bump(&self.counters.customers_found);
                            Ok(id)
                        }
                        UnitEnd::Skipped => Ok(f.id),
                        UnitEnd::Rejected(e) => Err(format!(
                            "customer {} is on the account; updating it failed: {e}",
                            f.id
                        )),
                    },
                );
            }
            self.ledger
                .mark_done(unit.id, f.id, ours)
                .map_err(|e| self.ledger_failed(e))?;
            bump(if ours {
                &self.counters.customers_created
            } else {
                &self.counters.customers_found
            });
            // Known by the value it was found by (its other fields on the
            // account may differ from the batch's).
            self.note_customer(Listed {
                found: f.clone(),
                number: (on == MatchOn::Number).then(|| value.to_string()),
                tax_id: (on == MatchOn::TaxId).then(|| value.to_string()),
            });
            return Ok(Ok(f.id));
        }
        let claimed = match prior {
            Some(p) => Some(self.claim(Some(p), &new_unit).await?),
            None => None,
        };
        let (unit_id, end) = self
            .claim_and_send(
                claimed,
                &new_unit,
                &body,
                draft.customer.number.as_deref(),
                false,
            )
            .await?;
        match end {
            UnitEnd::Done(id) | UnitEnd::Updated(id) => {
                bump(&self.counters.customers_created);
                self.note_customer(listed_as(draft, found_id(id, key)));
                Ok(Ok(id))
            }
            UnitEnd::Unchanged(id) => {
                bump(&self.counters.customers_found);
                Ok(Ok(id))
            }
            UnitEnd::Skipped => match self
                .ledger
                .unit_by_id(unit_id)
                .map_err(|e| self.ledger_failed(e))?
                .and_then(|u| u.remote_id)
            {
                Some(id) => Ok(Ok(id)),
                None => Ok(Err("found on the account but without an id".into())),
            },
            UnitEnd::Rejected(e) => Ok(Err(e)),
        }
    }
}

/// `body` without `metadata.import_key` (and without `metadata` when that
/// was all of it).
fn without_import_key(body: &mut serde_json::Value) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    let emptied = match obj.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        Some(m) => {
            m.remove(crate::model::IMPORT_KEY);
            m.is_empty()
        }
        None => false,
    };
    if emptied {
        obj.remove("metadata");
    }
}

/// A customer this run created, as the directory lists it: by the values
/// it was sent with.
fn listed_as(draft: &Draft, found: Found) -> Listed {
    let nonblank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    Listed {
        found,
        number: nonblank(&draft.customer.number),
        tax_id: nonblank(&draft.customer.tax_id),
    }
}

fn found_id(id: i64, key: &str) -> Found {
    Found {
        id,
        import_key: Some(key.to_string()),
        voided: false,
    }
}
