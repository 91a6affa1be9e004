//! The keys of the mapping format, by table (one cohesive table: the
//! reference test checks that mappings/README.md mentions each, and
//! unknown keys get "did you mean" from it), and the names some values
//! take.

/// Every key the format knows, by table, for the reference test and for
/// "did you mean" on unknown keys.
pub const KEYS: &[(&str, &[&str])] = &[
    (
        "top",
        &[
            "version", "name", "resource", "source", "invoice", "customer", "line", "payment",
            "checks", "limits", "example",
        ],
    ),
    ("checks", &["tolerance"]),
    (
        "limits",
        &[
            "max_cell_bytes",
            "max_quoted_lines",
            "max_columns",
            "max_sheet_cells",
            "max_part_bytes",
            "max_json_bytes",
            "years",
        ],
    ),
    (
        "source",
        &[
            "format",
            "encoding",
            "delimiter",
            "quote",
            "header_row",
            "sheet",
            "records",
            "lines",
            "skip_rows_matching",
            "fill_down",
            "optional_columns",
        ],
    ),
    ("skip_rows_matching", &["column", "regex"]),
    (
        "invoice",
        &[
            "group_by",
            "kind",
            "id",
            "updated_at",
            "credit_note_when_negative",
            "number",
            "name",
            "currency",
            "date",
            "due_date",
            "payment_terms",
            "purchase_order",
            "notes",
            "draft",
            "sent",
            "taxes",
            "discount",
            "check_subtotal",
            "check_tax",
            "check_total",
            "metadata",
            "metadata_prefix",
            "computed",
        ],
    ),
    (
        "customer",
        &[
            "match_on",
            "id",
            "updated_at",
            "number",
            "name",
            "type",
            "tax_id",
            "email",
            "phone",
            "address1",
            "address2",
            "city",
            "state",
            "postal_code",
            "country",
            "language",
            "currency",
            "payment_terms",
            "notes",
            "metadata",
            "metadata_prefix",
        ],
    ),
    (
        "line",
        &[
            "wide",
            "id",
            "name",
            "description",
            "catalog_item",
            "type",
            "quantity",
            "unit_cost",
            "taxes",
            "discount",
            "discount_percent",
            "taxable",
            "discountable",
            "check_net",
            "check_vat",
            "check_gross",
            "metadata",
            "computed",
        ],
    ),
    ("wide", &["from", "to", "values"]),
    (
        "payment",
        &["amount", "date", "method", "reference", "notes", "currency"],
    ),
    (
        "example",
        &["name", "rows", "expect", "problems", "skipped"],
    ),
    (
        "field",
        &[
            "column",
            "value",
            "template",
            "transform",
            "replace",
            "regex",
            "default",
            "lookup",
            "lookup_file",
            "date",
            "decimal",
            "integer",
            "bool",
        ],
    ),
    ("lookup_file", &["path", "key", "value"]),
    ("replace", &["from", "to", "regex"]),
];

/// The named text transforms.
pub const TRANSFORMS: &[&str] = &[
    "trim",
    "upper",
    "lower",
    "collapse_spaces",
    "digits",
    "strip_quotes",
];

/// The decimal notations.
pub const DECIMAL_LOCALES: &[&str] = &["auto", "ru", "ro", "en", "comma", "dot"];

/// The yes/no word sets.
pub const BOOL_LANGS: &[&str] = &["any", "ro", "ru", "en"];
