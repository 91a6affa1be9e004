//! Lists as API.md says: `page`/`per_page` (capped at 100), `sort`, the
//! `filter[...]` whitelist, `metadata[...]`, inclusive `start_date`/`end_date`,
//! strict `updated_after`/`updated_before`, `expand`, and the `Link` header
//! with self/first/previous/next/last. Query keys may arrive with raw or
//! percent-encoded brackets: they are decoded before matching.

use super::http::ApiError;
use super::resources::{value_dec, Kind};
use super::store::{Company, Key};
use crate::model::limits::PER_PAGE_MAX;
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::Arc;

/// A parsed list query.
#[derive(Debug, Default)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
    page: u64,
    per_page: u64,
    sort: Vec<(String, bool)>,
    filters: Vec<(String, String)>,
    metadata: Vec<(String, String)>,
    start_date: Option<i64>,
    end_date: Option<i64>,
    updated_after: Option<i64>,
    updated_before: Option<i64>,
    pub expand: Vec<String>,
}

/// Decoded `key=value` pairs of a query string.
pub fn pairs(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `expand=customer,invoice` from a query string.
pub fn expand_of(raw: &str) -> Vec<String> {
    pairs(raw)
        .into_iter()
        .filter(|(k, _)| k == "expand")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn int_param(name: &str, v: &str) -> Result<i64, ApiError> {
    v.trim().parse::<i64>().map_err(|_| {
        ApiError::param(
            format!("Invalid {name}: expected an integer (Unix seconds), found {v:?}"),
            name,
        )
    })
}

fn bracket<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    key.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')
}

impl ListQuery {
    pub fn parse(kind: Kind, raw: &str) -> Result<ListQuery, ApiError> {
        let mut q = ListQuery {
            pairs: pairs(raw),
            page: 1,
            per_page: PER_PAGE_MAX as u64,
            ..Default::default()
        };
        for (k, v) in q.pairs.clone() {
            match k.as_str() {
                "page" => {
                    q.page = v.trim().parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
                        ApiError::param(
                            format!("Invalid page: expected a whole number from 1, found {v:?}"),
                            "page",
                        )
                    })?
                }
                "per_page" => {
                    let n: u64 = v.trim().parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
                        ApiError::param(
                            format!(
                                "Invalid per_page: expected a whole number from 1 to {PER_PAGE_MAX}, found {v:?}"
                            ),
                            "per_page",
                        )
                    })?;
                    q.per_page = n.min(PER_PAGE_MAX as u64);
                }
                "sort" => q.sort = parse_sort(&v)?,
                "start_date" => q.start_date = Some(int_param("start_date", &v)?),
                "end_date" => q.end_date = Some(int_param("end_date", &v)?),
                "updated_after" => q.updated_after = Some(int_param("updated_after", &v)?),
                "updated_before" => q.updated_before = Some(int_param("updated_before", &v)?),
                "expand" => q.expand.extend(
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                ),
                _ => {
                    if let Some(field) = bracket(&k, "filter") {
                        if !kind.filterable().contains(&field) {
                            let allowed = kind.filterable();
                            let msg = if allowed.is_empty() {
                                format!(
                                    "Cannot filter {} by {field}: no field is filterable",
                                    kind.path()
                                )
                            } else {
                                format!(
                                    "Cannot filter {} by {field}; filterable fields: {}",
                                    kind.path(),
                                    allowed.join(", ")
                                )
                            };
                            return Err(ApiError::param(msg, "filter"));
                        }
                        q.filters.push((field.to_string(), v));
                    } else if let Some(key) = bracket(&k, "metadata") {
                        q.metadata.push((key.to_string(), v));
                    }
                    // Other parameters are ignored, as the service does.
                }
            }
        }
        Ok(q)
    }

    fn matches(&self, kind: Kind, obj: &Value) -> Result<bool, ApiError> {
        for (field, want) in &self.filters {
            if !filter_matches(obj.get(field), field, want)? {
                return Ok(false);
            }
        }
        if !self.metadata.is_empty() {
            let meta = obj.get("metadata");
            for (k, want) in &self.metadata {
                match meta.and_then(|m| m.get(k)).and_then(Value::as_str) {
                    Some(v) if v == want => {}
                    _ => return Ok(false),
                }
            }
        }
        if self.start_date.is_some() || self.end_date.is_some() {
            let Some(d) = obj.get(kind.date_field()).and_then(Value::as_i64) else {
                return Ok(false);
            };
            if self.start_date.is_some_and(|s| d < s) || self.end_date.is_some_and(|e| d > e) {
                return Ok(false);
            }
        }
        if self.updated_after.is_some() || self.updated_before.is_some() {
            let u = obj.get("updated_at").and_then(Value::as_i64).unwrap_or(0);
            if self.updated_after.is_some_and(|a| u <= a)
                || self.updated_before.is_some_and(|b| u >= b)
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The `Link` header for `page` of `last` pages at `base` (`http://host/path`).
    fn link(&self, base: &str, last: u64) -> String {
        let url = |page: u64| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            let mut placed = false;
            for (k, v) in &self.pairs {
                if k == "page" {
                    if !placed {
                        s.append_pair("page", &page.to_string());
                        placed = true;
                    }
                } else {
                    s.append_pair(k, v);
                }
            }
            if !placed {
                s.append_pair("page", &page.to_string());
            }
            format!("{base}?{}", s.finish())
        };
        let mut rels = vec![
            format!("<{}>; rel=\"self\"", url(self.page)),
            format!("<{}>; rel=\"first\"", url(1)),
        ];
        if self.page > 1 {
            rels.push(format!(
                "<{}>; rel=\"previous\"",
                url((self.page - 1).min(last))
            ));
        }
        if self.page < last {
            rels.push(format!("<{}>; rel=\"next\"", url(self.page + 1)));
        }
        rels.push(format!("<{}>; rel=\"last\"", url(last)));
        rels.join(", ")
    }
}

