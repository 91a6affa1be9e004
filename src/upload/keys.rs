//! Import keys, payload hashes and idempotency keys (DESIGN.md,
//! "Exactly-once import", 1).
//!
//! - The **import key** names a unit for ever: a SHA-256 of the target
//!   environment, the mapping's identity, the unit's kind and its source key
//!   (the group key, or the row). It does not depend on the payload, so a
//!   document fixed in the source and imported again is recognised as the
//!   same document ("changed since imported") rather than created twice. It
//!   is sent as `metadata.import_key` (32 hex characters, well within the
//!   255-byte limit) and looked up with `metadata[import_key]=…`.
//! - The **payload hash** is a SHA-256 of the exact JSON body; the ledger keeps
//!   it to tell an unchanged document from a changed one.
//! - The **idempotency key** is derived from the import key, the payload hash
//!   and the run that owns the unit: every attempt of one run sends the same
//!   key (so a retry replays the first reply), while a later run (after a
//!   rollback, say) gets a fresh one and cannot be handed a stale reply.

use crate::ledger::{RunId, UnitKind};
use crate::model::MatchOn;
use sha2::{Digest, Sha256};

/// Hex characters of an import key.
pub const IMPORT_KEY_LEN: usize = 32;

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The import key of a document (invoice or credit note).
pub fn document_key(env: &str, mapping_identity: &str, kind: UnitKind, source_key: &str) -> String {
    let mut k = digest(&["doc", env, mapping_identity, kind.as_str(), source_key]);
    k.truncate(IMPORT_KEY_LEN);
    k
}

/// The import key of a customer: the environment and what it is matched on
/// (its number or tax id), not the mapping, since a customer is one object on
/// the account whatever file names it.
pub fn customer_key(env: &str, match_on: MatchOn, value: &str) -> String {
    let on = match match_on {
        MatchOn::Number => "number",
        MatchOn::TaxId => "tax_id",
    };
    let mut k = digest(&["customer", env, on, value]);
    k.truncate(IMPORT_KEY_LEN);
    k
}

/// The key of an update a run makes to an object already on the account
/// (a round trip's change): one per run, so that each run keeps its own
/// before image and a later run's rollback restores what that run changed.
pub fn update_key(env: &str, kind: UnitKind, remote_id: i64, run: RunId) -> String {
    let mut k = digest(&[
        "update",
        env,
        kind.as_str(),
        &remote_id.to_string(),
        &run.to_string(),
    ]);
    k.truncate(IMPORT_KEY_LEN);
    k
}

/// The import key of the `index`th payment of a document.
pub fn payment_key(document_key: &str, index: usize) -> String {
    let mut k = digest(&["payment", document_key, &index.to_string()]);
    k.truncate(IMPORT_KEY_LEN);
    k
}

/// SHA-256 (hex) of a request body.
pub fn payload_hash(body: &serde_json::Value) -> String {
    // serde_json with `preserve_order` writes fields in the order the model
    // declares them, so the same payload always gives the same bytes.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// The `Idempotency-Key` for every attempt of a unit within one run (6–64
/// characters, as API.md requires).
pub fn idempotency_key(import_key: &str, payload_hash: &str, run: RunId) -> String {
    let mut k = digest(&["idem", import_key, payload_hash, &run.to_string()]);
    k.truncate(40);
    format!("fe-{k}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::limits;

    #[test]
    fn keys_are_stable_and_separate_what_they_must() {
        let a = document_key("local", "m1", UnitKind::Invoice, "МД-1");
        assert_eq!(a, document_key("local", "m1", UnitKind::Invoice, "МД-1"));
        assert_eq!(a.len(), IMPORT_KEY_LEN);
        assert!(a.len() <= limits::METADATA_VALUE_MAX_BYTES);
        assert_ne!(a, document_key("sandbox", "m1", UnitKind::Invoice, "МД-1"));
        assert_ne!(a, document_key("local", "m2", UnitKind::Invoice, "МД-1"));
        assert_ne!(a, document_key("local", "m1", UnitKind::CreditNote, "МД-1"));
        assert_ne!(a, document_key("local", "m1", UnitKind::Invoice, "МД-2"));
        assert_ne!(
            document_key("local", "ab", UnitKind::Invoice, "c"),
            document_key("local", "a", UnitKind::Invoice, "bc")
        );
        assert_ne!(
            customer_key("local", MatchOn::Number, "C1"),
            customer_key("local", MatchOn::TaxId, "C1")
        );
        assert_ne!(payment_key(&a, 0), payment_key(&a, 1));
        let u = update_key("local", UnitKind::Invoice, 40, 3);
        assert_eq!(u, update_key("local", UnitKind::Invoice, 40, 3));
        assert_ne!(u, update_key("local", UnitKind::Invoice, 40, 4));
        assert_ne!(u, update_key("local", UnitKind::CreditNote, 40, 3));
        assert_ne!(u, a);
    }

    #[test]
    fn idempotency_keys_fit_the_api_and_change_per_run() {
        let k = idempotency_key("abc", "h", 1);
        assert!((limits::IDEMPOTENCY_KEY_MIN..=limits::IDEMPOTENCY_KEY_MAX).contains(&k.len()));
        assert_eq!(k, idempotency_key("abc", "h", 1));
        assert_ne!(k, idempotency_key("abc", "h", 2));
        assert_ne!(k, idempotency_key("abc", "h2", 1));
    }

    #[test]
    fn payload_hash_sees_every_byte() {
        let a = payload_hash(&serde_json::from_str(r#"{"number":"A-1","total":1.10}"#).unwrap());
        let b = payload_hash(&serde_json::from_str(r#"{"number":"A-1","total":1.1}"#).unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b, "arbitrary precision keeps 1.10 and 1.1 apart");
    }
}
