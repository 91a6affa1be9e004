//! The declarative mapping file: [`spec`] (TOML as written, spans kept) →
//! [`compile`] (checked once, then resolved against each file's headers
//! before its first row) → [`apply`] (row → fields) → [`group`] (rows →
//! [`Draft`] documents, in any row order, in bounded memory).
//!
//! [`drafts`] is the pipeline's entry: it opens every input, compiles the
//! mapping against each file's headers (a bad mapping fails before any row
//! is read), then streams drafts; [`drafts_then`] also applies a step (such
//! as validation) to each draft on the thread pool that built it. [`run_examples`] runs the mapping's
//! `[[example]]` blocks for `mapping test`; [`init`] guesses a starting
//! mapping from a file's headers; [`roundtrip`] recognises our own exports
//! and reads them with a built-in mapping.

pub mod apply;
pub mod compile;
pub mod example;
pub mod group;
pub mod init;
pub mod roundtrip;
pub mod spec;
pub mod transform;

use crate::read::{ReadError, SourceSpec};
use sha2::{Digest, Sha256};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::suggest::did_you_mean;
pub use example::{draft_view, run_examples, ExampleOutcome};
pub use group::{drafts, drafts_from_rows, drafts_then, DraftStats, Drafts, Restartable, Step};

/// A loaded, checked mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    path: PathBuf,
    text: Arc<str>,
    spec: Arc<spec::MappingSpec>,
    name: String,
    identity: String,
    source: SourceSpec,
    options: LoadOptions,
    lookup_files: Vec<PathBuf>,
}

/// How a mapping is loaded: what the command line adds to the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Read `lookup_file`s outside the mapping's folder too
    /// (`--allow-lookup-outside`); otherwise such a path is a mistake in
    /// the mapping.
    pub allow_lookup_outside: bool,
    /// Overrides `[limits] max_cell_bytes` (`--max-cell-bytes`).
    pub max_cell_bytes: Option<u64>,
}

impl Mapping {
    /// Read, parse and check a mapping file (everything that does not need
    /// an input's headers: syntax, keys, version, patterns, formats,
    /// locales, lookup files).
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        Mapping::load_with(path, &LoadOptions::default())
    }

    /// As [`Mapping::load`], with the command line's options.
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Mapping, MappingError> {
        let text = crate::fs::read_to_string(path).map_err(MappingError::Io)?;
        Mapping::from_text_with(path, &text, options)
    }

    /// As [`Mapping::load`], from text already read (`path` names it in errors
    /// and anchors relative lookup files).
    pub fn from_text(path: &Path, text: &str) -> Result<Mapping, MappingError> {
        Mapping::from_text_with(path, text, &LoadOptions::default())
    }

    /// As [`Mapping::from_text`], with the command line's options.
    pub fn from_text_with(
        path: &Path,
        text: &str,
        options: &LoadOptions,
    ) -> Result<Mapping, MappingError> {
        let src = Source::new(path, text);
        let spec: spec::MappingSpec = toml::from_str(text).map_err(|e| {
            let mut d = Diag::new(e.span(), e.message().trim().to_string());
            d.help = unknown_key_hint(e.message());
            MappingError::Invalid(src.render(vec![d]))
        })?;
        let (mut source, mut diags) = match compile::source_spec(&spec) {
            Ok(s) => (s, Vec::new()),
            Err(d) => (SourceSpec::default(), d),
        };
        if let Some(n) = options.max_cell_bytes {
            source.limits.max_cell_bytes = n;
        }
        let name = spec.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "mapping".into())
        });
        let mut m = Mapping {
            path: path.to_path_buf(),
            text: Arc::from(text),
            spec: Arc::new(spec),
            name,
            identity: String::new(),
            source,
            options: options.clone(),
            lookup_files: Vec::new(),
        };
        match compile::compile(&m, None) {
            Ok(plan) if diags.is_empty() => {
                m.identity = identity(text, &plan.lookup_bytes);
                m.lookup_files = plan.lookup_files;
            }
            Ok(_) => return Err(MappingError::Invalid(src.render(diags))),
            Err(more) => {
                diags.extend(more);
                return Err(MappingError::Invalid(src.render(diags)));
            }
        }
        Ok(m)
    }

    /// A hash of the file's canonical content (comments and layout do not
    /// count) and of its lookup files: part of every import key.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Whether it reads the account's own export back (it maps the
    /// documents' or customer records' `id`): documents are matched with
    /// the account's and changed, not created.
    pub fn is_round_trip(&self) -> bool {
        let s = &self.spec;
        match s.resource.as_ref().map(|r| r.get_ref().as_str()) {
            Some("customers") => s.customer.id.is_some(),
            _ => s.invoice.id.is_some(),
        }
    }

    /// The `[source]` table, compiled (with `[limits]`).
    pub fn source(&self) -> &SourceSpec {
        &self.source
    }

    /// How it was loaded.
    pub fn options(&self) -> &LoadOptions {
        &self.options
    }

    /// The lookup files it reads: no output may be written over them.
    pub fn lookup_files(&self) -> &[PathBuf] {
        &self.lookup_files
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn spec(&self) -> &spec::MappingSpec {
        &self.spec
    }

    /// The mapping file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the API needs that the mapping does not map, one sentence each
    /// (an empty list: nothing is missing): a line name or catalog item, a
    /// customer name or number, a date, and the tax id customers are
    /// matched on.
    pub fn missing_needed(&self) -> Vec<String> {
        let s = &*self.spec;
        let mut out = Vec::new();
        let l = &s.line;
        if l.name.is_none() && l.catalog_item.is_none() {
            out.push(
                "[line] maps neither `name` nor `catalog_item`: the API needs one of them on every line"
                    .to_string(),
            );
        }
        let c = &s.customer;
        if c.name.is_none() && c.number.is_none() && c.id.is_none() {
            out.push(
                "[customer] maps neither `name`, `number` nor `id`: the API needs one of them"
                    .to_string(),
            );
        }
        if s.invoice.date.is_none() {
            out.push("[invoice] maps no `date`: every document needs one".to_string());
        }
        let on_tax_id = c.match_on.as_ref().is_some_and(|m| m.get_ref() == "tax_id");
        if on_tax_id && c.tax_id.is_none() {
            out.push("[customer] is matched on `tax_id`, which it does not map".to_string());
        }
        out
    }

    /// Compile against one file's headers: unknown columns are errors with
    /// "did you mean" (`file` names the input in the message).
    pub fn compile_for(
        &self,
        headers: &[String],
        file: &str,
    ) -> Result<compile::Plan, MappingError> {
        compile::compile(self, Some((headers, file))).map_err(|diags| {
            MappingError::Invalid(Source::new(&self.path, &self.text).render(diags))
        })
    }
}

