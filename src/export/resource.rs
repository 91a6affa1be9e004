//! The four exportable resources: their paths, filterable fields (API.md
//! "Lists"), known fields with their cell formats, and default columns.

use super::columns::Format;
use crate::model::fields::{self, Field};
use std::fmt;
use std::str::FromStr;

/// What `export` can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Invoices,
    Customers,
    CreditNotes,
    Payments,
}

/// The cell format a field of this kind is written with.
pub fn format_of(kind: fields::Kind) -> Format {
    use fields::Kind;
    match kind {
        Kind::Date => Format::Date,
        Kind::Datetime => Format::Datetime,
        Kind::Bool => Format::Boolean,
        Kind::Money => Format::Money,
        Kind::Decimal => Format::Decimal,
        // Applied taxes as their rate ids, discounts as their amount: the
        // forms a re-import reads.
        Kind::Taxes | Kind::RateIds => Format::Rates,
        Kind::Discounts => Format::Money,
        _ => Format::Text,
    }
}

/// The format of the field `name` of `table`, if it has one by that name.
pub fn field_format(table: &'static [Field], name: &str) -> Option<Format> {
    fields::find(table, name).map(|f| format_of(f.kind))
}

/// Fields of a line item (`line.<field>` in columns).
pub const LINE_FIELDS: &[Field] = fields::LINE_ITEM;

/// Fields of an expanded customer (`customer.<field>`).
pub const EXPANDED_CUSTOMER_FIELDS: &[Field] = fields::CUSTOMER;

impl Resource {
    pub const ALL: [Resource; 4] = [
        Resource::Invoices,
        Resource::Customers,
        Resource::CreditNotes,
        Resource::Payments,
    ];

    /// The API path of its list.
    pub fn path(self) -> &'static str {
        match self {
            Resource::Invoices => "/invoices",
            Resource::Customers => "/customers",
            Resource::CreditNotes => "/credit_notes",
            Resource::Payments => "/payments",
        }
    }

    /// As in the command line and `{resource}`.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Invoices => "invoices",
            Resource::Customers => "customers",
            Resource::CreditNotes => "credit_notes",
            Resource::Payments => "payments",
        }
    }

    /// The XLSX sheet name of its objects.
    pub fn sheet_name(self) -> &'static str {
        match self {
            Resource::Invoices => "Invoices",
            Resource::Customers => "Customers",
            Resource::CreditNotes => "Credit notes",
            Resource::Payments => "Payments",
        }
    }

    /// API.md "Lists": the fields `filter[...]` accepts.
    pub fn filterable(self) -> &'static [&'static str] {
        match self {
            Resource::Customers => crate::model::filterable::CUSTOMERS,
            Resource::Invoices => crate::model::filterable::INVOICES,
            Resource::CreditNotes => crate::model::filterable::CREDIT_NOTES,
            Resource::Payments => crate::model::filterable::PAYMENTS,
        }
    }

    /// Its top-level fields with the format each is written in.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Resource::Invoices => fields::INVOICE,
            Resource::Customers => fields::CUSTOMER,
            Resource::CreditNotes => fields::CREDIT_NOTE,
            Resource::Payments => fields::PAYMENT,
        }
    }

    /// Whether its objects carry line items (`--lines`).
    pub fn has_lines(self) -> bool {
        matches!(self, Resource::Invoices | Resource::CreditNotes)
    }

    /// Whether it has a `customer` relation (`--expand customer`).
    pub fn has_customer(self) -> bool {
        !matches!(self, Resource::Customers)
    }

    /// The default columns (field paths): what a re-import needs (the
    /// object's id, its editable fields, each metadata key as a column of
    /// its own through `metadata.*`), then the values the API computes, for
    /// people. Documents name their customer by id, number and name
    /// (`expanded`: also its IDNO, the id as `customer.id`).
    pub fn default_fields(self, expanded: bool) -> Vec<&'static str> {
        let customer: &[&str] = if expanded {
            &[
                "customer.id",
                "customer.number",
                "customer.name",
                "customer.tax_id",
            ]
        } else {
            &["customer", "customer.number", "customer.name"]
        };
        let mut out = Vec::new();
        match self {
            Resource::Invoices => {
                out.extend(["id", "number"]);
                out.extend(customer);
                out.extend([
                    "date",
                    "due_date",
                    "currency",
                    "payment_terms",
                    "purchase_order",
                    "draft",
                    "notes",
                    METADATA_COLUMNS,
                    "subtotal",
                    "total",
                    "balance",
                    "status",
                    "paid",
                    "updated_at",
                ]);
            }
            Resource::CreditNotes => {
                out.extend(["id", "number"]);
                out.extend(customer);
                out.extend([
                    "invoice",
                    "date",
                    "currency",
                    "notes",
                    METADATA_COLUMNS,
                    "subtotal",
                    "total",
                    "balance",
                    "status",
                    "updated_at",
                ]);
            }
            Resource::Customers => out.extend([
                "id",
                "number",
                "name",
                "type",
                "tax_id",
                "email",
                "phone",
                "address1",
                "address2",
                "city",
                "state",
                "postal_code",
                "country",
                "language",
                "currency",
                "payment_terms",
                "notes",
                METADATA_COLUMNS,
                "created_at",
                "updated_at",
            ]),
            Resource::Payments => {
                out.extend(["id", "date"]);
                out.extend(customer);
                out.extend([
                    "amount",
                    "currency",
                    "method",
                    "reference",
                    "applied_to",
                    "voided",
                    "metadata",
                    "updated_at",
                ]);
            }
        }
        out
    }

    /// The default line columns for `--lines`: the line's id and editable
    /// fields (taxes as rate ids, discounts as an amount), and its amount.
    pub fn default_line_fields(self) -> Vec<&'static str> {
        vec![
            "line.id",
            "line.catalog_item",
            "line.name",
            "line.description",
            "line.quantity",
            "line.unit_cost",
            "line.amount",
            "line.taxes",
            "line.discounts",
        ]
    }
}

/// The column path that stands for one column per metadata key
/// (`metadata.project`, `metadata.source`, ...), the keys found in the
/// exported objects, in name order.
pub const METADATA_COLUMNS: &str = "metadata.*";

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Resource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "invoices" => Ok(Resource::Invoices),
            "customers" => Ok(Resource::Customers),
            "credit_notes" | "credit-notes" => Ok(Resource::CreditNotes),
            "payments" => Ok(Resource::Payments),
            _ => Err(format!(
                "unknown resource `{s}`: expected invoices, customers, credit_notes or payments"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fields_are_known() {
        for r in Resource::ALL {
            for expanded in [false, true] {
                for f in r.default_fields(expanded) {
                    let top = f.split('.').next().unwrap();
                    assert!(r.fields().iter().any(|x| x.name == top), "{r}: {f}");
                }
            }
        }
    }
}
