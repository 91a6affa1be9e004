//! The guess, decided in order: totals rows and continuation rows, the
//! columns' profiles and the file's decimal notation, the columns that
//! structure says what they are (a running row number, this tool's export
//! paths, a document named with its date), the date and the rate column,
//! the amounts by arithmetic, the other fields by name and value, then the
//! document key, the customer, the currency and the rules that skip rows.
//! [`Ctx`] carries the sample and what has been decided.

use super::columns::{self, Claim};
use super::grouping;
use super::lines;
use super::profile::{self, Notation, Profile};
use super::render::{q, Guess, Spec, Table};
use super::sample::{Sample, Sheets};
use super::vocabulary::TOTALS_REGEX;
use crate::read::{Cell, Format, SourceRow};
use chrono::NaiveDate;
use std::sync::Arc;

/// The sample and the decisions so far.
pub(super) struct Ctx {
    pub(super) s: Sample,
    /// The data rows (not totals, not blank).
    data: Arc<Vec<SourceRow>>,
    totals: Vec<usize>,
    totals_col: Option<usize>,
    pub(super) profiles: Vec<Profile>,
    pub(super) notation: Notation,
    /// Which field each column was given.
    pub(super) taken: Vec<Option<Claim>>,
    pub(super) g: Guess,
    /// The first and last document dates.
    pub(super) dates: Option<(NaiveDate, NaiveDate)>,
    /// The columns continuation rows take from the row above.
    fill: Vec<usize>,
    cands: Vec<(u32, &'static str, usize, String)>,
}

impl Ctx {
    pub(super) fn new(s: Sample) -> Ctx {
        let width = s.headers.len();
        let mut cx = Ctx {
            s,
            data: Arc::new(Vec::new()),
            totals: Vec::new(),
            totals_col: None,
            profiles: Vec::new(),
            notation: Notation::default(),
            taken: vec![None; width],
            g: Guess::default(),
            dates: None,
            fill: Vec::new(),
            cands: Vec::new(),
        };
        cx.look();
        cx
    }

    /// Totals rows, data rows, profiles, notation, candidates.
    fn look(&mut self) {
        let (totals, col) = grouping::totals_rows(&self.s.rows);
        self.data = Arc::new(
            (0..self.s.rows.len())
                .filter(|i| !totals.contains(i) && !self.s.rows[*i].is_blank())
                .map(|i| self.s.rows[i].clone())
                .collect(),
        );
        self.totals = totals;
        self.totals_col = col;
        let width = self.s.headers.len();
        self.profiles = vec![Profile::default(); width];
        for r in self.data.iter() {
            for (c, p) in self.profiles.iter_mut().enumerate() {
                p.add(r.cell(c));
            }
        }
        self.notation = profile::notation(
            self.profiles
                .iter()
                .filter(|p| p.date_share() < 0.5 && p.share(p.idno_like) < 0.5),
        );
        for c in 0..width {
            let cells: Vec<&Cell> = self.data.iter().map(|r| r.cell(c)).collect();
            let n = self.notation;
            self.profiles[c].note_notation(&cells, &n);
        }
        self.cands = columns::candidates(&self.s.headers, &self.profiles);
    }

    /// The data rows.
    pub(super) fn rows(&self) -> Arc<Vec<SourceRow>> {
        self.data.clone()
    }

    pub(super) fn header(&self, c: usize) -> &str {
        &self.s.headers[c]
    }

    /// Give column `c` to `field`.
    pub(super) fn claim(&mut self, c: usize, field: &'static str, why: String) {
        self.taken[c] = Some(Claim {
            field,
            score: 1000,
            why,
        });
    }

    /// The column given to `field`.
    pub(super) fn col(&self, field: &str) -> Option<usize> {
        self.taken
            .iter()
            .position(|t| t.as_ref().is_some_and(|c| c.field == field))
    }

    /// The best free column for `field` by name and value.
    pub(super) fn best(&self, field: &str) -> Option<(usize, String)> {
        self.cands
            .iter()
            .find(|(_, f, c, _)| *f == field && self.taken[*c].is_none())
            .map(|(_, _, c, why)| (*c, why.clone()))
    }

    /// Free columns of numbers that are no date, IDNO or code by name.
    pub(super) fn amount_candidates(&self) -> Vec<usize> {
        (0..self.s.headers.len())
            .filter(|&c| self.taken[c].is_none())
            .filter(|&c| {
                let p = &self.profiles[c];
                p.filled > 0
                    && p.number_share() >= 0.8
                    && p.date_share() < 0.5
                    && p.idno_like * 2 < p.filled
                    && !p.is_running()
            })
            .filter(|&c| {
                // Not a column whose name says exactly it is something else.
                !self.cands.iter().any(|(s, f, cc, _)| {
                    *cc == c && *s >= 100 && !is_amount(f) && *f != "line.taxes"
                })
            })
            .collect()
    }

