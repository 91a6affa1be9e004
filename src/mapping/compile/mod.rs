//! Spec → plan. Everything that can be checked without an input is checked
//! when the mapping loads (patterns, formats, locales, lookup files); column
//! names are resolved against each input's headers before its first row,
//! with "did you mean" for a name that is not there. Every mistake is
//! collected, each with its place in the mapping file.
//!
//! The parts: `plan` (what a mapping compiles to: [`Plan`], its [`Field`]s
//! and skip rules), `source` (the `[source]` table as reader options:
//! [`source_spec`]), `field` (one field spec checked and compiled, its
//! columns resolved, its patterns, lookups and types), `limits` (limits
//! the mapping's constants alone break), `wide` (the slots of a wide
//! layout), `records` (customer-only mappings, metadata prefixes, a round
//! trip's computed keys and scope) and, here, [`compile`], which compiles
//! every field of the mapping and its grouping and skip rules.

mod field;
mod limits;
mod plan;
mod records;
mod source;
mod wide;

pub use field::toml_cell;
pub use plan::{Field, Lookup, Parse, Part, Plan, Replace, SkipRule, Src, Target, Ty};
pub use source::source_spec;

use super::spec::{FieldSpec, FieldTable, StrList};
// The parts name these as `super::spec` and `super::transform`.
use super::{spec, transform};
use super::{Diag, Mapping};
use crate::model::fields::{self as api, Field as ApiField};
use crate::model::limits::{
    METADATA_KEY_MAX_BYTES, METADATA_MAX_KEYS, METADATA_VALUE_MAX_BYTES, NUMBER_MAX_CHARS,
};
use crate::model::{FieldPath, MatchOn, Record, Scope};
use field::Ctx;
use limits::{constant_limit, metadata_limits};
use records::{computed_keys, customers_only, record_of, scope_of, with_prefixed};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use wide::wide_slots;

type FieldList<'a> = Vec<(&'a Option<FieldSpec>, &'static str, Ty)>;

