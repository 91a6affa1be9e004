//! `mapping init`: a starting mapping guessed from a file's headers and
//! first rows. It knows common Russian, Romanian and English header names
//! (Номер / Nr. / Number, Дата / Data / Date, Контрагент / Client /
//! Customer, IDNO / Cod fiscal, Количество / Cantitate / Qty, Цена / Preț /
//! Price, Ставка НДС / Cota TVA / VAT, ...), finds the header row below
//! title lines, and guesses grouping, number and date notation, totals rows
//! and a VAT lookup from the values it sees.

use super::transform::{parse_date, parse_decimal, DateFormat, DecimalLocale};
use crate::read::{self, Cell, Format, ReadError, SourceRow, SourceSpec};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// Known header names (lower case, trimmed) per field, most specific first.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "invoice.number",
        &[
            "номер",
            "номер документа",
            "№",
            "№ документа",
            "nr.",
            "nr",
            "nr factura",
            "nr. factura",
            "număr",
            "numar",
            "numărul",
            "number",
            "invoice number",
            "invoice no",
            "invoice",
            "no.",
            "factura",
            "document",
        ],
    ),
    (
        "invoice.date",
        &[
            "дата",
            "дата документа",
            "data",
            "data facturii",
            "date",
            "invoice date",
        ],
    ),
    (
        "invoice.due_date",
        &[
            "срок оплаты",
            "оплатить до",
            "scadența",
            "scadenta",
            "termen de plată",
            "termen de plata",
            "due date",
            "due",
        ],
    ),
    (
        "invoice.currency",
        &["валюта", "valuta", "moneda", "currency"],
    ),
    (
        "invoice.kind",
        &[
            "вид документа",
            "тип",
            "тип документа",
            "tip",
            "tip document",
            "type",
            "document type",
            "kind",
        ],
    ),
    (
        "invoice.notes",
        &[
            "комментарий",
            "примечание",
            "comentariu",
            "note",
            "notes",
            "comment",
        ],
    ),
    (
        "customer.number",
        &[
            "код контрагента",
            "код клиента",
            "код покупателя",
            "cod client",
            "cod",
            "customer number",
            "customer id",
            "client id",
            "customer code",
        ],
    ),
    (
        "customer.name",
        &[
            "контрагент",
            "покупатель",
            "клиент",
            "client",
            "clientul",
            "cumpărător",
            "cumparator",
            "denumire client",
            "customer",
            "customer name",
            "buyer",
        ],
    ),
    (
        "customer.tax_id",
        &[
            "idno",
            "инн",
            "фискальный код",
            "код фискальный",
            "cod fiscal",
            "codul fiscal",
            "idno client",
            "tax id",
            "tax_id",
            "vat number",
            "fiscal code",
        ],
    ),
    ("customer.email", &["email", "e-mail", "эл. почта", "почта"]),
    (
        "customer.address1",
        &["адрес", "adresa", "adresă", "address"],
    ),
    (
        "line.name",
        &[
            "номенклатура",
            "товар",
            "наименование",
            "товар/услуга",
            "denumire",
            "denumirea",
            "produs",
            "marfa",
            "item",
            "product",
            "description",
            "описание",
            "line",
        ],
    ),
    (
        "line.quantity",
        &[
            "количество",
            "кол-во",
            "кол.",
            "cantitate",
            "cantitatea",
            "qty",
            "quantity",
        ],
    ),
    (
        "line.unit_cost",
        &[
            "цена",
            "цена без ндс",
            "preț",
            "pret",
            "preț unitar",
            "pret unitar",
            "price",
            "unit price",
            "unit cost",
        ],
    ),
    (
        "line.taxes",
        &[
            "ставка ндс",
            "ндс %",
            "ндс, %",
            "% ндс",
            "cota tva",
            "tva %",
            "cota",
            "vat",
            "vat rate",
            "vat %",
            "tax rate",
        ],
    ),
    (
        "line.check_net",
        &[
            "сумма без ндс",
            "suma fără tva",
            "suma fara tva",
            "valoare fără tva",
            "valoare fara tva",
            "net",
            "net amount",
            "amount excl vat",
        ],
    ),
    (
        "line.check_vat",
        &["сумма ндс", "ндс", "suma tva", "tva", "vat amount"],
    ),
    (
        "line.check_gross",
        &[
            "сумма",
            "сумма с ндс",
            "всего",
            "suma",
            "suma cu tva",
            "valoare",
            "total",
            "gross",
            "amount",
        ],
    ),
    (
        "payment.amount",
        &[
            "оплачено",
            "сумма оплаты",
            "achitat",
            "suma achitată",
            "paid",
            "amount paid",
        ],
    ),
    (
        "payment.date",
        &[
            "дата оплаты",
            "data plății",
            "data platii",
            "payment date",
            "paid on",
        ],
    ),
];

