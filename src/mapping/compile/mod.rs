//! Spec → plan. Everything that can be checked without an input is checked
//! when the mapping loads (patterns, formats, locales, lookup files); column
//! names are resolved against each input's headers before its first row,
//! with "did you mean" for a name that is not there. Every mistake is
//! collected, each with its place in the mapping file.
//!
//! The parts: `plan` (what a mapping compiles to: [`Plan`], its [`Field`]s
//! and skip rules), `source` (the `[source]` table as reader options:
//! [`source_spec`]), `field` (one field spec checked and compiled, its
//! columns resolved, its patterns, lookups and types) and, here,
//! [`compile`], which compiles every field of the mapping and its grouping
//! and skip rules.

mod field;
mod plan;
mod source;

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
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

type FieldList<'a> = Vec<(&'a Option<FieldSpec>, &'static str, Ty)>;

/// Limits the mapping alone breaks, whatever the rows: more metadata keys
/// than the API takes (`reserved` of them taken by the program: the
/// import key on a document), a key too long, a constant value too long.
/// Each is a mistake at its line, not a problem on every document.
fn metadata_limits(
    cx: &mut Ctx,
    md: &std::collections::BTreeMap<String, FieldSpec>,
    what: &str,
    reserved: usize,
) {
    let max = METADATA_MAX_KEYS - reserved;
    let mut in_order: Vec<(&String, &FieldSpec)> = md.iter().collect();
    in_order.sort_by_key(|(_, f)| f.0.span().start);
    if let Some((k, f)) = in_order.get(max) {
        let why = if reserved > 0 {
            format!(" ({METADATA_MAX_KEYS} less the import key, which takes one)")
        } else {
            String::new()
        };
        cx.diags.push(
            Diag::at(
                f.0.span(),
                format!(
                    "the {what}'s metadata has {} keys; the API takes at most {max}{why}: `{k}` is one too many",
                    md.len()
                ),
            )
            .help("drop keys, or join values into one key"),
        );
    }
    for (k, f) in &in_order {
        if k.len() > METADATA_KEY_MAX_BYTES {
            cx.diags.push(Diag::at(
                f.0.span(),
                format!(
                    "the metadata key `{}` is {} bytes long; the API takes at most {METADATA_KEY_MAX_BYTES} (UTF-8: Cyrillic and diacritics count double)",
                    crate::model::text::cut(k),
                    k.len()
                ),
            ));
        }
        constant_limit(
            cx,
            f,
            &format!("{what}.metadata.{k}"),
            METADATA_VALUE_MAX_BYTES,
            "bytes",
        );
    }
}

/// A constant (`value = ...`, or a `default`) longer than its field takes:
/// `max` characters or bytes.
fn constant_limit(cx: &mut Ctx, f: &FieldSpec, field: &str, max: usize, unit: &str) {
    let t = f.0.get_ref();
    for v in [&t.value, &t.default].into_iter().flatten() {
        let Some(text) = v.get_ref().as_str() else {
            continue;
        };
        let n = if unit == "bytes" {
            text.len()
        } else {
            text.chars().count()
        };
        if n > max {
            cx.diags.push(Diag::at(
                v.span(),
                format!(
                    "the constant of `{field}` is {n} {unit} long; the API takes at most {max}"
                ),
            ));
        }
    }
}

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

