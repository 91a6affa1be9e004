//! Our own exports, recognised: a file written by `export invoices`,
//! `export credit_notes` or `export customers` (with or without `--lines`),
//! as XLSX or CSV, is read back with a built-in round-trip mapping
//! (`mappings/roundtrip-*.toml`, shipped for people to copy), so that
//! `import FILE` and `validate FILE` need no `--mapping`.
//!
//! How a file is told ([`recognise`], the one place that decides, for
//! `import`, `validate` and `mapping init`):
//!
//! - XLSX: the hidden sheet [`MARKER_SHEET`] the exporter writes, whose
//!   rows say what was exported (`export`, `lines`); failing that (an
//!   export of an older version), a sheet named as the exporter names them
//!   (`Lines`, `Invoices`, `Credit notes`, `Customers`) whose header row is
//!   field paths of one resource.
//! - CSV: its header row, when every column is a field path of one
//!   resource (`id`, `number`, `customer.number`, `metadata.project`,
//!   `line.quantity`, ...) and `id` is among them.
//!
//! A built-in mapping is named in the ledger by its [`label`](Recognised::label)
//! (`built-in:roundtrip-invoices.toml:Lines`), which [`load`] reads back for
//! `import --resume`.

use super::{Mapping, MappingError};
use crate::model::fields::{self, Field};
use crate::read::{self, Format, SheetSel, SourceSpec};
use std::path::{Path, PathBuf};

/// The hidden sheet of an XLSX export that says what it holds: a header
/// row (`key`, `value`), then `export` (the resource), `lines` (`true` or
/// `false`), `version` (of this layout) and `exported_at`.
pub const MARKER_SHEET: &str = "facturare-etl";

/// The version of the exported layout the marker states.
pub const LAYOUT_VERSION: u32 = 1;

/// Where the label of a built-in mapping starts.
const LABEL_PREFIX: &str = "built-in:";

const INVOICES: &str = include_str!("../../mappings/roundtrip-invoices.toml");
const CREDIT_NOTES: &str = include_str!("../../mappings/roundtrip-credit-notes.toml");
const CUSTOMERS: &str = include_str!("../../mappings/roundtrip-customers.toml");

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltIn {
    Invoices,
    CreditNotes,
    Customers,
}

impl BuiltIn {
    pub const ALL: [BuiltIn; 3] = [BuiltIn::Invoices, BuiltIn::CreditNotes, BuiltIn::Customers];

    /// As `export` names the resource.
    pub fn resource(self) -> &'static str {
        match self {
            BuiltIn::Invoices => "invoices",
            BuiltIn::CreditNotes => "credit_notes",
            BuiltIn::Customers => "customers",
        }
    }

    pub fn from_resource(s: &str) -> Option<BuiltIn> {
        BuiltIn::ALL.into_iter().find(|b| b.resource() == s.trim())
    }

    /// The shipped mapping's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            BuiltIn::Invoices => "roundtrip-invoices.toml",
            BuiltIn::CreditNotes => "roundtrip-credit-notes.toml",
            BuiltIn::Customers => "roundtrip-customers.toml",
        }
    }

    /// The shipped mapping's text.
    pub fn text(self) -> &'static str {
        match self {
            BuiltIn::Invoices => INVOICES,
            BuiltIn::CreditNotes => CREDIT_NOTES,
            BuiltIn::Customers => CUSTOMERS,
        }
    }

    /// The XLSX sheet of its objects, as the exporter names it.
    pub fn sheet(self) -> &'static str {
        match self {
            BuiltIn::Invoices => "Invoices",
            BuiltIn::CreditNotes => "Credit notes",
            BuiltIn::Customers => "Customers",
        }
    }

    /// The API's fields of its objects.
    fn fields(self) -> &'static [Field] {
        match self {
            BuiltIn::Invoices => fields::INVOICE,
            BuiltIn::CreditNotes => fields::CREDIT_NOTE,
            BuiltIn::Customers => fields::CUSTOMER,
        }
    }

    /// Whether `header` is a field path of this resource.
    fn knows(self, header: &str) -> bool {
        let (head, rest) = match header.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (header, None),
        };
        let documents = self != BuiltIn::Customers;
        match (head, rest) {
            ("metadata", Some(k)) => !k.is_empty(),
            ("line", Some(f)) if documents => fields::find(fields::LINE_ITEM, f).is_some(),
            ("customer", Some(f)) if documents => fields::find(fields::CUSTOMER, f).is_some(),
            (name, None) => fields::find(self.fields(), name).is_some(),
            _ => false,
        }
    }
}

