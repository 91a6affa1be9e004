//! The dry run of a round trip: each valid document of the file matched
//! with the account's version (by id, else by number), read and never
//! written, and compared as the import will compare it
//! ([`crate::upload::diff`], the same functions), into the
//! [`ChangeSet`] people read: what will change, what is new, what is a
//! conflict or cannot be edited. Also what the import needs to know of a
//! round trip: its built-in mapping when none is given, and what
//! `--on-existing` means when it is not given.

use crate::ledger::UnitKind;
use crate::mapping::roundtrip::{self, NotRecognised};
use crate::mapping::Mapping;
use crate::model::{Draft, Problem, Record};
use crate::progress::Reporter;
use crate::report::changes::{ChangeSet, DocChanges, Fate};
use crate::upload::diff::{self, DiffOptions, FieldChange, Status, Wanted};
use crate::upload::{OnExisting, Remote, RemoteError};
use crate::validate::Valid;
use futures::{Stream, StreamExt};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// What to do with documents on the account: as asked, else update for a
/// round trip (its documents are the account's own), else skip.
pub fn on_existing(asked: Option<OnExisting>, mapping: &Mapping) -> OnExisting {
    asked.unwrap_or(if mapping.is_round_trip() {
        OnExisting::Update
    } else {
        OnExisting::Skip
    })
}

/// No mapping given: the built-in one of our own exports, by its label.
pub fn built_in(files: &[PathBuf], reporter: &dyn Reporter) -> Result<PathBuf, NotRecognised> {
    let r = roundtrip::for_files(files)?;
    reporter.status(&format!(
        "{} is {}: read with the built-in mapping mappings/{}",
        files[0].display(),
        r.describe(),
        r.built_in.file_name()
    ));
    Ok(PathBuf::from(r.label()))
}

/// How the import would treat what it finds.
#[derive(Debug, Clone, Copy)]
pub struct CompareOptions {
    pub on_existing: OnExisting,
    pub force: bool,
    /// Reads in flight.
    pub concurrency: usize,
}

/// One document compared: its changes, its warnings, and the object it
/// was matched with.
struct Compared {
    doc: DocChanges,
    warnings: Vec<Problem>,
    matched: Option<(UnitKind, i64)>,
}

/// Compare every document of `drafts` with the account, in file order.
pub async fn compare<R: Remote>(
    remote: &R,
    env: &str,
    rates: &HashMap<String, Decimal>,
    drafts: impl Stream<Item = Valid<Draft>>,
    opts: CompareOptions,
) -> Result<ChangeSet, RemoteError> {
    let rate_value = |id: &str| rates.get(id).copied();
    let mut set = ChangeSet {
        env: env.to_string(),
        ..ChangeSet::default()
    };
    let mut seen = HashSet::new();
    let mut compared = std::pin::pin!(drafts
        .map(|d| async move { one(remote, d.get(), &rate_value, opts).await })
        .buffered(opts.concurrency.max(1)));
    while let Some(c) = compared.next().await {
        let mut c = c?;
        if let Some(m) = c.matched {
            if !seen.insert(m) {
                c.doc.fate = Fate::Duplicate;
                c.doc.why = Some(format!(
                    "another document of the file is {} {} too: only the first is sent",
                    m.0, m.1
                ));
            }
        }
        set.warnings.extend(
            c.warnings
                .iter()
                .map(|p| format!("warning[{}]: {p}", p.code)),
        );
        set.add(c.doc);
    }
    Ok(set)
}

fn label(draft: &Draft, kind: UnitKind) -> String {
    let (number, id) = match draft.record {
        Record::Customer => (draft.customer.number.as_deref(), draft.customer.id),
        Record::Document => (draft.invoice.number.as_deref(), draft.invoice.id),
    };
    match (number.map(str::trim).filter(|n| !n.is_empty()), id) {
        (Some(n), _) if kind == UnitKind::Customer => format!("customer {n}"),
        (Some(n), _) => n.to_string(),
        (None, Some(id)) => format!("{kind} {id}"),
        (None, None) => draft.source_key.clone(),
    }
}

/// What a new document holds, for people.
fn holds(draft: &Draft, body: &Value) -> Vec<FieldChange> {
    if draft.record == Record::Customer {
        let name = draft.customer.name.clone().unwrap_or_default();
        return vec![FieldChange::new("customer added", "", name)];
    }
    body.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|l| {
            let get = |f: &str| {
                l.get(f)
                    .map(|v| v.to_string().trim_matches('"').to_string())
            };
            FieldChange::new(
                "line added",
                "",
                format!(
                    "{}: {} × {}",
                    get("name").unwrap_or_default(),
                    get("quantity").unwrap_or_else(|| "1".into()),
                    get("unit_cost").unwrap_or_else(|| "0".into())
                ),
            )
        })
        .collect()
}

async fn one<R: Remote>(
    remote: &R,
    draft: &Draft,
    rate_value: &dyn Fn(&str) -> Option<Decimal>,
    opts: CompareOptions,
) -> Result<Compared, RemoteError> {
    let kind = diff::unit_kind(draft);
    let document = label(draft, kind);
    let body = diff::body_of(draft).unwrap_or(Value::Null);
    let (id, number) = match draft.record {
        Record::Customer => (draft.customer.id, draft.customer.number.as_deref()),
        Record::Document => (draft.invoice.id, draft.invoice.number.as_deref()),
    };
    let number = number.map(str::trim).filter(|n| !n.is_empty());
    let current = match (id, number) {
        (Some(id), _) => match remote.fetch(kind, id).await? {
            Some(c) => c,
            None => {
                return Ok(Compared {
                    doc: DocChanges {
                        document,
                        fate: Fate::Conflict,
                        fields: vec![],
                        why: Some(format!(
                            "{kind} {id} is no longer on the account: it cannot be changed (clear its id to make a new one)"
                        )),
                    },
                    warnings: vec![],
                    matched: Some((kind, id)),
                })
            }
        },
        (None, Some(n)) => match remote.fetch_by_number(kind, n).await? {
            Some(c) => c,
            None => return Ok(new(document, draft, &body)),
        },
        (None, None) => return Ok(new(document, draft, &body)),
    };
    let matched = current.get("id").and_then(Value::as_i64).map(|i| (kind, i));
    let wanted = Wanted::of(draft, &body);
    let d = diff::diff(
        &wanted,
        &current,
        DiffOptions {
            force: opts.force,
            rate_value: Some(rate_value),
        },
    );
    let (fate, why) = match (d.status, opts.on_existing) {
        (Status::Unchanged, _) => (Fate::Unchanged, None),
        (Status::Changed, OnExisting::Update) => (Fate::Changed, None),
        (Status::Changed, OnExisting::Skip) => (
            Fate::Left,
            Some("--on-existing skip leaves it as it is".to_string()),
        ),
        (Status::Changed, OnExisting::Fail) => (
            Fate::Left,
            Some("--on-existing fail refuses it".to_string()),
        ),
        (Status::Conflict, _) => (Fate::Conflict, d.why.clone()),
        (Status::Locked, _) => (Fate::Locked, d.why.clone()),
    };
    Ok(Compared {
        doc: DocChanges {
            document,
            fate,
            fields: d.changes,
            why,
        },
        warnings: d.warnings,
        matched,
    })
}

fn new(document: String, draft: &Draft, body: &Value) -> Compared {
    Compared {
        doc: DocChanges {
            document,
            fate: Fate::New,
            fields: holds(draft, body),
            why: None,
        },
        warnings: vec![],
        matched: None,
    }
}
