//! Spec → plan. Everything that can be checked without an input is checked
//! when the mapping loads (patterns, formats, locales, lookup files); column
//! names are resolved against each input's headers before its first row,
//! with "did you mean" for a name that is not there. Every mistake is
//! collected, each with its place in the mapping file.

use super::spec::{FieldSpec, FieldTable, MappingSpec, SheetValue, StrList};
use super::transform::{BoolLang, DateFormat, DecimalLocale, TextOp};
use super::{did_you_mean, Diag, Mapping};
use crate::model::{intern, FieldPath, MatchOn};
use crate::read::{Cell, Format, SheetSel, SourceSpec};
use regex::Regex;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

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

    /// Some keys, for "expected" in messages.
    pub fn keys_hint(&self) -> String {
        let mut keys: Vec<&str> = self.exact.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let more = keys.len() > 12;
        keys.truncate(12);
        let mut s = keys
            .iter()
            .map(|k| format!("{k:?}"))
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
    /// With JSON nested lines and no group_by: rows of one record are one document.
    pub group_by_record: bool,
    pub skip: Vec<SkipRule>,
    pub match_on: MatchOn,
    pub credit_note_when_negative: bool,
    pub payments: usize,
    /// Lookup files' bytes, for the mapping's identity.
    pub lookup_bytes: Vec<Vec<u8>>,
    /// Every column name the mapping reads, in order of appearance.
    pub referenced: Vec<String>,
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

    /// The columns the grouping pass needs (key and skip columns).
    pub fn key_projection(&self) -> Arc<[bool]> {
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

/// The `[source]` table as reader options.
pub fn source_spec(spec: &MappingSpec) -> Result<SourceSpec, Vec<Diag>> {
    let s = &spec.source;
    let mut diags = Vec::new();
    let mut out = SourceSpec::default();
    if *spec.version.get_ref() != 1 {
        diags.push(
            Diag::at(
                spec.version.span(),
                format!("unsupported version {}", spec.version.get_ref()),
            )
            .help("this program reads mapping files of version 1: write `version = 1`"),
        );
    }
    if let Some(f) = &s.format {
        match Format::parse(f.get_ref()) {
            Some(x) => out.format = Some(x),
            None => diags.push(
                Diag::at(f.span(), format!("unknown format {:?}", f.get_ref()))
                    .help(format!("one of {}", Format::NAMES.join(", "))),
            ),
        }
    }
    if let Some(e) = &s.encoding {
        let label = e.get_ref().trim();
        if !label.eq_ignore_ascii_case("auto") {
            let label = match label.to_ascii_lowercase().as_str() {
                "cp1251" | "win1251" | "windows1251" => "windows-1251".to_string(),
                "cp1250" => "windows-1250".to_string(),
                "cp1252" => "windows-1252".to_string(),
                "dos" | "cp866" | "ibm866" | "866" => "ibm866".to_string(),
                "utf16" => "utf-16le".to_string(),
                other => other.to_string(),
            };
            match encoding_rs::Encoding::for_label(label.as_bytes()) {
                Some(enc) => out.encoding = Some(enc),
                None => diags.push(
                    Diag::at(e.span(), format!("unknown encoding {:?}", e.get_ref())).help(
                        "for example utf-8, utf-16, windows-1251, cp866, koi8-r, windows-1250, windows-1252, or auto",
                    ),
                ),
            }
        }
    }
    if let Some(d) = &s.delimiter {
        let v = d.get_ref().as_str();
        match v {
            "auto" => {}
            "tab" | "\\t" | "\t" => out.delimiter = Some(b'\t'),
            _ if v.len() == 1 && v.is_ascii() => out.delimiter = Some(v.as_bytes()[0]),
            _ => diags.push(
                Diag::at(
                    d.span(),
                    format!("a delimiter is one ASCII character, found {v:?}"),
                )
                .help("for example \";\", \",\", \"tab\", \"|\" or \"auto\""),
            ),
        }
    }
    if let Some(q) = &s.quote {
        let v = q.get_ref();
        if v.len() == 1 && v.is_ascii() {
            out.quote = v.as_bytes()[0];
        } else {
            diags.push(Diag::at(
                q.span(),
                format!("a quote is one ASCII character, found {v:?}"),
            ));
        }
    }
    if let Some(h) = &s.header_row {
        match u64::try_from(*h.get_ref()) {
            Ok(n) if n >= 1 => out.header_row = n,
            _ => diags.push(Diag::at(
                h.span(),
                format!("header_row is a row number from 1, found {}", h.get_ref()),
            )),
        }
    }
    if let Some(sh) = &s.sheet {
        match sh.get_ref() {
            SheetValue::Name(n) => out.sheet = Some(SheetSel::Name(n.clone())),
            SheetValue::Index(i) if *i >= 1 => out.sheet = Some(SheetSel::Index(*i as usize)),
            SheetValue::Index(i) => diags.push(Diag::at(
                sh.span(),
                format!("sheet is a name or a position from 1, found {i}"),
            )),
        }
    }
    out.records = s.records.as_ref().map(|r| r.get_ref().clone());
    out.lines = s.lines.as_ref().map(|r| r.get_ref().clone());
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

struct Ctx<'a> {
    headers: Option<(&'a [String], &'a str)>,
    index: HashMap<&'a str, usize>,
    loose: HashMap<String, usize>,
    names: Vec<Arc<str>>,
    diags: Vec<Diag>,
    base_dir: &'a Path,
    lookup_bytes: Vec<Vec<u8>>,
    /// The column currently being expanded in a wide layout.
    wide_n: Option<i64>,
    referenced: Vec<String>,
}

impl Ctx<'_> {
    fn column(&mut self, name: &str, span: Range<usize>) -> (usize, Arc<str>) {
        if !self.referenced.iter().any(|r| r == name) {
            self.referenced.push(name.to_string());
        }
        let Some((headers, file)) = self.headers else {
            return (usize::MAX, Arc::from(name));
        };
        if let Some(&i) = self.index.get(name) {
            return (i, self.names[i].clone());
        }
        if let Some(&i) = self.loose.get(&name.trim().to_lowercase()) {
            return (i, self.names[i].clone());
        }
        let near = did_you_mean(name, headers.iter().map(String::as_str));
        let listing = headers
            .iter()
            .take(40)
            .map(|h| format!("{h:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut help = String::new();
        if let Some(n) = near {
            help.push_str(&format!("did you mean {n:?}? "));
        }
        help.push_str(&format!("the columns of {file} are: {listing}"));
        self.diags
            .push(Diag::at(span, format!("no column {name:?} in {file}")).help(help));
        (usize::MAX, Arc::from(name))
    }

    fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name) || self.loose.contains_key(&name.trim().to_lowercase())
    }

    fn wide(&self, s: &str) -> String {
        match self.wide_n {
            Some(n) => s.replace("{n}", &n.to_string()),
            None => s.to_string(),
        }
    }

    fn regex(&mut self, pattern: &str, span: Range<usize>) -> Option<Regex> {
        match Regex::new(pattern) {
            Ok(r) => Some(r),
            Err(e) => {
                let msg = e.to_string();
                let last = msg.lines().last().unwrap_or("").trim().to_string();
                self.diags.push(Diag::at(
                    span,
                    format!("invalid regular expression: {last}"),
                ));
                None
            }
        }
    }

    fn template(&mut self, t: &str, span: Range<usize>) -> Vec<Part> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = t.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed || name.is_empty() {
                        self.diags.push(
                            Diag::at(
                                span.clone(),
                                "a `{` in the template is not closed by `}` around a column name",
                            )
                            .help("write {Column} for a column, {{ and }} for braces"),
                        );
                        return parts;
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    let (idx, name) = self.column(&name, span.clone());
                    parts.push(Part::Col { idx, name });
                }
                '}' => {
                    self.diags.push(
                        Diag::at(span.clone(), "a `}` in the template has no `{`")
                            .help("write {Column} for a column, {{ and }} for braces"),
                    );
                    return parts;
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        parts
    }

    fn lookup_file(&mut self, spec: &Spanned<super::spec::LookupFileSpec>) -> Option<Lookup> {
        let l = spec.get_ref();
        let path = self.base_dir.join(&l.path);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                self.diags.push(Diag::at(
                    spec.span(),
                    format!("cannot read the lookup file {}: {e}", path.display()),
                ));
                return None;
            }
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(bytes.as_slice());
        let headers: Vec<String> = match rdr.headers() {
            Ok(h) => h
                .iter()
                .map(|s| s.trim().trim_start_matches('\u{feff}').to_string())
                .collect(),
            Err(e) => {
                self.diags.push(Diag::at(
                    spec.span(),
                    format!("cannot read the lookup file {}: {e}", path.display()),
                ));
                return None;
            }
        };
        let find = |name: &str| headers.iter().position(|h| h == name);
        let (Some(k), Some(v)) = (find(&l.key), find(&l.value)) else {
            self.diags.push(
                Diag::at(
                    spec.span(),
                    format!(
                        "the lookup file {} has no column {:?} or {:?}",
                        path.display(),
                        l.key,
                        l.value
                    ),
                )
                .help(format!("its columns are: {}", headers.join(", "))),
            );
            return None;
        };
        let mut pairs = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            match rec {
                Ok(r) => pairs.push((
                    r.get(k).unwrap_or("").to_string(),
                    r.get(v).unwrap_or("").to_string(),
                )),
                Err(e) => {
                    self.diags.push(Diag::at(
                        spec.span(),
                        format!(
                            "the lookup file {} is not valid CSV at record {}: {e}",
                            path.display(),
                            i + 2
                        ),
                    ));
                    return None;
                }
            }
        }
        self.lookup_bytes.push(bytes);
        Some(Lookup::new(pairs))
    }

    fn field(&mut self, spec: &FieldSpec, path: String, target: Target, ty: Ty) -> Option<Field> {
        let t: &FieldTable = spec.0.get_ref();
        let whole = spec.0.span();
        let n_sources = [t.column.is_some(), t.value.is_some(), t.template.is_some()]
            .iter()
            .filter(|x| **x)
            .count();
        let before = self.diags.len();
        if n_sources != 1 {
            self.diags.push(
                Diag::at(
                    whole.clone(),
                    if n_sources == 0 {
                        format!("the field `{path}` has no source")
                    } else {
                        format!("the field `{path}` has more than one source")
                    },
                )
                .help("give exactly one of `column`, `value` or `template`"),
            );
            return None;
        }
        let src = if let Some(c) = &t.column {
            let name = self.wide(c.get_ref());
            let (idx, name) = self.column(&name, c.span());
            Src::Column { idx, name }
        } else if let Some(v) = &t.value {
            match toml_cell(v.get_ref()) {
                Some(c) => Src::Const(c),
                None => {
                    self.diags.push(Diag::at(
                        v.span(),
                        "a constant is a string, a number, a boolean or a date",
                    ));
                    return None;
                }
            }
        } else if let Some(tpl) = &t.template {
            let text = self.wide(tpl.get_ref());
            Src::Template(self.template(&text, tpl.span()))
        } else {
            return None;
        };
        let mut ops = Vec::new();
        for name in &t.transform.items {
            match TextOp::parse(name) {
                Some(op) => ops.push(op),
                None => self.diags.push(
                    Diag::at(
                        t.transform.span.clone(),
                        format!("unknown transform {name:?}"),
                    )
                    .help(
                        match did_you_mean(name, super::spec::TRANSFORMS.iter().copied()) {
                            Some(s) => format!(
                                "did you mean {s:?}? the transforms are {}",
                                super::spec::TRANSFORMS.join(", ")
                            ),
                            None => {
                                format!("the transforms are {}", super::spec::TRANSFORMS.join(", "))
                            }
                        },
                    ),
                ),
            }
        }
        let mut replace = Vec::new();
        for r in &t.replace.0 {
            if r.regex {
                if let Some(re) = self.regex(r.from.get_ref(), r.from.span()) {
                    replace.push(Replace::Regex(re, r.to.clone()));
                }
            } else {
                replace.push(Replace::Plain(r.from.get_ref().clone(), r.to.clone()));
            }
        }
        let capture = t
            .regex
            .as_ref()
            .and_then(|r| self.regex(r.get_ref(), r.span()));
        let default = match &t.default {
            Some(d) => match toml_cell(d.get_ref()) {
                Some(c) => Some(c),
                None => {
                    self.diags.push(Diag::at(
                        d.span(),
                        "a default is a string, a number, a boolean or a date",
                    ));
                    None
                }
            },
            None => None,
        };
        let lookup = match (&t.lookup, &t.lookup_file) {
            (Some(_), Some(f)) => {
                self.diags.push(Diag::at(
                    f.span(),
                    "give `lookup` or `lookup_file`, not both",
                ));
                None
            }
            (Some(l), None) => Some(Arc::new(Lookup::new(
                l.get_ref().iter().map(|(k, v)| (k.clone(), v.clone())),
            ))),
            (None, Some(f)) => self.lookup_file(f).map(Arc::new),
            (None, None) => None,
        };
        // Parsing: explicit options, else the field type's default.
        let mut explicit = Vec::new();
        let mut parse = None;
        if let Some(formats) = &t.date {
            explicit.push("date");
            let mut fs = Vec::new();
            for f in &formats.items {
                match DateFormat::parse(f) {
                    Ok(x) => fs.push(x),
                    Err(e) => self.diags.push(Diag::at(
                        formats.span.clone(),
                        format!("date format {f:?}: {e}"),
                    )),
                }
            }
            if fs.is_empty() && formats.items.is_empty() {
                self.diags.push(Diag::at(
                    formats.span.clone(),
                    "give at least one date format",
                ));
            }
            parse = Some(Parse::Date(fs));
        }
        if let Some(l) = &t.decimal {
            explicit.push("decimal");
            match DecimalLocale::parse(l.get_ref()) {
                Some(x) => parse = Some(Parse::Decimal(x)),
                None => self.diags.push(
                    Diag::at(
                        l.span(),
                        format!("unknown decimal notation {:?}", l.get_ref()),
                    )
                    .help("one of ru (1 234,56), ro (1.234,56), en (1,234.56), comma, dot, auto"),
                ),
            }
        }
        if t.integer {
            explicit.push("integer");
            parse = Some(Parse::Integer);
        }
        if let Some(b) = &t.bool {
            explicit.push("bool");
            match BoolLang::parse(b.get_ref()) {
                Some(x) => parse = Some(Parse::Bool(x)),
                None => self.diags.push(
                    Diag::at(b.span(), format!("unknown yes/no words {:?}", b.get_ref()))
                        .help(format!("one of {}", super::spec::BOOL_LANGS.join(", "))),
                ),
            }
        }
        if explicit.len() > 1 {
            self.diags.push(Diag::at(
                whole.clone(),
                format!(
                    "the field `{path}` asks for more than one type: {}",
                    explicit.join(", ")
                ),
            ));
        }
        let fits = matches!(
            (&parse, ty),
            (None, _)
                | (_, Ty::Text)
                | (Some(Parse::Date(_)), Ty::Date)
                | (Some(Parse::Decimal(_) | Parse::Integer), Ty::Decimal)
                | (Some(Parse::Bool(_)), Ty::Bool)
        );
        if !fits {
            self.diags.push(Diag::at(
                whole.clone(),
                format!(
                    "the field `{path}` is {}; it cannot take `{}`",
                    ty_name(ty),
                    explicit.join(", ")
                ),
            ));
        }
        let parse = parse.unwrap_or(match ty {
            Ty::Date => Parse::Date(super::transform::default_date_formats()),
            Ty::Decimal => Parse::Decimal(DecimalLocale::Auto),
            Ty::Bool => Parse::Bool(BoolLang::Any),
            _ => Parse::Text,
        });
        if self.diags.len() > before {
            return None;
        }
        let column = match &src {
            Src::Column { idx, name } => Some((*idx, intern(name))),
            Src::Template(parts) => parts.iter().find_map(|p| match p {
                Part::Col { idx, name } => Some((*idx, intern(name))),
                Part::Lit(_) => None,
            }),
            Src::Const(_) => None,
        };
        Some(Field {
            index_at: path.find("{i}"),
            origin: FieldPath::new(&path),
            column,
            path,
            target,
            ty,
            src,
            ops,
            replace,
            capture,
            default,
            lookup,
            parse,
        })
    }
}

fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Text => "text",
        Ty::Date => "a date",
        Ty::Decimal => "a number",
        Ty::Bool => "yes/no",
        Ty::Rates => "a list of tax-rate ids",
        Ty::Kind => "a document kind",
    }
}

/// A TOML constant as a cell.
pub fn toml_cell(v: &toml::Value) -> Option<Cell> {
    Some(match v {
        toml::Value::String(s) if s.is_empty() => Cell::Empty,
        toml::Value::String(s) => Cell::Text(s.into()),
        toml::Value::Integer(i) => Cell::Number(i.to_string().into()),
        toml::Value::Float(f) => Cell::Number(crate::read::sheet::number_text(*f).into()),
        toml::Value::Boolean(b) => Cell::Bool(*b),
        toml::Value::Datetime(d) => match (d.date, d.time) {
            (Some(date), None) => Cell::Date(chrono::NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )?),
            _ => Cell::Text(d.to_string().into()),
        },
        _ => return None,
    })
}

type FieldList<'a> = Vec<(&'a Option<FieldSpec>, &'static str, Ty)>;

/// Compile a mapping; with headers, resolve columns against them.
pub fn compile(m: &Mapping, headers: Option<(&[String], &str)>) -> Result<Plan, Vec<Diag>> {
    let spec = m.spec();
    let base_dir = m.path().parent().unwrap_or(Path::new("."));
    let mut index = HashMap::new();
    let mut loose = HashMap::new();
    let mut names = Vec::new();
    if let Some((h, _)) = headers {
        for (i, name) in h.iter().enumerate() {
            index.entry(name.as_str()).or_insert(i);
            loose.entry(name.trim().to_lowercase()).or_insert(i);
            names.push(Arc::<str>::from(name.as_str()));
        }
    }
    let mut cx = Ctx {
        headers,
        index,
        loose,
        names: names.clone(),
        diags: Vec::new(),
        base_dir,
        lookup_bytes: Vec::new(),
        wide_n: None,
        referenced: Vec::new(),
    };
    let inv = &spec.invoice;
    let cus = &spec.customer;
    let mut header = Vec::new();
    let invoice_fields: FieldList = vec![
        (&inv.kind, "kind", Ty::Kind),
        (&inv.number, "number", Ty::Text),
        (&inv.name, "name", Ty::Text),
        (&inv.currency, "currency", Ty::Text),
        (&inv.date, "date", Ty::Date),
        (&inv.due_date, "due_date", Ty::Date),
        (&inv.payment_terms, "payment_terms", Ty::Text),
        (&inv.purchase_order, "purchase_order", Ty::Text),
        (&inv.notes, "notes", Ty::Text),
        (&inv.draft, "draft", Ty::Bool),
        (&inv.sent, "sent", Ty::Bool),
        (&inv.taxes, "taxes", Ty::Rates),
        (&inv.discount, "discount", Ty::Decimal),
        (&inv.check_subtotal, "checks.subtotal", Ty::Decimal),
        (&inv.check_tax, "checks.tax", Ty::Decimal),
        (&inv.check_total, "checks.total", Ty::Decimal),
    ];
    for (f, name, ty) in invoice_fields {
        if let Some(f) = f {
            let path = match name {
                "taxes" => "taxes".to_string(),
                "discount" => "discounts[0].amount".to_string(),
                n => n.to_string(),
            };
            header.extend(cx.field(f, path, Target::Invoice(name), ty));
        }
    }
    for (k, f) in &inv.metadata {
        header.extend(cx.field(
            f,
            format!("metadata.{k}"),
            Target::InvoiceMeta(k.clone()),
            Ty::Text,
        ));
    }
    let customer_fields: FieldList = vec![
        (&cus.number, "number", Ty::Text),
        (&cus.name, "name", Ty::Text),
        (&cus.kind, "type", Ty::Text),
        (&cus.tax_id, "tax_id", Ty::Text),
        (&cus.email, "email", Ty::Text),
        (&cus.phone, "phone", Ty::Text),
        (&cus.address1, "address1", Ty::Text),
        (&cus.address2, "address2", Ty::Text),
        (&cus.city, "city", Ty::Text),
        (&cus.state, "state", Ty::Text),
        (&cus.postal_code, "postal_code", Ty::Text),
        (&cus.country, "country", Ty::Text),
        (&cus.language, "language", Ty::Text),
        (&cus.currency, "currency", Ty::Text),
        (&cus.payment_terms, "payment_terms", Ty::Text),
        (&cus.notes, "notes", Ty::Text),
    ];
    for (f, name, ty) in customer_fields {
        if let Some(f) = f {
            header.extend(cx.field(f, format!("customer.{name}"), Target::Customer(name), ty));
        }
    }
    for (k, f) in &cus.metadata {
        header.extend(cx.field(
            f,
            format!("customer.metadata.{k}"),
            Target::CustomerMeta(k.clone()),
            Ty::Text,
        ));
    }
    let match_on = match cus
        .match_on
        .as_ref()
        .map(|s| (s.get_ref().as_str(), s.span()))
    {
        None | Some(("number", _)) => MatchOn::Number,
        Some(("tax_id", _)) => MatchOn::TaxId,
        Some((other, span)) => {
            cx.diags.push(
                Diag::at(span, format!("unknown match_on {other:?}"))
                    .help("one of \"number\" or \"tax_id\""),
            );
            MatchOn::Number
        }
    };
    for (i, p) in spec.payment.iter().enumerate() {
        let fields: FieldList = vec![
            (&p.amount, "amount", Ty::Decimal),
            (&p.date, "date", Ty::Date),
            (&p.method, "method", Ty::Text),
            (&p.reference, "reference", Ty::Text),
            (&p.notes, "notes", Ty::Text),
            (&p.currency, "currency", Ty::Text),
        ];
        for (f, name, ty) in fields {
            if let Some(f) = f {
                let field = cx.field(
                    f,
                    format!("payments[{i}].{name}"),
                    Target::Payment(i, name),
                    ty,
                );
                header.extend(field.map(|f| Field {
                    origin: FieldPath::new(&format!("payments[{{i}}].{name}")).at(i),
                    ..f
                }));
            }
        }
    }
    // Lines, possibly wide.
    let l = &spec.line;
    let line_fields: FieldList = vec![
        (&l.name, "name", Ty::Text),
        (&l.description, "description", Ty::Text),
        (&l.catalog_item, "catalog_item", Ty::Text),
        (&l.kind, "type", Ty::Text),
        (&l.quantity, "quantity", Ty::Decimal),
        (&l.unit_cost, "unit_cost", Ty::Decimal),
        (&l.taxes, "taxes", Ty::Rates),
        (&l.discount, "discount", Ty::Decimal),
        (&l.discount_percent, "discount_percent", Ty::Decimal),
        (&l.taxable, "taxable", Ty::Bool),
        (&l.discountable, "discountable", Ty::Bool),
        (&l.check_net, "check_net", Ty::Decimal),
        (&l.check_vat, "check_vat", Ty::Decimal),
        (&l.check_gross, "check_gross", Ty::Decimal),
    ];
    let line_path = |name: &str| match name {
        "check_net" => "checks.lines[{i}].net".to_string(),
        "check_vat" => "checks.lines[{i}].vat".to_string(),
        "check_gross" => "checks.lines[{i}].gross".to_string(),
        "discount" | "discount_percent" => "items[{i}].discounts[0].amount".to_string(),
        n => format!("items[{{i}}].{n}"),
    };
    let compile_slot = |cx: &mut Ctx| -> Vec<Field> {
        let mut out = Vec::new();
        for (f, name, ty) in &line_fields {
            if let Some(f) = f {
                out.extend(cx.field(f, line_path(name), Target::Line(name), *ty));
            }
        }
        for (k, f) in &l.metadata {
            out.extend(cx.field(
                f,
                format!("items[{{i}}].metadata.{k}"),
                Target::LineMeta(k.clone()),
                Ty::Text,
            ));
        }
        out
    };
    let mut lines = Vec::new();
    match &l.wide {
        None => {
            let slot = compile_slot(&mut cx);
            if !slot.is_empty() {
                lines.push(slot);
            }
        }
        Some(w) => {
            let from = w.from.as_ref().map_or(1, |f| *f.get_ref());
            let to = w.to.as_ref().map(|t| (*t.get_ref(), t.span()));
            if let Some((to, span)) = &to {
                if *to < from || to - from > 1000 {
                    cx.diags.push(Diag::at(
                        span.clone(),
                        format!("wide.to must be between {from} and {}", from + 1000),
                    ));
                }
            }
            // Columns with {n} in them, to see how far an open range goes.
            let wide_columns: Vec<String> = line_fields
                .iter()
                .filter_map(|(f, _, _)| f.as_ref())
                .chain(l.metadata.values())
                .filter_map(|f| f.0.get_ref().column.as_ref().map(|c| c.get_ref().clone()))
                .filter(|c| c.contains("{n}"))
                .collect();
            if wide_columns.is_empty() {
                if let Some(ws) = w
                    .from
                    .as_ref()
                    .map(|f| f.span())
                    .or(to.as_ref().map(|t| t.1.clone()))
                {
                    cx.diags.push(
                        Diag::at(ws, "line.wide is set but no line column contains {n}").help(
                            "name the repeated columns with {n}, e.g. column = \"Item{n} Qty\"",
                        ),
                    );
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
            for n in from..=last.min(from + 1000) {
                cx.wide_n = Some(n);
                lines.push(compile_slot(&mut cx));
                if !cx.diags.is_empty() {
                    break;
                }
            }
            cx.wide_n = None;
        }
    }
    // Grouping and skipping.
    let mut key = Vec::new();
    let gb: &StrList = &inv.group_by;
    for name in &gb.items {
        let (idx, _) = cx.column(name, gb.span.clone());
        key.push(idx);
    }
    let mut skip = Vec::new();
    for s in &spec.source.skip_rows_matching.0 {
        let col = s
            .column
            .as_ref()
            .map(|c| cx.column(c.get_ref(), c.span()).0);
        if let Some(re) = cx.regex(s.regex.get_ref(), s.regex.span()) {
            skip.push(SkipRule::new(col, re));
        }
    }
    if spec.invoice.number.is_none()
        && spec.line.name.is_none()
        && spec.line.quantity.is_none()
        && spec.line.unit_cost.is_none()
    {
        cx.diags.push(Diag::new(
            None,
            "the mapping maps no invoice number and no line: add at least [invoice] number and a [line]",
        ));
    }
    let group_by_record = key.is_empty() && spec.source.lines.is_some();
    if cx.diags.is_empty() {
        Ok(Plan {
            headers: names.into(),
            header,
            lines,
            key,
            group_by_record,
            skip,
            match_on,
            credit_note_when_negative: spec.invoice.credit_note_when_negative,
            payments: spec.payment.len(),
            lookup_bytes: cx.lookup_bytes,
            referenced: cx.referenced,
        })
    } else {
        Err(cx.diags)
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
