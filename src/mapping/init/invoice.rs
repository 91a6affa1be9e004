//! The document's own fields, written from the columns decided: its number
//! (two columns together when the number repeats over a series), grouping
//! by the number when its rows agree on the date and the customer, the due
//! date, notes, purchase order, currency (codes, or names such as `лей`
//! through a lookup), kind (credit notes by their words) and the totals the
//! source states.

use super::decide::Ctx;
use super::grouping::{self, KeyStats};
use super::render::{q, Spec, Table};
use super::vocabulary::{currency_by_name, CURRENCIES};

impl Ctx {
    /// Number, grouping, currency, due date, notes, kind, document checks.
    pub(super) fn invoice(&mut self) {
        let width = self.s.headers.len();
        let json_records = self.s.spec.lines.is_some();
        if !self.g.has(Table::Invoice, "number") {
            if let Some(c) = self.col("invoice.number") {
                let h = self.header(c).to_string();
                let why = self.taken[c]
                    .as_ref()
                    .map(|t| t.why.clone())
                    .unwrap_or_default();
                self.g.field(
                    Table::Invoice,
                    "number",
                    Spec::column(&h).transform(&["trim"]),
                    format!("number: {h:?}: {why}"),
                );
            }
        }
        let key = self.col("invoice.number");
        let same: Vec<usize> = [
            "invoice.date",
            "customer.name",
            "customer.number",
            "customer.tax_id",
        ]
        .iter()
        .filter_map(|f| self.col(f))
        .collect();
        if let (Some(k), false) = (key, json_records) {
            let rows = self.rows();
            let st = grouping::key_stats(&rows, &[k], &same);
            let h = self.header(k).to_string();
            if st.groups() {
                let why = group_why(std::slice::from_ref(&h), &st, &same, &self.s.headers);
                self.g.set(Table::Invoice, "group_by", q(&h), why);
            } else if st.clashes() {
                // The number may be one of two parts (a series and a number).
                let series = (0..width)
                    .filter(|&c| c != k && self.taken[c].is_none())
                    .filter(|&c| {
                        let p = &self.profiles[c];
                        !p.many && p.distinct.len() <= 20 && p.filled == rows.len() && p.letters > 0
                    })
                    .map(|c| (c, grouping::key_stats(&rows, &[c, k], &same)))
                    .find(|(_, s)| s.groups() || s.repeated == 0);
                match series {
                    Some((sc, sst)) => {
                        let (a, b) = if sc < k { (sc, k) } else { (k, sc) };
                        let (ha, hb) = (self.header(a).to_string(), self.header(b).to_string());
                        let mut why = format!(
                            "{h:?} alone repeats on rows that differ in date or customer ({} of {} repeated numbers): with {:?} it names the document",
                            st.repeated - st.agree,
                            st.repeated,
                            self.header(sc)
                        );
                        if sst.repeated > 0 {
                            why.push('\n');
                            why.push_str(&group_why(&[ha.clone(), hb.clone()], &sst, &same, &self.s.headers));
                            self.g.set(
                                Table::Invoice,
                                "group_by",
                                format!("[{}, {}]", q(&ha), q(&hb)),
                                why.clone(),
                            );
                        }
                        self.g.field(
                            Table::Invoice,
                            "number",
                            Spec::template(&format!("{{{ha}}}-{{{hb}}}")),
                            format!("number: {ha:?} and {hb:?} together (see group_by)"),
                        );
                        self.claim(sc, "invoice.series", "part of the number".into());
                    }
                    None => self.g.warnings.push(format!(
                        "{h:?} repeats on {} of {} repeated values with another date or customer: one row per document is assumed (a number used twice is reported as a duplicate)",
                        st.repeated - st.agree,
                        st.repeated
                    )),
                }
            }
        }
        for (f, key, ops) in [
            ("invoice.due_date", "due_date", &[][..]),
            ("invoice.notes", "notes", &["trim"][..]),
            ("invoice.purchase_order", "purchase_order", &["trim"][..]),
        ] {
            if let Some(c) = self.col(f) {
                let h = self.header(c).to_string();
                let why = self.taken[c]
                    .as_ref()
                    .map(|t| t.why.clone())
                    .unwrap_or_default();
                let spec = if key == "due_date" {
                    self.date_spec(c).0
                } else {
                    Spec::column(&h).transform(ops)
                };
                self.g
                    .field(Table::Invoice, key, spec, format!("{key}: {h:?}: {why}"));
            }
        }
        self.currency();
        self.kind();
        for (f, key) in [
            ("invoice.check_subtotal", "check_subtotal"),
            ("invoice.check_tax", "check_tax"),
            ("invoice.check_total", "check_total"),
        ] {
            if let Some(c) = self.col(f) {
                let h = self.header(c).to_string();
                let why = self.taken[c]
                    .as_ref()
                    .map(|t| t.why.clone())
                    .unwrap_or_default();
                self.g.field(
                    Table::Invoice,
                    key,
                    Spec::column(&h).decimal(self.text_decimal(c)),
                    format!("{key}: {h:?}: {why} (checked, not sent)"),
                );
            }
        }
        let source = std::path::Path::new(self.s.detected.format.name());
        let _ = source;
    }

