//! The `[source]` table compiled into reader options ([`SourceSpec`]):
//! format, encoding (with the usual code-page aliases), delimiter, quote,
//! header row, sheet(s), records, lines and the columns filled down, each mistake with its place in the
//! mapping file.

use crate::mapping::spec::{MappingSpec, SheetValue};
use crate::mapping::Diag;
use crate::read::{Format, SheetSel, SourceSpec};

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
            SheetValue::All => out.sheet = Some(SheetSel::All),
            SheetValue::List(names) if names.is_empty() => diags.push(
                Diag::at(sh.span(), "the list of sheets is empty")
                    .help("name the sheets to read, or write \"*\" for every sheet with the first one's header"),
            ),
            SheetValue::List(names) => out.sheet = Some(SheetSel::List(names.clone())),
        }
    }
    out.fill_down = s.fill_down.items.clone();
    limits(&spec.limits, &mut out.limits, &mut diags);
    out.records = s.records.as_ref().map(|r| r.get_ref().clone());
    out.lines = s.lines.as_ref().map(|r| r.get_ref().clone());
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// `[limits]`' reading limits, each a whole number from 1.
fn limits(
    t: &crate::mapping::spec::LimitsTable,
    out: &mut crate::read::Limits,
    diags: &mut Vec<Diag>,
) {
    let mut set = |v: &Option<toml::Spanned<i64>>, name: &str, slot: &mut u64| {
        if let Some(v) = v {
            match u64::try_from(*v.get_ref()) {
                Ok(n) if n >= 1 => *slot = n,
                _ => diags.push(Diag::at(
                    v.span(),
                    format!("{name} is a whole number from 1, found {}", v.get_ref()),
                )),
            }
        }
    };
    set(&t.max_cell_bytes, "max_cell_bytes", &mut out.max_cell_bytes);
    set(
        &t.max_quoted_lines,
        "max_quoted_lines",
        &mut out.max_quoted_lines,
    );
    set(
        &t.max_sheet_cells,
        "max_sheet_cells",
        &mut out.max_sheet_cells,
    );
    set(&t.max_part_bytes, "max_part_bytes", &mut out.max_part_bytes);
    set(&t.max_json_bytes, "max_json_bytes", &mut out.max_json_bytes);
    let mut columns = out.max_columns as u64;
    set(&t.max_columns, "max_columns", &mut columns);
    out.max_columns = usize::try_from(columns).unwrap_or(usize::MAX);
}

/// `[limits] years`: the first and last year a date may fall in.
pub fn years(spec: &MappingSpec) -> Result<(i32, i32), Diag> {
    let Some(y) = &spec.limits.years else {
        return Ok(DEFAULT_YEARS);
    };
    match y.get_ref().as_slice() {
        [from, until] if from <= until => {
            let year = |v: i64| i32::try_from(v).ok().filter(|y| (1..=9999).contains(y));
            match (year(*from), year(*until)) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => Err(Diag::at(y.span(), "years are between 1 and 9999")),
            }
        }
        _ => Err(Diag::at(
            y.span(),
            "years is the first and the last year a date may fall in, as [1900, 2100]",
        )),
    }
}

/// The years a date may fall in unless `[limits] years` says otherwise.
pub const DEFAULT_YEARS: (i32, i32) = (1900, 2100);
