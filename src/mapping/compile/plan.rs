//! The compiled plan: a mapping resolved against one input's headers
//! ([`Plan`]), its fields ([`Field`]: where each value comes from, the text
//! operations, the lookup, how it is parsed, what it sets), and the
//! `skip_rows_matching` rules, which tell most cells apart by a literal
//! prefix before running their regex.

use crate::mapping::transform::{BoolLang, DateFormat, DecimalLocale, TextOp};
use crate::model::{FieldPath, MatchOn, Record, Scope};
use crate::read::Cell;
use regex::Regex;
use std::collections::HashMap;
use std::sync::Arc;

/// The type a field's value takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Text,
    Date,
    Decimal,
    Bool,
    /// Tax-rate ids, `,`-separated.
    Rates,
    /// `invoice` or `credit_note`.
    Kind,
    /// An object's id on the account (a whole number).
    Id,
    /// A moment (`updated_at`): a date and time in Chisinau, as Unix seconds.
    Moment,
}

/// Where a field's raw value comes from.
#[derive(Debug, Clone)]
pub enum Src {
    Column { idx: usize, name: Arc<str> },
    Const(Cell),
    Template(Vec<Part>),
}

#[derive(Debug, Clone)]
pub enum Part {
    Lit(String),
    Col { idx: usize, name: Arc<str> },
}

#[derive(Debug, Clone)]
pub enum Replace {
    Plain(String, String),
    Regex(Regex, String),
}

/// A lookup table: exact keys, then keys ignoring case and spaces.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub exact: HashMap<String, String, foldhash::fast::RandomState>,
    pub loose: HashMap<String, String, foldhash::fast::RandomState>,
    /// A lookup file (its name and key column): messages never list its
    /// keys, which are the file's content.
    pub file: Option<String>,
}

impl Lookup {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Lookup {
        let mut l = Lookup::default();
        for (k, v) in pairs {
            l.loose
                .entry(k.trim().to_lowercase())
                .or_insert_with(|| v.clone());
            l.exact.insert(k, v);
        }
        l
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.exact
            .get(key)
            .or_else(|| self.loose.get(&key.trim().to_lowercase()))
            .map(String::as_str)
    }

    /// Some keys, for "expected" in messages (a lookup file's: only its
    /// name and column).
    pub fn keys_hint(&self) -> String {
        if let Some(file) = &self.file {
            return format!("a key of the lookup file {file}");
        }
        let mut keys: Vec<&str> = self.exact.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let more = keys.len() > 12;
        keys.truncate(12);
        let mut s = keys
            .iter()
            .map(|k| format!("{:?}", crate::model::text::cut(k)))
            .collect::<Vec<_>>()
            .join(", ");
        if more {
            s.push_str(", ...");
        }
        format!("one of {s}")
    }
}

/// How the final text becomes a typed value.
#[derive(Debug, Clone)]
pub enum Parse {
    Text,
    Date(Vec<DateFormat>),
    Decimal(DecimalLocale),
    Integer,
    Bool(BoolLang),
    /// A date and time in Chisinau (a date-time cell, `YYYY-MM-DD HH:MM:SS`
    /// text, an Excel serial with a fraction), to Unix seconds.
    Moment,
}

/// A compiled field.
#[derive(Debug, Clone)]
pub struct Field {
    /// The payload path (`customer.tax_id`); for lines `{i}` stands for the
    /// item's index (`items[{i}].quantity`).
    pub path: String,
    /// Where `{i}` is in `path`, for lines.
    pub index_at: Option<usize>,
    /// `path` interned, for the draft's origins (payments: as a template
    /// at their index, so that they can be renumbered).
    pub origin: FieldPath,
    /// The column its value comes from (a template's first), interned.
    pub column: Option<(usize, &'static str)>,
    /// What it sets (`number`, `customer.name`, `line.quantity`, ...).
    pub target: Target,
    pub ty: Ty,
    pub src: Src,
    pub ops: Vec<TextOp>,
    pub replace: Vec<Replace>,
    pub capture: Option<Regex>,
    pub default: Option<Cell>,
    pub lookup: Option<Arc<Lookup>>,
    pub parse: Parse,
    /// The first and last year a date may fall in (`[limits] years`).
    pub years: (i32, i32),
}

impl Field {
    /// The field's path for item `i` (`items[2].quantity`).
    pub fn path_at(&self, i: usize) -> String {
        match self.index_at {
            Some(at) => {
                use std::fmt::Write as _;
                let mut p = String::with_capacity(self.path.len() + 4);
                p.push_str(&self.path[..at]);
                let _ = write!(p, "{i}");
                p.push_str(&self.path[at + 3..]);
                p
            }
            None => self.path.clone(),
        }
    }