/// How a file was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The XLSX marker sheet.
    Marker,
    /// Its header row of field paths.
    Headers,
}

/// A file recognised as one of our exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    pub built_in: BuiltIn,
    /// One row per line item (`--lines`).
    pub lines: bool,
    /// XLSX: the sheet to read.
    pub sheet: Option<String>,
    pub how: How,
}

impl Recognised {
    /// The name of its mapping in the ledger and in messages.
    pub fn label(&self) -> String {
        match &self.sheet {
            Some(s) => format!("{LABEL_PREFIX}{}:{s}", self.built_in.file_name()),
            None => format!("{LABEL_PREFIX}{}", self.built_in.file_name()),
        }
    }

    /// The built-in mapping, reading the right sheet.
    pub fn mapping(&self) -> Result<Mapping, MappingError> {
        let text = with_sheet(self.built_in.text(), self.sheet.as_deref());
        Mapping::from_text(Path::new(&self.label()), &text)
    }

    /// A sentence for people: `an XLSX export of invoices with lines`.
    pub fn describe(&self) -> String {
        format!(
            "an export of {}{}",
            self.built_in.resource().replace('_', " "),
            if self.lines { " with lines" } else { "" }
        )
    }
}

/// The mapping text with its `[source] sheet` set to `sheet` (kept as it is
/// for CSV, which has no sheets).
fn with_sheet(text: &str, sheet: Option<&str>) -> String {
    let Some(sheet) = sheet else {
        return text.to_string();
    };
    let quoted = toml::Value::String(sheet.to_string()).to_string();
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("sheet = ") {
                format!("sheet = {quoted}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `path` is one of our exports, and which.
pub fn recognise(path: &Path) -> Option<Recognised> {
    match Format::from_path(path)? {
        Format::Xlsx => recognise_xlsx(path),
        Format::Csv | Format::Tsv => {
            let headers = headers_of(path, &SourceSpec::default())?;
            let (built_in, lines) = classify(&headers)?;
            Some(Recognised {
                built_in,
                lines,
                sheet: None,
                how: How::Headers,
            })
        }
        _ => None,
    }
}

fn recognise_xlsx(path: &Path) -> Option<Recognised> {
    if let Some(r) = marker(path) {
        return Some(r);
    }
    for sheet in ["Lines", "Invoices", "Credit notes", "Customers"] {
        let spec = SourceSpec {
            sheet: Some(SheetSel::Name(sheet.into())),
            ..SourceSpec::default()
        };
        let Some(headers) = headers_of(path, &spec) else {
            continue;
        };
        if let Some((built_in, lines)) = classify(&headers) {
            return Some(Recognised {
                built_in,
                lines,
                sheet: Some(sheet.to_string()),
                how: How::Headers,
            });
        }
    }
    None
}

/// What the marker sheet says, and the sheet it points to.
fn marker(path: &Path) -> Option<Recognised> {
    let spec = SourceSpec {
        sheet: Some(SheetSel::Name(MARKER_SHEET.into())),
        ..SourceSpec::default()
    };
    let rows = read::open(path, &spec).ok()?;
    let mut built_in = None;
    let mut lines = false;
    for row in rows.take(50) {
        let row = row.ok()?;
        let key = row.cell(0).as_text().trim().to_lowercase();
        let value = row.cell(1).as_text().trim().to_lowercase();
        match key.as_str() {
            "export" => built_in = BuiltIn::from_resource(&value),
            "lines" => lines = matches!(value.as_str(), "true" | "1" | "yes"),
            _ => {}
        }
    }
    let built_in = built_in?;
    let lines = lines && built_in != BuiltIn::Customers;
    let sheet = if lines { "Lines" } else { built_in.sheet() };
    Some(Recognised {
        built_in,
        lines,
        sheet: Some(sheet.to_string()),
        how: How::Marker,
    })
}

fn headers_of(path: &Path, spec: &SourceSpec) -> Option<Vec<String>> {
    let source = read::open(path, spec).ok()?;
    Some(source.headers().to_vec())
}

/// Which resource a header row of field paths belongs to, and whether it
/// has line columns. `None` unless `id` is a column and every column is a
/// field path of one resource.
pub fn classify(headers: &[String]) -> Option<(BuiltIn, bool)> {
    let headers: Vec<&str> = headers
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .collect();
    if !headers.contains(&"id") || headers.len() < 3 {
        return None;
    }
    let fits = |b: BuiltIn| headers.iter().all(|h| b.knows(h));
    let lines = headers.iter().any(|h| h.starts_with("line."));
    let documents = headers.contains(&"number")
        && (headers.contains(&"date") || headers.iter().any(|h| h.starts_with("customer")));
    let built_in = if documents && fits(BuiltIn::Invoices) && fits(BuiltIn::CreditNotes) {
        // Both have these fields; an invoice's own tell them apart.
        let invoice_only = [
            "due_date",
            "payment_terms",
            "purchase_order",
            "sent",
            "amount_paid",
        ];
        if headers.contains(&"invoice") && !headers.iter().any(|h| invoice_only.contains(h)) {
            BuiltIn::CreditNotes
        } else {
            BuiltIn::Invoices
        }
    } else if documents && fits(BuiltIn::Invoices) {
        BuiltIn::Invoices
    } else if documents && fits(BuiltIn::CreditNotes) {
        BuiltIn::CreditNotes
    } else if !lines && headers.contains(&"name") && fits(BuiltIn::Customers) {
        BuiltIn::Customers
    } else {
        return None;
    };
    Some((built_in, lines))
}

/// The built-in mapping for every file (the first one's, when all are
/// exports of the same resource and shape), with its label.
pub fn for_files(files: &[PathBuf]) -> Result<Recognised, NotRecognised> {
    let mut first: Option<Recognised> = None;
    for f in files {
        if let Err(e) = std::fs::metadata(f) {
            return Err(NotRecognised::Unreadable {
                path: f.clone(),
                message: e.to_string(),
            });
        }
        let Some(r) = recognise(f) else {
            return Err(NotRecognised::Unknown(f.clone()));
        };
        match &first {
            None => first = Some(r),
            Some(a) if a.built_in == r.built_in && a.lines == r.lines => {}
            Some(a) => {
                return Err(NotRecognised::Mixed {
                    first: files[0].clone(),
                    first_is: a.describe(),
                    other: f.clone(),
                    other_is: r.describe(),
                })
            }
        }
    }
    first.ok_or(NotRecognised::NoFiles)
}

/// Why no built-in mapping fits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotRecognised {
    #[error("no input files")]
    NoFiles,
    #[error("failed to read {}: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error(
        "no mapping given, and {} is not an export of facturare-etl (an XLSX export has a sheet named {MARKER_SHEET:?}; a CSV export is headed by field paths such as id, number, line.quantity)",
        .0.display()
    )]
    Unknown(PathBuf),
    #[error(
        "no mapping given, and the files are exports of different kinds: {} is {first_is}, {} is {other_is}; import them one at a time",
        first.display(),
        other.display()
    )]
    Mixed {
        first: PathBuf,
        first_is: String,
        other: PathBuf,
        other_is: String,
    },
}

