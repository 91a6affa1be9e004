//! Pages decoded without what no column reads: a page's objects as
//! [`Value`]s, with the named top-level fields skipped in the decoder
//! (checked as JSON, never built). An invoice's `items` are most of its
//! bytes; an export without `--lines` or control totals reads none of them.

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

use super::layout::Table;

/// The top-level fields an export of `tables` never reads; `totals`:
/// control totals are counted (they read the lines' taxes).
pub fn unread(tables: &[Table], totals: bool) -> Vec<String> {
    let reads_items = totals
        || tables.iter().any(|t| {
            t.per_line
                || t.columns.iter().any(|c| {
                    !c.field.line && c.field.segments.first().map(String::as_str) == Some("items")
                })
        });
    if reads_items {
        Vec::new()
    } else {
        vec!["items".to_string()]
    }
}

/// A page: a JSON array of objects, each without the `skip` fields.
#[derive(Clone, Copy)]
pub struct Objects<'a> {
    pub skip: &'a [String],
}

impl<'de> DeserializeSeed<'de> for Objects<'_> {
    type Value = Vec<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Objects<'_> {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element_seed(Object { skip: self.skip })? {
            out.push(v);
        }
        Ok(out)
    }
}

/// One element: an object without the `skip` fields. API.md's lists hold
/// objects only; anything else is a bad answer, reported as one.
struct Object<'a> {
    skip: &'a [String],
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.skip.contains(&key) {
                map.next_value::<IgnoredAny>()?;
            } else {
                let v: Value = map.next_value()?;
                obj.insert(key, v);
            }
        }
        Ok(Value::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str, skip: &[&str]) -> Vec<Value> {
        let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
        let mut de = serde_json::Deserializer::from_str(text);
        let v = Objects { skip: &skip }.deserialize(&mut de).unwrap();
        de.end().unwrap();
        v
    }

    #[test]
    fn skipped_fields_are_left_out_and_the_rest_is_as_serde_json_reads_it() {
        let text = r#"[{"id": 1, "items": [{"name": "a \"b\"", "taxes": [{"amount": "1.5"}]}],
            "number": "F-1", "total": 12.50, "metadata": {"items": 2}, "big": 18446744073709551615},
            {"id": 2, "customer": {"id": 7, "name": "Ана"}, "items": null}, {}]"#;
        let whole: Vec<Value> = serde_json::from_str(text).unwrap();
        let lean = decode(text, &["items"]);
        assert_eq!(lean.len(), whole.len());
        for (l, w) in lean.iter().zip(&whole) {
            let mut w = w.clone();
            if let Some(o) = w.as_object_mut() {
                o.shift_remove("items");
            }
            assert_eq!(l, &w);
        }
        // Nested fields of the same name are kept: only the top level is skipped.
        assert_eq!(lean[0]["metadata"]["items"], 2);
        // Key order is kept (preserve_order).
        let keys: Vec<_> = lean[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["id", "number", "total", "metadata", "big"]);
        assert_eq!(decode(text, &[]), whole);
    }

    #[test]
    fn items_are_skipped_only_when_nothing_reads_them() {
        use crate::export::layout::{Layout, LayoutRequest};
        use crate::export::Resource;
        let tables = |req: LayoutRequest| {
            Layout::build(Resource::Invoices, &req)
                .unwrap()
                .tables(true)
        };
        let plain = tables(LayoutRequest::default());
        assert_eq!(unread(&plain, false), ["items"]);
        // Control totals add up the lines' taxes.
        assert!(unread(&plain, true).is_empty());
        let lines = tables(LayoutRequest {
            lines: true,
            ..Default::default()
        });
        assert!(unread(&lines, false).is_empty());
        let picked = tables(LayoutRequest {
            columns: Some("number,items".into()),
            ..Default::default()
        });
        assert!(unread(&picked, false).is_empty());
    }

    #[test]
    fn a_broken_page_is_still_an_error() {
        let skip = vec!["items".to_string()];
        for bad in [
            r#"[{"id": 1, "items": [1, 2}]"#,
            r#"{"id": 1}"#,
            r#"[{"id": 1, "items": "unclosed]"#,
            r#"[{"id": 1}, 3]"#,
            r#"[{"id": 1}, null]"#,
        ] {
            let mut de = serde_json::Deserializer::from_str(bad);
            assert!(
                Objects { skip: &skip }.deserialize(&mut de).is_err(),
                "{bad}"
            );
        }
    }
}