    /// The `decimal = ...` of a column: the file's notation when the
    /// column holds numbers as text.
    pub(super) fn text_decimal(&self, c: usize) -> Option<&'static str> {
        let p = &self.profiles[c];
        (p.text_cells > 0 && self.notation.locale.is_some()).then(|| self.notation.name())
    }

    /// The guess.
    pub(super) fn decide(mut self, file_name: &str) -> Guess {
        self.source(file_name);
        self.structure();
        self.date();
        let wide = super::wide::wide_by_rate(&mut self) || super::wide::wide_numbered(&mut self);
        let rate_col = match self.col("line.taxes") {
            Some(c) => Some(c),
            None => self.best("line.taxes").map(|(c, why)| {
                self.claim(c, "line.taxes", why);
                c
            }),
        };
        let rates = match rate_col {
            Some(c) if !wide => lines::taxes(&mut self, c),
            _ => Vec::new(),
        };
        if !wide {
            lines::amounts(&mut self, &rates);
        }
        let cands = std::mem::take(&mut self.cands);
        let headers = self.s.headers.clone();
        let profiles = self.profiles.clone();
        columns::assign(&cands, &mut self.taken, |f, other, current| {
            // Of two line names, the one without a bracketed code first.
            f == "line.name"
                && profiles[other].bracket_code < profiles[current].bracket_code
                && !headers[other].is_empty()
        });
        self.cands = cands;
        self.invoice();
        self.customer();
        self.line_fields();
        self.skip_rules();
        self.unmapped();
        self.g
    }

