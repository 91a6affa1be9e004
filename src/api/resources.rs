//! Typed calls for the resources of API.md: create, get, update, delete and
//! list for customers, invoices, credit notes, payments, tax rates and items,
//! plus void and the look-ups the exactly-once protocol needs.
//!
//! Creates and updates drop the read-only fields of the object given
//! (`id` of numbered objects, `created_at`, totals, `status`, ...), so a
//! value read from the API can be sent back after editing.

use super::client::Client;
use super::error::ApiError;
use super::pagination::{ListQuery, Page};
use crate::model::{CreditNote, Customer, Event, Invoice, Item, Payment, TaxRate};
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Read-only fields, per resource (API.md "Resources", in italics).
const COMMON_RO: &[&str] = &["object", "created_at", "updated_at"];
const DOC_RO: &[&str] = &[
    "subtotal", "total", "balance", "paid", "status", "url", "pdf_url",
];

/// Encode a path segment (string ids chosen by clients may hold anything).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn writable<T: Serialize>(
    obj: &T,
    drop_id: bool,
    extra: &[&str],
) -> Result<serde_json::Value, ApiError> {
    let mut v = serde_json::to_value(obj)
        .map_err(|e| ApiError::Auth(format!("could not encode the request body: {e}")))?;
    if let serde_json::Value::Object(map) = &mut v {
        if drop_id {
            map.remove("id");
        }
        for k in COMMON_RO.iter().chain(extra) {
            map.remove(*k);
        }
        if let Some(serde_json::Value::Array(items)) = map.get_mut("items") {
            for item in items {
                if let serde_json::Value::Object(line) = item {
                    line.remove("amount");
                    line.remove("object");
                }
            }
        }
    }
    Ok(v)
}

macro_rules! numbered_resource {
    ($ty:ty, $path:literal, $ro:expr, $create:ident, $get:ident, $update:ident, $delete:ident, $list:ident) => {
        impl Client {
            #[doc = concat!("`POST /", $path, "` (201); read-only fields are left out.")]
            pub async fn $create(&self, obj: &$ty, idempotency_key: Option<&str>) -> Result<$ty, ApiError> {
                let body = writable(obj, true, $ro)?;
                self.post(concat!("/", $path), &body, idempotency_key).await
            }

            #[doc = concat!("`GET /", $path, "/:id`.")]
            pub async fn $get(&self, id: i64) -> Result<$ty, ApiError> {
                self.get(&format!(concat!("/", $path, "/{}"), id), &[]).await
            }

            #[doc = concat!("`PATCH /", $path, "/:id` with the object's writable fields (metadata is replaced whole).")]
            pub async fn $update(&self, id: i64, obj: &$ty, idempotency_key: Option<&str>) -> Result<$ty, ApiError> {
                let body = writable(obj, true, $ro)?;
                self.patch(&format!(concat!("/", $path, "/{}"), id), &body, idempotency_key).await
            }

            #[doc = concat!("`DELETE /", $path, "/:id`.")]
            pub async fn $delete(&self, id: i64) -> Result<(), ApiError> {
                self.delete::<serde::de::IgnoredAny>(&format!(concat!("/", $path, "/{}"), id)).await.map(|_| ())
            }

            #[doc = concat!("`GET /", $path, "`, every page.")]
            pub fn $list(&self, query: &ListQuery) -> BoxStream<'static, Result<Page<$ty>, ApiError>> {
                self.list(concat!("/", $path), query)
            }
        }
    };
}

macro_rules! named_resource {
    ($ty:ty, $path:literal, $create:ident, $get:ident, $update:ident, $delete:ident, $list:ident) => {
        impl Client {
            #[doc = concat!("`POST /", $path, "` (the id is the client's choice).")]
            pub async fn $create(
                &self,
                obj: &$ty,
                idempotency_key: Option<&str>,
            ) -> Result<$ty, ApiError> {
                let body = writable(obj, false, &[])?;
                self.post(concat!("/", $path), &body, idempotency_key).await
            }

            #[doc = concat!("`GET /", $path, "/:id`.")]
            pub async fn $get(&self, id: &str) -> Result<$ty, ApiError> {
                self.get(
                    &format!(concat!("/", $path, "/{}"), encode_segment(id)),
                    &[],
                )
                .await
            }

            #[doc = concat!("`PATCH /", $path, "/:id` with the object's writable fields.")]
            pub async fn $update(
                &self,
                id: &str,
                obj: &$ty,
                idempotency_key: Option<&str>,
            ) -> Result<$ty, ApiError> {
                let body = writable(obj, true, &[])?;
                self.patch(
                    &format!(concat!("/", $path, "/{}"), encode_segment(id)),
                    &body,
                    idempotency_key,
                )
                .await
            }

            #[doc = concat!("`DELETE /", $path, "/:id`.")]
            pub async fn $delete(&self, id: &str) -> Result<(), ApiError> {
                self.delete::<serde::de::IgnoredAny>(&format!(
                    concat!("/", $path, "/{}"),
                    encode_segment(id)
                ))
                .await
                .map(|_| ())
            }

            #[doc = concat!("`GET /", $path, "`, every page.")]
            pub fn $list(
                &self,
                query: &ListQuery,
            ) -> BoxStream<'static, Result<Page<$ty>, ApiError>> {
                self.list(concat!("/", $path), query)
            }
        }
    };
}