fn parse_sort(v: &str) -> Result<Vec<(String, bool)>, ApiError> {
    let mut out = Vec::new();
    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut words = part.split_whitespace();
        let field = words.next().unwrap_or_default();
        let dir = words.next().unwrap_or("asc").to_ascii_lowercase();
        let ok_field = field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let asc = match dir.as_str() {
            "asc" => true,
            "desc" => false,
            _ => {
                return Err(ApiError::param(
                    format!("Invalid sort {part:?}: expected `field asc` or `field desc`"),
                    "sort",
                ))
            }
        };
        if !ok_field || words.next().is_some() {
            return Err(ApiError::param(
                format!("Invalid sort {part:?}: expected `field asc` or `field desc`"),
                "sort",
            ));
        }
        out.push((field.to_string(), asc));
    }
    Ok(out)
}

fn filter_matches(have: Option<&Value>, field: &str, want: &str) -> Result<bool, ApiError> {
    Ok(match have {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => {
            let w = match want {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(ApiError::param(
                        format!("Invalid filter[{field}]: expected 0 or 1, found {want:?}"),
                        "filter",
                    ))
                }
            };
            *b == w
        }
        Some(v @ Value::Number(_)) => match (value_dec(v), value_dec(&Value::from(want))) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        Some(Value::String(s)) => s == want,
        Some(_) => false,
    })
}

fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let rank = |v: Option<&Value>| match v {
        None | Some(Value::Null) => 0,
        Some(Value::Bool(_)) => 1,
        Some(Value::Number(_)) => 2,
        Some(Value::String(_)) => 3,
        Some(_) => 4,
    };
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(x @ Value::Number(_)), Some(y @ Value::Number(_))) => value_dec(x).cmp(&value_dec(y)),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Replace relation ids by their objects.
pub fn expand(company: Option<&Company>, obj: &mut Value, expands: &[String]) {
    let Some(company) = company else { return };
    for e in expands {
        match e.as_str() {
            "customer" => {
                if let Some(slot) = obj.get_mut("customer") {
                    if let Some(id) = slot.as_i64() {
                        if let Some(c) = company.get(Kind::Customer, &Key::Num(id)) {
                            *slot = c.clone();
                        }
                    }
                }
            }
            "invoice" => {
                if let Some(slot) = obj.get_mut("invoice") {
                    if let Some(id) = slot.as_i64() {
                        if let Some(c) = company.get(Kind::Invoice, &Key::Num(id)) {
                            *slot = c.clone();
                        }
                    }
                }
                if let Some(Value::Array(apps)) = obj.get_mut("applied_to") {
                    for a in apps {
                        if let Some(slot) = a.get_mut("invoice") {
                            if let Some(id) = slot.as_i64() {
                                if let Some(c) = company.get(Kind::Invoice, &Key::Num(id)) {
                                    *slot = c.clone();
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// One page of a list.
pub struct Page {
    pub items: Vec<Arc<Value>>,
    pub total: usize,
    pub link: String,
}

/// Run a list query over one company's table.
pub fn list(
    company: Option<&Company>,
    kind: Kind,
    q: &ListQuery,
    base: &str,
) -> Result<Page, ApiError> {
    let mut hits: Vec<&Arc<Value>> = Vec::new();
    if let Some(t) = company.and_then(|c| c.tables.get(&kind)) {
        for v in t.rows.values() {
            if q.matches(kind, v)? {
                hits.push(v);
            }
        }
    }
    if !q.sort.is_empty() {
        // Stable: rows come in id order, so `id asc` is the final tie-breaker.
        hits.sort_by(|a, b| {
            for (f, asc) in &q.sort {
                let o = cmp_values(a.get(f), b.get(f));
                let o = if *asc { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let total = hits.len();
    let last = (total as u64).div_ceil(q.per_page).max(1);
    let start = ((q.page - 1) * q.per_page) as usize;
    let items = hits
        .into_iter()
        .skip(start)
        .take(q.per_page as usize)
        .map(|v| {
            if q.expand.is_empty() {
                return v.clone();
            }
            let mut v = (**v).clone();
            expand(company, &mut v, &q.expand);
            Arc::new(v)
        })
        .collect();
    Ok(Page {
        items,
        total,
        link: q.link(base, last),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_raw_or_encoded() {
        let a = ListQuery::parse(Kind::Invoice, "filter[paid]=0&metadata[k]=v").unwrap();
        let b = ListQuery::parse(Kind::Invoice, "filter%5Bpaid%5D=0&metadata%5Bk%5D=v").unwrap();
        assert_eq!(a.filters, b.filters);
        assert_eq!(a.metadata, b.metadata);
        assert!(ListQuery::parse(Kind::Invoice, "filter[notes]=x").is_err());
    }

    #[test]
    fn sorts_parse() {
        assert_eq!(
            parse_sort("updated_at desc, number").unwrap(),
            vec![("updated_at".into(), false), ("number".into(), true)]
        );
        assert!(parse_sort("number sideways").is_err());
    }
}
