//! The guess written out as a mapping file: each table's fields, each with
//! the evidence it was guessed from as a comment above it, and the columns
//! left unmapped with the reason.

use std::fmt::Write as _;

/// TOML text of a string.
pub(super) fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A field spec as an inline table, built step by step.
#[derive(Debug, Clone, Default)]
pub(super) struct Spec {
    parts: Vec<String>,
}

impl Spec {
    pub(super) fn column(name: &str) -> Spec {
        Spec {
            parts: vec![format!("column = {}", q(name))],
        }
    }

    pub(super) fn value(v: &str) -> Spec {
        Spec {
            parts: vec![format!("value = {}", q(v))],
        }
    }

    pub(super) fn number(v: i64) -> Spec {
        Spec {
            parts: vec![format!("value = {v}")],
        }
    }

    pub(super) fn template(t: &str) -> Spec {
        Spec {
            parts: vec![format!("template = {}", q(t))],
        }
    }

    pub(super) fn transform(mut self, ops: &[&str]) -> Spec {
        if !ops.is_empty() {
            let list = if ops.len() == 1 {
                q(ops[0])
            } else {
                format!(
                    "[{}]",
                    ops.iter().map(|o| q(o)).collect::<Vec<_>>().join(", ")
                )
            };
            self.parts.push(format!("transform = {list}"));
        }
        self
    }

    pub(super) fn regex(mut self, re: &str) -> Spec {
        self.parts.push(format!("regex = {}", q(re)));
        self
    }

    pub(super) fn replace(mut self, from: &str, to: &str) -> Spec {
        self.parts.push(format!(
            "replace = {{ from = {}, to = {}, regex = true }}",
            q(from),
            q(to)
        ));
        self
    }

    pub(super) fn default(mut self, v: &str) -> Spec {
        self.parts.push(format!("default = {}", q(v)));
        self
    }

    pub(super) fn lookup(mut self, pairs: &[(String, String)]) -> Spec {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{} = {}", q(k), q(v)))
            .collect::<Vec<_>>()
            .join(", ");
        self.parts.push(format!("lookup = {{ {body} }}"));
        self
    }

    pub(super) fn date(mut self, formats: &[&str]) -> Spec {
        if !formats.is_empty() {
            let list = if formats.len() == 1 {
                q(formats[0])
            } else {
                format!(
                    "[{}]",
                    formats.iter().map(|f| q(f)).collect::<Vec<_>>().join(", ")
                )
            };
            self.parts.push(format!("date = {list}"));
        }
        self
    }

    pub(super) fn decimal(mut self, locale: Option<&str>) -> Spec {
        if let Some(l) = locale {
            self.parts.push(format!("decimal = {}", q(l)));
        }
        self
    }

    pub(super) fn text(&self) -> String {
        format!("{{ {} }}", self.parts.join(", "))
    }
}

/// One `key = value` line and why.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) value: String,
    pub(super) why: String,
}

/// The tables of the guessed mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Table {
    Source,
    Invoice,
    Customer,
    Line,
    LineMeta,
    Payment,
}

impl Table {
    fn header(self) -> &'static str {
        match self {
            Table::Source => "[source]",
            Table::Invoice => "[invoice]",
            Table::Customer => "[customer]",
            Table::Line => "[line]",
            Table::LineMeta => "[line.metadata]",
            Table::Payment => "[[payment]]",
        }
    }
}

/// The order of keys in every table (as the reference lists them).
const ORDER: &[&str] = &[
    "format",
    "encoding",
    "delimiter",
    "sheet",
    "header_row",
    "records",
    "lines",
    "skip_rows_matching",
    "fill_down",
    "group_by",
    "kind",
    "match_on",
    "wide",
    "number",
    "name",
    "type",
    "tax_id",
    "date",
    "due_date",
    "currency",
    "country",
    "catalog_item",
    "description",
    "quantity",
    "unit_cost",
    "taxes",
    "discount",
    "email",
    "phone",
    "address1",
    "city",
    "postal_code",
    "purchase_order",
    "notes",
    "check_net",
    "check_vat",
    "check_gross",
    "check_subtotal",
    "check_tax",
    "check_total",
    "amount",
    "method",
];

/// A guessed mapping.
#[derive(Debug, Clone, Default)]
pub(super) struct Guess {
    pub(super) intro: Vec<String>,
    pub(super) entries: Vec<(Table, Entry)>,
    /// Columns not mapped, and why.
    pub(super) unmapped: Vec<(String, String)>,
    /// What the guess could not settle.
    pub(super) warnings: Vec<String>,
}

impl Guess {
    pub(super) fn set(&mut self, table: Table, key: &str, value: String, why: impl Into<String>) {
        self.entries.retain(|(t, e)| !(*t == table && e.key == key));
        self.entries.push((
            table,
            Entry {
                key: key.to_string(),
                value,
                why: why.into(),
            },
        ));
    }

    pub(super) fn field(&mut self, table: Table, key: &str, spec: Spec, why: impl Into<String>) {
        self.set(table, key, spec.text(), why);
    }

    pub(super) fn has(&self, table: Table, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(t, e)| *t == table && e.key == key)
    }

    /// The mapping file's text.
    pub(super) fn text(&self) -> String {
        let mut t = String::new();
        for l in &self.intro {
            let _ = writeln!(t, "# {l}");
        }
        let _ = writeln!(t, "version = 1");
        let mut tables: Vec<Table> = self.entries.iter().map(|(t, _)| *t).collect();
        tables.sort();
        tables.dedup();
        for table in tables {
            let _ = writeln!(t, "\n{}", table.header());
            let mut entries: Vec<&Entry> = self
                .entries
                .iter()
                .filter(|(x, _)| *x == table)
                .map(|(_, e)| e)
                .collect();
            entries.sort_by_key(|e| {
                ORDER
                    .iter()
                    .position(|k| *k == e.key)
                    .unwrap_or(ORDER.len())
            });
            for e in entries {
                for line in e.why.lines().filter(|l| !l.is_empty()) {
                    let _ = writeln!(t, "# {line}");
                }
                let _ = writeln!(t, "{} = {}", e.key, e.value);
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(t, "\n# To check:");
            for w in &self.warnings {
                let _ = writeln!(t, "# - {w}");
            }
        }
        if !self.unmapped.is_empty() {
            let _ = writeln!(t, "\n# Columns not mapped:");
            for (c, why) in &self.unmapped {
                let _ = writeln!(t, "# - {}: {why}", q(c));
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_tables_render_as_toml() {
        let mut g = Guess::default();
        g.field(
            Table::Line,
            "quantity",
            Spec::column("Кол-во").decimal(Some("ru")),
            "a number",
        );
        g.set(Table::Source, "format", q("csv"), "");
        g.field(
            Table::Line,
            "taxes",
            Spec::column("НДС %")
                .transform(&["trim"])
                .lookup(&[("20".into(), "tva20".into())]),
            "rates\nin two lines",
        );
        g.unmapped.push(("Ед.".into(), "no field for it".into()));
        let text = g.text();
        let v: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(v["line"]["quantity"]["decimal"].as_str(), Some("ru"));
        assert_eq!(v["line"]["taxes"]["lookup"]["20"].as_str(), Some("tva20"));
        assert!(text.find("[source]").unwrap() < text.find("[line]").unwrap());
        assert!(text.contains("# rates\n# in two lines\ntaxes = "));
        assert!(text.contains("# - \"Ед.\": no field for it"));
    }
}
