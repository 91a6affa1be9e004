//! The mapping file as written (TOML, `version = 1`): plain serde data with
//! unknown keys rejected and spans kept on every name and pattern, so that
//! a compile error can point at the text. The doc comments here are the
//! format's reference; `mappings/README.md` is written from them.

mod keys;
mod values;

pub use keys::{BOOL_LANGS, DECIMAL_LOCALES, KEYS, TRANSFORMS};
pub use values::{FieldSpec, OneOrMany, SheetValue, StrList};

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// The format's version: always `1`.
    pub version: Spanned<i64>,
    /// A name for people; defaults to the file's name without `.toml`.
    #[serde(default)]
    pub name: Option<String>,
    /// What each document of the input is: `invoices` (the default:
    /// invoices and credit notes, with their customers) or `customers`
    /// (one customer per row, from `[customer]` alone).
    #[serde(default)]
    pub resource: Option<Spanned<String>>,
    /// How to read the input files.
    #[serde(default)]
    pub source: SourceTable,
    /// The document: grouping, header fields, document-level totals, metadata.
    #[serde(default)]
    pub invoice: InvoiceSpec,
    /// The customer the document is for.
    #[serde(default)]
    pub customer: CustomerSpec,
    /// The line items: one per row (or per group row), or several per row
    /// with `wide`.
    #[serde(default)]
    pub line: LineSpec,
    /// Payments already made on legacy invoices (`[[payment]]`, any number).
    #[serde(default)]
    pub payment: Vec<PaymentSpec>,
    /// How the source's stated totals are reconciled.
    #[serde(default)]
    pub checks: ChecksSpec,
    /// What reading takes at most, and the dates taken as real; each has a
    /// default that suits ordinary files (README, "Bad input").
    #[serde(default)]
    pub limits: LimitsTable,
    /// Examples: input rows and the payload they must produce (`mapping test`).
    #[serde(default)]
    pub example: Vec<ExampleSpec>,
}

/// `[checks]`: how the totals the source states (`check_*`) are reconciled
/// with those the API will compute.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSpec {
    /// A difference up to this amount (a decimal string, e.g. `"0.02"`) is
    /// a warning, not an error: for sources that round differently (halves
    /// to even, or truncating). Differences up to 0.01 always pass.
    #[serde(default)]
    pub tolerance: Option<Spanned<String>>,
}

/// `[source]`: how to read the input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTable {
    /// `csv`, `tsv`, `xlsx` (also `xlsm`), `xls`, `ods`, `json` or `jsonl`;
    /// default: from the file's extension.
    pub format: Option<Spanned<String>>,
    /// CSV text encoding: `utf-8`, `utf-16` (with a BOM), `windows-1251`,
    /// `cp866`, `koi8-r`, `windows-1250`, `windows-1252` or any WHATWG label;
    /// `auto` or absent: detected (BOM, valid UTF-8, else a statistical
    /// guess whose confidence is logged with `-v`).
    pub encoding: Option<Spanned<String>>,
    /// CSV delimiter: one character (`";"`, `","`, `"\t"` or `"tab"`, `"|"`);
    /// `auto` or absent: detected among those four.
    pub delimiter: Option<Spanned<String>>,
    /// CSV quote character (default `"`).
    pub quote: Option<Spanned<String>>,
    /// The 1-based row holding the column names (CSV: the physical line;
    /// spreadsheets: the row number Excel shows). Rows above it are titles
    /// and are skipped. Default 1.
    pub header_row: Option<Spanned<i64>>,
    /// Spreadsheets: the sheet, by name (`"Invoices"`) or 1-based position
    /// (`2`); `"*"`: every sheet whose header row has the first sheet's
    /// column names (in any order; the others are skipped with a note); a
    /// list of names (`["Ianuarie", "Februarie"]`): those sheets, in that
    /// order, each with the first one's columns. Rows keep their sheet in
    /// every address; a document's rows are on one sheet. Default: the
    /// first sheet.
    pub sheet: Option<Spanned<SheetValue>>,
    /// JSON: dotted path to the array of records (`"orders"`,
    /// `"data.orders"`). Default: the document itself is the array.
    pub records: Option<Spanned<String>>,
    /// JSON: path inside each record to its array of lines (`"lines"`).
    /// Each line becomes a row with the record's fields plus the line's
    /// fields under `line.` (`line.qty`); rows of one record form one
    /// document unless `invoice.group_by` says otherwise.
    pub lines: Option<Spanned<String>>,
    /// Rows to skip (totals, subtotals, separators): a table or a list of
    /// tables `{ column = "Nr", regex = "^Total" }`; without `column`, a row
    /// is skipped when any cell matches. Blank rows are always skipped.
    #[serde(default)]
    pub skip_rows_matching: OneOrMany<SkipSpec>,
    /// Columns a record fills on its first row only (Odoo's exports): a row
    /// whose cells in these columns are all blank (and that is not blank
    /// itself) takes them from the last row above that had any.
    #[serde(default)]
    pub fill_down: StrList,
    /// When true, a column the mapping names may be missing from a file:
    /// its field is then not read (and a round trip leaves it as the
    /// account has it). Default false: a missing column is an error.
    #[serde(default)]
    pub optional_columns: bool,
}