impl NotRecognised {
    /// An input that cannot be read is the input's (exit 3); the rest is
    /// the request's (exit 2).
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            NotRecognised::Unreadable { .. } => crate::error::ErrorKind::Input,
            _ => crate::error::ErrorKind::Usage,
        }
    }

    /// How to get a mapping.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            NotRecognised::Unreadable { .. } => return None,
            NotRecognised::Mixed { .. } => {
                "or give --mapping mappings/roundtrip-invoices.toml (or -credit-notes, -customers) to read them all alike"
            }
            _ => {
                "give --mapping M: write one with `facturare-etl mapping init FILE -o M` and adjust it, or start from a mapping in mappings/ (mappings/README.md is the reference); a file written by `facturare-etl export` is read with no mapping"
            }
        })
    }
}

/// Load a mapping file, or a built-in mapping by its label.
pub fn load(path: &Path) -> Result<Mapping, MappingError> {
    load_with(path, &super::LoadOptions::default())
}

/// [`load`] with the command line's options for a mapping file.
pub fn load_with(path: &Path, options: &super::LoadOptions) -> Result<Mapping, MappingError> {
    match from_label(&path.to_string_lossy()) {
        Some(r) => r.mapping(),
        None => Mapping::load_with(path, options),
    }
}

/// A built-in mapping's label read back.
pub fn from_label(label: &str) -> Option<Recognised> {
    let rest = label.strip_prefix(LABEL_PREFIX)?;
    let (file, sheet) = match rest.split_once(':') {
        Some((f, s)) => (f, Some(s.to_string())),
        None => (rest, None),
    };
    let built_in = BuiltIn::ALL.into_iter().find(|b| b.file_name() == file)?;
    Some(Recognised {
        built_in,
        lines: sheet.as_deref() == Some("Lines"),
        sheet,
        how: How::Marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    #[test]
    fn field_path_headers_tell_the_resource() {
        let lines = "id,number,customer,customer.number,customer.name,date,due_date,currency,payment_terms,purchase_order,notes,metadata.project,subtotal,total,balance,status,paid,updated_at,line.id,line.name,line.quantity,line.unit_cost,line.amount,line.taxes,line.discounts";
        assert_eq!(classify(&h(lines)), Some((BuiltIn::Invoices, true)));
        assert_eq!(
            classify(&h("id,number,date,customer,invoice,currency,total,status")),
            Some((BuiltIn::CreditNotes, false))
        );
        assert_eq!(
            classify(&h(
                "id,number,name,type,tax_id,email,metadata.segment,updated_at"
            )),
            Some((BuiltIn::Customers, false))
        );
        // An older export: metadata as one column, taxes as text.
        assert_eq!(
            classify(&h("id,number,date,due_date,customer,currency,subtotal,metadata,updated_at,line.id,line.taxes")),
            Some((BuiltIn::Invoices, true))
        );
        for not in [
            "number,date,total",
            "id,Invoice,Customer,IDNO",
            "id,number,date,colour",
            "Nr,Data,Suma",
        ] {
            assert_eq!(classify(&h(not)), None, "{not}");
        }
    }

    #[test]
    fn built_in_mappings_load_and_name_their_sheet() {
        for b in BuiltIn::ALL {
            let r = Recognised {
                built_in: b,
                lines: false,
                sheet: Some(b.sheet().to_string()),
                how: How::Marker,
            };
            let m = r.mapping().unwrap_or_else(|e| panic!("{b:?}: {e}"));
            assert_eq!(
                m.source().sheet,
                Some(SheetSel::Name(b.sheet().to_string()))
            );
            assert_eq!(from_label(&r.label()), Some(r.clone()));
            assert!(
                super::super::run_examples(&m).iter().all(|e| e.passed),
                "{b:?}: {:?}",
                super::super::run_examples(&m)
            );
        }
        assert_eq!(from_label("mappings/1c-export.toml"), None);
        assert_eq!(from_label("built-in:nothing.toml"), None);
    }

    #[test]
    fn a_sheet_name_is_quoted_into_the_text() {
        let t = with_sheet("a = 1\nsheet = \"Lines\"\n", Some("Credit \"notes\""));
        let v: toml::Value = toml::from_str(&t).unwrap();
        assert_eq!(v["sheet"].as_str(), Some("Credit \"notes\""));
        assert_eq!(v["a"].as_integer(), Some(1));
    }
}
