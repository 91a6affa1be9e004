//! API.md's fields of each resource, named once: whether a request may
//! write it or the API computes it, and what kind of value it holds. The
//! emulator checks request bodies against these tables, the exporter offers
//! them as columns (with a cell format from their kind), and a round trip
//! knows which columns the API computes. It is one table per resource, in
//! API.md's order.

/// Whether a request may set the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Sent in create and update bodies.
    Write,
    /// Computed or kept by the API: sending it is a 400.
    ReadOnly,
}

/// What a field holds, as the API takes and returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A document or customer number (≤ 32 characters).
    Number,
    /// A string id chosen by the client (items, tax rates).
    StrId,
    /// An object's numeric id.
    Id,
    Bool,
    /// A calendar date, as Unix seconds.
    Date,
    /// A moment, as Unix seconds.
    Datetime,
    Money,
    /// A quantity.
    Decimal,
    /// An ISO 4217 code.
    Currency,
    /// The metadata map.
    Metadata,
    /// A document's line items.
    Lines,
    /// Applied discounts.
    Discounts,
    /// Applied taxes.
    Taxes,
    /// An item's tax-rate ids.
    RateIds,
    /// A payment's applications to invoices.
    AppliedTo,
    /// Free JSON (`ship_to`).
    Json,
    /// A customer's id (or, expanded, the customer).
    CustomerRef,
    /// An invoice's id (or, expanded, the invoice).
    InvoiceRef,
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
}

/// One field of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub access: Access,
}

impl Field {
    pub fn writable(&self) -> bool {
        self.access == Access::Write
    }
}

const fn w(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        access: Access::Write,
    }
}

const fn ro(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        access: Access::ReadOnly,
    }
}

use Kind::*;

/// A customer's `type`.
pub const CUSTOMER_TYPES: &[&str] = &["company", "person", "government", "non_profit"];

pub const CUSTOMER: &[Field] = &[
    ro("id", Id),
    w("number", Number),
    w("name", Text),
    w("type", Enum(CUSTOMER_TYPES)),
    w("tax_id", Text),
    w("email", Text),
    w("phone", Text),
    w("address1", Text),
    w("address2", Text),
    w("city", Text),
    w("state", Text),
    w("postal_code", Text),
    w("country", Text),
    w("language", Text),
    w("currency", Currency),
    w("payment_terms", Text),
    w("notes", Text),
    w("metadata", Metadata),
    ro("created_at", Datetime),
    ro("updated_at", Datetime),
];

pub const INVOICE: &[Field] = &[
    ro("id", Id),
    w("customer", CustomerRef),
    w("number", Number),
    w("name", Text),
    w("currency", Currency),
    w("date", Date),
    w("due_date", Date),
    w("payment_terms", Text),
    w("purchase_order", Text),
    w("draft", Bool),
    w("closed", Bool),
    w("sent", Bool),
    ro("voided", Bool),
    w("items", Lines),
    w("notes", Text),
    w("metadata", Metadata),
    w("ship_to", Json),
    ro("subtotal", Money),
    ro("total", Money),
    ro("balance", Money),
    ro("paid", Bool),
    ro("amount_paid", Money),
    ro("amount_credited", Money),
    ro("status", Text),
    ro("url", Text),
    ro("pdf_url", Text),
    w("taxes", Taxes),
    w("discounts", Discounts),
    ro("created_at", Datetime),
    ro("updated_at", Datetime),
];

pub const CREDIT_NOTE: &[Field] = &[
    ro("id", Id),
    w("customer", CustomerRef),
    w("invoice", InvoiceRef),
    w("number", Number),
    w("name", Text),
    w("currency", Currency),
    w("date", Date),
    w("draft", Bool),
    w("closed", Bool),
    ro("voided", Bool),
    w("items", Lines),
    w("notes", Text),
    w("metadata", Metadata),
    ro("subtotal", Money),
    ro("total", Money),
    ro("balance", Money),
    ro("paid", Bool),
    ro("status", Text),
    ro("url", Text),
    ro("pdf_url", Text),
    w("taxes", Taxes),
    w("discounts", Discounts),
    ro("created_at", Datetime),
    ro("updated_at", Datetime),
];

pub const PAYMENT: &[Field] = &[
    ro("id", Id),
    w("amount", Money),
    w("currency", Currency),
    w("customer", CustomerRef),
    w("date", Date),
    w("method", Text),
    w("reference", Text),
    w("notes", Text),
    w("applied_to", AppliedTo),
    w("metadata", Metadata),
    ro("voided", Bool),
    ro("balance", Money),
    ro("created_at", Datetime),
    ro("updated_at", Datetime),
];

/// A document's line item (`items[]`).
pub const LINE_ITEM: &[Field] = &[
    ro("id", Id),
    w("catalog_item", Text),
    w("name", Text),
    w("description", Text),
    w("type", Text),
    w("quantity", Decimal),
    w("unit_cost", Money),
    ro("amount", Money),
    w("discountable", Bool),
    w("taxable", Bool),
    w("discounts", Discounts),
    w("taxes", Taxes),
    w("metadata", Metadata),
];

/// A catalog item; its `id` is chosen by the client.
pub const ITEM: &[Field] = &[
    w("id", StrId),
    w("name", Text),
    w("description", Text),
    w("type", Text),
    w("unit_cost", Money),
    w("currency", Currency),
    w("taxable", Bool),
    w("taxes", RateIds),
    w("metadata", Metadata),
    ro("created_at", Datetime),
    ro("updated_at", Datetime),
];

/// A tax rate; its `id` is chosen by the client.
pub const TAX_RATE: &[Field] = &[
    w("id", StrId),
    w("name", Text),
    w("value", Money),
    w("is_percent", Bool),
    w("inclusive", Bool),
    w("currency", Currency),
    w("metadata", Metadata),
    ro("created_at", Datetime),
    ro("updated_at", Datetime),
];

/// The field named `name` of a table.
pub fn find(table: &'static [Field], name: &str) -> Option<&'static Field> {
    table.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_per_table() {
        for table in [
            CUSTOMER,
            INVOICE,
            CREDIT_NOTE,
            PAYMENT,
            LINE_ITEM,
            ITEM,
            TAX_RATE,
        ] {
            let mut names: Vec<&str> = table.iter().map(|f| f.name).collect();
            names.sort();
            let n = names.len();
            names.dedup();
            assert_eq!(names.len(), n, "{names:?}");
        }
    }

    #[test]
    fn filterable_fields_are_fields() {
        use crate::model::filterable;
        for (table, names) in [
            (CUSTOMER, filterable::CUSTOMERS),
            (INVOICE, filterable::INVOICES),
            (CREDIT_NOTE, filterable::CREDIT_NOTES),
            (PAYMENT, filterable::PAYMENTS),
        ] {
            for n in names {
                assert!(find(table, n).is_some(), "{n}");
            }
        }
    }
}
