//! A wide layout's slots (one line per group of columns `{n}`).

use super::field::Ctx;
use super::*;

/// The slots of a wide layout: `values` as they are, or `from`..=`to`
/// (without `to`: while a `{n}` column exists), each as the text `{n}`
/// becomes.
pub(super) fn wide_slots(
    w: &spec::WideSpec,
    line_fields: &FieldList,
    l: &spec::LineSpec,
    cx: &mut Ctx,
) -> Vec<String> {
    let to = w.to.as_ref().map(|t| (*t.get_ref(), t.span()));
    // Columns with {n} in them, to see how far an open range goes.
    let wide_columns: Vec<String> = line_fields
        .iter()
        .filter_map(|(f, _, _)| f.as_ref())
        .chain(l.metadata.values())
        .filter_map(|f| f.0.get_ref().column.as_ref().map(|c| c.get_ref().clone()))
        .filter(|c| c.contains("{n}"))
        .collect();
    let span = w
        .values
        .as_ref()
        .map(|v| v.span.clone())
        .or(w.from.as_ref().map(|f| f.span()))
        .or(to.as_ref().map(|t| t.1.clone()));
    if wide_columns.is_empty() {
        if let Some(ws) = span.clone() {
            cx.diags.push(
                Diag::at(ws, "line.wide is set but no line column contains {n}")
                    .help("name the repeated columns with {n}, e.g. column = \"Item{n} Qty\""),
            );
        }
    }
    if let Some(values) = &w.values {
        if w.from.is_some() || w.to.is_some() {
            cx.diags.push(
                Diag::at(
                    values.span.clone(),
                    "give wide.values or wide.from/to, not both",
                )
                .help("values names the slots; from and to number them"),
            );
        }
        if values.items.is_empty() || values.items.len() > 1000 {
            cx.diags.push(Diag::at(
                values.span.clone(),
                "wide.values lists from 1 to 1000 slots",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for v in &values.items {
            if !seen.insert(v.as_str()) {
                cx.diags.push(Diag::at(
                    values.span.clone(),
                    format!("wide.values lists {v:?} twice"),
                ));
            }
        }
        return values.items.iter().take(1000).cloned().collect();
    }
    let from = w.from.as_ref().map_or(1, |f| *f.get_ref());
    if let Some((to, span)) = &to {
        if *to < from || to - from > 1000 {
            cx.diags.push(Diag::at(
                span.clone(),
                format!("wide.to must be between {from} and {}", from + 1000),
            ));
        }
    }
    let last = match (&to, cx.headers.is_some()) {
        (Some((t, _)), _) => *t,
        (None, true) => {
            let mut n = from;
            while n - from < 1000
                && wide_columns
                    .iter()
                    .any(|c| cx.has_column(&c.replace("{n}", &n.to_string())))
            {
                n += 1;
            }
            (n - 1).max(from)
        }
        (None, false) => from,
    };
    (from..=last.min(from + 1000))
        .map(|n| n.to_string())
        .collect()
}
