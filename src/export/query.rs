//! The list query of an export: `filter[...]`, `metadata[...]`, `expand`,
//! `sort`, `start_date`/`end_date` and `updated_after`, checked against
//! API.md before anything is sent.

use super::period::DateRange;
use super::resource::Resource;
use crate::api::ListQuery;
use crate::model::date::to_unix;
use crate::suggest::did_you_mean;
use chrono::NaiveDate;

/// A bad `--filter`, `--metadata`, `--expand` or `--sort`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid {flag} `{found}`: expected key=value")]
    Pair { flag: &'static str, found: String },
    #[error("{resource} cannot be filtered by `{key}`{}; filterable: {}", suggestion(.suggest), .allowed.join(", "))]
    NotFilterable {
        resource: Resource,
        key: String,
        suggest: Option<String>,
        allowed: Vec<String>,
    },
    #[error("invalid --filter {key}=`{found}`: expected {expected}")]
    Value {
        key: String,
        found: String,
        expected: &'static str,
    },
    #[error("invalid --expand `{found}`: {resource} can expand {}", .allowed.join(", "))]
    Expand {
        resource: Resource,
        found: String,
        allowed: Vec<String>,
    },
    #[error("invalid --sort `{found}`: {message}")]
    Sort { found: String, message: String },
}

fn suggestion(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// Split `key=value`.
pub fn parse_pair(flag: &'static str, s: &str) -> Result<(String, String), QueryError> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(QueryError::Pair {
            flag,
            found: s.to_string(),
        }),
    }
}

const BOOL_FILTERS: &[&str] = &["paid", "closed", "draft", "voided"];
const DATE_FILTERS: &[&str] = &["date", "due_date"];
const MONEY_FILTERS: &[&str] = &["total", "balance", "amount"];

/// Check a filter against the resource's filterable fields and put its value
/// in the API's form (booleans `0`/`1`, dates as Unix seconds).
pub fn check_filter(
    resource: Resource,
    key: &str,
    value: &str,
) -> Result<(String, String), QueryError> {
    let allowed = resource.filterable();
    if !allowed.contains(&key) {
        return Err(QueryError::NotFilterable {
            resource,
            key: key.to_string(),
            suggest: did_you_mean(key, allowed.iter().copied()).map(str::to_string),
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        });
    }
    let v = value.trim();
    let bad = |expected| QueryError::Value {
        key: key.to_string(),
        found: value.to_string(),
        expected,
    };
    let out = if BOOL_FILTERS.contains(&key) {
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => "1".to_string(),
            "0" | "false" | "no" => "0".to_string(),
            _ => return Err(bad("true or false (1 or 0)")),
        }
    } else if DATE_FILTERS.contains(&key) {
        if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            to_unix(d).to_string()
        } else if v.parse::<i64>().is_ok() {
            v.to_string()
        } else {
            return Err(bad("a date as YYYY-MM-DD or Unix seconds"));
        }
    } else if key == "customer" {
        if v.parse::<i64>().is_err() {
            return Err(bad("a customer id (a whole number)"));
        }
        v.to_string()
    } else if MONEY_FILTERS.contains(&key) {
        if v.parse::<rust_decimal::Decimal>().is_err() {
            return Err(bad("a number like 120.50"));
        }
        v.to_string()
    } else {
        value.to_string()
    };
    Ok((key.to_string(), out))
}

/// What may be expanded per resource.
pub fn expandable(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Customers => &[],
        Resource::Invoices => &["customer"],
        Resource::CreditNotes => &["customer", "invoice"],
        Resource::Payments => &["customer"],
    }
}

/// Check `--sort "date asc, number desc"` and normalise it.
pub fn check_sort(resource: Resource, s: &str) -> Result<String, QueryError> {
    let err = |message: String| QueryError::Sort {
        found: s.to_string(),
        message,
    };
    let mut parts = Vec::new();
    for term in s.split(',') {
        let mut words = term.split_whitespace();
        let Some(field) = words.next() else {
            return Err(err("expected `field asc|desc[, field asc|desc]`".into()));
        };
        let dir = words.next().unwrap_or("asc").to_ascii_lowercase();
        if words.next().is_some() || !(dir == "asc" || dir == "desc") {
            return Err(err(format!("expected `{field} asc` or `{field} desc`")));
        }
        let fields = resource.fields();
        if !fields.iter().any(|f| f.name == field) {
            let mut msg = format!("{resource} have no field `{field}`");
            if let Some(m) = did_you_mean(field, fields.iter().map(|f| f.name)) {
                msg.push_str(&format!(" (did you mean `{m}`?)"));
            }
            return Err(err(msg));
        }
        parts.push(format!("{field} {dir}"));
    }
    Ok(parts.join(","))
}

