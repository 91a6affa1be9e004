//! One document of the source against the account: its import key (with
//! the run's mapping identity) to its unit in the ledger, the unit to its id
//! on the account, the account's copy read and compared; and the documents
//! the run put on the account that the source no longer gives.

use super::account::{self, Customers};
use super::compare;
use super::outcome::{Difference, DocStatus, DocumentCheck, Shown};
use super::source::SourceDoc;
use super::{api, VerifyError};
use crate::api::Client;
use crate::ledger::{Ledger, Run, Unit, UnitKind, UnitState};
use crate::model::date::TZ;
use crate::model::vat::VatTable;
use crate::model::{DocKind, RowRef, TaxRate};
use crate::progress::Progress;
use crate::upload::keys;
use futures::StreamExt;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

/// One document checked, in input order.
pub(super) struct Checked {
    pub ordinal: u64,
    pub check: DocumentCheck,
    pub differences: Vec<Difference>,
    /// Its import key (valid documents).
    pub key: Option<String>,
}

fn unit_kind(k: DocKind) -> UnitKind {
    match k {
        DocKind::Invoice => UnitKind::Invoice,
        DocKind::CreditNote => UnitKind::CreditNote,
    }
}

/// `a.csv row 5, 6, 7`.
fn describe(rows: &[RowRef]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut last: Option<(&str, Option<&str>)> = None;
    for r in rows.iter().take(50) {
        let here = (&*r.file, r.sheet.as_deref());
        match (last == Some(here), parts.last_mut()) {
            (true, Some(p)) => p.push_str(&format!(", {}", r.row)),
            _ => parts.push(r.to_string()),
        }
        last = Some(here);
    }
    if rows.len() > 50 {
        parts.push("…".into());
    }
    parts.join("; ")
}

/// Why a valid document is not on the account, from its unit.
fn missing_reason(u: &Unit) -> String {
    match u.state {
        UnitState::Rejected => format!(
            "rejected by the API: {}",
            u.last_error.as_deref().unwrap_or("no message")
        ),
        UnitState::Sending => format!(
            "run {} did not finish it; `facturare-etl import --resume {}` completes it",
            u.run_id, u.run_id
        ),
        UnitState::Pending => format!("never sent: run {} stopped before it", u.run_id),
        UnitState::RolledBack => "rolled back by `runs rollback`".into(),
        UnitState::Done | UnitState::Skipped => "recorded without its id on the account".into(),
    }
}

/// Unix seconds → `2026-11-28 14:03` in Chisinau.
fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.with_timezone(&TZ).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

pub(super) struct Checker<'a> {
    pub client: &'a Client,
    pub ledger: &'a Ledger,
    pub customers: Customers,
    pub env: &'a str,
    pub run: &'a Run,
    pub vat: &'a VatTable,
    pub rates: &'a HashMap<String, TaxRate>,
}

