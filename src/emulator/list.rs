//! Lists as API.md says: `page`/`per_page` (capped at 100), `sort`, the
//! `filter[...]` whitelist, `metadata[...]`, inclusive `start_date`/`end_date`,
//! strict `updated_after`/`updated_before`, `expand`, and the `Link` header
//! with self/first/previous/next/last. Query keys may arrive with raw or
//! percent-encoded brackets: they are decoded before matching.

use super::reply::ErrorReply;
use super::resources::{value_dec, Kind};
use super::store::{CachedList, Company, Key, Obj, Table};
use crate::model::limits::PER_PAGE_MAX;
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::Arc;

/// A parsed list query.
#[derive(Debug, Default)]
pub struct ListParams {
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

fn int_param(name: &str, v: &str) -> Result<i64, ErrorReply> {
    v.trim().parse::<i64>().map_err(|_| {
        ErrorReply::param(
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

impl ListParams {
    pub fn parse(kind: Kind, raw: &str) -> Result<ListParams, ErrorReply> {
        let mut q = ListParams {
            pairs: pairs(raw),
            page: 1,
            per_page: PER_PAGE_MAX as u64,
            ..Default::default()
        };
        for (k, v) in q.pairs.clone() {
            match k.as_str() {
                "page" => {
                    q.page = v.trim().parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
                        ErrorReply::param(
                            format!("Invalid page: expected a whole number from 1, found {v:?}"),
                            "page",
                        )
                    })?
                }
                "per_page" => {
                    let n: u64 = v.trim().parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
                        ErrorReply::param(
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
                            return Err(ErrorReply::param(msg, "filter"));
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

    /// The top-level fields that matching and sorting read.
    fn fields(&self, kind: Kind) -> Vec<&str> {
        let mut names: Vec<&str> = self.filters.iter().map(|(f, _)| f.as_str()).collect();
        if !self.metadata.is_empty() {
            names.push("metadata");
        }
        if self.start_date.is_some() || self.end_date.is_some() {
            names.push(kind.date_field());
        }
        if self.updated_after.is_some() || self.updated_before.is_some() {
            names.push("updated_at");
        }
        names.extend(self.sort.iter().map(|(f, _)| f.as_str()));
        names
    }

    fn matches(&self, kind: Kind, obj: &Value) -> Result<bool, ErrorReply> {
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

fn parse_sort(v: &str) -> Result<Vec<(String, bool)>, ErrorReply> {
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
                return Err(ErrorReply::param(
                    format!("Invalid sort {part:?}: expected `field asc` or `field desc`"),
                    "sort",
                ))
            }
        };
        if !ok_field || words.next().is_some() {
            return Err(ErrorReply::param(
                format!("Invalid sort {part:?}: expected `field asc` or `field desc`"),
                "sort",
            ));
        }
        out.push((field.to_string(), asc));
    }
    Ok(out)
}

fn filter_matches(have: Option<&Value>, field: &str, want: &str) -> Result<bool, ErrorReply> {
    Ok(match have {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => {
            let w = match want {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(ErrorReply::param(
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

/// Replace relation ids by their objects.
pub fn expand(company: Option<&Company>, obj: &mut Value, expands: &[String]) {
    let Some(company) = company else { return };
    for e in expands {
        match e.as_str() {
            "customer" => {
                if let Some(slot) = obj.get_mut("customer") {
                    if let Some(id) = slot.as_i64() {
                        if let Some(c) = company.get(Kind::Customer, &Key::Num(id)) {
                            *slot = c.into_owned();
                        }
                    }
                }
            }
            "invoice" => {
                if let Some(slot) = obj.get_mut("invoice") {
                    if let Some(id) = slot.as_i64() {
                        if let Some(c) = company.get(Kind::Invoice, &Key::Num(id)) {
                            *slot = c.into_owned();
                        }
                    }
                }
                if let Some(Value::Array(apps)) = obj.get_mut("applied_to") {
                    for a in apps {
                        if let Some(slot) = a.get_mut("invoice") {
                            if let Some(id) = slot.as_i64() {
                                if let Some(c) = company.get(Kind::Invoice, &Key::Num(id)) {
                                    *slot = c.into_owned();
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

/// One page of a list: the objects' JSON texts.
pub struct Page {
    pub items: Vec<bytes::Bytes>,
    pub total: usize,
    pub link: String,
}

/// A sort field's value, read once per object so that comparing two
/// objects parses nothing (nulls, then booleans, numbers by value, strings, anything else).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey<'a> {
    Null,
    Bool(bool),
    Num(Option<rust_decimal::Decimal>),
    Str(&'a str),
    Other,
}

impl<'a> SortKey<'a> {
    fn of(v: Option<&'a Value>) -> SortKey<'a> {
        match v {
            None | Some(Value::Null) => SortKey::Null,
            Some(Value::Bool(b)) => SortKey::Bool(*b),
            Some(n @ Value::Number(_)) => SortKey::Num(match n.as_i64() {
                Some(i) => Some(i.into()),
                None => value_dec(n),
            }),
            Some(Value::String(s)) => SortKey::Str(s),
            Some(_) => SortKey::Other,
        }
    }
}

impl ListParams {
    /// Whether the query keeps every object in id order, so that a page is
    /// a slice of the id index: no filter, no bound, no sort but `id`.
    fn plain(&self) -> Option<bool> {
        let unfiltered = self.filters.is_empty()
            && self.metadata.is_empty()
            && self.start_date.is_none()
            && self.end_date.is_none()
            && self.updated_after.is_none()
            && self.updated_before.is_none();
        if !unfiltered {
            return None;
        }
        match self.sort.as_slice() {
            [] => Some(true),
            [(f, asc)] if f == "id" => Some(*asc),
            _ => None,
        }
    }

    fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = usize::try_from((self.page - 1).saturating_mul(self.per_page))
            .unwrap_or(usize::MAX)
            .min(total);
        let end = start.saturating_add(self.per_page as usize).min(total);
        start..end
    }
}

/// Run a list query over one company's table. Matching and ordering work
/// on references; only the page's objects are composed or expanded. With
/// no filter and the default order a page is a slice of the id index;
/// otherwise the ordered list is kept (per table, until the next change to
/// it), so that the next page of the same query is a slice too.
pub fn list(
    company: Option<&Company>,
    kind: Kind,
    q: &ListParams,
    base: &str,
) -> Result<Page, ErrorReply> {
    let table = company.and_then(|c| c.tables.get(&kind));
    let (total, page): (usize, Vec<(&Key, &Arc<Obj>)>) = match (table, q.plain()) {
        (None, _) => (0, Vec::new()),
        (Some(t), Some(asc)) => {
            let order = t.order();
            let total = order.len();
            let r = q.range(total);
            let keys = if asc {
                &order[r]
            } else {
                &order[total - r.end..total - r.start]
            };
            let mut page: Vec<_> = keys
                .iter()
                .filter_map(|k| t.rows().get_key_value(k))
                .collect();
            if !asc {
                page.reverse();
            }
            (total, page)
        }
        (Some(t), None) => {
            let positions = ordered(t, kind, q)?;
            let order = t.order();
            let r = q.range(positions.len());
            let page = positions[r]
                .iter()
                .filter_map(|&i| order.get(i as usize))
                .filter_map(|k| t.rows().get_key_value(k))
                .collect();
            (positions.len(), page)
        }
    };
    let last = (total as u64).div_ceil(q.per_page).max(1);
    let items = page
        .into_iter()
        .map(|(_, v)| {
            let text = Table::shown(v);
            if q.expand.is_empty() {
                return text;
            }
            expand_text(company, &text, &q.expand)
        })
        .collect();
    Ok(Page {
        items,
        total,
        link: q.link(base, last),
    })
}

/// An object's text with relations expanded.
pub fn expand_text(
    company: Option<&Company>,
    text: &bytes::Bytes,
    expands: &[String],
) -> bytes::Bytes {
    if expands.iter().any(|e| e == "invoice") {
        let Ok(mut v) = serde_json::from_slice::<Value>(text) else {
            return text.clone();
        };
        expand(company, &mut v, expands);
        return serde_json::to_vec(&v)
            .map(bytes::Bytes::from)
            .unwrap_or_else(|_| text.clone());
    }
    if !expands.iter().any(|e| e == "customer") {
        return text.clone();
    }
    // Only `customer`: its id's text is replaced by the customer's text,
    // which is what expanding the value and serializing it would write.
    let Some(company) = company else {
        return text.clone();
    };
    let Some(span) = field_span(text, "customer") else {
        return text.clone();
    };
    let id = std::str::from_utf8(&text[span.clone()])
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.as_i64());
    let Some(c) = id.and_then(|id| company.obj(Kind::Customer, &Key::Num(id))) else {
        return text.clone();
    };
    let mut out = Vec::with_capacity(text.len() + c.text().len());
    out.extend_from_slice(&text[..span.start]);
    out.extend_from_slice(c.text());
    out.extend_from_slice(&text[span.end..]);
    out.into()
}

/// Where the value of the top-level `field` of a JSON object's text is.
fn field_span(text: &[u8], field: &str) -> Option<std::ops::Range<usize>> {
    fn ws(t: &[u8], mut i: usize) -> usize {
        while t.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    }
    /// `t[i]` opens a string: the index after it closes.
    fn string_end(t: &[u8], mut i: usize) -> Option<usize> {
        i += 1;
        loop {
            match t.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    }
    fn value_end(t: &[u8], mut i: usize) -> Option<usize> {
        match t.get(i)? {
            b'"' => string_end(t, i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match t.get(i)? {
                        b'"' => {
                            i = string_end(t, i)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => {
                while !matches!(t.get(i), None | Some(b',' | b'}' | b']'))
                    && !t[i].is_ascii_whitespace()
                {
                    i += 1;
                }
                Some(i)
            }
        }
    }
    let mut i = ws(text, 0);
    if text.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(text, i + 1);
    while text.get(i) == Some(&b'"') {
        let key_end = string_end(text, i)?;
        let key = &text[i + 1..key_end - 1];
        i = ws(text, key_end);
        if text.get(i) != Some(&b':') {
            return None;
        }
        let start = ws(text, i + 1);
        let end = value_end(text, start)?;
        if key == field.as_bytes() {
            return Some(start..end);
        }
        i = ws(text, end);
        if text.get(i) == Some(&b',') {
            i = ws(text, i + 1);
        }
    }
    None
}

/// How many ordered lists a table keeps.
const CACHED_LISTS: usize = 4;

/// The positions (in the table's key order) of the objects matching the
/// query, in the query's order: from the table's cache when the table has
/// not changed since, else computed and cached.
fn ordered(t: &Table, kind: Kind, q: &ListParams) -> Result<Arc<Vec<u32>>, ErrorReply> {
    let query = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        q.filters, q.metadata, q.sort, q.start_date, q.end_date, q.updated_after, q.updated_before
    );
    let generation = t.generation();
    {
        let mut lists = t.lists.lock().unwrap_or_else(|e| e.into_inner());
        lists.retain(|l| l.generation == generation);
        if let Some(i) = lists.iter().position(|l| l.query == query) {
            let hit = lists.remove(i);
            let positions = hit.positions.clone();
            lists.push(hit);
            return Ok(positions);
        }
    }
    let positions = Arc::new(sorted(matching(t, kind, q)?, q));
    let mut lists = t.lists.lock().unwrap_or_else(|e| e.into_inner());
    if lists.len() >= CACHED_LISTS {
        lists.remove(0);
    }
    lists.push(CachedList {
        query,
        generation,
        positions: positions.clone(),
    });
    Ok(positions)
}

/// The objects matching the query's filters, in id order, as positions
/// in the table's key order, with the fields the query reads.
fn matching(t: &Table, kind: Kind, q: &ListParams) -> Result<Vec<(u32, Value)>, ErrorReply> {
    let mut hits = Vec::new();
    let names = q.fields(kind);
    // `filter[number]` goes through the number index.
    let by_number = q
        .filters
        .iter()
        .find(|(f, _)| f == "number")
        .map(|(_, n)| n.to_lowercase());
    match by_number {
        Some(n) if !t.numbers.is_empty() => {
            if let Some((k, v)) = t.numbers.get(&n).and_then(|k| t.rows().get_key_value(k)) {
                if let Ok(i) = t.order().binary_search(k) {
                    let v = v.fields(&names);
                    if q.matches(kind, &v)? {
                        hits.push((i as u32, v));
                    }
                }
            }
        }
        _ => {
            // The rows iterate in key order, so their index is their position.
            for (i, v) in t.rows().values().enumerate() {
                let v = v.fields(&names);
                if q.matches(kind, &v)? {
                    hits.push((i as u32, v));
                }
            }
        }
    }
    Ok(hits)
}

/// The positions of `hits` (in id order) under the query's sort, with the
/// sort keys read once per object; ties keep id order.
fn sorted(hits: Vec<(u32, Value)>, q: &ListParams) -> Vec<u32> {
    if q.sort.is_empty() {
        return hits.into_iter().map(|(i, _)| i).collect();
    }
    let m = q.sort.len();
    let keys: Vec<SortKey<'_>> = hits
        .iter()
        .flat_map(|(_, v)| q.sort.iter().map(|(f, _)| SortKey::of(v.get(f))))
        .collect();
    let mut idx: Vec<usize> = (0..hits.len()).collect();
    idx.sort_by(|&a, &b| {
        let (ka, kb) = (&keys[a * m..a * m + m], &keys[b * m..b * m + m]);
        for ((x, y), (_, asc)) in ka.iter().zip(kb).zip(&q.sort) {
            let o = x.cmp(y);
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    idx.into_iter().map(|i| hits[i].0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets_raw_or_encoded() {
        let a = ListParams::parse(Kind::Invoice, "filter[paid]=0&metadata[k]=v").unwrap();
        let b = ListParams::parse(Kind::Invoice, "filter%5Bpaid%5D=0&metadata%5Bk%5D=v").unwrap();
        assert_eq!(a.filters, b.filters);
        assert_eq!(a.metadata, b.metadata);
        assert!(ListParams::parse(Kind::Invoice, "filter[notes]=x").is_err());
    }

    /// The order objects had when values were compared pairwise.
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
            (Some(x @ Value::Number(_)), Some(y @ Value::Number(_))) => {
                value_dec(x).cmp(&value_dec(y))
            }
            (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
            _ => rank(a).cmp(&rank(b)),
        }
    }

    #[test]
    fn sort_keys_order_as_values_do() {
        let vals = [
            None,
            Some(json!(null)),
            Some(json!(false)),
            Some(json!(true)),
            Some(json!(-3)),
            Some(json!(2)),
            Some(json!(2.0)),
            Some(json!(2.5)),
            Some(json!(10)),
            Some(json!(1e40)),
            Some(json!("")),
            Some(json!("B")),
            Some(json!("a")),
            Some(json!([1])),
            Some(json!({"a": 1})),
        ];
        for a in &vals {
            for b in &vals {
                assert_eq!(
                    SortKey::of(a.as_ref()).cmp(&SortKey::of(b.as_ref())),
                    cmp_values(a.as_ref(), b.as_ref()),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn field_spans_skip_nested_values_and_strings() {
        let text = br#"{"id":1,"items":[{"customer":9,"s":"a\"}],"}],"name":"x,\"customer\":","customer":12,"z":{"customer":3}}"#;
        let span = field_span(text, "customer").unwrap();
        assert_eq!(&text[span], b"12");
        assert_eq!(&text[field_span(text, "z").unwrap()], br#"{"customer":3}"#);
        assert_eq!(
            field_span(br#"{"customer": null }"#, "customer"),
            Some(13..17)
        );
        assert_eq!(field_span(br#"{"a":1}"#, "customer"), None);
        assert_eq!(field_span(b"[1]", "customer"), None);
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
