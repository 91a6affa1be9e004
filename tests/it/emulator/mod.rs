//! The emulator over loopback HTTP (reqwest against [`TestEmulator`]): every
//! point of API.md, one file per area.
//!
//! [`TestEmulator`]: crate::support::TestEmulator

mod auth;
mod basics;
mod cli;
mod faults;
mod lists;
mod stored;
mod writes;

use crate::support::Api;
use serde_json::Value;

/// GET a path and return (status, headers, JSON body).
pub async fn get_json(api: &Api, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = api.get(path).send().await.expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Send and return (status, JSON body).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.expect("request sent");
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The rels of a Link header, each with its URL.
pub fn links(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    let Some(v) = headers.get("link").and_then(|v| v.to_str().ok()) else {
        return vec![];
    };
    v.split(", ")
        .filter_map(|part| {
            let (url, rel) = part.split_once("; rel=\"")?;
            Some((
                rel.trim_end_matches('"').to_string(),
                url.trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string(),
            ))
        })
        .collect()
}

pub fn rel<'a>(links: &'a [(String, String)], name: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|(r, _)| r == name)
        .map(|(_, u)| u.as_str())
}

/// A customer and return its id.
pub async fn customer(api: &Api, name: &str) -> i64 {
    api.create("/customers", serde_json::json!({ "name": name }))
        .await["id"]
        .as_i64()
        .expect("customer id")
}
