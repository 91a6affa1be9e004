//! Which rows make a document: totals rows to skip (a totals word opening
//! a row, `Итого`, `Всего`, `Total`, `Totaluri`, `Total general`), rows
//! that continue the record above them (its own columns blank: fill-down),
//! the document key (a column, or two, whose values repeat over adjacent
//! or scattered rows while the date and the customer stay the same), and a
//! document named inside one column with its date (1C's `Реализация
//! товаров и услуг 00ИТ-001201 от 10.01.2024 11:33:14`).

use super::vocabulary::is_totals_word;
use crate::read::{Cell, SourceRow};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Totals rows: the row indices, and the column their totals word is in
/// (the first column that has it on every one of them).
pub(super) fn totals_rows(rows: &[SourceRow]) -> (Vec<usize>, Option<usize>) {
    let mut found = Vec::new();
    let mut cols: Option<Vec<usize>> = None;
    for (i, r) in rows.iter().enumerate() {
        // The totals word opens the row: it is in its first filled cells.
        let here: Vec<usize> = r
            .cells
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_blank())
            .take(3)
            .filter(|(_, c)| matches!(c, Cell::Text(_)) && is_totals_word(&c.as_text()))
            .map(|(j, _)| j)
            .collect();
        if here.is_empty() {
            continue;
        }
        found.push(i);
        cols = Some(match cols {
            None => here,
            Some(prev) => prev.into_iter().filter(|c| here.contains(c)).collect(),
        });
    }
    let col = cols.and_then(|c| c.first().copied());
    (found, col)
}

/// Rows that continue the record above: `key` blank, other cells filled,
/// and the columns blank on all of them (that are filled elsewhere) are
/// the record's own. Returns those columns (key first) and how many rows
/// continue a record, or None when no row does.
pub(super) fn fill_down(
    rows: &[SourceRow],
    key: usize,
    width: usize,
) -> Option<(Vec<usize>, usize)> {
    let is_cont = |r: &SourceRow| r.cell(key).is_blank() && !r.is_blank();
    let cont: Vec<&SourceRow> = rows.iter().filter(|r| is_cont(r)).collect();
    let keyed: Vec<&SourceRow> = rows.iter().filter(|r| !r.cell(key).is_blank()).collect();
    // Continuation rows come after a keyed row, and there are enough of
    // them to be a layout rather than a few broken rows.
    if cont.is_empty() || keyed.is_empty() || rows.first().is_some_and(is_cont) {
        return None;
    }
    let mut cols = vec![key];
    for c in 0..width {
        if c == key {
            continue;
        }
        let blank_on_cont = cont.iter().all(|r| r.cell(c).is_blank());
        let filled_on_keyed = keyed.iter().filter(|r| !r.cell(c).is_blank()).count();
        if blank_on_cont && filled_on_keyed * 2 >= keyed.len() {
            cols.push(c);
        }
    }
    // The continuation rows have cells of their own (the line's).
    let own = (0..width).any(|c| !cols.contains(&c) && cont.iter().all(|r| !r.cell(c).is_blank()));
    own.then_some((cols, cont.len()))
}

/// How a document key behaved on the sample.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyStats {
    /// Distinct keys.
    pub(super) keys: usize,
    /// Keys on more than one row.
    pub(super) repeated: usize,
    /// Repeated keys whose rows agree on the date and the customer.
    pub(super) agree: usize,
    /// The most rows of one key.
    pub(super) most: usize,
    /// Whether some key's rows are not one after another.
    pub(super) scattered: bool,
    /// Rows with a key.
    pub(super) rows: usize,
}

impl KeyStats {
    /// Whether the key groups rows into documents: some keys repeat and
    /// most of those agree on what a document shares.
    pub(super) fn groups(&self) -> bool {
        self.repeated > 0 && self.agree as f64 >= 0.8 * self.repeated as f64
    }

    /// Whether the key repeats but its rows do not agree (a number used
    /// for two documents, or a key that is only part of one).
    pub(super) fn clashes(&self) -> bool {
        self.repeated > 0 && !self.groups()
    }
}

/// A key's rows so far: how many, the first's index, whether they agree,
/// the first's shared cells, the last's index.
type Seen = (usize, usize, bool, Vec<String>, usize);

fn text(c: &Cell) -> String {
    c.as_text().trim().to_string()
}