    /// Whether the value comes from the row (not a constant).
    pub fn from_row(&self) -> bool {
        !matches!(self.src, Src::Const(_))
    }
}

/// What a field sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Invoice(&'static str),
    InvoiceMeta(String),
    Customer(&'static str),
    CustomerMeta(String),
    Payment(usize, &'static str),
    Line(&'static str),
    LineMeta(String),
    /// A value the API computes for the document (`total`), read for comparison.
    Computed(String),
    /// A value the API computes for a line (`amount`).
    LineComputed(String),
}

/// A `skip_rows_matching` rule: rows whose cell in `column` (or any cell)
/// matches `regex` are skipped.
#[derive(Debug, Clone)]
pub struct SkipRule {
    pub column: Option<usize>,
    pub regex: Regex,
    /// When every match must begin the text with one of these (`^Итого`),
    /// most cells are told apart by their first bytes, without the regex.
    prefixes: Option<Vec<Box<[u8]>>>,
}

impl SkipRule {
    pub fn new(column: Option<usize>, regex: Regex) -> SkipRule {
        SkipRule {
            column,
            prefixes: anchored_prefixes(regex.as_str()),
            regex,
        }
    }

    /// Whether `text` matches the rule's regex.
    pub fn is_match(&self, text: &str) -> bool {
        if let Some(prefixes) = &self.prefixes {
            if !prefixes.iter().any(|p| text.as_bytes().starts_with(p)) {
                return false;
            }
        }
        self.regex.is_match(text)
    }
}

/// The texts one of which every match of `pattern` begins the haystack
/// with, when the pattern is anchored at the start and they are few.
fn anchored_prefixes(pattern: &str) -> Option<Vec<Box<[u8]>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::Look;
    let hir = regex_syntax::parse(pattern).ok()?;
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return None;
    }
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    Some(literals.iter().map(|l| l.as_bytes().into()).collect())
}

/// A mapping compiled against one input's headers.
#[derive(Debug, Clone)]
pub struct Plan {
    pub headers: Arc<[Arc<str>]>,
    /// Document-level fields (invoice, customer, payments, document checks).
    pub header: Vec<Field>,
    /// Line slots: one, or one per `n` of a wide layout.
    pub lines: Vec<Vec<Field>>,
    /// Group key columns; empty: no grouping.
    pub key: Vec<usize>,
    /// The source reads several sheets: a group key is scoped to its sheet
    /// (and the document's source key names it).
    pub sheets_in_key: bool,
    /// `source.fill_down` columns (the reader fills them in; examples
    /// fill theirs the same way).
    pub fill: Vec<usize>,
    /// With JSON nested lines and no group_by: rows of one record are one document.
    pub group_by_record: bool,
    pub skip: Vec<SkipRule>,
    pub match_on: MatchOn,
    /// `[checks] tolerance`: stated totals this close are warned about only.
    pub tolerance: Option<rust_decimal::Decimal>,
    pub credit_note_when_negative: bool,
    pub payments: usize,
    /// Lookup files' bytes, for the mapping's identity.
    pub lookup_bytes: Vec<Vec<u8>>,
    /// The lookup files read.
    pub lookup_files: Vec<std::path::PathBuf>,
    /// Every column name the mapping reads, in order of appearance.
    pub referenced: Vec<String>,
    /// Documents, or customer records.
    pub record: Record,
    /// A round trip's fields (its mapping maps `id`), shared by its drafts.
    pub scope: Option<Arc<Scope>>,
}

impl Plan {
    /// The columns mapping needs: those fields read, plus key and skip
    /// columns; the others are left empty by the reader.
    pub fn row_projection(&self) -> Arc<[bool]> {
        let mut p: Vec<bool> = self.key_projection().to_vec();
        let mut mark = |i: usize| {
            if let Some(x) = p.get_mut(i) {
                *x = true;
            }
        };
        for f in self.header.iter().chain(self.lines.iter().flatten()) {
            match &f.src {
                Src::Column { idx, .. } => mark(*idx),
                Src::Template(parts) => {
                    for part in parts {
                        if let Part::Col { idx, .. } = part {
                            mark(*idx);
                        }
                    }
                }
                Src::Const(_) => {}
            }
        }
        p.into()
    }

    /// The columns the grouping pass needs: key and skip columns; with
    /// `fill_down`, every column (whether a row continues the record above
    /// depends on whether it is blank).
    pub fn key_projection(&self) -> Arc<[bool]> {
        if !self.fill.is_empty() {
            return vec![true; self.headers.len()].into();
        }
        let mut p = vec![false; self.headers.len()];
        for &k in &self.key {
            if let Some(x) = p.get_mut(k) {
                *x = true;
            }
        }
        for rule in &self.skip {
            match &rule.column {
                Some(c) => {
                    if let Some(x) = p.get_mut(*c) {
                        *x = true;
                    }
                }
                None => p.iter_mut().for_each(|x| *x = true),
            }
        }
        p.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn prefixes(pattern: &str) -> Option<Vec<String>> {
        anchored_prefixes(pattern).map(|ps| {
            ps.iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect()
        })
    }

    #[test]
    fn anchored_patterns_give_their_prefixes() {
        assert_eq!(prefixes("^Итого"), Some(vec!["Итого".to_string()]));
        assert_eq!(
            prefixes("^(Итого|Всего)"),
            Some(vec!["Итого".to_string(), "Всего".to_string()])
        );
        assert_eq!(prefixes("Итого"), None, "not anchored");
        assert_eq!(prefixes("(?m)^Итого"), None, "any line's start");
        assert_eq!(prefixes("^.*Итого"), None, "no fixed start");
        assert_eq!(prefixes("^|x"), None, "an empty match");
    }

    proptest! {
        #[test]
        fn skip_rules_match_as_their_regex(
            text in "[ИиTtoО ]{0,3}(Итого|итого|Total|TOTAL)?[ :0-9]{0,4}",
            pattern in prop::sample::select(vec![
                "^Итого", "^(?i)итого", "^(Итого|Total)", "^\\s*Итого", "^(?i:total)\\b", "Итого$", "^",
            ]),
        ) {
            let rule = SkipRule::new(None, Regex::new(pattern).unwrap());
            prop_assert_eq!(rule.is_match(&text), rule.regex.is_match(&text), "{:?} on {:?}", pattern, text);
        }
    }
}