/// Build and check the query an export sends (`per_page` and `page` are
/// the client's).
pub fn build_query(
    resource: Resource,
    filters: &[(String, String)],
    metadata: &[(String, String)],
    expand: &[String],
    sort: Option<&str>,
    range: &DateRange,
) -> Result<ListQuery, QueryError> {
    let filter = filters
        .iter()
        .map(|(k, v)| check_filter(resource, k, v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ex: Vec<String> = Vec::new();
    for e in expand.iter().flat_map(|e| e.split(',')).map(str::trim) {
        if e.is_empty() {
            continue;
        }
        if !expandable(resource).contains(&e) {
            return Err(QueryError::Expand {
                resource,
                found: e.to_string(),
                allowed: expandable(resource).iter().map(|s| s.to_string()).collect(),
            });
        }
        if !ex.iter().any(|x| x == e) {
            ex.push(e.to_string());
        }
    }
    Ok(ListQuery {
        filter,
        metadata: metadata.to_vec(),
        expand: ex,
        sort: sort.map(|s| check_sort(resource, s)).transpose()?,
        start_date: range.start_unix(),
        end_date: range.end_unix(),
        ..ListQuery::default()
    })
}

/// Ask for `name` expanded, once.
pub fn ensure_expand(query: &mut ListQuery, name: &str) {
    if !query.expand.iter().any(|x| x == name) {
        query.expand.push(name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_and_normalised() {
        let r = Resource::Invoices;
        assert_eq!(check_filter(r, "paid", "true").unwrap().1, "1");
        assert_eq!(check_filter(r, "closed", "0").unwrap().1, "0");
        assert_eq!(
            check_filter(r, "date", "2024-01-05").unwrap().1,
            "1704405600"
        );
        assert_eq!(check_filter(r, "currency", "mdl").unwrap().1, "mdl");
        let e = check_filter(r, "stauts", "paid").unwrap_err().to_string();
        assert!(e.starts_with("invoices cannot be filtered by `stauts` (did you mean `status`?); filterable: number, customer, paid"), "{e}");
        let e = check_filter(Resource::Customers, "paid", "1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("filterable: number, name, email, tax_id, country, type"),
            "{e}"
        );
        assert!(check_filter(r, "paid", "maybe").is_err());
        assert!(check_filter(r, "customer", "SRL").is_err());
        assert!(check_filter(r, "total", "12,5").is_err());
    }

    #[test]
    fn pairs_and_sort() {
        assert_eq!(
            parse_pair("--filter", "a=b=c").unwrap(),
            ("a".into(), "b=c".into())
        );
        assert!(parse_pair("--filter", "novalue").is_err());
        assert_eq!(
            check_sort(Resource::Invoices, "date asc, number DESC").unwrap(),
            "date asc,number desc"
        );
        assert!(check_sort(Resource::Invoices, "dat asc")
            .unwrap_err()
            .to_string()
            .contains("did you mean `date`"));
        assert!(check_sort(Resource::Invoices, "date up").is_err());
        let q = build_query(
            Resource::Invoices,
            &[("paid".into(), "no".into())],
            &[("source".into(), "1c".into())],
            &["customer".into()],
            Some("date desc"),
            &DateRange::all(),
        )
        .unwrap();
        assert_eq!(
            q,
            ListQuery {
                filter: vec![("paid".to_string(), "0".to_string())],
                metadata: vec![("source".into(), "1c".into())],
                expand: vec!["customer".into()],
                sort: Some("date desc".into()),
                ..ListQuery::default()
            }
        );
        assert!(build_query(
            Resource::Customers,
            &[],
            &[],
            &["customer".into()],
            None,
            &DateRange::all()
        )
        .is_err());
    }
}
