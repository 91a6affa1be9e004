//! What a mapping's records are and what they speak for: a mapping of
//! customers alone, the metadata fields `metadata_prefix` gives, a round
//! trip's `computed` keys and the API fields its compiled fields cover.

use super::field::Ctx;
use super::*;

/// `resource`: documents (the default) or customer records.
pub(super) fn record_of(spec: &spec::MappingSpec, diags: &mut Vec<Diag>) -> Record {
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
pub(super) fn customers_only(spec: &spec::MappingSpec, diags: &mut Vec<Diag>) {
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
pub(super) fn with_prefixed(
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
pub(super) fn prefixed(
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
pub(super) fn computed_keys(
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
pub(super) fn scope_of(header: &[Field], line: Option<&Vec<Field>>) -> Scope {
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