/// `[limits]`: what a read takes at most (a file over one is refused,
/// naming the limit), and the years a date may fall in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsTable {
    /// Bytes of a CSV line or cell, a spreadsheet cell, a JSON value
    /// (default 4 MiB; `--max-cell-bytes` overrides it).
    pub max_cell_bytes: Option<Spanned<i64>>,
    /// Line breaks a quoted CSV cell may span before it is taken for a
    /// quote left open (default 10).
    pub max_quoted_lines: Option<Spanned<i64>>,
    /// Columns of a header (default 2,048).
    pub max_columns: Option<Spanned<i64>>,
    /// Cells of an XLS or ODS sheet, which are loaded whole, with repeated
    /// rows and columns expanded (default 2,000,000).
    pub max_sheet_cells: Option<Spanned<i64>>,
    /// Bytes of a workbook part read whole: XLSX shared strings and
    /// styles, an XLS file (default 32 MiB).
    pub max_part_bytes: Option<Spanned<i64>>,
    /// Bytes of a JSON file read whole, or of a JSON Lines line (default
    /// 16 MiB; JSON Lines files are read in any size).
    pub max_json_bytes: Option<Spanned<i64>>,
    /// The first and last year a date may fall in (default `[1900, 2100]`):
    /// a date outside is a problem `date_out_of_range` at its cell.
    pub years: Option<Spanned<Vec<i64>>>,
}

/// A rule that skips rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipSpec {
    /// The column to test; absent: any column.
    pub column: Option<Spanned<String>>,
    /// A regular expression (Rust `regex` syntax) searched in the cell's text.
    pub regex: Spanned<String>,
}