fn identity(text: &str, lookups: &[Vec<u8>]) -> String {
    let canonical = toml::from_str::<toml::Value>(text)
        .ok()
        .and_then(|v| toml::to_string(&v).ok())
        .unwrap_or_else(|| text.to_string());
    let mut h = Sha256::new();
    h.update(b"facturare-etl mapping v1\0");
    h.update(canonical.as_bytes());
    for l in lookups {
        h.update(b"\0lookup\0");
        h.update(l);
    }
    hex::encode(&h.finalize()[..12])
}

/// A mapping that cannot be used, or an input that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The mapping file cannot be read (exit 2).
    #[error("cannot read the mapping file")]
    Io(#[source] crate::fs::FsError),
    /// The mapping is wrong: every mistake, each at its line and column
    /// with the text and a caret (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// An input file cannot be read (exit 3).
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl MappingError {
    /// Whether an input file is to blame (exit 3) rather than the mapping (exit 2).
    pub fn is_input(&self) -> bool {
        matches!(self, MappingError::Read(_))
    }
}

/// One mistake in the mapping file, at a place in its text.
#[derive(Debug, Clone)]
pub struct Diag {
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl Diag {
    pub fn new(span: Option<Range<usize>>, message: impl Into<String>) -> Diag {
        Diag {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn at(span: Range<usize>, message: impl Into<String>) -> Diag {
        Diag::new(Some(span), message)
    }

    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }
}

/// The mapping file's text, for rendering diagnostics.
pub(crate) struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl<'a> Source<'a> {
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        Source { path, text }
    }

    /// `file:line:col: message`, the line, a caret under the text, and help.
    pub(crate) fn render(&self, diags: Vec<Diag>) -> String {
        let mut out = String::new();
        for (i, d) in diags.iter().enumerate() {
            if i > 0 {
                out.push_str("\n\n");
            }
            match &d.span {
                Some(span) => {
                    let (line, col, line_text, width) = locate(self.text, span.clone());
                    let gutter = line.to_string().len();
                    let pad = " ".repeat(gutter);
                    let caret_pad: String = line_text
                        .chars()
                        .take(col - 1)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    out.push_str(&format!(
                        "{}:{line}:{col}: {}\n{pad} |\n{line} | {line_text}\n{pad} | {caret_pad}{}",
                        self.path.display(),
                        d.message,
                        "^".repeat(width.max(1))
                    ));
                }
                None => out.push_str(&format!("{}: {}", self.path.display(), d.message)),
            }
            if let Some(h) = &d.help {
                out.push_str(&format!("\n  = help: {h}"));
            }
        }
        out
    }
}

/// 1-based line and column (in characters) of a span, the line's text, and
/// the span's width in characters on that line.
pub fn locate(text: &str, span: Range<usize>) -> (usize, usize, String, usize) {
    let start = span.start.min(text.len());
    let start = (0..=start)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let col = text[line_start..start].chars().count() + 1;
    let end = span.end.clamp(start, line_end);
    let end = (start..=end)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(start);
    let width = text[start..end].chars().count();
    (
        line,
        col,
        text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string(),
        width,
    )
}

/// "did you mean" for serde's `unknown field `x`, expected one of ...`.
fn unknown_key_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (name, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    did_you_mean(name, expected.iter().copied()).map(|s| format!("did you mean `{s}`?"))
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_characters() {
        let t = "a = 1\nnumber = { column = \"Номер\" }\n";
        let start = t.find("\"Номер\"").unwrap();
        let (line, col, text, width) = locate(t, start..start + "\"Номер\"".len());
        assert_eq!((line, col, width), (2, 21, 7));
        assert_eq!(text, "number = { column = \"Номер\" }");
    }

    #[test]
    fn unknown_keys_get_a_hint() {
        assert_eq!(
            unknown_key_hint("unknown field `colum`, expected one of `column`, `value`"),
            Some("did you mean `column`?".into())
        );
    }
}
