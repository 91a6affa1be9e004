//! The words `mapping init` reads headers with: per field, the names people
//! give its column in Russian (1C's usual headers), Romanian (with or
//! without diacritics, which are folded away before matching), English
//! (snake_case and camelCase split into words) and this tool's own export
//! field paths, and how well a header matches one of them ([`score`]).
//!
//! A header matches a name exactly (all its words, in order), as whole
//! words inside it, or as a part of a word (Romanian and Russian inflect:
//! `cumpărătorului` holds `cumparator`); names under four letters count only
//! as whole words (`НДС`, `Nr`, `qty`). A dotted or slashed header whose
//! first part names a group (`customer.name`, `Invoice lines/Quantity`,
//! `Partner/Tax ID`) is read as that group's field, with extra names that
//! only count there (`customer.id`, `line.title`). Names marked `~` are weak:
//! they count less than any other name of any field. The names themselves
//! are in `names`.

pub(super) use super::names::FIELDS;
use super::names::{IN_CONTEXT, NAMES};

/// The group a first path part names.
fn context(first: &str) -> Option<&'static str> {
    match first {
        "line" | "lines" | "item" | "items" | "line items" | "invoice lines" | "order lines"
        | "products" => Some("line"),
        "customer" | "client" | "buyer" | "partner" | "contragent" | "cumparator" => {
            Some("customer")
        }
        "payment" | "payments" => Some("payment"),
        "invoice" | "order" | "document" => Some("invoice"),
        _ => None,
    }
}

/// How a header matched a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    Exact,
    Words,
    Part,
}

/// A header's match with one field's names: its strength and what matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NameMatch {
    pub(super) score: u32,
    pub(super) how: How,
    pub(super) name: &'static str,
}

impl NameMatch {
    /// For the evidence comment.
    pub(super) fn describe(&self) -> String {
        match self.how {
            How::Exact => "a usual name for it".to_string(),
            How::Words => format!(
                "the word(s) \"{}\" in its name",
                self.name.trim_start_matches('~')
            ),
            How::Part => format!("\"{}\" in its name", self.name.trim_start_matches('~')),
        }
    }
}