/// `[invoice]`: the document's own fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSpec {
    /// Column(s) whose values identify a document: rows sharing them become
    /// one document with many lines, in any row order. Absent: one row per
    /// document (or one JSON record per document with `source.lines`).
    #[serde(default)]
    pub group_by: StrList,
    /// `invoice` or `credit_note` (after transforms and lookup; also
    /// `credit note`, `credit-note`). Absent: an invoice.
    pub kind: Option<FieldSpec>,
    /// The document's id on the account, as exported (a whole number).
    /// Mapping it makes the import a round trip: each document is matched
    /// with the account's by id (else by number), compared, and only what
    /// differs is sent.
    pub id: Option<FieldSpec>,
    /// When the account last changed the document, as exported (`updated_at`:
    /// a date and time in Chisinau). A round trip sends no change to a
    /// document the account changed since.
    pub updated_at: Option<FieldSpec>,
    /// When true, a document whose total is negative becomes a credit note
    /// and the signs of its quantities and checked totals are flipped.
    #[serde(default)]
    pub credit_note_when_negative: bool,
    /// The document number (≤ 32 characters).
    pub number: Option<FieldSpec>,
    /// The document's title.
    pub name: Option<FieldSpec>,
    /// ISO 4217 code (`MDL`, `EUR`).
    pub currency: Option<FieldSpec>,
    /// The document date.
    pub date: Option<FieldSpec>,
    /// The due date.
    pub due_date: Option<FieldSpec>,
    /// `NET 30` and the like.
    pub payment_terms: Option<FieldSpec>,
    pub purchase_order: Option<FieldSpec>,
    pub notes: Option<FieldSpec>,
    /// Whether the document stays a draft (yes/no words).
    pub draft: Option<FieldSpec>,
    /// Whether the document is marked sent (yes/no words).
    pub sent: Option<FieldSpec>,
    /// Document-level taxes: tax-rate ids (usually via `lookup`); several
    /// ids may be separated by `,`.
    pub taxes: Option<FieldSpec>,
    /// A document-level discount amount (a decimal).
    pub discount: Option<FieldSpec>,
    /// The document's subtotal as the source states it (checked, not sent).
    pub check_subtotal: Option<FieldSpec>,
    /// The document's VAT as the source states it (checked, not sent).
    pub check_tax: Option<FieldSpec>,
    /// The document's total as the source states it (checked, not sent).
    pub check_total: Option<FieldSpec>,
    /// Metadata keys and their fields (`[invoice.metadata] source = { value = "1c" }`).
    #[serde(default)]
    pub metadata: BTreeMap<String, FieldSpec>,
    /// Every column whose name starts with this text gives a metadata key:
    /// the rest of its name (`"metadata."`: the column `metadata.project`
    /// is the key `project`). An empty cell gives no key.
    pub metadata_prefix: Option<Spanned<String>>,
    /// Values the API computes (`subtotal`, `total`, `balance`, `paid`,
    /// `status`, ...), read for comparison only: never sent, and in a round
    /// trip a warning at the cell when one differs from the account's.
    #[serde(default)]
    pub computed: BTreeMap<String, FieldSpec>,
}

/// `[customer]`: who the document is for; looked up on the account and
/// created when missing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSpec {
    /// How to find the customer on the account: `number` (default) or `tax_id`.
    pub match_on: Option<Spanned<String>>,
    /// The customer's id on the account (a whole number): for a document,
    /// used when the customer has no number or tax id to be matched on; for
    /// a customer record (`resource = "customers"`), mapping it makes the
    /// import a round trip, as `invoice.id` does for documents.
    pub id: Option<FieldSpec>,
    /// A customer record's `updated_at`, as exported (round trips).
    pub updated_at: Option<FieldSpec>,
    /// The customer's number on the account (≤ 32 characters).
    pub number: Option<FieldSpec>,
    pub name: Option<FieldSpec>,
    /// `company`, `person`, `government` or `non_profit`.
    #[serde(rename = "type")]
    pub kind: Option<FieldSpec>,
    /// The IDNO (13 digits) for Moldovan companies.
    pub tax_id: Option<FieldSpec>,
    pub email: Option<FieldSpec>,
    pub phone: Option<FieldSpec>,
    pub address1: Option<FieldSpec>,
    pub address2: Option<FieldSpec>,
    pub city: Option<FieldSpec>,
    pub state: Option<FieldSpec>,
    pub postal_code: Option<FieldSpec>,
    /// ISO 3166-1 alpha-2 (`MD`).
    pub country: Option<FieldSpec>,
    pub language: Option<FieldSpec>,
    pub currency: Option<FieldSpec>,
    pub payment_terms: Option<FieldSpec>,
    pub notes: Option<FieldSpec>,
    #[serde(default)]
    pub metadata: BTreeMap<String, FieldSpec>,
    /// As `invoice.metadata_prefix`, for the customer's metadata.
    pub metadata_prefix: Option<Spanned<String>>,
}

