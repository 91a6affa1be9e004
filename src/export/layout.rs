//! The layout of an export: which columns, in which order, under which
//! headers and formats, on which sheets. It comes from a resource's defaults,
//! `--columns`, or an export mapping file (`mappings/export-*.toml`: spec →
//! compiled [`Layout`]).

use super::columns::{Column, FieldPath, Format};
use super::resource::{Resource, EXPANDED_CUSTOMER_FIELDS, LINE_FIELDS};
use crate::model::fields::Field;
use crate::suggest::did_you_mean;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// An export mapping file, as written (`mappings/export-*.toml`).
///
/// ```toml
/// version = 1
/// resource = "invoices"      # optional: refuse to run for another resource
/// lines = true               # optional: as if --lines were given
///
/// [[column]]
/// field = "number"           # a field path (see below)
/// header = "Număr"           # optional: defaults to the field path
/// format = "text"            # optional: text, money, date, datetime, integer, decimal, boolean
/// width = 14                 # optional: XLSX column width in characters
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSpec {
    /// Always 1.
    pub version: u32,
    /// The resource this file is for.
    pub resource: Option<Resource>,
    /// One row per line item, as with `--lines`.
    pub lines: Option<bool>,
    /// The columns, in order.
    #[serde(rename = "column", default)]
    pub columns: Vec<ColumnSpec>,
}

/// One `[[column]]` of an export mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// `number`, `customer.tax_id` (needs the customer expanded, which the
    /// export then asks for), `metadata.source`, `metadata.*` (a column per
    /// metadata key found, `metadata.KEY`), `line.amount` (one row per
    /// line item).
    pub field: String,
    /// The header; defaults to the field path.
    pub header: Option<String>,
    /// How to write the values; defaults to the field's natural format.
    pub format: Option<Format>,
    /// XLSX column width in characters; defaults to one fitted to the header
    /// and the first page of values.
    pub width: Option<f64>,
}

/// Where a column list came from, for error messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Defaults,
    ColumnsFlag,
    Mapping(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Defaults => f.write_str("the default columns"),
            Origin::ColumnsFlag => f.write_str("--columns"),
            Origin::Mapping(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A layout that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error(transparent)]
    Read(#[from] crate::fs::FsError),
    #[error("{}: invalid export mapping: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    #[error("{}: unsupported version {found}: expected version = 1", path.display())]
    Version { path: PathBuf, found: u32 },
    #[error("{}: the mapping is for {file}, not {command}", path.display())]
    Resource {
        path: PathBuf,
        file: Resource,
        command: Resource,
    },
    #[error("{origin}: column {index}: {message}")]
    Field {
        origin: Origin,
        index: usize,
        message: String,
    },
    #[error("{origin}: no columns")]
    Empty { origin: Origin },
    #[error("--lines needs a resource with line items (invoices or credit_notes), not {resource}")]
    LinesUnsupported { resource: Resource },
}

/// A table of the output: one sheet in XLSX (continued on more sheets past
/// the row limit), the whole file in CSV and JSON Lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// `Invoices`, `Lines`, ...
    pub name: String,
    pub columns: Vec<Column>,
    /// One row per line item (an object without items still gets one row).
    pub per_line: bool,
}

/// The compiled layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub resource: Resource,
    /// Columns read from the object itself.
    pub doc_columns: Vec<Column>,
    /// Columns read from its line items (only with `lines`).
    pub line_columns: Vec<Column>,
    /// One row per line item.
    pub lines: bool,
    /// Some column reads the expanded customer: the export asks `expand=customer`.
    pub needs_customer: bool,
}

/// Where the columns come from.
#[derive(Debug, Clone, Default)]
pub struct LayoutRequest {
    /// `--columns a,b:format,...`.
    pub columns: Option<String>,
    /// `--mapping FILE`.
    pub mapping: Option<PathBuf>,
    /// `--lines`.
    pub lines: bool,
    /// `--expand customer`: the default columns include the customer's.
    pub expand_customer: bool,
}

