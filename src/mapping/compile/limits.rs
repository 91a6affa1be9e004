//! Limits the mapping alone breaks, whatever the rows: metadata keys and
//! constants beyond what the API takes, each a mistake at its line.

use super::field::Ctx;
use super::*;

/// Limits the mapping alone breaks, whatever the rows: more metadata keys
/// than the API takes (`reserved` of them taken by the program: the
/// import key on a document), a key too long, a constant value too long.
/// Each is a mistake at its line, not a problem on every document.
pub(super) fn metadata_limits(
    cx: &mut Ctx,
    md: &std::collections::BTreeMap<String, FieldSpec>,
    what: &str,
    reserved: usize,
) {
    let max = METADATA_MAX_KEYS - reserved;
    let mut in_order: Vec<(&String, &FieldSpec)> = md.iter().collect();
    in_order.sort_by_key(|(_, f)| f.0.span().start);
    if let Some((k, f)) = in_order.get(max) {
        let why = if reserved > 0 {
            format!(" ({METADATA_MAX_KEYS} less the import key, which takes one)")
        } else {
            String::new()
        };
        cx.diags.push(
            Diag::at(
                f.0.span(),
                format!(
                    "the {what}'s metadata has {} keys; the API takes at most {max}{why}: `{k}` is one too many",
                    md.len()
                ),
            )
            .help("drop keys, or join values into one key"),
        );
    }
    for (k, f) in &in_order {
        if k.len() > METADATA_KEY_MAX_BYTES {
            cx.diags.push(Diag::at(
                f.0.span(),
                format!(
                    "the metadata key `{}` is {} bytes long; the API takes at most {METADATA_KEY_MAX_BYTES} (UTF-8: Cyrillic and diacritics count double)",
                    crate::model::text::cut(k),
                    k.len()
                ),
            ));
        }
        constant_limit(
            cx,
            f,
            &format!("{what}.metadata.{k}"),
            METADATA_VALUE_MAX_BYTES,
            "bytes",
        );
    }
}

/// A constant (`value = ...`, or a `default`) longer than its field takes:
/// `max` characters or bytes.
pub(super) fn constant_limit(cx: &mut Ctx, f: &FieldSpec, field: &str, max: usize, unit: &str) {
    let t = f.0.get_ref();
    for v in [&t.value, &t.default].into_iter().flatten() {
        let Some(text) = v.get_ref().as_str() else {
            continue;
        };
        let n = if unit == "bytes" {
            text.len()
        } else {
            text.chars().count()
        };
        if n > max {
            cx.diags.push(Diag::at(
                v.span(),
                format!(
                    "the constant of `{field}` is {n} {unit} long; the API takes at most {max}"
                ),
            ));
        }
    }
}