/// `[line]`: a line item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    /// Wide layouts: several lines per row, their column names holding
    /// `{n}` (`"Item{n} Qty"`), for n from `from` to `to` (absent `to`:
    /// while the columns exist), or for each of `values` (`"TVA {n}%"` with
    /// `values = ["20", "8"]`). Slots whose fields are all empty are dropped.
    pub wide: Option<WideSpec>,
    /// The line's id on the account, as exported (round trips: a row with
    /// an id changes that line, a row without one adds a line, and a line
    /// of the document with no row is removed).
    pub id: Option<FieldSpec>,
    pub name: Option<FieldSpec>,
    pub description: Option<FieldSpec>,
    /// A catalog item id.
    pub catalog_item: Option<FieldSpec>,
    /// The line's type (`product`, `service`).
    #[serde(rename = "type")]
    pub kind: Option<FieldSpec>,
    /// A decimal; the API's default is 1.
    pub quantity: Option<FieldSpec>,
    /// A decimal price per unit, VAT excluded.
    pub unit_cost: Option<FieldSpec>,
    /// Tax-rate ids (usually via `lookup`, e.g. `"20%" = "tva20"`); several
    /// may be separated by `,`. The id `exempt` makes the line non-taxable
    /// with `metadata.vat = "exempt"`.
    pub taxes: Option<FieldSpec>,
    /// A discount amount on the line.
    pub discount: Option<FieldSpec>,
    /// A discount in percent of quantity × unit cost (rounded to 2 decimals).
    pub discount_percent: Option<FieldSpec>,
    /// Yes/no.
    pub taxable: Option<FieldSpec>,
    /// Yes/no.
    pub discountable: Option<FieldSpec>,
    /// The line's net amount as the source states it (checked, not sent).
    pub check_net: Option<FieldSpec>,
    /// The line's VAT as the source states it (checked, not sent).
    pub check_vat: Option<FieldSpec>,
    /// The line's gross amount as the source states it (checked, not sent).
    pub check_gross: Option<FieldSpec>,
    #[serde(default)]
    pub metadata: BTreeMap<String, FieldSpec>,
    /// Values the API computes for the line (`amount`), as
    /// `invoice.computed`.
    #[serde(default)]
    pub computed: BTreeMap<String, FieldSpec>,
}

/// `[line.wide]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WideSpec {
    /// The slots named by a list instead of numbered (`["20", "12", "8",
    /// "0"]`): `{n}` is each value in turn; not with `from`/`to`.
    pub values: Option<StrList>,
    /// The first n (default 1).
    pub from: Option<Spanned<i64>>,
    /// The last n; absent: as long as the columns exist.
    pub to: Option<Spanned<i64>>,
}

/// `[[payment]]`: a payment already made; made only when its amount is
/// present and not zero.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSpec {
    pub amount: Option<FieldSpec>,
    pub date: Option<FieldSpec>,
    /// `cash`, `check`, `wire_transfer`, `credit_card`, `other`, ...
    pub method: Option<FieldSpec>,
    pub reference: Option<FieldSpec>,
    pub notes: Option<FieldSpec>,
    /// Default: the document's currency.
    pub currency: Option<FieldSpec>,
}

/// `[[example]]`: rows in, the payload subset expected out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleSpec {
    /// A name for the report.
    pub name: Option<String>,
    /// The input rows: tables of column name → value (a string, number,
    /// boolean or date; columns the mapping reads but a row omits are
    /// empty). With `source.lines`, the rows are the lines of one record.
    pub rows: Vec<toml::Table>,
    /// What the documents must contain: a table (exactly one document) or a
    /// list of tables (one per document, in order). Only the keys given are
    /// compared; lists must have the same length; dates as `"YYYY-MM-DD"`;
    /// numbers compare as decimals (`"1000.50"` = `1000.5`).
    pub expect: Option<toml::Value>,
    /// Problem codes the documents must carry (`["bad_decimal"]`); when
    /// absent, the example must produce no problems.
    pub problems: Option<Vec<String>>,
    /// Rows the example must skip (skip rules, blank rows).
    pub skipped: Option<u64>,
}