numbered_resource!(
    Customer,
    "customers",
    &[],
    create_customer,
    get_customer,
    update_customer,
    delete_customer,
    list_customers
);
numbered_resource!(
    Invoice,
    "invoices",
    DOC_RO,
    create_invoice,
    get_invoice,
    update_invoice,
    delete_invoice,
    list_invoices
);
numbered_resource!(
    CreditNote,
    "credit_notes",
    DOC_RO,
    create_credit_note,
    get_credit_note,
    update_credit_note,
    delete_credit_note,
    list_credit_notes
);
numbered_resource!(
    Payment,
    "payments",
    &["voided"],
    create_payment,
    get_payment,
    update_payment,
    delete_payment,
    list_payments
);
named_resource!(
    TaxRate,
    "tax_rates",
    create_tax_rate,
    get_tax_rate,
    update_tax_rate,
    delete_tax_rate,
    list_tax_rates
);
named_resource!(
    Item,
    "items",
    create_item,
    get_item,
    update_item,
    delete_item,
    list_items
);

impl Client {
    /// `GET /:path/:id?expand=...` for any numbered resource.
    pub async fn get_expanded<T: DeserializeOwned>(
        &self,
        path: &str,
        id: i64,
        expand: &[&str],
    ) -> Result<T, ApiError> {
        let q = if expand.is_empty() {
            vec![]
        } else {
            vec![("expand".to_string(), expand.join(","))]
        };
        self.get(&format!("{}/{id}", path.trim_end_matches('/')), &q)
            .await
    }

    /// `POST /invoices/:id/void`.
    pub async fn void_invoice(&self, id: i64) -> Result<Invoice, ApiError> {
        self.post(
            &format!("/invoices/{id}/void"),
            &serde_json::json!({}),
            None,
        )
        .await
    }

    /// `POST /credit_notes/:id/void`.
    pub async fn void_credit_note(&self, id: i64) -> Result<CreditNote, ApiError> {
        self.post(
            &format!("/credit_notes/{id}/void"),
            &serde_json::json!({}),
            None,
        )
        .await
    }

    /// `DELETE /payments/:id`: voids the payment and returns it.
    pub async fn void_payment(&self, id: i64) -> Result<Payment, ApiError> {
        self.delete(&format!("/payments/{id}")).await
    }

    /// The invoice whose `metadata[key]` is `value` (the exactly-once look-up).
    pub async fn find_invoice_by_metadata(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Option<Invoice>, ApiError> {
        self.find_first("/invoices", &ListQuery::default().metadata(key, value))
            .await
    }

    /// The invoice with this number (`filter[number]`).
    pub async fn find_invoice_by_number(&self, number: &str) -> Result<Option<Invoice>, ApiError> {
        self.find_first("/invoices", &ListQuery::default().filter("number", number))
            .await
    }

    /// The customer with this number.
    pub async fn find_customer_by_number(
        &self,
        number: &str,
    ) -> Result<Option<Customer>, ApiError> {
        self.find_first("/customers", &ListQuery::default().filter("number", number))
            .await
    }

    /// The customer with this tax id (IDNO).
    pub async fn find_customer_by_tax_id(
        &self,
        tax_id: &str,
    ) -> Result<Option<Customer>, ApiError> {
        self.find_first("/customers", &ListQuery::default().filter("tax_id", tax_id))
            .await
    }

    /// `GET /events`, every page.
    pub fn list_events(
        &self,
        query: &ListQuery,
    ) -> BoxStream<'static, Result<Page<Event>, ApiError>> {
        self.list("/events", query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LineItem, Ref};
    use rust_decimal_macros::dec;

    #[test]
    fn writes_leave_read_only_fields_out() {
        let inv = Invoice {
            id: Some(5),
            customer: Some(Ref::Id(1)),
            total: Some(dec!(10)),
            status: Some("paid".into()),
            created_at: Some(1),
            items: vec![LineItem {
                unit_cost: Some(dec!(10)),
                amount: Some(dec!(10)),
                ..Default::default()
            }],
            ..Default::default()
        };
        let v = writable(&inv, true, DOC_RO).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"customer":1,"items":[{"unit_cost":10}]})
        );
    }

    #[test]
    fn string_ids_are_path_safe() {
        assert_eq!(encode_segment("tva20"), "tva20");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
