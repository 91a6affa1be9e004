//! The API's resources as the client reads and writes them (API.md,
//! "Resources"). Read-only fields are `Option`s skipped when `None`, so a
//! value built for a request never sends them. Unknown fields in replies are
//! ignored, so a newer server does not break an older client.

use super::date::unix_date_opt;
use super::{money, Metadata, Money};
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn is_false(b: &Option<bool>) -> bool {
    b.is_none()
}

/// A customer (API.md: create needs `name`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ≤ 32 characters, unique per account, generated if omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<CustomerType>,
    /// The IDNO for Moldovan companies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `NET 30`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    Company,
    Person,
    Government,
    NonProfit,
}

impl CustomerType {
    pub const ALL: [&'static str; 4] = ["company", "person", "government", "non_profit"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "company" => Some(Self::Company),
            "person" => Some(Self::Person),
            "government" => Some(Self::Government),
            "non_profit" => Some(Self::NonProfit),
            _ => None,
        }
    }
}

/// A relation that is an id, or the object itself when `expand`ed.
#[derive(Debug, Clone, PartialEq)]
pub enum Ref<T> {
    Id(i64),
    Object(Box<T>),
}

impl<T> Ref<T> {
    pub fn id(&self) -> Option<i64>
    where
        T: HasId,
    {
        match self {
            Ref::Id(id) => Some(*id),
            Ref::Object(o) => o.id(),
        }
    }

    pub fn object(&self) -> Option<&T> {
        match self {
            Ref::Id(_) => None,
            Ref::Object(o) => Some(o),
        }
    }
}

/// Objects with a numeric id.
pub trait HasId {
    fn id(&self) -> Option<i64>;
}

impl HasId for Customer {
    fn id(&self) -> Option<i64> {
        self.id
    }
}
impl HasId for Invoice {
    fn id(&self) -> Option<i64> {
        self.id
    }
}
impl HasId for CreditNote {
    fn id(&self) -> Option<i64> {
        self.id
    }
}
impl HasId for Payment {
    fn id(&self) -> Option<i64> {
        self.id
    }
}

impl<T: HasId> Serialize for Ref<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.id() {
            Some(id) => s.serialize_i64(id),
            None => s.serialize_none(),
        }
    }
}

// Not `#[serde(untagged)]`: with serde_json's arbitrary_precision, untagged
// enums cannot read numbers. Go through a `Value` instead.
impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Ref<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Ref::Id)
                .ok_or_else(|| D::Error::custom(format!("expected an integer id, found {n}"))),
            serde_json::Value::Object(_) => serde_json::from_value(v)
                .map(|o| Ref::Object(Box::new(o)))
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "expected an id or an object, found {other}"
            ))),
        }
    }
}

/// A tax rate or coupon named in an applied rate: its id, whether the server
/// sent the id alone or the whole object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateId(pub String);

impl Serialize for RateId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RateId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(RateId(s)),
            serde_json::Value::Object(o) => match o.get("id") {
                Some(serde_json::Value::String(s)) => Ok(RateId(s.clone())),
                _ => Err(D::Error::custom("expected a rate object with a string id")),
            },
            other => Err(D::Error::custom(format!(
                "expected a rate id, found {other}"
            ))),
        }
    }
}

/// A tax or discount applied to a line or a document. Sent as
/// `{"tax_rate": "tva20"}` (or `{"amount": 3.85}`); read back as
/// `{id, object, amount, tax_rate|coupon}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppliedRate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `tax` or `discount`, in replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<RateId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<RateId>,
}

impl AppliedRate {
    pub fn tax(id: impl Into<String>) -> Self {
        AppliedRate {
            tax_rate: Some(RateId(id.into())),
            ..Default::default()
        }
    }

    pub fn amount(amount: Money) -> Self {
        AppliedRate {
            amount: Some(amount),
            ..Default::default()
        }
    }
}