    fn currency(&mut self) {
        let Some(c) = self.col("invoice.currency") else {
            self.g.field(
                Table::Invoice,
                "currency",
                Spec::value("MDL"),
                "currency: no currency column: MDL",
            );
            return;
        };
        let h = self.header(c).to_string();
        let p = &self.profiles[c];
        let names: Vec<(String, String)> = p
            .distinct
            .keys()
            .filter(|k| !CURRENCIES.iter().any(|c| c.eq_ignore_ascii_case(k)))
            .filter_map(|k| currency_by_name(k).map(|code| (k.clone(), code.to_string())))
            .collect();
        let codes: Vec<String> = p.distinct.keys().cloned().collect();
        let spec = if names.is_empty() {
            Spec::column(&h)
                .transform(&["trim", "upper"])
                .default("MDL")
        } else {
            let mut pairs = names.clone();
            for k in &codes {
                if let Some(code) = CURRENCIES.iter().find(|c| c.eq_ignore_ascii_case(k)) {
                    pairs.push((k.clone(), code.to_string()));
                }
            }
            Spec::column(&h)
                .transform(&["trim"])
                .default("MDL")
                .lookup(&pairs)
        };
        let why = if names.is_empty() {
            format!("currency: {h:?}: {}", codes.join(", "))
        } else {
            format!(
                "currency: {h:?}, by name: {}",
                names
                    .iter()
                    .map(|(k, v)| format!("{k} → {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        self.g.field(Table::Invoice, "currency", spec, why);
    }

    fn kind(&mut self) {
        let Some(c) = self.col("invoice.kind") else {
            return;
        };
        let h = self.header(c).to_string();
        let mut pairs = Vec::new();
        for v in self.profiles[c].distinct.keys().take(20) {
            let l = v.to_lowercase();
            let kind = if ["credit", "возврат", "retur", "storno", "refund"]
                .iter()
                .any(|w| l.contains(w))
            {
                "credit_note"
            } else {
                "invoice"
            };
            pairs.push((v.clone(), kind.to_string()));
        }
        if pairs.is_empty() {
            return;
        }
        self.g.field(
            Table::Invoice,
            "kind",
            Spec::column(&h).transform(&["trim"]).lookup(&pairs),
            format!(
                "kind: {h:?}: credit notes by their words (credit, возврат, retur, storno, refund)"
            ),
        );
    }
}

/// Why a key groups: `40 documents: "№ документа" repeats on 104 rows (up
/// to 5 a document, scattered), with the same "Дата" and "Покупатель" on
/// 39 of 40`.
fn group_why(names: &[String], st: &KeyStats, same: &[usize], headers: &[String]) -> String {
    let shared: Vec<String> = same.iter().map(|&c| format!("{:?}", headers[c])).collect();
    format!(
        "{} documents: {} repeat{} over {} rows (up to {} rows a document, {}){}",
        st.keys,
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(" and "),
        if names.len() == 1 { "s" } else { "" },
        st.rows,
        st.most,
        if st.scattered {
            "scattered"
        } else {
            "one after another"
        },
        if shared.is_empty() {
            String::new()
        } else {
            format!(
                "; {} of the {} on several rows keep one {} on all of them",
                st.agree,
                st.repeated,
                shared.join(", ")
            )
        }
    )
}