fn norm(h: &str) -> String {
    h.trim().trim_end_matches(':').to_lowercase()
}

/// Which field each header looks like.
pub fn match_headers(headers: &[String]) -> Vec<(&'static str, usize)> {
    let mut taken = BTreeSet::new();
    let mut out = Vec::new();
    for (field, names) in KNOWN {
        let found = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !taken.contains(i))
            .find(|(_, h)| names.contains(&norm(h).as_str()));
        if let Some((i, _)) = found {
            taken.insert(i);
            out.push((*field, i));
        }
    }
    out
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A guessed starting mapping for `file`, as TOML text.
pub fn guess(file: &Path) -> Result<String, ReadError> {
    // The header row: the first of the first 15 rows that names two known fields.
    let mut spec = SourceSpec::default();
    let mut chosen = None;
    for header_row in 1..=15u64 {
        spec.header_row = header_row;
        let src = match read::open(file, &spec) {
            Ok(s) => s,
            Err(e) if header_row == 1 => return Err(e),
            Err(_) => break,
        };
        if match_headers(src.headers()).len() >= 2 {
            chosen = Some(header_row);
            break;
        }
    }
    spec.header_row = chosen.unwrap_or(1);
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
            let fmt = [DateFormat::Pattern((*f).to_string())];
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
            "invoice.kind" => field(
                &mut t,
                "kind",
                *i,
                ", lookup = { \"invoice\" = \"invoice\", \"credit note\" = \"credit_note\" }",
            ),
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
    for (f, i) in &fields {
        if let Some(name) = f.strip_prefix("line.") {
            match name {
                "name" => field(
                    &mut t,
                    "name",
                    *i,
                    ", transform = [\"trim\", \"collapse_spaces\"]",
                ),
                "taxes" => {
                    let mut lookup = Vec::new();
                    let mut seen = BTreeSet::new();
                    for c in values(*i) {
                        let s = c.as_text().trim().to_string();
                        if seen.insert(s.clone()) && seen.len() <= 20 {
                            let id = match parse_decimal(&s, DecimalLocale::Auto) {
                                Some(v) => format!("tva{}", v.normalize()),
                                None => "exempt".to_string(),
                            };
                            lookup.push(format!("{} = {}", q(&s), q(&id)));
                        }
                    }
                    let extra = if lookup.is_empty() {
                        ", lookup = { \"20%\" = \"tva20\", \"8%\" = \"tva8\", \"0%\" = \"tva0\" }"
                            .to_string()
                    } else {
                        format!(", lookup = {{ {} }}", lookup.join(", "))
                    };
                    field(&mut t, "taxes", *i, &extra);
                }
                other => field(&mut t, other, *i, &dec_extra),
            }
        }
    }
    if col("payment.amount").is_some() {
        let _ = writeln!(t, "\n[[payment]]");
        for (f, i) in &fields {
            match *f {
                "payment.amount" => field(&mut t, "amount", *i, &dec_extra),
                "payment.date" => field(&mut t, "date", *i, &date_extra),
                _ => {}
            }
        }
    }
    let unmatched: Vec<&String> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| !fields.iter().any(|(_, j)| j == i))
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
