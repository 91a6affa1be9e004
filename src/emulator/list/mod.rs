//! Lists as API.md says: `page`/`per_page` (capped at 100), `sort`, the
//! `filter[...]` whitelist, `metadata[...]`, inclusive `start_date`/`end_date`,
//! strict `updated_after`/`updated_before`, `expand`, and the `Link` header
//! with self/first/previous/next/last. Query keys may arrive with raw or
//! percent-encoded brackets: they are decoded before matching.
//!
//! - `params`: the query string parsed into [`ListParams`], what an object
//!   must match, and the `Link` header.
//! - `expand`: relation ids replaced by their objects.
//!
//! This module runs a query over one company's table and cuts the page.

mod expand;
mod params;

pub use expand::expand_text;
pub use params::{expand_of, pairs, ListParams};

use super::reply::ErrorReply;
use super::resources::{value_dec, Kind};
use super::store::{CachedList, Company, Key, Obj, Table};
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::Arc;

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
}
