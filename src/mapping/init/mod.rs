//! `mapping init`: a starting mapping guessed from a file's headers and
//! first rows. It knows common Russian, Romanian and English header names
//! (Номер / Nr. / Number, Дата / Data / Date, Контрагент / Client /
//! Customer, IDNO / Cod fiscal, Количество / Cantitate / Qty, Цена / Preț /
//! Price, Ставка НДС / Cota TVA / VAT, ...), finds the header row below
//! title lines, and guesses grouping, number and date notation, totals rows
//! and a VAT lookup from the values it sees.
//!
//! The header names it knows are in `vocabulary`; the guessing is here.

mod vocabulary;

use super::transform::{parse_date, parse_decimal, DateFormat, DecimalLocale};
use crate::read::{self, Cell, Format, ReadError, SourceRow, SourceSpec};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use vocabulary::{context, IN_CONTEXT, KNOWN, TOP_WEAK};

fn norm(h: &str) -> String {
    h.trim().trim_end_matches(':').to_lowercase()
}

/// Which field each header looks like: known names first, then names in
/// a dotted group (`customer.email`, `line.qty`), then weak top-level names.
pub fn match_headers(headers: &[String]) -> Vec<(&'static str, usize)> {
    let mut taken = BTreeSet::new();
    let mut out: Vec<(&'static str, usize)> = Vec::new();
    let mut claim =
        |field: &'static str, pred: &dyn Fn(&str) -> bool, out: &mut Vec<(&'static str, usize)>| {
            if out.iter().any(|(f, _)| *f == field) {
                return;
            }
            if let Some(i) = (0..headers.len()).find(|i| !taken.contains(i) && pred(&headers[*i])) {
                taken.insert(i);
                out.push((field, i));
            }
        };
    for (field, names) in KNOWN {
        claim(field, &|h| names.contains(&norm(h).as_str()), &mut out);
    }
    let in_group = |field: &str, h: &str, names: &[&str]| {
        let n = norm(h);
        let Some((first, rest)) = n.split_once('.') else {
            return false;
        };
        let group = field.split('.').next().unwrap_or("");
        context(first) == Some(group) && {
            let last = rest.rsplit('.').next().unwrap_or(rest);
            names.contains(&last) || names.contains(&rest)
        }
    };
    for (field, names) in IN_CONTEXT {
        claim(field, &|h| in_group(field, h, names), &mut out);
    }
    for (field, names) in KNOWN {
        claim(field, &|h| in_group(field, h, names), &mut out);
    }
    for (field, names) in TOP_WEAK {
        claim(
            field,
            &|h| !h.contains('.') && names.contains(&norm(h).as_str()),
            &mut out,
        );
    }
    out
}

/// JSON: the path to the first array of objects (the records), and the
/// path to an array of objects inside the first record (its lines).
fn json_paths(file: &Path) -> (Option<String>, Option<String>) {
    use serde_json::Value;
    fn find(v: &Value, path: &mut Vec<String>, depth: usize) -> Option<Vec<String>> {
        match v {
            Value::Array(a) if a.first().is_some_and(Value::is_object) => Some(path.clone()),
            Value::Object(m) if depth < 4 => {
                for (k, x) in m {
                    path.push(k.clone());
                    if let Some(p) = find(x, path, depth + 1) {
                        return Some(p);
                    }
                    path.pop();
                }
                None
            }
            _ => None,
        }
    }
    let Ok(bytes) = std::fs::read(file) else {
        return (None, None);
    };
    let Ok(root) = serde_json::from_slice::<Value>(&bytes) else {
        return (None, None);
    };
    let records = find(&root, &mut Vec::new(), 0);
    let lines = records.as_ref().and_then(|p| {
        let arr = p.iter().try_fold(&root, |v, k| v.get(k))?;
        let first = arr.as_array()?.first()?;
        match first {
            Value::Object(m) => m.iter().find_map(|(k, x)| {
                x.as_array()
                    .filter(|a| a.first().is_some_and(Value::is_object))
                    .map(|_| k.clone())
            }),
            _ => None,
        }
    });
    let records = records.filter(|p| !p.is_empty()).map(|p| p.join("."));
    (records, lines)
}

/// Repeated line columns (`Produs 1`, `Cant. 1`, ... `Produs 3`): the
/// range of n and each field's column pattern with `{n}`.
type WideColumns<'a> = (i64, i64, Vec<(&'a str, String, Vec<usize>)>);