fn path_format(resource: Resource, path: &FieldPath) -> Result<Format, String> {
    let lookup = super::resource::field_format;
    let suggest = |table: &[Field], name: &str, prefix: &str| {
        let mut msg = format!("unknown field `{prefix}{name}`");
        if let Some(m) = did_you_mean(name, table.iter().map(|f| f.name)) {
            msg.push_str(&format!(" (did you mean `{prefix}{m}`?)"));
        }
        msg
    };
    let segs = &path.segments;
    if path.line {
        if !resource.has_lines() {
            return Err(format!("`{}`: {resource} have no line items", path.text()));
        }
        let f =
            lookup(LINE_FIELDS, &segs[0]).ok_or_else(|| suggest(LINE_FIELDS, &segs[0], "line."))?;
        return Ok(if segs.len() > 1 { Format::Text } else { f });
    }
    let fields = resource.fields();
    let f = lookup(fields, &segs[0]).ok_or_else(|| suggest(fields, &segs[0], ""))?;
    if segs.len() == 1 {
        return Ok(f);
    }
    match segs[0].as_str() {
        "customer" => {
            let f = lookup(EXPANDED_CUSTOMER_FIELDS, &segs[1])
                .ok_or_else(|| suggest(EXPANDED_CUSTOMER_FIELDS, &segs[1], "customer."))?;
            Ok(if segs.len() > 2 { Format::Text } else { f })
        }
        _ => Ok(Format::Text),
    }
}

fn compile_column(
    resource: Resource,
    origin: &Origin,
    index: usize,
    spec: &ColumnSpec,
) -> Result<Column, LayoutError> {
    let err = |message: String| LayoutError::Field {
        origin: origin.clone(),
        index,
        message,
    };
    let field = FieldPath::parse(&spec.field).ok_or_else(|| {
        err(format!(
            "invalid field path `{}`: expected names joined by dots",
            spec.field
        ))
    })?;
    let natural = path_format(resource, &field).map_err(err)?;
    if let Some(w) = spec.width {
        if !(0.0..=255.0).contains(&w) {
            return Err(err(format!("width {w} out of range: expected 0 to 255")));
        }
    }
    Ok(Column {
        header: spec.header.clone().unwrap_or_else(|| field.text()),
        format: spec.format.unwrap_or(natural),
        field,
        width: spec.width,
    })
}

/// Parse `--columns number,date,total:money,...`.
pub fn parse_columns_flag(s: &str) -> Result<Vec<ColumnSpec>, LayoutError> {
    let mut out = Vec::new();
    for (i, part) in s.split(',').map(str::trim).enumerate() {
        if part.is_empty() {
            continue;
        }
        let (field, format) = match part.split_once(':') {
            None => (part, None),
            Some((f, fmt)) => {
                let format =
                    serde_json::from_value::<Format>(serde_json::Value::String(fmt.trim().into()))
                        .map_err(|_| LayoutError::Field {
                            origin: Origin::ColumnsFlag,
                            index: i + 1,
                            message: format!(
                                "unknown format `{fmt}` for `{f}`: expected one of {}",
                                Format::NAMES.join(", ")
                            ),
                        })?;
                (f, Some(format))
            }
        };
        out.push(ColumnSpec {
            field: field.trim().to_string(),
            header: None,
            format,
            width: None,
        });
    }
    Ok(out)
}

/// Read and check an export mapping file.
pub fn read_spec(path: &Path) -> Result<ExportSpec, LayoutError> {
    let text = crate::fs::read_to_string(path)?;
    parse_spec(path, &text)
}