/// The slots of a wide layout: `values` as they are, or `from`..=`to`
/// (without `to`: while a `{n}` column exists), each as the text `{n}`
/// becomes.
fn wide_slots(
    w: &spec::WideSpec,
    line_fields: &FieldList,
    l: &spec::LineSpec,
    cx: &mut Ctx,
) -> Vec<String> {
    let to = w.to.as_ref().map(|t| (*t.get_ref(), t.span()));
    // Columns with {n} in them, to see how far an open range goes.
    let wide_columns: Vec<String> = line_fields
        .iter()
        .filter_map(|(f, _, _)| f.as_ref())
        .chain(l.metadata.values())
        .filter_map(|f| f.0.get_ref().column.as_ref().map(|c| c.get_ref().clone()))
        .filter(|c| c.contains("{n}"))
        .collect();
    let span = w
        .values
        .as_ref()
        .map(|v| v.span.clone())
        .or(w.from.as_ref().map(|f| f.span()))
        .or(to.as_ref().map(|t| t.1.clone()));
    if wide_columns.is_empty() {
        if let Some(ws) = span.clone() {
            cx.diags.push(
                Diag::at(ws, "line.wide is set but no line column contains {n}")
                    .help("name the repeated columns with {n}, e.g. column = \"Item{n} Qty\""),
            );
        }
    }
    if let Some(values) = &w.values {
        if w.from.is_some() || w.to.is_some() {
            cx.diags.push(
                Diag::at(
                    values.span.clone(),
                    "give wide.values or wide.from/to, not both",
                )
                .help("values names the slots; from and to number them"),
            );
        }
        if values.items.is_empty() || values.items.len() > 1000 {
            cx.diags.push(Diag::at(
                values.span.clone(),
                "wide.values lists from 1 to 1000 slots",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for v in &values.items {
            if !seen.insert(v.as_str()) {
                cx.diags.push(Diag::at(
                    values.span.clone(),
                    format!("wide.values lists {v:?} twice"),
                ));
            }
        }
        return values.items.iter().take(1000).cloned().collect();
    }
    let from = w.from.as_ref().map_or(1, |f| *f.get_ref());
    if let Some((to, span)) = &to {
        if *to < from || to - from > 1000 {
            cx.diags.push(Diag::at(
                span.clone(),
                format!("wide.to must be between {from} and {}", from + 1000),
            ));
        }
    }
    let last = match (&to, cx.headers.is_some()) {
        (Some((t, _)), _) => *t,
        (None, true) => {
            let mut n = from;
            while n - from < 1000
                && wide_columns
                    .iter()
                    .any(|c| cx.has_column(&c.replace("{n}", &n.to_string())))
            {
                n += 1;
            }
            (n - 1).max(from)
        }
        (None, false) => from,
    };
    (from..=last.min(from + 1000))
        .map(|n| n.to_string())
        .collect()
}
/// `resource`: documents (the default) or customer records.
fn record_of(spec: &spec::MappingSpec, diags: &mut Vec<Diag>) -> Record {
    match spec
        .resource
        .as_ref()
        .map(|r| (r.get_ref().as_str(), r.span()))
    {
        None | Some(("invoices", _)) => Record::Document,
        Some(("customers", _)) => Record::Customer,
        Some((other, span)) => {
            diags.push(
                Diag::at(span, format!("unknown resource {other:?}"))
                    .help("one of \"invoices\" (documents, the default) or \"customers\""),
            );
            Record::Document
        }
    }
}

/// A mapping of customer records maps a customer, and no document.
fn customers_only(spec: &spec::MappingSpec, diags: &mut Vec<Diag>) {
    let inv = &spec.invoice;
    let l = &spec.line;
    let documents = !inv.group_by.items.is_empty()
        || [
            &inv.kind,
            &inv.id,
            &inv.number,
            &inv.date,
            &inv.currency,
            &inv.name,
            &inv.notes,
        ]
        .iter()
        .any(|f| f.is_some())
        || !inv.metadata.is_empty()
        || l.name.is_some()
        || l.quantity.is_some()
        || l.unit_cost.is_some()
        || !spec.payment.is_empty();
    if documents {
        diags.push(
            Diag::new(
                None,
                "a mapping of customers (resource = \"customers\") maps no documents",
            )
            .help("remove [invoice], [line] and [[payment]], or the `resource` key"),
        );
    }
    if spec.customer.name.is_none() && spec.customer.number.is_none() {
        diags.push(Diag::new(
            None,
            "the mapping of customers maps neither [customer] name nor number",
        ));
    }
}

/// The explicit metadata fields, then those `metadata_prefix` gives.
fn with_prefixed(
    cx: &Ctx,
    explicit: &BTreeMap<String, FieldSpec>,
    prefix: &Option<toml::Spanned<String>>,
) -> Vec<(String, FieldSpec)> {
    let mut out: Vec<(String, FieldSpec)> = explicit
        .iter()
        .map(|(k, f)| (k.clone(), f.clone()))
        .collect();
    out.extend(prefixed(cx, prefix, explicit));
    out
}

/// The metadata fields that `metadata_prefix` gives: one per column of the
/// file whose name starts with it (not mapped explicitly), named by the rest.
fn prefixed(
    cx: &Ctx,
    prefix: &Option<toml::Spanned<String>>,
    explicit: &BTreeMap<String, FieldSpec>,
) -> Vec<(String, FieldSpec)> {
    let (Some(prefix), Some((headers, _))) = (prefix, cx.headers) else {
        return Vec::new();
    };
    let span = prefix.span();
    headers
        .iter()
        .filter_map(|h| {
            let key = h.strip_prefix(prefix.get_ref().as_str())?;
            if key.trim().is_empty() || explicit.contains_key(key) {
                return None;
            }
            let table = FieldTable {
                column: Some(toml::Spanned::new(span.clone(), h.clone())),
                ..Default::default()
            };
            Some((
                key.to_string(),
                FieldSpec(toml::Spanned::new(span.clone(), table)),
            ))
        })
        .collect()
}

/// `computed` keys name values the API computes (not `id` or `updated_at`,
/// which have keys of their own).
fn computed_keys(
    cx: &mut Ctx,
    computed: &BTreeMap<String, FieldSpec>,
    tables: &[&'static [ApiField]],
    what: &str,
) {
    let read_only = |k: &str| {
        k != "id"
            && k != "updated_at"
            && tables
                .iter()
                .any(|t| api::find(t, k).is_some_and(|f| !f.writable()))
    };
    for (k, f) in computed {
        if !read_only(k) {
            let mut names: Vec<&str> = tables
                .iter()
                .flat_map(|t| t.iter())
                .filter(|f| !f.writable() && f.name != "id" && f.name != "updated_at")
                .map(|f| f.name)
                .collect();
            names.sort_unstable();
            names.dedup();
            cx.diags.push(
                Diag::at(
                    f.0.span(),
                    format!("`{k}` is not a value the API computes for the {what}"),
                )
                .help(format!("computed values: {}", names.join(", "))),
            );
        }
    }
}

/// The API fields a round trip's compiled fields speak for.
fn scope_of(header: &[Field], line: Option<&Vec<Field>>) -> Scope {
    fn add<T: PartialEq>(v: &mut Vec<T>, x: T) {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    let mut s = Scope::default();
    for f in header {
        match &f.target {
            Target::Invoice(n) => match *n {
                "kind" | "id" | "updated_at" => {}
                "discount" => add(&mut s.fields, "discounts"),
                n if n.starts_with("checks.") => {}
                n => add(&mut s.fields, n),
            },
            Target::InvoiceMeta(k) => add(&mut s.metadata, k.clone()),
            Target::Customer(n) if *n != "id" && *n != "updated_at" => add(&mut s.customer, *n),
            Target::CustomerMeta(k) => add(&mut s.customer_metadata, k.clone()),
            _ => {}
        }
    }
    for f in line.into_iter().flatten() {
        match &f.target {
            Target::Line(n) => match *n {
                "id" => {}
                "discount" | "discount_percent" => add(&mut s.line, "discounts"),
                n if n.starts_with("check_") => {}
                n => add(&mut s.line, n),
            },
            Target::LineMeta(k) => add(&mut s.line_metadata, k.clone()),
            _ => {}
        }
    }
    s
}
