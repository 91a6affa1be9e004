//! One field compiled: its source (a column resolved against the headers
//! with "did you mean", a constant, or a template), text transforms,
//! replacements and capture regex, default, lookup (inline or a CSV file),
//! and how its text is parsed, checked against the field's type; every
//! mistake is collected as a [`Diag`] at its place in the mapping file.

use super::{Field, Lookup, Parse, Part, Replace, Src, Target, Ty};
use crate::mapping::spec::{FieldSpec, FieldTable};
use crate::mapping::transform::{BoolLang, DateFormat, DecimalLocale, TextOp};
use crate::mapping::{did_you_mean, Diag};
use crate::model::{intern, FieldPath};
use crate::read::Cell;
use regex::Regex;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A lookup file larger than this is not one (64 MiB).
const LOOKUP_MAX_BYTES: u64 = 64 << 20;
use toml::Spanned;

pub(super) struct Ctx<'a> {
    pub(super) headers: Option<(&'a [String], &'a str)>,
    pub(super) index: HashMap<&'a str, usize>,
    pub(super) loose: HashMap<String, usize>,
    pub(super) names: Vec<Arc<str>>,
    pub(super) diags: Vec<Diag>,
    pub(super) base_dir: &'a Path,
    pub(super) lookup_bytes: Vec<Vec<u8>>,
    pub(super) lookup_files: Vec<std::path::PathBuf>,
    /// `--allow-lookup-outside`: lookup files may be outside `base_dir`.
    pub(super) allow_lookup_outside: bool,
    /// The column currently being expanded in a wide layout.
    pub(super) wide_n: Option<String>,
    pub(super) referenced: Vec<String>,
    /// `source.optional_columns`: a field whose column the file lacks is
    /// left out rather than an error.
    pub(super) optional: bool,
    /// `[limits] years`.
    pub(super) years: (i32, i32),
}

impl Ctx<'_> {
    pub(super) fn column(&mut self, name: &str, span: Range<usize>) -> (usize, Arc<str>) {
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
        let listing = crate::model::text::listing(headers.iter().map(String::as_str));
        let mut help = String::new();
        if let Some(n) = near {
            help.push_str(&format!("did you mean {:?}? ", crate::model::text::cut(n)));
        }
        help.push_str(&format!("the columns of {file} are: {listing}"));
        self.diags.push(
            Diag::at(
                span,
                format!("no column {:?} in {file}", crate::model::text::cut(name)),
            )
            .help(help),
        );
        (usize::MAX, Arc::from(name))
    }

    pub(super) fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name) || self.loose.contains_key(&name.trim().to_lowercase())
    }

    fn wide(&self, s: &str) -> String {
        match &self.wide_n {
            Some(n) => s.replace("{n}", n),
            None => s.to_string(),
        }
    }

    pub(super) fn regex(&mut self, pattern: &str, span: Range<usize>) -> Option<Regex> {
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

    /// Where a `lookup_file` is: inside the mapping's folder (after
    /// symlinks and `..`), unless `--allow-lookup-outside`.
    fn lookup_path(&mut self, spec: &Spanned<super::spec::LookupFileSpec>) -> Option<PathBuf> {
        let l = spec.get_ref();
        let given = Path::new(&l.path);
        let path = self.base_dir.join(given);
        if self.allow_lookup_outside {
            return Some(path);
        }
        let folder = crate::fs::resolve(self.base_dir);
        let outside = |why: String| {
            Diag::at(spec.span(), why).help(format!(
                "lookup files are read from the mapping's folder ({}) and below; move the file there, or pass --allow-lookup-outside",
                folder.display()
            ))
        };
        if given.is_absolute() {
            self.diags.push(outside(format!(
                "the lookup file {:?} is an absolute path",
                crate::model::text::cut(&l.path)
            )));
            return None;
        }
        let resolved = crate::fs::resolve(&path);
        if !resolved.starts_with(&folder) {
            self.diags.push(outside(format!(
                "the lookup file {:?} is outside the mapping's folder (it resolves to {})",
                crate::model::text::cut(&l.path),
                resolved.display()
            )));
            return None;
        }
        Some(path)
    }

    fn lookup_file(&mut self, spec: &Spanned<super::spec::LookupFileSpec>) -> Option<Lookup> {
        let l = spec.get_ref();
        let path = self.lookup_path(spec)?;
        // The file's content is never quoted in a message: its header
        // names at most (a key file or any other file named here by
        // mistake may hold a secret).
        let bytes = match std::fs::metadata(&path).and_then(|m| {
            if m.len() > LOOKUP_MAX_BYTES {
                Err(std::io::Error::other(format!(
                    "it is {} bytes, more than a lookup file may be ({})",
                    crate::model::text::thousands(m.len()),
                    crate::model::text::bytes(LOOKUP_MAX_BYTES)
                )))
            } else {
                std::fs::read(&path)
            }
        }) {
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
            // One "column": no header line, or not a CSV file at all; its
            // first line is content, not names, and is not shown.
            let help = if headers.len() >= 2 {
                format!(
                    "its columns are: {}",
                    crate::model::text::listing(headers.iter().map(String::as_str))
                )
            } else {
                "its first line holds no comma-separated column names: a lookup file is a CSV file whose first line names its columns".to_string()
            };
            self.diags.push(
                Diag::at(
                    spec.span(),
                    format!(
                        "the lookup file {} has no column {:?} or {:?}",
                        path.display(),
                        crate::model::text::cut(&l.key),
                        crate::model::text::cut(&l.value)
                    ),
                )
                .help(help),
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
        self.lookup_files.push(path.clone());
        let mut lookup = Lookup::new(pairs);
        lookup.file = Some(format!(
            "{} (column {:?})",
            path.display(),
            crate::model::text::cut(&l.key)
        ));
        Some(lookup)
    }

    pub(super) fn field(
        &mut self,
        spec: &FieldSpec,
        path: String,
        target: Target,
        ty: Ty,
    ) -> Option<Field> {
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
            if self.optional && self.headers.is_some() && !self.has_column(&name) {
                return None;
            }
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
            let parts = self.template(&text, tpl.span());
            // No column in it (`"tva{n}"` once `{n}` is filled in): a constant.
            if parts.iter().all(|p| matches!(p, Part::Lit(_))) {
                let lit: String = parts
                    .into_iter()
                    .map(|p| match p {
                        Part::Lit(l) => l,
                        Part::Col { .. } => String::new(),
                    })
                    .collect();
                Src::Const(if lit.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(lit.into())
                })
            } else {
                Src::Template(parts)
            }
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
                | (Some(Parse::Integer), Ty::Id)
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
            Ty::Id => Parse::Integer,
            Ty::Moment => Parse::Moment,
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
            years: self.years,
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
        Ty::Id => "an id",
        Ty::Moment => "a date and time",
    }
}

/// A TOML constant as a cell.
pub fn toml_cell(v: &toml::Value) -> Option<Cell> {
    Some(match v {
        toml::Value::String(s) if s.is_empty() => Cell::Empty,
        toml::Value::String(s) => Cell::Text(s.into()),
        toml::Value::Integer(i) => Cell::Number(i.to_string().into()),
        toml::Value::Float(f) => Cell::Number(crate::read::sheet::number_text(*f)),
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
