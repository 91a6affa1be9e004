//! What the uploader needs from the account, as a small trait: create, look
//! up by import key or number, fetch an object whole, update, undo. [`crate::api::Client`]
//! implements it (in `client_remote.rs`); the protocol's model test
//! implements it over an in-memory account to crash the engine at random
//! points.

use crate::ledger::UnitKind;
use crate::model::MatchOn;
use std::future::Future;

/// An object found on the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: i64,
    /// Its `metadata.import_key`, if it has one.
    pub import_key: Option<String>,
    /// Voided (invoices, credit notes, payments).
    pub voided: bool,
}

/// How a call failed, as far as the protocol cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailKind {
    /// A definite 4xx refusal (not 429): the same request fails the same way.
    Rejected,
    /// May or may not have taken effect (timeout, broken connection, 5xx).
    Ambiguous,
    /// Never reached the server (connection refused, DNS): safe to repeat.
    Unreachable,
    /// Still 429 after the client's own waiting.
    RateLimited,
    /// The credentials were refused.
    Auth,
}

/// A failed call: its kind, the HTTP status and `param` when the server
/// answered, and a message for people (never holding a credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RemoteError {
    pub kind: FailKind,
    pub status: Option<u16>,
    pub param: Option<String>,
    pub message: String,
}

impl RemoteError {
    pub fn new(kind: FailKind, message: impl Into<String>) -> Self {
        RemoteError {
            kind,
            status: None,
            param: None,
            message: message.into(),
        }
    }

    /// A 400 naming `number`: the document number is taken on the account.
    pub fn is_number_taken(&self) -> bool {
        self.kind == FailKind::Rejected
            && self.status == Some(400)
            && self.param.as_deref() == Some("number")
    }
}

pub type RemoteResult<T> = Result<T, RemoteError>;

/// A customer as a page of the account's list gives it: what it is found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub found: Found,
    pub number: Option<String>,
    pub tax_id: Option<String>,
}

/// One page (of at most 100) of the account's customers, in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPage {
    pub customers: Vec<Listed>,
    /// All customers on the account (`X-Total-Count`), when the reply says.
    pub total: Option<u64>,
    /// No page follows this one.
    pub last: bool,
}

/// The account, as the uploader sees it. Every method is one logical call;
/// the implementation owns rate limits, the in-flight cap and 429 handling.
pub trait Remote: Clone + Send + Sync + 'static {
    /// Create an object (`POST`) with this `Idempotency-Key`; its id.
    fn create(
        &self,
        kind: UnitKind,
        body: &serde_json::Value,
        idempotency_key: &str,
    ) -> impl Future<Output = RemoteResult<i64>> + Send;

    /// Change an existing object's fields (`PATCH`; `items` and `metadata`
    /// are replaced whole): the object as the reply has it.
    fn update(
        &self,
        kind: UnitKind,
        id: i64,
        body: &serde_json::Value,
    ) -> impl Future<Output = RemoteResult<serde_json::Value>> + Send;

    /// The object with this id as the account has it now (a document with
    /// its customer expanded), or `None` when there is none.
    fn fetch(
        &self,
        kind: UnitKind,
        id: i64,
    ) -> impl Future<Output = RemoteResult<Option<serde_json::Value>>> + Send;

    /// The object with this number as the account has it now (one not
    /// voided first; a document with its customer expanded).
    fn fetch_by_number(
        &self,
        kind: UnitKind,
        number: &str,
    ) -> impl Future<Output = RemoteResult<Option<serde_json::Value>>> + Send;

    /// The object carrying `metadata[import_key] = key`, if any (not voided first).
    fn find_by_import_key(
        &self,
        kind: UnitKind,
        key: &str,
    ) -> impl Future<Output = RemoteResult<Option<Found>>> + Send;

    /// The document (or customer) with this number, if any.
    fn find_by_number(
        &self,
        kind: UnitKind,
        number: &str,
    ) -> impl Future<Output = RemoteResult<Option<Found>>> + Send;

    /// The customer matched on number or tax id, if any.
    fn find_customer(
        &self,
        match_on: MatchOn,
        value: &str,
    ) -> impl Future<Output = RemoteResult<Option<Found>>> + Send;

    /// Page `page` (from 1, 100 a page) of every customer on the account,
    /// oldest first: a batch with many customers looks them up in one
    /// request per 100 on the account rather than one request each.
    fn customers_page(&self, page: u32) -> impl Future<Output = RemoteResult<CustomerPage>> + Send;

    /// Undo a created object: delete an invoice or credit note (void it
    /// where the server refuses), void a payment, delete a customer.
    /// Already undone (or gone) is success.
    fn undo(&self, kind: UnitKind, id: i64) -> impl Future<Output = RemoteResult<()>> + Send;

    /// 429 replies the client has seen so far (for the counters).
    fn rate_limited_count(&self) -> u64 {
        0
    }
}