/// A line item of an invoice or credit note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Defaults to 1 on the server.
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub quantity: Option<rust_decimal::Decimal>,
    /// Defaults to 0 on the server.
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Money>,
    /// Read-only: `round(quantity × unit_cost)`.
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(skip_serializing_if = "is_false")]
    pub discountable: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub taxable: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<AppliedRate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<AppliedRate>,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

/// An invoice (API.md: create needs `customer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Invoice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref<Customer>>,
    /// ≤ 32 characters, unique case-insensitively, generated if omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ISO 4217; returned lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(with = "unix_date_opt", skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(with = "unix_date_opt", skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_order: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<bool>,
    pub items: Vec<LineItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<AppliedRate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<AppliedRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<serde_json::Value>,
    // Read-only, computed by the server.
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<Money>,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub balance: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// A credit note (API.md: as invoices, under `/credit_notes`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreditNote {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref<Customer>>,
    /// The invoice it credits, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<Ref<Invoice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(with = "unix_date_opt", skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
    pub items: Vec<LineItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<AppliedRate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<AppliedRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<Money>,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub balance: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// Where a payment is applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentApplication {
    /// `invoice` (also `credit_note`, `credit`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<Ref<Invoice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_note: Option<Ref<CreditNote>>,
    #[serde(with = "money::num")]
    pub amount: Money,
}

/// A payment (API.md: create needs `amount`; DELETE voids it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Payment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref<Customer>>,
    #[serde(with = "unix_date_opt", skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// `cash`, `check`, `wire_transfer`, `credit_card`, `other`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied_to: Vec<PaymentApplication>,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voided: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// A tax rate (string id chosen by the client: `tva20`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxRate {
    pub id: String,
    pub name: String,
    #[serde(with = "money::num")]
    pub value: rust_decimal::Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_percent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// A catalog item (string id chosen by the client).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Item {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(with = "money::opt", skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxable: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<RateId>,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// An event (`invoice.created`, `customer.deleted`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: i64,
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_round_trips_exactly() {
        let line = LineItem {
            quantity: Some(dec!(3)),
            unit_cost: Some(dec!(51.15)),
            ..Default::default()
        };
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(json, r#"{"quantity":3,"unit_cost":51.15}"#);
        let back: LineItem = serde_json::from_str(r#"{"unit_cost":0.1,"amount":153.45}"#).unwrap();
        assert_eq!(back.unit_cost, Some(dec!(0.1)));
        assert_eq!(back.amount, Some(dec!(153.45)));
    }

    #[test]
    fn request_omits_read_only_fields() {
        let inv = Invoice {
            customer: Some(Ref::Id(7)),
            number: Some("MD-1".into()),
            date: NaiveDate::from_ymd_opt(2024, 1, 5),
            items: vec![LineItem {
                name: Some("Pâine".into()),
                taxes: vec![AppliedRate::tax("tva8")],
                ..Default::default()
            }],
            ..Default::default()
        };
        let v = serde_json::to_value(&inv).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"customer":7,"number":"MD-1","date":1704405600,
                "items":[{"name":"Pâine","taxes":[{"tax_rate":"tva8"}]}]})
        );
    }

    #[test]
    fn reads_expanded_and_plain_relations() {
        let inv: Invoice = serde_json::from_str(
            r#"{"id":1,"customer":{"id":9,"name":"SRL Alfa"},"items":[],
                "taxes":[{"id":3,"object":"tax","amount":3.85,"tax_rate":{"id":"tva20","value":20}}],
                "total":23.1,"object":"invoice"}"#,
        )
        .unwrap();
        assert_eq!(inv.customer.as_ref().and_then(|c| c.id()), Some(9));
        assert_eq!(
            inv.customer.unwrap().object().unwrap().name.as_deref(),
            Some("SRL Alfa")
        );
        assert_eq!(inv.taxes[0].tax_rate, Some(RateId("tva20".into())));
        assert_eq!(inv.total, Some(dec!(23.1)));
        let plain: Invoice = serde_json::from_str(r#"{"customer":9}"#).unwrap();
        assert_eq!(plain.customer, Some(Ref::Id(9)));
    }
}
