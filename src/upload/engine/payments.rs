//! An invoice's payments, once the invoice is on the account: each a unit
//! of its own (keyed by the invoice's key and the payment's position), for
//! the document's customer, and applied to the invoice (its whole amount)
//! when the mapping applied it to nothing.

use super::counters::bump;
use super::send::UnitEnd;
use super::{describe_rows, put_import_key, Engine, Halt};
use crate::ledger::{NewUnit, UnitKind};
use crate::model::{Draft, Payment, PaymentApplication, Ref};
use crate::upload::keys;
use crate::upload::protocol::{self, Plan};
use crate::upload::remote::Remote;

impl<R: Remote> Engine<R> {
    pub(super) async fn payments(
        &self,
        draft: &Draft,
        doc_key: &str,
        invoice_id: i64,
    ) -> Result<(), Halt> {
        for (idx, p) in draft.payments.iter().enumerate() {
            let key = keys::payment_key(doc_key, idx);
            let mut payment: Payment = p.clone();
            payment.customer = None;
            let amount = payment.amount.unwrap_or_default();
            let mut body = match serde_json::to_value(&payment) {
                Ok(v) => v,
                Err(_) => serde_json::Value::Null,
            };
            let new_unit = |hash: &str| NewUnit {
                kind: UnitKind::Payment,
                import_key: key.clone(),
                source_key: format!("{} payment {}", draft.source_key, idx + 1),
                source_rows: describe_rows(draft),
                number: payment.reference.clone(),
                payload_hash: hash.to_string(),
            };
            if let Err(msg) = put_import_key(&mut body, &key) {
                let u = self.claim(None, &new_unit("")).await?;
                self.ledger
                    .mark_rejected(u.id, &msg)
                    .map_err(|e| self.ledger_failed(e))?;
                bump(&self.counters.payments_rejected);
                continue;
            }
            let hash = keys::payload_hash(&body);
            let prior = self
                .ledger
                .unit(&self.cfg.env, &key)
                .map_err(|e| self.ledger_failed(e))?;
            let plan = protocol::plan(prior.as_ref(), self.cfg.run, &hash);
            if !plan.works() {
                continue;
            }
            let unit = new_unit(&hash);
            let claimed = match prior {
                Some(p) => Some(self.claim(Some(p), &unit).await?),
                None => None,
            };
            let customer = match self.customer(draft).await? {
                Ok(id) => id,
                Err(msg) => {
                    let unit = match claimed {
                        Some(u) => u,
                        None => self.claim(None, &unit).await?,
                    };
                    self.ledger
                        .mark_rejected(unit.id, &format!("customer: {msg}"))
                        .map_err(|e| self.ledger_failed(e))?;
                    bump(&self.counters.payments_rejected);
                    continue;
                }
            };
            if let Some(o) = body.as_object_mut() {
                o.insert("customer".into(), customer.into());
                if payment.applied_to.is_empty() {
                    let applied = PaymentApplication {
                        kind: "invoice".into(),
                        invoice: Some(Ref::Id(invoice_id)),
                        credit_note: None,
                        amount,
                    };
                    if let Ok(v) = serde_json::to_value(vec![applied]) {
                        o.insert("applied_to".into(), v);
                    }
                }
            }
            let look_up = plan == Plan::LookUpThenSend;
            match self
                .claim_and_send(claimed, &unit, &body, None, look_up)
                .await?
                .1
            {
                UnitEnd::Done(_)
                | UnitEnd::Updated(_)
                | UnitEnd::Unchanged(_)
                | UnitEnd::Skipped => bump(&self.counters.payments_done),
                UnitEnd::Rejected(_) => bump(&self.counters.payments_rejected),
            }
        }
        Ok(())
    }
}
