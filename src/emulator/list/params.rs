//! The list query as the client sends it: `page`/`per_page` (capped at
//! 100), `sort`, the `filter[...]` whitelist, `metadata[...]`, the date
//! and `updated_*` bounds and `expand`, parsed into [`ListParams`] (keys
//! with raw or percent-encoded brackets); what an object must match to be
//! listed; and the `Link` header of a page.

use crate::emulator::reply::ErrorReply;
use crate::emulator::resources::{value_dec, Kind};
use crate::model::limits::PER_PAGE_MAX;
use serde_json::Value;

/// A parsed list query.
#[derive(Debug, Default)]
pub struct ListParams {
    pairs: Vec<(String, String)>,
    pub(super) page: u64,
    pub(super) per_page: u64,
    pub(super) sort: Vec<(String, bool)>,
    pub(super) filters: Vec<(String, String)>,
    pub(super) metadata: Vec<(String, String)>,
    pub(super) start_date: Option<i64>,
    pub(super) end_date: Option<i64>,
    pub(super) updated_after: Option<i64>,
    pub(super) updated_before: Option<i64>,
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
    pub(super) fn fields(&self, kind: Kind) -> Vec<&str> {
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

    pub(super) fn matches(&self, kind: Kind, obj: &Value) -> Result<bool, ErrorReply> {
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
    pub(super) fn link(&self, base: &str, last: u64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_raw_or_encoded() {
        let a = ListParams::parse(Kind::Invoice, "filter[paid]=0&metadata[k]=v").unwrap();
        let b = ListParams::parse(Kind::Invoice, "filter%5Bpaid%5D=0&metadata%5Bk%5D=v").unwrap();
        assert_eq!(a.filters, b.filters);
        assert_eq!(a.metadata, b.metadata);
        assert!(ListParams::parse(Kind::Invoice, "filter[notes]=x").is_err());
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
