//! Lists (API.md "Lists"): the query parameters, and the pages as an async
//! stream that follows `Link: rel="next"` until there is none.

use super::client::{decode_seed, Client};
use super::error::ApiError;
use futures::stream::{self, BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use url::Url;

/// A list query. Every field is optional; `per_page` defaults to 100.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ListQuery {
    /// `filter[field]=value` (exact; booleans as `0`/`1`).
    pub filter: Vec<(String, String)>,
    /// `metadata[key]=value` (exact string match).
    pub metadata: Vec<(String, String)>,
    /// `field dir[,field dir]`.
    pub sort: Option<String>,
    /// Relations to expand (`customer`, `invoice`).
    pub expand: Vec<String>,
    /// Inclusive bounds on `date` (Unix seconds).
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    /// Strict bounds on `updated_at` (Unix seconds).
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    /// Defaults to 100 (the maximum).
    pub per_page: Option<u32>,
    /// The first page to fetch (from 1).
    pub page: Option<u32>,
}

impl ListQuery {
    pub fn filter(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.filter.push((field.into(), value.into()));
        self
    }

    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The query string pairs, brackets in keys unencoded (the URL encoder does that).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for (k, v) in &self.filter {
            q.push((format!("filter[{k}]"), v.clone()));
        }
        for (k, v) in &self.metadata {
            q.push((format!("metadata[{k}]"), v.clone()));
        }
        if let Some(s) = &self.sort {
            q.push(("sort".into(), s.clone()));
        }
        if !self.expand.is_empty() {
            q.push(("expand".into(), self.expand.join(",")));
        }
        let mut num = |k: &str, v: Option<i64>| {
            if let Some(v) = v {
                q.push((k.to_string(), v.to_string()));
            }
        };
        num("start_date", self.start_date);
        num("end_date", self.end_date);
        num("updated_after", self.updated_after);
        num("updated_before", self.updated_before);
        q.push((
            "per_page".into(),
            self.per_page
                .unwrap_or(crate::model::limits::PER_PAGE_MAX)
                .to_string(),
        ));
        if let Some(p) = self.page {
            q.push(("page".into(), p.to_string()));
        }
        q
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `X-Total-Count`: all matching objects, on every page.
    pub total: Option<u64>,
    /// The page number (from 1).
    pub page: u32,
}

/// The `Link` header's entries: `(rel, url)`, in order. URLs may contain
/// commas (`expand=customer,invoice`), so entries are split at `<`, not `,`.
pub fn parse_link_header(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let url = after[..close].trim().to_string();
        let params_and_more = &after[close + 1..];
        let end = params_and_more.find('<').unwrap_or(params_and_more.len());
        let params = &params_and_more[..end];
        for param in params.split(';') {
            let param = param.trim().trim_end_matches(',').trim();
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("rel") {
                    for rel in v.trim().trim_matches('"').split_whitespace() {
                        out.push((rel.to_ascii_lowercase(), url.clone()));
                    }
                }
            }
        }
        rest = &params_and_more[end..];
    }
    out
}

fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_header)
        .find(|(rel, _)| rel == "next")
        .map(|(_, url)| url)
}

fn total_count(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("x-total-count")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

struct Cursor {
    client: Client,
    next: Option<Result<Url, ApiError>>,
    page: u32,
}

/// One page fetched but not yet decoded: the body can be decoded elsewhere
/// ([`PageBody::decode`]), on another thread while the next page is fetched.
#[derive(Debug)]
pub struct PageBody {
    reply: super::client::Reply,
    /// `X-Total-Count`: all matching objects, on every page.
    pub total: Option<u64>,
    /// The page number (from 1).
    pub page: u32,
}

impl PageBody {
    /// The page's objects.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<Page<T>, ApiError> {
        self.decode_with(std::marker::PhantomData::<Vec<T>>)
    }

    /// The page's objects, decoded through `seed` (one that skips fields,
    /// for one).
    pub fn decode_with<T, S>(&self, seed: S) -> Result<Page<T>, ApiError>
    where
        S: for<'de> serde::de::DeserializeSeed<'de, Value = Vec<T>>,
    {
        Ok(Page {
            items: decode_seed("GET", &self.reply, seed)?,
            total: self.total,
            page: self.page,
        })
    }

    /// The request, as errors name it.
    pub fn request(&self) -> String {
        format!("GET {}", self.reply.url)
    }
}