impl Checker<'_> {
    /// A tax rate's percentage: the VAT table's (what validation checked),
    /// else the account's own.
    fn rate_value(&self, id: &str) -> Option<Decimal> {
        self.vat.get(id).map(|r| r.value).or_else(|| {
            self.rates
                .get(id)
                .filter(|r| r.is_percent != Some(false))
                .map(|r| r.value)
        })
    }

    /// Every document of the source, `concurrency` at a time; in input order.
    pub async fn all(
        &self,
        rx: tokio::sync::mpsc::Receiver<SourceDoc>,
        progress: &dyn Progress,
        concurrency: usize,
    ) -> Result<Vec<Checked>, VerifyError> {
        let docs =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|d| (d, rx)) });
        let mut checks = std::pin::pin!(docs.map(|d| self.check(d)).buffer_unordered(concurrency));
        let mut out = Vec::new();
        while let Some(c) = checks.next().await {
            out.push(c?);
            progress.advance(1);
        }
        out.sort_by_key(|c| c.ordinal);
        Ok(out)
    }

    /// One document of the source against the account.
    async fn check(&self, doc: SourceDoc) -> Result<Checked, VerifyError> {
        let SourceDoc {
            ordinal,
            verdict,
            valid,
        } = doc;
        let kind = unit_kind(verdict.kind);
        let first = verdict.first_row();
        let document = verdict.document().to_string();
        let mut check = DocumentCheck {
            document: document.clone(),
            kind,
            status: DocStatus::Rejected,
            remote_id: None,
            rows: describe(&verdict.rows),
            file: first.map(|r| r.file.to_string()),
            sheet: first.and_then(|r| r.sheet.as_deref().map(str::to_string)),
            row: first.map(|r| r.row),
            source: None,
            account: None,
            differences: 0,
            note: None,
        };
        let Some(valid) = valid else {
            check.note = verdict.errors().next().map(|p| p.to_string());
            return Ok(Checked {
                ordinal,
                check,
                differences: vec![],
                key: None,
            });
        };
        let draft = valid.get();
        let key = keys::document_key(
            self.env,
            &self.run.mapping_identity,
            kind,
            &draft.source_key,
        );
        let expected = compare::expected(draft, |id| self.rate_value(id))?;
        check.source = Some(expected.figures.clone());
        let at = |field: &str| {
            let cell = draft.origin(field);
            let row = cell.as_ref().map(|c| &c.row).or(first);
            (
                row.map(|r| r.file.to_string()),
                row.and_then(|r| r.sheet.as_deref().map(str::to_string)),
                row.map(|r| r.row),
            )
        };
        let diff = |d: compare::FieldDiff| {
            let (file, sheet, row) = at(&d.field);
            Difference {
                document: document.clone(),
                kind,
                field: d.field,
                source: d.source,
                account: d.account,
                note: d.note,
                file,
                sheet,
                row,
            }
        };
        let missing = |check: DocumentCheck, status: DocStatus, note: String| {
            let d = diff(compare::FieldDiff {
                field: "document".into(),
                source: Shown::Text(document.clone()),
                account: Shown::Text(match status {
                    DocStatus::Deleted => "deleted".into(),
                    _ => "missing".into(),
                }),
                note: Some(note.clone()),
            });
            Checked {
                ordinal,
                check: DocumentCheck {
                    status,
                    differences: 1,
                    note: Some(note),
                    ..check
                },
                differences: vec![d],
                key: Some(key.clone()),
            }
        };
        // A round trip's document names its object on the account: that one
        // is compared, whether the run changed it (its update's unit) or
        // found it as the file has it (no unit: the run's time stands).
        let round_trip = draft
            .invoice
            .id
            .filter(|_| draft.record == crate::model::Record::Document);
        let (id, key, recorded_ms, skipped) = if let Some(id) = round_trip {
            let key = keys::update_key(self.env, kind, id, self.run.id);
            let update = self.ledger.unit(self.env, &key)?;
            let at = update
                .as_ref()
                .map_or(self.run.ended_at.unwrap_or(self.run.started_at), |u| {
                    u.updated_at
                });
            (id, key, at, false)
        } else {
            match self.ledger.unit(self.env, &key)? {
                Some(u) if matches!(u.state, UnitState::Done | UnitState::Skipped) => {
                    match u.remote_id {
                        Some(id) => (id, key.clone(), u.updated_at, u.state == UnitState::Skipped),
                        None => {
                            let why = missing_reason(&u);
                            return Ok(missing(check, DocStatus::NotOnAccount, why));
                        }
                    }
                }
                Some(u) => {
                    let why = missing_reason(&u);
                    return Ok(missing(check, DocStatus::NotOnAccount, why));
                }
                None => {
                    let why = "never sent: the ledger has no record of it".to_string();
                    return Ok(missing(check, DocStatus::NotOnAccount, why));
                }
            }
        };
        check.remote_id = Some(id);
        if skipped {
            check.note = Some(
                "left alone by the import: its number was on the account already, not from this import"
                    .into(),
            );
        }
        let found = account::document(self.client, &self.customers, kind, id)
            .await
            .map_err(|e| api(format!("{kind} {id} ({document})"), e))?;
        let Some(acc) = found else {
            let note = "deleted on the account after the import".to_string();
            return Ok(missing(check, DocStatus::Deleted, note));
        };
        let mut diffs = compare::compare(draft, &expected, &acc);
        // Changed there since the import recorded it (in a later second:
        // the account's clock counts seconds).
        let edited = acc
            .updated_at
            .filter(|at| *at > recorded_ms.div_euclid(1000));
        if let Some(at) = edited {
            for d in diffs.iter_mut().filter(|d| d.note.is_none()) {
                d.note = Some(format!(
                    "the account's copy was changed after the import (updated {})",
                    when(at)
                ));
            }
        }
        check.status = if acc.voided() {
            DocStatus::Voided
        } else if diffs.is_empty() {
            DocStatus::Identical
        } else {
            DocStatus::Differs
        };
        if !acc.voided() {
            check.account = Some(acc.figures(draft.match_on)?);
        }
        check.differences = diffs.len();
        Ok(Checked {
            ordinal,
            check,
            differences: diffs.into_iter().map(diff).collect(),
            key: Some(key),
        })
    }

    /// The documents the run put on the account that the source no longer
    /// gives (their import keys not `matched`), as the account holds them.
    pub async fn not_in_source(
        &self,
        matched: &HashSet<&str>,
    ) -> Result<Vec<Checked>, VerifyError> {
        let mut out = Vec::new();
        for u in self.ledger.units_of_run(self.run.id)? {
            let doc_kind = matches!(u.kind, UnitKind::Invoice | UnitKind::CreditNote);
            let on_account = matches!(u.state, UnitState::Done | UnitState::Skipped);
            let (true, true, Some(id)) = (doc_kind, on_account, u.remote_id) else {
                continue;
            };
            if matched.contains(u.import_key.as_str()) {
                continue;
            }
            let found = account::document(self.client, &self.customers, u.kind, id)
                .await
                .map_err(|e| api(format!("{} {id}", u.kind), e))?;
            // Gone or voided there too: the two sides agree.
            let Some(acc) = found.filter(|a| !a.voided()) else {
                continue;
            };
            let document = acc.label();
            let note = format!(
                "on the account (run {} put it there), not in the source as it is now",
                u.run_id
            );
            out.push(Checked {
                ordinal: u64::MAX,
                check: DocumentCheck {
                    document: document.clone(),
                    kind: u.kind,
                    status: DocStatus::NotInSource,
                    remote_id: Some(id),
                    rows: u.source_rows.clone(),
                    file: None,
                    sheet: None,
                    row: None,
                    source: None,
                    account: Some(acc.figures(compare::match_on(None))?),
                    differences: 1,
                    note: Some(note.clone()),
                },
                differences: vec![Difference {
                    document: document.clone(),
                    kind: u.kind,
                    field: "document".into(),
                    source: Shown::Empty,
                    account: Shown::Text(document),
                    note: Some(note),
                    file: None,
                    sheet: None,
                    row: None,
                }],
                key: None,
            });
        }
        Ok(out)
    }
}