/// The key `cols` on `rows`, with `same` the columns a document's rows
/// share (its date, its customer).
pub(super) fn key_stats(rows: &[SourceRow], cols: &[usize], same: &[usize]) -> KeyStats {
    let mut by_key: HashMap<Vec<String>, Seen> = HashMap::new();
    let mut st = KeyStats::default();
    for (i, r) in rows.iter().enumerate() {
        let key: Vec<String> = cols.iter().map(|&c| text(r.cell(c))).collect();
        if key.iter().all(String::is_empty) {
            continue;
        }
        st.rows += 1;
        let shared: Vec<String> = same.iter().map(|&c| text(r.cell(c))).collect();
        match by_key.get_mut(&key) {
            None => {
                by_key.insert(key, (1, i, true, shared, i));
            }
            Some((n, _, agree, first, last)) => {
                *n += 1;
                if *first != shared {
                    *agree = false;
                }
                if *last + 1 != i {
                    st.scattered = true;
                }
                *last = i;
            }
        }
    }
    st.keys = by_key.len();
    for (n, _, agree, _, _) in by_key.values() {
        st.most = st.most.max(*n);
        if *n > 1 {
            st.repeated += 1;
            if *agree {
                st.agree += 1;
            }
        }
    }
    st
}

/// A document named with its date inside one column: `<what> <number>
/// от|din|from|of|dated <date>`; the regexes that take the number and the
/// date out, when (nearly) every filled cell reads so.
pub(super) struct Embedded {
    pub(super) number_regex: &'static str,
    pub(super) date_regex: &'static str,
    pub(super) ok: usize,
    pub(super) of: usize,
}

static EMBEDDED: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"\s(\S+)\s+(?:от|din|from|of|dated)\s+(\d{1,2}\.\d{1,2}\.\d{4})")
        .expect("the embedded document regex")
});

pub(super) fn embedded(rows: &[SourceRow], col: usize) -> Option<Embedded> {
    let mut ok = 0;
    let mut of = 0;
    for r in rows {
        let c = r.cell(col);
        if c.is_blank() {
            continue;
        }
        of += 1;
        if EMBEDDED.is_match(&c.as_text()) {
            ok += 1;
        }
    }
    (of > 0 && ok as f64 >= 0.9 * of as f64).then_some(Embedded {
        number_regex: r"\s(\S+)\s+(?:от|din|from|of|dated)\s+\d",
        date_regex: r"\s(?:от|din|from|of|dated)\s+(\d{1,2}\.\d{1,2}\.\d{4})",
        ok,
        of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RowRef;
    use std::sync::Arc;

    fn rows(vals: &[&[&str]]) -> Vec<SourceRow> {
        vals.iter()
            .enumerate()
            .map(|(i, r)| SourceRow {
                at: RowRef {
                    file: Arc::from("t"),
                    sheet: None,
                    row: i as u64 + 2,
                },
                cells: r
                    .iter()
                    .map(|v| {
                        if v.is_empty() {
                            Cell::Empty
                        } else {
                            Cell::Text((*v).into())
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn keys_that_group_and_keys_that_clash() {
        // Serie, Numar, Data: the number alone repeats over two series.
        let rs = rows(&[
            &["FA", "1", "01/10"],
            &["FS", "1", "06/10"],
            &["FA", "2", "06/10"],
            &["FA", "2", "06/10"],
            &["FS", "2", "08/10"],
        ]);
        assert!(key_stats(&rs, &[1], &[2]).clashes());
        let both = key_stats(&rs, &[0, 1], &[2]);
        assert!(both.groups() && both.keys == 4);
    }

    #[test]
    fn totals_continuations_and_embedded_documents() {
        let rs = rows(&[
            &[
                "Реализация товаров и услуг 00ИТ-1 от 10.01.2024 11:33:14",
                "a",
                "1",
            ],
            &["Итого по документу", "", "1"],
            &["Итого", "", "1"],
        ]);
        assert_eq!(totals_rows(&rs), (vec![1, 2], Some(0)));
        assert!(embedded(&rs[..1], 0).is_some());
        let odoo = rows(&[
            &["INV/1", "Alfa", "chair", "1"],
            &["", "", "desk", "2"],
            &["INV/2", "Beta", "lamp", "3"],
        ]);
        assert_eq!(fill_down(&odoo, 0, 4), Some((vec![0, 1], 1)));
    }
}