impl Client {
    /// Every page of `path` matching `query`, following `Link: next`. The
    /// stream ends after the last page or after the first error.
    pub fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &ListQuery,
    ) -> BoxStream<'static, Result<Page<T>, ApiError>> {
        let bodies = self.list_bodies(path, query);
        stream::unfold((bodies, false), |(mut bodies, failed)| async move {
            if failed {
                return None;
            }
            let page = bodies.next().await?.and_then(|b| b.decode());
            let failed = page.is_err();
            Some((page, (bodies, failed)))
        })
        .boxed()
    }

    /// Every page of `path` matching `query` as [`Client::list`] fetches
    /// them, undecoded: the next page is only asked for once the stream is
    /// polled again (its link is in the headers, so decoding can lag).
    pub fn list_bodies(
        &self,
        path: &str,
        query: &ListQuery,
    ) -> BoxStream<'static, Result<PageBody, ApiError>> {
        let cursor = Cursor {
            client: self.clone(),
            next: Some(self.url_for(path, &query.to_pairs())),
            page: query.page.unwrap_or(1).max(1),
        };
        stream::unfold(cursor, |mut cur| async move {
            let url = match cur.next.take()? {
                Ok(url) => url,
                Err(e) => return Some((Err(e), cur)),
            };
            let reply = match cur.client.get_url(url.clone()).await {
                Ok(r) => r,
                Err(e) => return Some((Err(e), cur)),
            };
            let page = cur.page;
            cur.page += 1;
            cur.next = next_link(&reply.headers).map(|link| {
                url.join(&link).map_err(|e| ApiError::InvalidUrl {
                    url: link.clone(),
                    message: e.to_string(),
                })
            });
            let total = total_count(&reply.headers);
            Some((Ok(PageBody { reply, total, page }), cur))
        })
        .boxed()
    }

    /// Every object of every page, in order (small lists; large ones should
    /// consume [`Client::list`] page by page).
    pub async fn list_all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &ListQuery,
    ) -> Result<Vec<T>, ApiError> {
        let mut pages = self.list::<T>(path, query);
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            all.extend(page?.items);
        }
        Ok(all)
    }

    /// The first object matching `query`, if any (one small page).
    pub async fn find_first<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &ListQuery,
    ) -> Result<Option<T>, ApiError> {
        let q = ListQuery {
            per_page: Some(query.per_page.unwrap_or(1)),
            page: None,
            ..query.clone()
        };
        let mut pages = self.list::<T>(path, &q);
        match pages.next().await {
            Some(page) => Ok(page?.items.into_iter().next()),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_links_with_commas_in_urls() {
        let h = r#"<https://a.test/invoices?expand=customer,invoice&page=2>; rel="self", <https://a.test/invoices?page=1>; rel="first", <https://a.test/invoices?page=1>; rel="previous", <https://a.test/invoices?expand=customer,invoice&page=3>; rel="next", <https://a.test/invoices?page=3>; rel="last""#;
        let links = parse_link_header(h);
        let rels: Vec<&str> = links.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rels, ["self", "first", "previous", "next", "last"]);
        assert_eq!(
            links[3].1,
            "https://a.test/invoices?expand=customer,invoice&page=3"
        );
        assert!(parse_link_header("").is_empty());
        assert!(parse_link_header("garbage").is_empty());
    }

    #[test]
    fn query_pairs_use_brackets_and_ask_for_100() {
        let q = ListQuery {
            sort: Some("updated_at asc".into()),
            expand: vec!["customer".into(), "invoice".into()],
            updated_after: Some(99),
            ..ListQuery::default()
        }
        .filter("paid", "0")
        .metadata("import_key", "k1");
        let pairs = q.to_pairs();
        let has = |k: &str, v: &str| pairs.iter().any(|(a, b)| a == k && b == v);
        assert!(has("filter[paid]", "0"));
        assert!(has("metadata[import_key]", "k1"));
        assert!(has("expand", "customer,invoice"));
        assert!(has("updated_after", "99"));
        assert!(has("per_page", "100"));
        assert!(has("sort", "updated_at asc"));
    }
}