/// How a field gets its value: exactly one of `column`, `value` or
/// `template`, then the steps in this order: `transform`, `replace`,
/// `regex`, `default`, `lookup`/`lookup_file`, then parsing to the field's
/// type (`date`, `decimal`, `integer`, `bool`). A bare string is a column:
/// `number = "Nr"` is `number = { column = "Nr" }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTable {
    /// The column (header name) to read.
    pub column: Option<Spanned<String>>,
    /// A constant (string, number, boolean or date).
    pub value: Option<Spanned<toml::Value>>,
    /// Text with `{Column}` placeholders (`"{Serie}-{Nr}"`); `{{`/`}}` for braces.
    pub template: Option<Spanned<String>>,
    /// Text transforms in order: `trim`, `upper`, `lower`, `collapse_spaces`
    /// (runs of whitespace to one space), `digits` (keep digits only),
    /// `strip_quotes`.
    #[serde(default)]
    pub transform: StrList,
    /// Replacements: `{ from = "x", to = "y" }` or a list of them; with
    /// `regex = true`, `from` is a regular expression and `to` may use `$1`.
    #[serde(default)]
    pub replace: OneOrMany<ReplaceSpec>,
    /// A regular expression: the value becomes its first capture group (or
    /// the whole match); no match is a problem `no_match`.
    pub regex: Option<Spanned<String>>,
    /// The value used when the cell is empty.
    pub default: Option<Spanned<toml::Value>>,
    /// An inline lookup table (`{ "20%" = "tva20", "Да" = "yes" }`); matched
    /// exactly, then ignoring case and surrounding spaces; a value not in the
    /// table is a problem `not_in_lookup`.
    pub lookup: Option<Spanned<BTreeMap<String, String>>>,
    /// A lookup table in a CSV file (UTF-8, header row, path relative to the
    /// mapping file).
    pub lookup_file: Option<Spanned<LookupFileSpec>>,
    /// Date formats tried in order (chrono `strftime` syntax, `%d.%m.%Y`),
    /// plus `excel` for Excel serial numbers (`45296`) and `iso` for
    /// `YYYY-MM-DD`. Default for date fields: `iso`, `%d.%m.%Y`, `%d/%m/%Y`,
    /// `excel`. Spreadsheet date cells need no format.
    pub date: Option<StrList>,
    /// Decimal notation: `ru` (`1 234,56`), `ro` (`1.234,56`), `en`
    /// (`1,234.56`), `comma` / `dot` (decimal separator only, spaces
    /// grouping), or `auto` (the default: the last of `,` `.` is the decimal
    /// separator). Spreadsheet numbers need no locale.
    pub decimal: Option<Spanned<String>>,
    /// Parse as a whole number (`12`, `12.0`).
    #[serde(default)]
    pub integer: bool,
    /// Yes/no words: `ro` (da/nu), `ru` (да/нет), `en` (yes/no, true/false),
    /// or `any` (the default for yes/no fields: all of them, plus 1/0).
    pub bool: Option<Spanned<String>>,
}

/// `lookup_file = { path = "rates.csv", key = "code", value = "id" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupFileSpec {
    pub path: String,
    /// The column holding the keys.
    pub key: String,
    /// The column holding the values.
    pub value: String,
}

/// One replacement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceSpec {
    pub from: Spanned<String>,
    pub to: String,
    /// Treat `from` as a regular expression.
    #[serde(default)]
    pub regex: bool,
}

#[cfg(test)]
mod tests {
    use super::KEYS;
    use crate::model::fields::{self, Field};

    /// The mapping's targets are named after the API's fields
    /// ([`crate::model::fields`], the one list of them): every key of the
    /// customer and line tables that is not the mapping's own (how to
    /// match, read or check) is a writable API field.
    #[test]
    fn target_keys_are_api_fields() {
        let own = [
            "match_on",
            "id",
            "updated_at",
            "metadata_prefix",
            "computed",
            "wide",
            "discount",
            "discount_percent",
            "check_net",
            "check_vat",
            "check_gross",
        ];
        let table = |name: &str| KEYS.iter().find(|(t, _)| *t == name).unwrap().1;
        for (keys, api) in [
            (table("customer"), fields::CUSTOMER as &[Field]),
            (table("line"), fields::LINE_ITEM),
        ] {
            for k in keys.iter().filter(|k| !own.contains(k)) {
                assert!(
                    fields::find(api, k).is_some_and(Field::writable),
                    "`{k}` is not a writable API field"
                );
            }
        }
    }
}