fn wide_columns(headers: &[String]) -> Option<WideColumns<'static>> {
    let re = regex::Regex::new(r"^(.*?)(\s*)(\d+)(\s*)$").ok()?;
    type Slots = Vec<(i64, usize)>;
    let mut by_field: Vec<(&'static str, String, Slots)> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let Some(c) = re.captures(h) else { continue };
        let base = norm(&c[1]);
        let Some(field) = KNOWN
            .iter()
            .find(|(_, names)| names.contains(&base.as_str()))
            .and_then(|(f, _)| f.strip_prefix("line."))
        else {
            continue;
        };
        let Ok(n) = c[3].parse::<i64>() else { continue };
        let pattern = format!("{}{}{{n}}{}", &c[1], &c[2], &c[4]);
        match by_field
            .iter_mut()
            .find(|(f, p, _)| *f == field && *p == pattern)
        {
            Some((_, _, ns)) => ns.push((n, i)),
            None => by_field.push((field, pattern, vec![(n, i)])),
        }
    }
    by_field.retain(|(_, _, ns)| ns.len() >= 2);
    if by_field.is_empty() {
        return None;
    }
    let from = by_field
        .iter()
        .flat_map(|(_, _, ns)| ns.iter().map(|x| x.0))
        .min()?;
    let to = by_field
        .iter()
        .flat_map(|(_, _, ns)| ns.iter().map(|x| x.0))
        .max()?;
    Some((
        from,
        to,
        by_field
            .into_iter()
            .map(|(f, p, ns)| (f, q(&p), ns.into_iter().map(|x| x.1).collect()))
            .collect(),
    ))
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A guessed starting mapping for `file`, as TOML text.
pub fn guess(file: &Path) -> Result<String, ReadError> {
    // The header row: the first of the first 15 rows that names two known
    // fields; in a workbook, on the sheet that names the most.
    let mut spec = SourceSpec::default();
    if Format::from_path(file) == Some(Format::Json) {
        let (records, lines) = json_paths(file);
        spec.records = records;
        spec.lines = lines;
    }
    let workbook = matches!(
        Format::from_path(file),
        Some(Format::Xlsx | Format::Xls | Format::Ods)
    );
    let sheets: Vec<Option<read::SheetSel>> = if workbook {
        (1..=20).map(|i| Some(read::SheetSel::Index(i))).collect()
    } else {
        vec![None]
    };
    let mut best: Option<(usize, Option<read::SheetSel>, u64)> = None;
    'sheets: for sheet in sheets {
        spec.sheet = sheet.clone();
        let mut header_row = 1u64;
        while header_row <= 15 {
            spec.header_row = header_row;
            let src = match read::open(file, &spec) {
                Ok(s) => s,
                Err(e)
                    if header_row == 1
                        && sheet
                            .as_ref()
                            .is_none_or(|s| *s == read::SheetSel::Index(1)) =>
                {
                    return Err(e)
                }
                Err(_) if header_row == 1 => break 'sheets,
                Err(_) => break,
            };
            let found = src.detected().header_row.unwrap_or(header_row);
            let n = match_headers(src.headers()).len();
            if n >= 2 {
                if best.as_ref().is_none_or(|(b, _, _)| n > *b) {
                    best = Some((n, sheet.clone(), found));
                }
                break;
            }
            header_row = found + 1;
        }
    }
    let (sheet, header_row) = best.map(|(_, s, r)| (s, r)).unwrap_or((None, 1));
    spec.sheet = sheet;
    spec.header_row = header_row;
    let mut src = read::open(file, &spec)?;
    let headers = src.headers().to_vec();
    let detected = src.detected().clone();
    let rows: Vec<SourceRow> = src
        .by_ref()
        .take(500)
        .filter_map(|r| match r {
            Ok(r) => Some(r),
            Err(ReadError::Ragged { row, .. }) => Some(*row),
            Err(_) => None,
        })
        .collect();
    let fields = match_headers(&headers);
    let col = |f: &str| fields.iter().find(|(n, _)| *n == f).map(|(_, i)| *i);
    let values = |i: usize| {
        rows.iter()
            .map(move |r| r.cell(i))
            .filter(|c| !c.is_blank())
    };

    // Totals rows: a cell starting with a totals word.
    let totals_re = "^(Итого|Всего|Total|Totaluri|Total general)";
    let totals_re_compiled = regex::Regex::new(totals_re).ok();
    let totals_col = rows.iter().find_map(|r| {
        r.cells.iter().position(|c| {
            totals_re_compiled
                .as_ref()
                .is_some_and(|re| re.is_match(c.as_text().trim()))
        })
    });
    let is_total = |r: &SourceRow| {
        totals_col.is_some_and(|c| {
            totals_re_compiled
                .as_ref()
                .is_some_and(|re| re.is_match(r.cell(c).as_text().trim()))
        })
    };

    // Decimal notation from numeric-looking text.
    let mut comma = 0;
    let mut dot = 0;
    for name in [
        "line.quantity",
        "line.unit_cost",
        "line.check_net",
        "line.check_vat",
        "line.check_gross",
    ] {
        if let Some(i) = col(name) {
            for c in values(i) {
                if let Cell::Text(s) = c {
                    if parse_decimal(s, DecimalLocale::Comma).is_some() && s.contains(',') {
                        comma += 1;
                    } else if s.contains('.') {
                        dot += 1;
                    }
                }
            }
        }
    }
    let locale = if comma > dot { "ru" } else { "en" };

    // Date format.
    let date_fmt = col("invoice.date").and_then(|i| {
        let candidates = ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%y"];
        candidates.into_iter().find(|f| {
            let fmt = [DateFormat::pattern(f)];
            let mut seen = 0;
            let ok = values(i).all(|c| match c {
                Cell::Text(s) => {
                    seen += 1;
                    parse_date(s, &fmt).is_some()
                }
                _ => true,
            });
            ok && seen > 0
        })
    });

    // Grouping: numbers that repeat.
    let group = col("invoice.number").is_some_and(|i| {
        let mut seen = HashMap::new();
        for r in rows.iter().filter(|r| !is_total(r)) {
            let k = r.cell(i).as_text().trim().to_string();
            if !k.is_empty() {
                *seen.entry(k).or_insert(0) += 1;
            }
        }
        seen.values().any(|&n| n > 1)
    });

    let mut t = String::new();
    let _ = writeln!(
        t,
        "# A starting mapping guessed from {} by `facturare-etl mapping init`.",
        file.display()
    );
    let _ = writeln!(
        t,
        "# Check every field, then run `facturare-etl mapping check` with `--sample`."
    );
    let _ = writeln!(
        t,
        "# The format's reference: mappings/README.md\nversion = 1\n\n[source]"
    );
    let _ = writeln!(t, "format = {}", q(detected.format.name()));
    if let (Some(enc), Some(conf)) = (detected.encoding, detected.confidence) {
        if matches!(detected.format, Format::Csv | Format::Tsv) {
            let _ = writeln!(
                t,
                "encoding = {}  # detected ({conf})",
                q(&enc.to_lowercase())
            );
        }
    }
    if let Some(d) = detected.delimiter {
        let d = if d == b'\t' {
            "tab".to_string()
        } else {
            (d as char).to_string()
        };
        let _ = writeln!(t, "delimiter = {}", q(&d));
    }
    if let Some(s) = &detected.sheet {
        let _ = writeln!(t, "sheet = {}", q(s));
    }
    if let Some(r) = &spec.records {
        let _ = writeln!(t, "records = {}", q(r));
    }
    if let Some(l) = &spec.lines {
        let _ = writeln!(
            t,
            "lines = {}  # one row per line: the record's fields plus line.*",
            q(l)
        );
    }
    if let Some(r) = detected.header_row {
        spec.header_row = r;
    }
    if spec.header_row != 1 {
        let _ = writeln!(
            t,
            "header_row = {}  # the rows above are titles",
            spec.header_row
        );
    }
    if let Some(c) = totals_col {
        let _ = writeln!(
            t,
            "skip_rows_matching = {{ column = {}, regex = {} }}",
            q(&headers[c]),
            q(totals_re)
        );
    }
    let field = |t: &mut String, key: &str, i: usize, extra: &str| {
        let _ = writeln!(t, "{key} = {{ column = {}{extra} }}", q(&headers[i]));
    };
    let _ = writeln!(t, "\n[invoice]");
    if group {
        if let Some(i) = col("invoice.number") {
            let _ = writeln!(
                t,
                "group_by = {}  # several rows per document",
                q(&headers[i])
            );
        }
    }
    let date_extra = date_fmt
        .map(|f| format!(", date = {}", q(f)))
        .unwrap_or_default();
    let dec_extra = format!(", decimal = {}", q(locale));
    for (f, i) in &fields {
        match *f {
            "invoice.number" => field(&mut t, "number", *i, ", transform = [\"trim\"]"),
            "invoice.date" => field(&mut t, "date", *i, &date_extra),
            "invoice.due_date" => field(&mut t, "due_date", *i, &date_extra),
            "invoice.currency" => field(
                &mut t,
                "currency",
                *i,
                ", transform = [\"trim\", \"upper\"], default = \"MDL\"",
            ),
            "invoice.kind" => {
                let mut seen = BTreeSet::new();
                let mut pairs = Vec::new();
                for c in values(*i) {
                    let v = c.as_text().trim().to_string();
                    if seen.insert(v.clone()) && seen.len() <= 20 {
                        let l = v.to_lowercase();
                        let kind = if ["credit", "возврат", "retur", "storno", "refund"]
                            .iter()
                            .any(|w| l.contains(w))
                        {
                            "credit_note"
                        } else {
                            "invoice"
                        };
                        pairs.push(format!("{} = {}", q(&v), q(kind)));
                    }
                }
                if pairs.is_empty() {
                    pairs.push("\"invoice\" = \"invoice\"".into());
                }
                field(
                    &mut t,
                    "kind",
                    *i,
                    &format!(", lookup = {{ {} }}", pairs.join(", ")),
                );
            }
            "invoice.notes" => field(&mut t, "notes", *i, ""),
            _ => {}
        }
    }
    if col("invoice.currency").is_none() {
        let _ = writeln!(t, "currency = {{ value = \"MDL\" }}");
    }
    let _ = writeln!(
        t,
        "\n[invoice.metadata]\nsource = {{ value = {} }}",
        q(&file
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default())
    );
    let _ = writeln!(t, "\n[customer]");
    let match_on = if col("customer.number").is_some() {
        "number"
    } else {
        "tax_id"
    };
    let _ = writeln!(t, "match_on = {}", q(match_on));
    for (f, i) in &fields {
        if let Some(name) = f.strip_prefix("customer.") {
            let extra = match name {
                "name" => ", transform = [\"trim\", \"collapse_spaces\"]",
                "tax_id" => ", transform = [\"digits\"]",
                _ => ", transform = [\"trim\"]",
            };
            field(&mut t, name, *i, extra);
        }
    }
    let _ = writeln!(t, "\n[line]");
    // Line columns: single, or repeated with a number (`Item 1 Qty` ... `Item 3 Qty`).
    let mut line_cols: Vec<(&str, String, Vec<usize>)> = fields
        .iter()
        .filter_map(|(f, i)| {
            f.strip_prefix("line.")
                .map(|n| (n, q(&headers[*i]), vec![*i]))
        })
        .collect();
    if let Some((from, to, wide)) = wide_columns(&headers) {
        let _ = writeln!(t, "wide = {{ from = {from}, to = {to} }}");
        line_cols = wide;
    }
    for (name, column, idxs) in &line_cols {
        let vals = || idxs.iter().flat_map(|&i| values(i));
        let taxes = *name == "taxes"
            || (*name == "check_vat" && vals().any(|c| c.as_text().trim().ends_with('%')));
        if taxes {
            let mut lookup = Vec::new();
            let mut seen = BTreeSet::new();
            for c in vals() {
                let s = c.as_text().trim().to_string();
                if seen.insert(s.clone()) && seen.len() <= 20 {
                    let id = match parse_decimal(&s, DecimalLocale::Auto) {
                        Some(v) => format!("tva{}", v.normalize()),
                        None => "exempt".to_string(),
                    };
                    lookup.push(format!("{} = {}", q(&s), q(&id)));
                }
            }
            let lookup = if lookup.is_empty() {
                "\"20%\" = \"tva20\", \"8%\" = \"tva8\", \"0%\" = \"tva0\"".to_string()
            } else {
                lookup.join(", ")
            };
            let _ = writeln!(
                t,
                "taxes = {{ column = {column}, lookup = {{ {lookup} }} }}"
            );
        } else if matches!(*name, "name" | "description") {
            let _ = writeln!(
                t,
                "{name} = {{ column = {column}, transform = [\"trim\", \"collapse_spaces\"] }}"
            );
        } else {
            let _ = writeln!(t, "{name} = {{ column = {column}{dec_extra} }}");
        }
    }
    if col("payment.amount").is_some() {
        let _ = writeln!(t, "\n[[payment]]");
        for (f, i) in &fields {
            match *f {
                "payment.amount" => field(&mut t, "amount", *i, &dec_extra),
                "payment.date" => field(&mut t, "date", *i, &date_extra),
                "payment.method" => field(&mut t, "method", *i, ""),
                _ => {}
            }
        }
    }
    let used: BTreeSet<usize> = fields
        .iter()
        .map(|(_, i)| *i)
        .chain(
            line_cols
                .iter()
                .flat_map(|(_, _, idxs)| idxs.iter().copied()),
        )
        .collect();
    let unmatched: Vec<&String> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, h)| h)
        .collect();
    if !unmatched.is_empty() {
        let _ = writeln!(
            t,
            "\n# Columns not mapped: {}",
            unmatched
                .iter()
                .map(|h| q(h))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(t)
}
