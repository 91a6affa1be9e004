//! [`Remote`] over the real HTTP [`Client`]: the client owns the shared
//! rate, the in-flight cap and 429 handling; this file maps unit kinds to
//! paths and API errors to the protocol's failure kinds.

use super::remote::{CustomerPage, FailKind, Found, Listed, Remote, RemoteError, RemoteResult};
use crate::api::{ApiError, Client, ListQuery};
use crate::ledger::UnitKind;
use crate::model::{MatchOn, IMPORT_KEY};
use futures::StreamExt;
use serde_json::Value;

fn path(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::Customer => "/customers",
        UnitKind::Invoice => "/invoices",
        UnitKind::CreditNote => "/credit_notes",
        UnitKind::Payment => "/payments",
    }
}

/// Classify an [`ApiError`] for the protocol; its message never holds a credential.
pub fn classify(e: &ApiError) -> RemoteError {
    let kind = if e.is_auth() {
        FailKind::Auth
    } else if e.is_rate_limited() {
        FailKind::RateLimited
    } else if e.is_rejection() {
        FailKind::Rejected
    } else if e.is_ambiguous() {
        FailKind::Ambiguous
    } else {
        FailKind::Unreachable
    };
    let mut message = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    RemoteError {
        kind,
        status: e.status(),
        param: e.param().map(str::to_string),
        message,
    }
}

fn found(v: &Value) -> Option<Found> {
    let id = v.get("id")?.as_i64()?;
    let import_key = v
        .get("metadata")
        .and_then(|m| m.get(IMPORT_KEY))
        .and_then(Value::as_str)
        .map(str::to_string);
    let voided = v.get("voided").and_then(Value::as_bool) == Some(true)
        || v.get("status").and_then(Value::as_str) == Some("voided");
    Some(Found {
        id,
        import_key,
        voided,
    })
}

/// The first object of the list that is not voided, else the first voided one.
fn pick(items: &[Value]) -> Option<Found> {
    let all: Vec<Found> = items.iter().filter_map(found).collect();
    all.iter()
        .find(|f| !f.voided)
        .or_else(|| all.first())
        .cloned()
}

/// `expand=customer` for a document's own GET.
fn expand_customer(kind: UnitKind) -> Vec<(String, String)> {
    match kind {
        UnitKind::Invoice | UnitKind::CreditNote => vec![("expand".into(), "customer".into())],
        _ => Vec::new(),
    }
}

impl Client {
    /// `POST /:kind/:id/void`, with an `Idempotency-Key` as every POST has.
    async fn void(&self, kind: UnitKind, id: i64) -> Result<(), ApiError> {
        let key = format!("fe-void-{}-{id}", kind.as_str());
        let _: Value = self
            .post(
                &format!("{}/{id}/void", path(kind)),
                &serde_json::json!({}),
                Some(&key),
            )
            .await?;
        Ok(())
    }

    async fn find_list(&self, kind: UnitKind, query: ListQuery) -> RemoteResult<Option<Found>> {
        let items: Vec<Value> = self
            .get(path(kind), &query.to_pairs())
            .await
            .map_err(|e| classify(&e))?;
        Ok(pick(&items))
    }
}