/// Compile a mapping; with headers, resolve columns against them.
pub fn compile(m: &Mapping, headers: Option<(&[String], &str)>) -> Result<Plan, Vec<Diag>> {
    let spec = m.spec();
    let base_dir = m.path().parent().unwrap_or(Path::new("."));
    let mut index = HashMap::new();
    let mut loose = HashMap::new();
    let mut names = Vec::new();
    if let Some((h, _)) = headers {
        for (i, name) in h.iter().enumerate() {
            index.entry(name.as_str()).or_insert(i);
            loose.entry(name.trim().to_lowercase()).or_insert(i);
            names.push(Arc::<str>::from(name.as_str()));
        }
    }
    let mut cx = Ctx {
        headers,
        index,
        loose,
        names: names.clone(),
        diags: Vec::new(),
        base_dir,
        lookup_bytes: Vec::new(),
        lookup_files: Vec::new(),
        allow_lookup_outside: m.options().allow_lookup_outside,
        wide_n: None,
        referenced: Vec::new(),
        optional: spec.source.optional_columns,
        years: source::DEFAULT_YEARS,
    };
    match source::years(spec) {
        Ok(y) => cx.years = y,
        Err(d) => cx.diags.push(d),
    }
    let inv = &spec.invoice;
    let cus = &spec.customer;
    let record = record_of(spec, &mut cx.diags);
    let mut header = Vec::new();
    let invoice_fields: FieldList = vec![
        (&inv.kind, "kind", Ty::Kind),
        (&inv.id, "id", Ty::Id),
        (&inv.updated_at, "updated_at", Ty::Moment),
        (&inv.number, "number", Ty::Text),
        (&inv.name, "name", Ty::Text),
        (&inv.currency, "currency", Ty::Text),
        (&inv.date, "date", Ty::Date),
        (&inv.due_date, "due_date", Ty::Date),
        (&inv.payment_terms, "payment_terms", Ty::Text),
        (&inv.purchase_order, "purchase_order", Ty::Text),
        (&inv.notes, "notes", Ty::Text),
        (&inv.draft, "draft", Ty::Bool),
        (&inv.sent, "sent", Ty::Bool),
        (&inv.taxes, "taxes", Ty::Rates),
        (&inv.discount, "discount", Ty::Decimal),
        (&inv.check_subtotal, "checks.subtotal", Ty::Decimal),
        (&inv.check_tax, "checks.tax", Ty::Decimal),
        (&inv.check_total, "checks.total", Ty::Decimal),
    ];
    for (f, name, ty) in invoice_fields {
        if let Some(f) = f {
            let path = match name {
                "taxes" => "taxes".to_string(),
                "discount" => "discounts[0].amount".to_string(),
                n => n.to_string(),
            };
            header.extend(cx.field(f, path, Target::Invoice(name), ty));
        }
    }
    for (k, f) in &with_prefixed(&cx, &inv.metadata, &inv.metadata_prefix) {
        header.extend(cx.field(
            f,
            format!("metadata.{k}"),
            Target::InvoiceMeta(k.clone()),
            Ty::Text,
        ));
    }
    metadata_limits(&mut cx, &inv.metadata, "invoice", 1);
    computed_keys(
        &mut cx,
        &inv.computed,
        &[api::INVOICE, api::CREDIT_NOTE],
        "invoice",
    );
    for (k, f) in &inv.computed {
        header.extend(cx.field(f, k.clone(), Target::Computed(k.clone()), Ty::Text));
    }
    let customer_fields: FieldList = vec![
        (&cus.id, "id", Ty::Id),
        (&cus.updated_at, "updated_at", Ty::Moment),
        (&cus.number, "number", Ty::Text),
        (&cus.name, "name", Ty::Text),
        (&cus.kind, "type", Ty::Text),
        (&cus.tax_id, "tax_id", Ty::Text),
        (&cus.email, "email", Ty::Text),
        (&cus.phone, "phone", Ty::Text),
        (&cus.address1, "address1", Ty::Text),
        (&cus.address2, "address2", Ty::Text),
        (&cus.city, "city", Ty::Text),
        (&cus.state, "state", Ty::Text),
        (&cus.postal_code, "postal_code", Ty::Text),
        (&cus.country, "country", Ty::Text),
        (&cus.language, "language", Ty::Text),
        (&cus.currency, "currency", Ty::Text),
        (&cus.payment_terms, "payment_terms", Ty::Text),
        (&cus.notes, "notes", Ty::Text),
    ];
    for (f, name, ty) in customer_fields {
        if let Some(f) = f {
            header.extend(cx.field(f, format!("customer.{name}"), Target::Customer(name), ty));
        }
    }
    for (k, f) in &with_prefixed(&cx, &cus.metadata, &cus.metadata_prefix) {
        header.extend(cx.field(
            f,
            format!("customer.metadata.{k}"),
            Target::CustomerMeta(k.clone()),
            Ty::Text,
        ));
    }
    metadata_limits(&mut cx, &cus.metadata, "customer", 0);
    metadata_limits(&mut cx, &spec.line.metadata, "line", 0);
    if let Some(f) = &inv.number {
        constant_limit(&mut cx, f, "invoice.number", NUMBER_MAX_CHARS, "characters");
    }
    if let Some(f) = &cus.number {
        constant_limit(
            &mut cx,
            f,
            "customer.number",
            NUMBER_MAX_CHARS,
            "characters",
        );
    }
    let match_on = match cus
        .match_on
        .as_ref()
        .map(|s| (s.get_ref().as_str(), s.span()))
    {
        None | Some(("number", _)) => MatchOn::Number,
        Some(("tax_id", _)) => MatchOn::TaxId,
        Some((other, span)) => {
            cx.diags.push(
                Diag::at(span, format!("unknown match_on {other:?}"))
                    .help("one of \"number\" or \"tax_id\""),
            );
            MatchOn::Number
        }
    };
    let tolerance = spec.checks.tolerance.as_ref().and_then(|t| {
        let parsed = t
            .get_ref()
            .trim()
            .parse::<rust_decimal::Decimal>()
            .ok()
            .filter(|d| !d.is_sign_negative() && *d <= rust_decimal::Decimal::ONE);
        if parsed.is_none() {
            cx.diags.push(
                Diag::at(t.span(), format!("invalid tolerance {:?}", t.get_ref()))
                    .help("an amount from 0 to 1 as a decimal string, e.g. \"0.02\""),
            );
        }
        parsed
    });
    for (i, p) in spec.payment.iter().enumerate() {
        let fields: FieldList = vec![
            (&p.amount, "amount", Ty::Decimal),
            (&p.date, "date", Ty::Date),
            (&p.method, "method", Ty::Text),
            (&p.reference, "reference", Ty::Text),
            (&p.notes, "notes", Ty::Text),
            (&p.currency, "currency", Ty::Text),
        ];
        for (f, name, ty) in fields {
            if let Some(f) = f {
                let field = cx.field(
                    f,
                    format!("payments[{i}].{name}"),
                    Target::Payment(i, name),
                    ty,
                );
                header.extend(field.map(|f| Field {
                    origin: FieldPath::new(&format!("payments[{{i}}].{name}")).at(i),
                    ..f
                }));
            }
        }
    }
    // Lines, possibly wide.
    let l = &spec.line;
    computed_keys(&mut cx, &l.computed, &[api::LINE_ITEM], "line");
    let line_fields: FieldList = vec![
        (&l.id, "id", Ty::Id),
        (&l.name, "name", Ty::Text),
        (&l.description, "description", Ty::Text),
        (&l.catalog_item, "catalog_item", Ty::Text),
        (&l.kind, "type", Ty::Text),
        (&l.quantity, "quantity", Ty::Decimal),
        (&l.unit_cost, "unit_cost", Ty::Decimal),
        (&l.taxes, "taxes", Ty::Rates),
        (&l.discount, "discount", Ty::Decimal),
        (&l.discount_percent, "discount_percent", Ty::Decimal),
        (&l.taxable, "taxable", Ty::Bool),
        (&l.discountable, "discountable", Ty::Bool),
        (&l.check_net, "check_net", Ty::Decimal),
        (&l.check_vat, "check_vat", Ty::Decimal),
        (&l.check_gross, "check_gross", Ty::Decimal),
    ];
    let line_path = |name: &str| match name {
        "check_net" => "checks.lines[{i}].net".to_string(),
        "check_vat" => "checks.lines[{i}].vat".to_string(),
        "check_gross" => "checks.lines[{i}].gross".to_string(),
        "discount" | "discount_percent" => "items[{i}].discounts[0].amount".to_string(),
        n => format!("items[{{i}}].{n}"),
    };
    let compile_slot = |cx: &mut Ctx| -> Vec<Field> {
        let mut out = Vec::new();
        for (f, name, ty) in &line_fields {
            if let Some(f) = f {
                out.extend(cx.field(f, line_path(name), Target::Line(name), *ty));
            }
        }
        for (k, f) in &l.metadata {
            out.extend(cx.field(
                f,
                format!("items[{{i}}].metadata.{k}"),
                Target::LineMeta(k.clone()),
                Ty::Text,
            ));
        }
        for (k, f) in &l.computed {
            out.extend(cx.field(
                f,
                format!("items[{{i}}].{k}"),
                Target::LineComputed(k.clone()),
                Ty::Text,
            ));
        }
        out
    };
    let mut lines = Vec::new();
    match &l.wide {
        None => {
            let slot = compile_slot(&mut cx);
            if !slot.is_empty() {
                lines.push(slot);
            }
        }
        Some(w) => {
            for n in wide_slots(w, &line_fields, l, &mut cx) {
                cx.wide_n = Some(n);
                lines.push(compile_slot(&mut cx));
                if !cx.diags.is_empty() {
                    break;
                }
            }
            cx.wide_n = None;
        }
    }
    // Grouping and skipping.
    let mut key = Vec::new();
    let gb: &StrList = &inv.group_by;
    for name in &gb.items {
        let (idx, _) = cx.column(name, gb.span.clone());
        key.push(idx);
    }
    let mut skip = Vec::new();
    for s in &spec.source.skip_rows_matching.0 {
        let col = s
            .column
            .as_ref()
            .map(|c| cx.column(c.get_ref(), c.span()).0);
        if let Some(re) = cx.regex(s.regex.get_ref(), s.regex.span()) {
            skip.push(SkipRule::new(col, re));
        }
    }
    if record == Record::Customer {
        customers_only(spec, &mut cx.diags);
    } else if spec.invoice.number.is_none()
        && spec.line.name.is_none()
        && spec.line.quantity.is_none()
        && spec.line.unit_cost.is_none()
    {
        cx.diags.push(Diag::new(
            None,
            "the mapping maps no invoice number and no line: add at least [invoice] number and a [line]",
        ));
    }
    let fill_down: &StrList = &spec.source.fill_down;
    let mut fill = Vec::new();
    for name in &fill_down.items {
        fill.push(cx.column(name, fill_down.span.clone()).0);
    }
    let group_by_record = key.is_empty() && spec.source.lines.is_some();
    let round_trip = match record {
        Record::Document => inv.id.is_some(),
        Record::Customer => cus.id.is_some(),
    };
    let scope = round_trip.then(|| Arc::new(scope_of(&header, lines.first())));
    if cx.diags.is_empty() {
        Ok(Plan {
            headers: names.into(),
            header,
            lines,
            key,
            sheets_in_key: matches!(
                spec.source.sheet.as_ref().map(|s| s.get_ref()),
                Some(spec::SheetValue::All | spec::SheetValue::List(_))
            ),
            fill,
            group_by_record,
            skip,
            match_on,
            tolerance,
            credit_note_when_negative: spec.invoice.credit_note_when_negative,
            payments: spec.payment.len(),
            lookup_bytes: cx.lookup_bytes,
            lookup_files: cx.lookup_files,
            referenced: cx.referenced,
            record,
            scope,
        })
    } else {
        Err(cx.diags)
    }
}