/// Parse an export mapping file's text.
pub fn parse_spec(path: &Path, text: &str) -> Result<ExportSpec, LayoutError> {
    let spec: ExportSpec = toml::from_str(text).map_err(|e| LayoutError::Toml {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    if spec.version != 1 {
        return Err(LayoutError::Version {
            path: path.to_path_buf(),
            found: spec.version,
        });
    }
    Ok(spec)
}

impl Layout {
    /// Compile the layout for `resource` from a request.
    pub fn build(resource: Resource, req: &LayoutRequest) -> Result<Layout, LayoutError> {
        let (origin, specs, lines) = if let Some(path) = &req.mapping {
            let spec = read_spec(path)?;
            if let Some(r) = spec.resource {
                if r != resource {
                    return Err(LayoutError::Resource {
                        path: path.clone(),
                        file: r,
                        command: resource,
                    });
                }
            }
            let lines = req.lines || spec.lines.unwrap_or(false);
            (Origin::Mapping(path.clone()), spec.columns, lines)
        } else if let Some(cols) = &req.columns {
            (Origin::ColumnsFlag, parse_columns_flag(cols)?, req.lines)
        } else {
            let mut fields =
                resource.default_fields(req.expand_customer && resource.has_customer());
            if req.lines && resource.has_lines() {
                fields.extend(resource.default_line_fields());
            }
            let specs = fields
                .into_iter()
                .map(|f| ColumnSpec {
                    field: f.to_string(),
                    header: None,
                    format: None,
                    width: None,
                })
                .collect();
            (Origin::Defaults, specs, req.lines)
        };
        if lines && !resource.has_lines() {
            return Err(LayoutError::LinesUnsupported { resource });
        }
        if specs.is_empty() {
            return Err(LayoutError::Empty { origin });
        }
        let mut doc_columns = Vec::new();
        let mut line_columns = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let col = compile_column(resource, &origin, i + 1, spec)?;
            if col.field.line {
                if !lines {
                    return Err(LayoutError::Field {
                        origin,
                        index: i + 1,
                        message: format!(
                            "`{}` is a line item field: it needs --lines (or `lines = true`)",
                            col.field.text()
                        ),
                    });
                }
                line_columns.push(col);
            } else {
                doc_columns.push(col);
            }
        }
        if lines && line_columns.is_empty() {
            for f in resource.default_line_fields() {
                let spec = ColumnSpec {
                    field: f.to_string(),
                    header: None,
                    format: None,
                    width: None,
                };
                line_columns.push(compile_column(resource, &Origin::Defaults, 0, &spec)?);
            }
        }
        let needs_customer = doc_columns.iter().any(|c| {
            let s = &c.field.segments;
            s[0] == "customer" && s.len() > 1 && s[1] != "id"
        });
        Ok(Layout {
            resource,
            doc_columns,
            line_columns,
            lines,
            needs_customer,
        })
    }

    /// Whether a re-import can read the file with the built-in round-trip
    /// mapping: the objects' ids are a column and every header is its field
    /// path (the defaults, or `--columns`). An XLSX export that can says so
    /// on its marker sheet.
    pub fn reads_back(&self) -> bool {
        let plain = |c: &Column| c.header == c.field.text();
        self.doc_columns.iter().any(|c| c.field.text() == "id")
            && self.doc_columns.iter().chain(&self.line_columns).all(plain)
    }

    /// The tables to write. With lines, XLSX gets the documents on their own
    /// sheet and the lines (documents' columns repeated) on a second one;
    /// CSV and JSON Lines, which hold one table, get the lines only.
    pub fn tables(&self, two_sheets: bool) -> Vec<Table> {
        let docs = Table {
            name: self.resource.sheet_name().to_string(),
            columns: self.doc_columns.clone(),
            per_line: false,
        };
        if !self.lines {
            return vec![docs];
        }
        let lines = Table {
            name: "Lines".to_string(),
            columns: self
                .doc_columns
                .iter()
                .chain(self.line_columns.iter())
                .cloned()
                .collect(),
            per_line: true,
        };
        if two_sheets {
            vec![docs, lines]
        } else {
            vec![lines]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> LayoutRequest {
        LayoutRequest::default()
    }

    #[test]
    fn defaults_per_resource() {
        for r in Resource::ALL {
            let l = Layout::build(r, &req()).unwrap();
            assert!(!l.doc_columns.is_empty());
            // Documents name their customer by number and name too, which
            // asks for the expansion; customers have none.
            assert_eq!(l.needs_customer, r.has_customer(), "{r}");
            assert!(l.reads_back(), "{r}: the defaults read back");
        }
        let custom = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                columns: Some("id,number,total".into()),
                ..req()
            },
        )
        .unwrap();
        assert!(custom.reads_back());
        let no_id = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                columns: Some("number,total".into()),
                ..req()
            },
        )
        .unwrap();
        assert!(!no_id.reads_back(), "no id: nothing to match on");
        let l = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                expand_customer: true,
                ..req()
            },
        )
        .unwrap();
        assert!(l.needs_customer);
        let tax = l
            .doc_columns
            .iter()
            .find(|c| c.header == "customer.tax_id")
            .unwrap();
        assert_eq!(tax.format, Format::Text);
        let total = l.doc_columns.iter().find(|c| c.header == "total").unwrap();
        assert_eq!(total.format, Format::Money);
    }

    #[test]
    fn columns_flag() {
        let l = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                columns: Some("number, customer.name ,total:text,metadata.source".into()),
                ..req()
            },
        )
        .unwrap();
        let headers: Vec<_> = l.doc_columns.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(
            headers,
            ["number", "customer.name", "total", "metadata.source"]
        );
        assert_eq!(l.doc_columns[2].format, Format::Text);
        assert!(l.needs_customer);
        let e = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                columns: Some("number,totl".into()),
                ..req()
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "--columns: column 2: unknown field `totl` (did you mean `total`?)"
        );
        let e = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                columns: Some("number,line.amount".into()),
                ..req()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs --lines"), "{e}");
        let e = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                columns: Some("total:float".into()),
                ..req()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown format `float`"), "{e}");
    }

    #[test]
    fn lines_make_two_tables_in_xlsx_one_elsewhere() {
        let l = Layout::build(
            Resource::Invoices,
            &LayoutRequest {
                lines: true,
                ..req()
            },
        )
        .unwrap();
        let t = l.tables(true);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "Invoices");
        assert_eq!(t[1].name, "Lines");
        assert_eq!(
            t[1].columns.len(),
            l.doc_columns.len() + l.line_columns.len()
        );
        assert_eq!(l.tables(false).len(), 1);
        assert!(l.tables(false)[0].per_line);
        assert!(matches!(
            Layout::build(
                Resource::Payments,
                &LayoutRequest {
                    lines: true,
                    ..req()
                }
            ),
            Err(LayoutError::LinesUnsupported { .. })
        ));
    }

    #[test]
    fn mapping_files() {
        let p = Path::new("export-test.toml");
        let spec = parse_spec(
            p,
            r#"
version = 1
resource = "invoices"
lines = true
[[column]]
field = "number"
header = "Număr"
width = 12
[[column]]
field = "customer.tax_id"
header = "IDNO"
[[column]]
field = "line.amount"
format = "decimal"
"#,
        )
        .unwrap();
        assert_eq!(spec.columns.len(), 3);
        let e = parse_spec(
            p,
            "version = 1\n[[column]]\nfield = \"number\"\nheadr = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("export-test.toml") && e.contains("headr"), "{e}");
        let e = parse_spec(p, "version = 2\n").unwrap_err().to_string();
        assert!(e.contains("version 2"), "{e}");
    }

    #[test]
    fn shipped_mappings_compile() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.starts_with("export-") && name.ends_with(".toml")) {
                continue;
            }
            let spec = read_spec(&path).unwrap();
            let resource = spec.resource.expect("shipped mappings name their resource");
            Layout::build(
                resource,
                &LayoutRequest {
                    mapping: Some(path.clone()),
                    ..req()
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            n += 1;
        }
        assert!(n >= 2, "expected the shipped export mappings");
    }
}