impl Remote for Client {
    async fn create(
        &self,
        kind: UnitKind,
        body: &Value,
        idempotency_key: &str,
    ) -> RemoteResult<i64> {
        let reply: Value = self
            .post(path(kind), body, Some(idempotency_key))
            .await
            .map_err(|e| classify(&e))?;
        reply
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| RemoteError {
                kind: FailKind::Ambiguous,
                status: None,
                param: None,
                message: format!("the reply to POST {} has no id", path(kind)),
            })
    }

    async fn update(&self, kind: UnitKind, id: i64, body: &Value) -> RemoteResult<Value> {
        let mut body = body.clone();
        if let Some(o) = body.as_object_mut() {
            // A document's customer cannot change on update; send its fields only.
            if kind != UnitKind::Customer {
                o.remove("customer");
            }
        }
        self.patch(&format!("{}/{id}", path(kind)), &body, None)
            .await
            .map_err(|e| classify(&e))
    }

    async fn fetch(&self, kind: UnitKind, id: i64) -> RemoteResult<Option<Value>> {
        let query = expand_customer(kind);
        match self
            .get::<Value>(&format!("{}/{id}", path(kind)), &query)
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(classify(&e)),
        }
    }

    async fn fetch_by_number(&self, kind: UnitKind, number: &str) -> RemoteResult<Option<Value>> {
        let mut query = ListQuery::default().filter("number", number);
        if kind != UnitKind::Customer {
            query.expand = vec!["customer".into()];
        }
        let items: Vec<Value> = self
            .get(path(kind), &query.to_pairs())
            .await
            .map_err(|e| classify(&e))?;
        let voided = |v: &Value| found(v).is_some_and(|f| f.voided);
        Ok(items
            .iter()
            .find(|v| !voided(v))
            .or_else(|| items.first())
            .cloned())
    }

    async fn find_by_import_key(&self, kind: UnitKind, key: &str) -> RemoteResult<Option<Found>> {
        self.find_list(kind, ListQuery::default().metadata(IMPORT_KEY, key))
            .await
    }

    async fn find_by_number(&self, kind: UnitKind, number: &str) -> RemoteResult<Option<Found>> {
        self.find_list(kind, ListQuery::default().filter("number", number))
            .await
    }

    async fn find_customer(&self, match_on: MatchOn, value: &str) -> RemoteResult<Option<Found>> {
        let field = match match_on {
            MatchOn::Number => "number",
            MatchOn::TaxId => "tax_id",
        };
        self.find_list(
            UnitKind::Customer,
            ListQuery::default().filter(field, value),
        )
        .await
    }

    async fn customers_page(&self, page: u32) -> RemoteResult<CustomerPage> {
        let query = ListQuery {
            page: Some(page.max(1)),
            ..ListQuery::default()
        };
        // One page: the stream's first item; the next one is not asked for.
        let mut pages = self.list::<Value>(path(UnitKind::Customer), &query);
        let Some(first) = pages.next().await else {
            return Ok(CustomerPage {
                last: true,
                ..CustomerPage::default()
            });
        };
        let first = first.map_err(|e| classify(&e))?;
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let customers: Vec<Listed> = first
            .items
            .iter()
            .filter_map(|v| {
                Some(Listed {
                    found: found(v)?,
                    number: text(v, "number"),
                    tax_id: text(v, "tax_id"),
                })
            })
            .collect();
        let per_page = u64::from(crate::model::limits::PER_PAGE_MAX);
        let last = match first.total {
            Some(total) => u64::from(page.max(1)) * per_page >= total,
            None => (customers.len() as u64) < per_page,
        };
        Ok(CustomerPage {
            customers,
            total: first.total,
            last,
        })
    }

    async fn undo(&self, kind: UnitKind, id: i64) -> RemoteResult<()> {
        // Documents are deleted, so that their numbers are free for a later
        // import; where the server refuses to delete one, it is voided.
        let r = match kind {
            UnitKind::Invoice => match self.delete_invoice(id).await {
                Err(e) if e.status() == Some(400) => self.void(kind, id).await,
                r => r,
            },
            UnitKind::CreditNote => match self.delete_credit_note(id).await {
                Err(e) if e.status() == Some(400) => self.void(kind, id).await,
                r => r,
            },
            UnitKind::Payment => self.void_payment(id).await.map(|_| ()),
            UnitKind::Customer => self.delete_customer(id).await,
        };
        match r {
            Ok(()) => Ok(()),
            // Gone already: a repeated rollback, or removed by hand.
            Err(e) if e.status() == Some(404) => Ok(()),
            // Voided already (a repeated rollback after a lost reply).
            Err(e) if e.status() == Some(400) && e.to_string().contains("already voided") => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }

    fn rate_limited_count(&self) -> u64 {
        self.stats().rate_limited
    }
}