/// Lower case, Romanian diacritics and `ё` folded, snake_case and
/// camelCase split, punctuation as spaces; `%`, `#`, `№` kept as words.
pub(super) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_lower = false;
    for c in s.chars() {
        let c = match c {
            'ă' | 'â' | 'Ă' | 'Â' => 'a',
            'î' | 'Î' => 'i',
            'ș' | 'ş' | 'Ș' | 'Ş' => 's',
            'ț' | 'ţ' | 'Ț' | 'Ţ' => 't',
            'ё' | 'Ё' => 'е',
            c => c,
        };
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase();
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if matches!(c, '%' | '#' | '№') {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A header split into its group context (when its first dotted or
/// slashed part names one) and the rest, folded.
pub(super) fn split_context(header: &str) -> (Option<&'static str>, String) {
    for sep in ['.', '/'] {
        if let Some((first, rest)) = header.split_once(sep) {
            if let Some(ctx) = context(&fold(first)) {
                return (Some(ctx), fold(rest));
            }
        }
    }
    (None, fold(header))
}

fn words_in(hay: &[&str], needle: &[&str]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The best match of `text` (folded) with `names`.
fn best(text: &str, names: &'static [&'static str], bonus: u32) -> Option<NameMatch> {
    let words: Vec<&str> = text.split(' ').collect();
    let mut best: Option<NameMatch> = None;
    for &raw in names {
        let weak = raw.starts_with('~');
        let name = raw.trim_start_matches('~');
        let nw: Vec<&str> = name.split(' ').collect();
        let len = name.chars().filter(|c| c.is_alphanumeric()).count() as u32;
        let m = if text == name {
            Some((100, How::Exact))
        } else if words_in(&words, &nw) {
            Some((50 + len.min(30), How::Words))
        } else if len >= 4 && text.contains(name) {
            Some((20 + len.min(20), How::Part))
        } else {
            None
        };
        if let Some((mut score, how)) = m {
            score += bonus;
            if weak {
                score = score.min(45) / 2 + 1;
            }
            if best.is_none_or(|b| score > b.score) {
                best = Some(NameMatch {
                    score,
                    how,
                    name: raw,
                });
            }
        }
    }
    best
}

/// How well `header` names `field` (None: not at all). A header in a
/// group's context matches only that group's fields.
pub(super) fn score(header: &str, field: &str) -> Option<NameMatch> {
    let group = field.split('.').next().unwrap_or("");
    let (ctx, rest) = split_context(header);
    let names = NAMES.iter().find(|(f, _)| *f == field).map(|(_, n)| *n)?;
    match ctx {
        Some(c) if c == group => {
            let in_ctx = IN_CONTEXT
                .iter()
                .find(|(f, _)| *f == field)
                .and_then(|(_, n)| best(&rest, n, 5));
            let plain = best(&rest, names, 5);
            match (in_ctx, plain) {
                (Some(a), Some(b)) => Some(if a.score >= b.score { a } else { b }),
                (a, b) => a.or(b),
            }
        }
        Some(_) => None,
        None => best(&rest, names, 0),
    }
}

/// Words that say a VAT column is exempt (`Без НДС`, `scutit`, `exempt`).
pub(super) fn is_exempt_word(s: &str) -> bool {
    let f = fold(s);
    [
        "без ндс",
        "не облагается",
        "освобождено",
        "scutit",
        "scutite",
        "fara tva",
        "neimpozabil",
        "exempt",
        "vat exempt",
        "tax exempt",
        "exempted",
        "non taxable",
    ]
    .iter()
    .any(|w| f == *w || f.ends_with(&format!(" {w}")) || f.starts_with(&format!("{w} ")))
}

/// Words that open a totals row (`Итого`, `Total general`).
pub(super) const TOTALS_WORDS: &[&str] = &[
    "итого",
    "всего",
    "итог",
    "total",
    "totals",
    "totaluri",
    "totalul",
    "grand total",
    "sum",
];

/// The regex of a skip rule for totals rows: any of the totals words at
/// the start of the cell, in any case.
pub(super) const TOTALS_REGEX: &str = "^(?i)\\s*(итого|всего|total)";

/// Whether a cell's text opens with a totals word.
pub(super) fn is_totals_word(s: &str) -> bool {
    let f = fold(s);
    let first = f.split(' ').next().unwrap_or("");
    TOTALS_WORDS.contains(&first) || f.starts_with("grand total")
}

/// ISO 4217 codes seen in Moldovan books, and currency names by code.
pub(super) const CURRENCIES: &[&str] = &[
    "MDL", "EUR", "USD", "RON", "UAH", "RUB", "GBP", "CHF", "PLN", "TRY", "CNY", "BYN", "KZT",
    "CZK", "HUF", "BGN", "SEK", "NOK", "DKK", "JPY", "CAD",
];

/// A currency by one of its names or signs (`лей` → MDL).
pub(super) fn currency_by_name(s: &str) -> Option<&'static str> {
    let f = fold(s);
    Some(match f.as_str() {
        "лей" | "леи" | "леев" | "lei" | "leu" | "молдавский лей" | "moldovan leu" => {
            "MDL"
        }
        "евро" | "euro" | "€" => "EUR",
        "доллар" | "доллар сша" | "долл" | "dolar" | "dolari" | "dollar" | "us dollar" | "$" => {
            "USD"
        }
        "рубль" | "руб" | "rubla" | "ruble" => "RUB",
        "гривна" | "grivna" | "hryvnia" => "UAH",
        _ => return None,
    })
}

/// ISO 3166-1 alpha-2 codes (the list the validator knows is longer; these
/// suffice to tell a country column).
pub(super) const COUNTRIES: &[&str] = &[
    "MD", "RO", "UA", "RU", "DE", "PL", "IT", "FR", "ES", "GB", "US", "TR", "BG", "HU", "CZ", "AT",
    "NL", "BE", "CH", "BY", "GE", "AM", "AZ", "KZ", "LT", "LV", "EE", "SK", "SI", "HR", "RS", "GR",
    "PT", "IE", "SE", "NO", "FI", "DK", "CN", "IL", "CA",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_splits_words_and_drops_diacritics() {
        assert_eq!(fold("Nr. factură"), "nr factura");
        assert_eq!(fold("customer_idno"), "customer idno");
        assert_eq!(fold("unitPrice"), "unit price");
        assert_eq!(fold("НДС %"), "ндс %");
        assert_eq!(fold("№ документа"), "№ документа");
        assert_eq!(fold("Кол-во"), "кол во");
        assert_eq!(fold("Invoice #"), "invoice #");
    }

    #[test]
    fn exact_beats_words_beats_parts_and_short_names_need_whole_words() {
        let s = |h: &str, f: &str| score(h, f).map(|m| (m.how, m.score));
        assert_eq!(s("Номер", "invoice.number").unwrap().0, How::Exact);
        assert_eq!(
            s("Номер документа", "invoice.number").unwrap().0,
            How::Exact
        );
        assert_eq!(s("Invoice No.", "invoice.number").unwrap().0, How::Exact);
        assert_eq!(s("invoice_no", "invoice.number").unwrap().0, How::Exact);
        assert_eq!(s("Товар (услуга)", "line.name").unwrap().0, How::Exact);
        assert_eq!(
            s("Валюта документа", "invoice.currency").unwrap().0,
            How::Exact
        );
        assert_eq!(
            s("Denumirea cumpărătorului", "customer.name").unwrap().0,
            How::Exact
        );
        assert!(s("ИНН контрагента", "customer.tax_id").unwrap().0 == How::Words);
        // `cumparatorului` holds `cumparator`; `Nordic` does not hold `nr`.
        assert_eq!(
            s("Numele cumpărătorului", "customer.name").unwrap().0,
            How::Part
        );
        assert!(s("Nordic", "invoice.number").is_none());
        assert!(s("Cantitatea livrată", "line.quantity").is_some());
        // A weak name counts less than any other.
        let weak = score("Subtotal", "line.check_net").unwrap().score;
        let strong = score("Subtotal", "invoice.check_subtotal").unwrap().score;
        assert!(weak < strong);
    }

    #[test]
    fn paths_count_in_their_group_only() {
        assert_eq!(
            score("customer.id", "customer.number").unwrap().how,
            How::Exact
        );
        assert!(score("customer.id", "invoice.number").is_none());
        assert_eq!(score("line.title", "line.name").unwrap().how, How::Exact);
        assert_eq!(
            score("Partner/Tax ID", "customer.tax_id").unwrap().how,
            How::Exact
        );
        assert_eq!(
            score("Invoice lines/Unit Price", "line.unit_cost")
                .unwrap()
                .how,
            How::Exact
        );
        assert!(score("buyer.fiscal_code", "customer.tax_id").is_some());
        assert!(score("Invoice/Bill Date", "invoice.date").is_some());
    }

    #[test]
    fn exempt_and_totals_words() {
        assert!(is_exempt_word("Без НДС"));
        assert!(is_exempt_word("fără TVA"));
        assert!(is_exempt_word("VAT Exempt"));
        assert!(!is_exempt_word("VAT 20%"));
        assert!(is_totals_word("Итого по документу"));
        assert!(is_totals_word("Total general"));
        assert!(is_totals_word("TOTAL"));
        assert!(!is_totals_word("Totalitate SRL"));
        assert_eq!(currency_by_name("лей"), Some("MDL"));
    }
}