    /// `[source]`.
    fn source(&mut self, file_name: &str) {
        let d = self.s.detected.clone();
        let n_rows = self.s.rows.len();
        self.g.intro = vec![
            format!(
                "A starting mapping guessed by `facturare-etl mapping init` from {file_name}: its header and {}{n_rows} rows.",
                if self.s.more { "its first " } else { "" }
            ),
            "Each field says what it was guessed from: check them, then run".to_string(),
            format!("`facturare-etl mapping check <this file> --sample {file_name}` or `mapping init --validate`."),
            "The format's reference: mappings/README.md".to_string(),
        ];
        self.g.set(Table::Source, "format", q(d.format.name()), "");
        if let (Some(enc), Some(conf), Format::Csv | Format::Tsv) =
            (d.encoding, d.confidence, d.format)
        {
            self.g.set(
                Table::Source,
                "encoding",
                q(&enc.to_lowercase()),
                format!("the encoding, detected ({conf})"),
            );
        }
        if let Some(del) = d.delimiter {
            let del = if del == b'\t' {
                "tab".to_string()
            } else {
                (del as char).to_string()
            };
            self.g.set(Table::Source, "delimiter", q(&del), "");
        }
        match &self.s.sheets {
            Sheets::One(n) => self.g.set(Table::Source, "sheet", q(n), ""),
            Sheets::All { read, skipped } => self.g.set(
                Table::Source,
                "sheet",
                q("*"),
                format!(
                    "{} sheets share this header: {}{}",
                    read.len(),
                    read.join(", "),
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!(" (skipped, another header: {})", skipped.join(", "))
                    }
                ),
            ),
            Sheets::List(l) => self.g.set(
                Table::Source,
                "sheet",
                format!(
                    "[{}]",
                    l.iter().map(|x| q(x)).collect::<Vec<_>>().join(", ")
                ),
                "these sheets share this header (the first sheet does not, so not \"*\")",
            ),
            Sheets::None => {}
        }
        if let Some(r) = &self.s.spec.records {
            self.g
                .set(Table::Source, "records", q(r), "the array of records");
        }
        if let Some(l) = &self.s.spec.lines {
            self.g.set(
                Table::Source,
                "lines",
                q(l),
                "each record's lines: a row per line, with the record's fields and line.*",
            );
        }
        if self.s.spec.header_row > 1 {
            self.g.set(
                Table::Source,
                "header_row",
                self.s.spec.header_row.to_string(),
                "the rows above are titles",
            );
        }
    }

    /// Running row numbers, this tool's export paths, a document named
    /// with its date, rows continuing the record above.
    fn structure(&mut self) {
        for c in 0..self.s.headers.len() {
            if self.profiles[c].is_running()
                && self
                    .cands
                    .iter()
                    .find(|(_, _, cc, _)| *cc == c)
                    .is_none_or(|(s, f, _, _)| *f == "row_no" || *s < 100)
            {
                self.claim(c, "row_no", "a running row number (1, 2, 3, …)".into());
            }
        }
        if columns::is_export(&self.s.headers) {
            for c in 0..self.s.headers.len() {
                match columns::export_path(&self.s.headers[c]) {
                    Some(Ok(f)) if self.col(f).is_none() => {
                        self.claim(c, f, "this tool's export field path".into())
                    }
                    Some(Err(why)) => self.claim(c, "skip", why.to_string()),
                    _ => {}
                }
            }
        }
        // The document key: a number column, or one naming the document.
        let rows = self.rows();
        let embedded = (0..self.s.headers.len())
            .filter(|&c| self.taken[c].is_none())
            .find_map(|c| grouping::embedded(&rows, c).map(|e| (c, e)));
        if let Some((c, e)) = embedded {
            let h = self.header(c).to_string();
            self.g.field(
                Table::Invoice,
                "number",
                Spec::column(&h).regex(e.number_regex),
                format!(
                    "number: inside {h:?} (`… <number> от <date>`), {} of {} rows",
                    e.ok, e.of
                ),
            );
            self.g.field(
                Table::Invoice,
                "date",
                Spec::column(&h).regex(e.date_regex).date(&["%d.%m.%Y"]),
                format!("date: inside {h:?}, after the number"),
            );
            self.claim(c, "invoice.number", "a document named with its date".into());
            return;
        }
        let Some(key) = self
            .col("invoice.number")
            .or_else(|| self.best("invoice.number").map(|x| x.0))
        else {
            return;
        };
        let rows = self.rows();
        if let Some((cols, n)) = grouping::fill_down(&rows, key, self.s.headers.len()) {
            let names: Vec<String> = cols.iter().map(|&c| self.header(c).to_string()).collect();
            self.g.set(
                Table::Source,
                "fill_down",
                format!("[{}]", names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", ")),
                format!(
                    "{n} rows have {} blank and their own cells filled: they continue the record above",
                    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
                ),
            );
            let mut fill = crate::read::fill::FillDown::new(cols.clone());
            for r in &mut self.s.rows {
                fill.apply(&mut r.cells);
            }
            self.fill = cols;
            let taken = std::mem::take(&mut self.taken);
            self.look();
            self.taken = taken;
        }
    }

    /// The invoice date, and the file's date range.
    fn date(&mut self) {
        if self.g.has(Table::Invoice, "date") {
            return;
        }
        let Some((c, why)) = self
            .col("invoice.date")
            .map(|c| (c, String::new()))
            .or_else(|| self.best("invoice.date"))
        else {
            return;
        };
        let why = self.taken[c].as_ref().map(|t| t.why.clone()).unwrap_or(why);
        self.claim(c, "invoice.date", why);
        let (spec, what) = self.date_spec(c);
        let rows = self.rows();
        let formats = crate::mapping::transform::default_date_formats();
        let mut ds: Vec<NaiveDate> =
            rows.iter()
                .filter_map(|r| match r.cell(c) {
                    Cell::Date(d) => Some(*d),
                    Cell::DateTime(t) => Some(t.date()),
                    other => crate::mapping::transform::parse_date(&other.as_text(), &formats)
                        .or_else(|| {
                            let fs = [crate::mapping::transform::DateFormat::pattern("%m/%d/%Y")];
                            crate::mapping::transform::parse_date(&other.as_text(), &fs)
                        }),
                })
                .collect();
        ds.sort();
        self.dates = ds.first().copied().zip(ds.last().copied());
        let h = self.header(c).to_string();
        let range = self
            .dates
            .map(|(a, b)| format!(", {a} to {b}"))
            .unwrap_or_default();
        self.g.field(
            Table::Invoice,
            "date",
            spec,
            format!("date: {h:?}, {what}{range}"),
        );
    }

    /// A date column's spec: its text notation (day or month first as
    /// the values say), and `excel` in a workbook.
    pub(super) fn date_spec(&self, c: usize) -> (Spec, String) {
        let p = &self.profiles[c];
        let h = self.header(c);
        let workbook = matches!(
            self.s.detected.format,
            Format::Xlsx | Format::Xls | Format::Ods
        );
        let mut formats = Vec::new();
        let mut what = Vec::new();
        if p.date_cells > 0 {
            what.push(format!("{} date cells", p.date_cells));
        }
        if let Some((shape, n)) = p.date_shape() {
            let day_first = p.day_first >= p.month_first;
            formats.push(shape.format(day_first));
            let side = match (p.day_first, p.month_first, shape) {
                (_, _, super::profile::DateShape::Slash) if p.day_first + p.month_first == 0 => {
                    " (no day above 12: day first assumed)".to_string()
                }
                (d, m, super::profile::DateShape::Slash) => {
                    format!(" ({} have a day above 12 first, {} second)", d, m)
                }
                _ => String::new(),
            };
            what.push(format!("{n} as {}{side}", shape.describe(day_first)));
        }
        if workbook && (!formats.is_empty() || p.number_cells > 0) {
            if formats.is_empty() {
                what.push(format!("{} serial numbers", p.number_cells));
            }
            formats.push("excel");
        }
        let what = if what.is_empty() {
            format!("{} filled", p.filled)
        } else {
            format!("{} of {}", what.join(" and "), p.filled)
        };
        (Spec::column(h).date(&formats), what)
    }

    /// `[customer]`: match_on, number, name, tax id (and a country from its
    /// prefix when some are not IDNOs), contacts.
    fn customer(&mut self) {
        super::parties::customer(self);
    }

    /// Line fields not set by arithmetic or structure.
    fn line_fields(&mut self) {
        super::parties::line_fields(self);
    }

    /// Totals rows.
    fn skip_rules(&mut self) {
        if self.totals.is_empty() {
            return;
        }
        let Some(col) = self.totals_col else { return };
        // The number or date column when the totals word is there too.
        let h = self.header(col).to_string();
        let words: Vec<String> = self
            .totals
            .iter()
            .map(|&i| self.s.rows[i].cell(col).as_text().trim().to_string())
            .collect();
        let re = regex::Regex::new(TOTALS_REGEX).ok();
        let hits = self
            .rows()
            .iter()
            .filter(|r| {
                re.as_ref()
                    .is_some_and(|re| re.is_match(&r.cell(col).as_text()))
            })
            .count();
        let regex = if hits == 0 {
            TOTALS_REGEX.to_string()
        } else {
            let mut w = words.clone();
            w.sort();
            w.dedup();
            format!(
                "^\\s*(?:{})\\s*$",
                w.iter()
                    .map(|x| regex::escape(x))
                    .collect::<Vec<_>>()
                    .join("|")
            )
        };
        let rows: Vec<String> = self
            .totals
            .iter()
            .map(|&i| {
                let at = &self.s.rows[i].at;
                match (&at.sheet, self.s.detected.sheets.len() > 1) {
                    (Some(s), true) => format!("{s} {}", at.row),
                    _ => at.row.to_string(),
                }
            })
            .collect();
        let listed = if rows.len() > 6 {
            format!("{} and {} more", rows[..5].join(", "), rows.len() - 5)
        } else {
            rows.join(", ")
        };
        let mut w = words;
        w.sort();
        w.dedup();
        self.g.set(
            Table::Source,
            "skip_rows_matching",
            format!("{{ column = {}, regex = {} }}", q(&h), q(&regex)),
            format!(
                "totals: row{} {listed} say{} {} in {h:?}",
                if rows.len() > 1 { "s" } else { "" },
                if rows.len() > 1 { "" } else { "s" },
                w.iter()
                    .map(|x| format!("{x:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }

    /// Columns left, each with why.
    fn unmapped(&mut self) {
        for c in 0..self.s.headers.len() {
            let h = self.s.headers[c].clone();
            let used = self.g.entries.iter().any(|(_, e)| e.value.contains(&q(&h)));
            let why = match &self.taken[c] {
                Some(t) if t.field == "row_no" => t.why.clone(),
                Some(t) if t.field == "skip" => t.why.clone(),
                _ if used => continue,
                Some(t) if t.field == "line.wide" || t.field == "invoice.series" => continue,
                Some(t) => format!("taken for {} but not written: {}", t.field, t.why),
                None => self.why_not(c),
            };
            self.g.unmapped.push((h, why));
        }
        let _ = &self.fill;
    }

    fn why_not(&self, c: usize) -> String {
        let p = &self.profiles[c];
        if p.filled == 0 {
            return "empty in the sample".into();
        }
        if let Some((_, f, _, _)) = self.cands.iter().find(|(_, _, cc, _)| *cc == c) {
            let by = self
                .col(f)
                .map(|o| format!(" {:?}", self.header(o)))
                .unwrap_or_default();
            return format!("its name suggests {f}, which{by} fits better");
        }
        if p.number_share() >= 0.8 {
            return "numbers that fit no amount relation (quantity × price, net × rate, net + VAT)"
                .into();
        }
        "no field has its name or values like them".into()
    }
}

fn is_amount(f: &str) -> bool {
    matches!(
        f,
        "line.quantity"
            | "line.unit_cost"
            | "line.check_net"
            | "line.check_vat"
            | "line.check_gross"
            | "line.discount"
            | "invoice.check_subtotal"
            | "invoice.check_tax"
            | "invoice.check_total"
            | "payment.amount"
    )
}
