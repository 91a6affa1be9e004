//! `expand`: relation ids (`customer`, `invoice`, `applied_to[].invoice`)
//! replaced by their objects, in a value or, for `customer` alone, spliced
//! into the object's text without parsing it.

use crate::emulator::resources::Kind;
use crate::emulator::store::{Company, Key};
use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
