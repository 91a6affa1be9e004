//! `facturare-etl validate` end to end: exit codes, the summary (text and
//! JSON), the rejects reports read back (CSV re-read by the same mapping,
//! XLSX with fills and notes), the errors list, `--vat-table`, and every
//! sample in samples/ with its mapping.

use crate::support::{bin, TestDir, TestEmulator};
use calamine::{Data, Reader};
use std::io::Read;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A 1C-style register: cp1251, `;`, decimal commas, two title lines, a
/// totals row. Invoice МД-2 has a bad IDNO (row 6), МД-3 a wrong line total
/// (row 8) over two rows, МД-4 a rate not in force (row 9).
const REGISTER: &str = "\
Реестр реализации\r
Период: 01.01.2024 - 31.03.2025\r
Номер;Дата;Код;Контрагент;IDNO;Товар;Кол-во;Цена;НДС;Сумма\r
МД-1;05.01.2024;К-1;ООО Альфа;1008600038413;Хлеб;2;1 000,50;20%;2 001,00\r
МД-1;05.01.2024;К-1;ООО Альфа;1008600038413;Молоко;1;12,00;8%;12,00\r
МД-2;06.01.2024;К-2;ООО Бета;1008600038412;Сыр;3;100,00;20%;300,00\r
МД-3;07.01.2024;К-1;ООО Альфа;1008600038413;Кефир;1;10,00;8%;10,00\r
МД-3;07.01.2024;К-1;ООО Альфа;1008600038413;Вода;2;5,00;20%;11,00\r
МД-4;01.03.2025;К-1;ООО Альфа;1008600038413;Ужин;1;100,00;12%;100,00\r
Итого;;;;;;;;;2 434,00\r
";

const MAPPING: &str = r#"version = 1
name = "register"

[source]
format = "csv"
encoding = "windows-1251"
delimiter = ";"
header_row = 3
skip_rows_matching = { column = "Номер", regex = "^Итого" }

[invoice]
group_by = "Номер"
number = "Номер"
date = { column = "Дата", date = ["%d.%m.%Y"] }

[customer]
number = "Код"
name = "Контрагент"
tax_id = "IDNO"

[line]
name = "Товар"
quantity = { column = "Кол-во", decimal = "ru" }
unit_cost = { column = "Цена", decimal = "ru" }
taxes = { column = "НДС", lookup = { "20%" = "tva20", "12%" = "tva12", "8%" = "tva8", "5%" = "tva5" } }
check_net = { column = "Сумма", decimal = "ru" }
"#;

struct Case {
    dir: TestDir,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: TestDir::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        self.dir.write(name, bytes)
    }

    fn register(&self) -> (PathBuf, PathBuf) {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(REGISTER);
        (
            self.write("register.csv", &bytes),
            self.write("register.toml", MAPPING.as_bytes()),
        )
    }

    fn validate(&self, args: &[&str]) -> (i32, String, String) {
        let out = bin(self.dir.path())
            .env("FACTURARE_LOG", "error")
            .arg("validate")
            .args(args)
            .output()
            .expect("run the binary");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn register_summary_exit_code_and_json() {
    let case = Case::new();
    case.register();
    let (code, stdout, stderr) =
        case.validate(&["register.csv", "--mapping", "register.toml", "--json"]);
    assert_eq!(code, 1, "{stderr}");
    let s = json(&stdout);
    assert_eq!(s["rows_read"], 7, "{s}");
    assert_eq!(s["rows_skipped"], 1, "{s}");
    assert_eq!(s["invoices_formed"], 4);
    assert_eq!(s["valid"], 1);
    assert_eq!(s["rejected"], 3);
    assert_eq!(s["by_code"]["idno_check_digit"], 1);
    assert_eq!(s["by_code"]["total_mismatch"], 1);
    assert_eq!(s["by_code"]["vat_not_in_force"], 1);
    // The text summary is on stderr, each problem at its cell.
    assert!(
        stderr.contains("documents formed: 1 valid, 3 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"register.csv row 6, column "IDNO": customer.tax_id"#),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"register.csv row 8, column "Сумма": checks.lines[1].net"#),
        "{stderr}"
    );
}

#[test]
fn all_valid_exits_0() {
    let case = Case::new();
    let good: String = REGISTER.lines().take(5).map(|l| format!("{l}\n")).collect();
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&good);
    case.write("good.csv", &bytes);
    case.write("register.toml", MAPPING.as_bytes());
    let (code, _, stderr) = case.validate(&["good.csv", "--mapping", "register.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 valid, 0 rejected"), "{stderr}");
}

#[test]
fn csv_rejects_are_re_read_by_the_same_mapping() {
    let case = Case::new();
    case.register();
    let (code, _, stderr) = case.validate(&[
        "register.csv",
        "--mapping",
        "register.toml",
        "--rejects",
        "rejects.csv",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let bytes = std::fs::read(case.path("rejects.csv")).unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!bad, "written in the input's encoding");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        3 + 4,
        "two title lines, the header, four rows: {text}"
    );
    assert_eq!(
        lines[2],
        "Номер;Дата;Код;Контрагент;IDNO;Товар;Кол-во;Цена;НДС;Сумма;_row;_errors"
    );
    assert!(lines[3].starts_with("МД-2;06.01.2024;К-2;ООО Бета;1008600038412;Сыр;3;100,00;20%;300,00;6;\"IDNO: customer.tax_id"), "{}", lines[3]);
    // Both rows of МД-3, the good one too, so the invoice comes back whole.
    assert!(
        lines[4].starts_with("МД-3;")
            && lines[4].contains(";7;rejected with its document (see row 7)"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5].starts_with("МД-3;") && lines[5].contains(";8;\"Сумма: checks.lines[1].net"),
        "{}",
        lines[5]
    );

    // The same mapping reads it: the same three documents, still rejected.
    let (code, stdout, stderr) =
        case.validate(&["rejects.csv", "--mapping", "register.toml", "--json"]);
    assert_eq!(code, 1, "{stderr}");
    let s = json(&stdout);
    assert_eq!(
        (s["rows_read"].as_u64(), s["rejected"].as_u64()),
        (Some(4), Some(3)),
        "{s}"
    );

    // Fixed, they pass.
    let fixed = text
        .replace("1008600038412", "1008600038413")
        .replace("5,00;20%;11,00", "5,00;20%;10,00")
        .replace("12%", "8%");
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&fixed);
    case.write("fixed.csv", &bytes);
    let (code, _, stderr) = case.validate(&["fixed.csv", "--mapping", "register.toml"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn errors_list_beside_the_rejects() {
    let case = Case::new();
    case.register();
    let (code, _, stderr) = case.validate(&[
        "register.csv",
        "--mapping",
        "register.toml",
        "--rejects",
        "out/rejects.csv",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let bytes = std::fs::read(case.path("out/rejects.errors.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut rd = csv::Reader::from_reader(&bytes[3..]);
    let recs: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let rows: Vec<(String, String, String, String)> = recs
        .iter()
        .map(|r| {
            (
                r[2].to_string(),
                r[3].to_string(),
                r[5].to_string(),
                r[6].to_string(),
            )
        })
        .collect();
    let want = |row: &str, col: &str, code: &str| {
        (
            row.to_string(),
            col.to_string(),
            code.to_string(),
            "error".to_string(),
        )
    };
    assert_eq!(
        rows,
        [
            want("6", "IDNO", "idno_check_digit"),
            want("8", "Сумма", "total_mismatch"),
            want("9", "НДС", "vat_not_in_force"),
        ]
    );
    assert!(recs[0][0].ends_with("register.csv"));
    assert_eq!(&recs[1][4], "checks.lines[1].net");
    assert_eq!(&recs[1][8], "11.00");
    assert!(recs[1][9].starts_with("10.00"), "{:?}", &recs[1]);
    assert_eq!(&recs[1][10], "МД-3");
}

#[test]
fn a_user_vat_table_extends_the_rates() {
    let case = Case::new();
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(
        "t\r\nt\r\nНомер;Дата;Код;Контрагент;IDNO;Товар;Кол-во;Цена;НДС;Сумма\r\nМД-9;05.01.2024;К-1;ООО Альфа;1008600038413;Хлеб;1;10,00;5%;10,00\r\n",
    );
    case.write("in.csv", &bytes);
    case.write("register.toml", MAPPING.as_bytes());
    let (code, stdout, _) = case.validate(&["in.csv", "--mapping", "register.toml", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(json(&stdout)["by_code"]["unknown_tax_rate"], 1);
    case.write(
        "rates.toml",
        b"[[rates]]\nid = \"tva5\"\nvalue = 5\nfrom = 2024-01-01\n",
    );
    let (code, _, stderr) = case.validate(&[
        "in.csv",
        "--mapping",
        "register.toml",
        "--vat-table",
        "rates.toml",
    ]);
    assert_eq!(code, 0, "{stderr}");
    case.write("broken.toml", b"[[rates]]\nid = 5\n");
    let (code, _, stderr) = case.validate(&[
        "in.csv",
        "--mapping",
        "register.toml",
        "--vat-table",
        "broken.toml",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("broken.toml"), "{stderr}");
}

/// `--preflight` reads the account: a tax rate missing there is an error
/// even when the VAT table knows it; customers not there are counted; the
/// account is not written to.
#[test]
fn preflight_reports_missing_tax_rates_and_new_customers() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for id in ["tva20", "tva12"] {
            api.create(
                "/tax_rates",
                serde_json::json!({"id": id, "name": id, "value": id[3..].parse::<u32>().unwrap()}),
            )
            .await;
        }
        api.create(
            "/customers",
            serde_json::json!({"name": "ООО Альфа", "number": "К-1"}),
        )
        .await;
    });
    let case = Case::new();
    case.register();
    let run = |extra: &[&str]| {
        let out = bin(case.dir.path())
            .env("FACTURARE_API_URL", emu.url())
            .env("FACTURARE_API_KEY", emu.key())
            .args([
                "validate",
                "register.csv",
                "--mapping",
                "register.toml",
                "--json",
            ])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let writes_before = rt.block_on(async {
        let r = api.get("/customers").send().await.unwrap();
        r.text().await.unwrap()
    });
    let (code, stdout, stderr) = run(&["--preflight", "--rejects", "rej.csv"]);
    assert_eq!(code, 1, "{stderr}");
    let s = json(&stdout);
    // tva8 on rows 5 and 7 is not on the account.
    assert_eq!(s["by_code"]["missing_tax_rate"], 2, "{s}");
    assert_eq!(s["customers_to_create"], 1, "К-2: {s}");
    assert_eq!(
        s["account_tax_rates"],
        serde_json::json!(["tva12", "tva20"])
    );
    assert!(
        stderr.contains("preflight: 2 tax rates and 1 customers on the account"),
        "{stderr}"
    );
    let errors = std::fs::read_to_string(case.path("rej.errors.csv")).unwrap();
    assert!(
        errors.contains("register.csv,,5,НДС,items[1].taxes[0],missing_tax_rate,error"),
        "{errors}"
    );
    // МД-1 (row 5's invoice) is now rejected too: 4 rejected.
    assert_eq!(s["rejected"], 4);
    let writes_after = rt.block_on(async {
        let r = api.get("/customers").send().await.unwrap();
        r.text().await.unwrap()
    });
    assert_eq!(writes_before, writes_after, "read-only");
    // A wrong key: exit 4, the key not shown.
    let out = bin(case.dir.path())
        .env("FACTURARE_API_URL", emu.url())
        .env("FACTURARE_API_KEY", "wrong_key_123")
        .args([
            "validate",
            "register.csv",
            "--mapping",
            "register.toml",
            "--preflight",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(!stderr.contains("wrong_key_123"), "{stderr}");
}

/// An XLSX workbook kept by hand: a title row, the header on row 2.
fn workbook(path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Facturi").unwrap();
    ws.write_string(0, 0, "Facturi emise 2024").unwrap();
    let headers = [
        "Nr", "Data", "Client", "IDNO", "Produs", "Cant", "Pret", "TVA",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let rows: [(&str, &str, &str, f64, f64, &str); 3] = [
        ("F-1", "SRL Alfa", "1008600038413", 2.0, 10.5, "20%"),
        ("F-2", "SRL Beta", "1008600038412", 1.0, 99.0, "20%"),
        ("F-3", "SRL Gama", "1008600038413", -1.0, 5.0, "8%"),
    ];
    for (i, (nr, client, idno, q, p, tva)) in rows.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_string(r, 0, *nr).unwrap();
        ws.write_datetime_with_format(r, 1, ExcelDateTime::from_ymd(2024, 4, 2).unwrap(), &date)
            .unwrap();
        ws.write_string(r, 2, *client).unwrap();
        ws.write_string(r, 3, *idno).unwrap();
        ws.write_string(r, 4, "Pâine").unwrap();
        ws.write_number(r, 5, *q).unwrap();
        ws.write_number(r, 6, *p).unwrap();
        ws.write_string(r, 7, *tva).unwrap();
    }
    wb.save(path).unwrap();
}

const XLSX_MAPPING: &str = r#"version = 1
[source]
sheet = "Facturi"
header_row = 2

[invoice]
number = "Nr"
date = "Data"

[customer]
name = "Client"
tax_id = "IDNO"

[line]
name = "Produs"
quantity = "Cant"
unit_cost = "Pret"
taxes = { column = "TVA", lookup = { "20%" = "tva20", "8%" = "tva8" } }
"#;

fn zip_part(path: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in {}", path.display()))
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn xlsx_rejects_keep_the_sheet_and_mark_the_cells() {
    let case = Case::new();
    workbook(&case.path("facturi.xlsx"));
    case.write("facturi.toml", XLSX_MAPPING.as_bytes());
    let (code, _, stderr) = case.validate(&[
        "facturi.xlsx",
        "--mapping",
        "facturi.toml",
        "--rejects",
        "rejects.xlsx",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let path = case.path("rejects.xlsx");
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    // The input's sheet, then the customers with a problem: F-1 and F-3
    // name one customer (IDNO 1008600038413) two ways.
    assert_eq!(wb.sheet_names(), ["Facturi", "Customers"]);
    let customers = wb.worksheet_range("Customers").unwrap();
    let crow: Vec<Vec<String>> = customers
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(
        crow[0][..5],
        [
            "customer",
            "documents",
            "rejected because",
            "field",
            "value sent"
        ]
    );
    assert!(
        crow.iter().any(|r| r[0] == "tax id 1008600038413"
            && r[3] == "name"
            && r[4] == "SRL Alfa"
            && r[6] == "SRL Gama"
            && r[7].contains("row 5")),
        "{crow:?}"
    );
    // Frozen header, a filter over it, fitted widths (no `###` for dates).
    let sheet = zip_part(&path, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"<pane ySplit="2""#), "{sheet}");
    assert!(sheet.contains("<autoFilter ref=\"A2:J4\""), "{sheet}");
    let width_of = |col: u32| -> f64 {
        let tag = format!(r#"<col min="{col}" max="{col}" width=""#);
        let at = sheet
            .find(&tag)
            .unwrap_or_else(|| panic!("col {col}: {sheet}"))
            + tag.len();
        sheet[at..].split('"').next().unwrap().parse().unwrap()
    };
    assert!(width_of(2) >= 10.0, "the date column fits yyyy-mm-dd");
    let range = wb.worksheet_range("Facturi").unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), 4, "title, header, F-2 and F-3: {rows:?}");
    let header: Vec<String> = rows[1].iter().map(ToString::to_string).collect();
    assert_eq!(
        header,
        ["Nr", "Data", "Client", "IDNO", "Produs", "Cant", "Pret", "TVA", "_row", "_errors"]
    );
    assert_eq!(rows[2][0], Data::String("F-2".into()));
    assert_eq!(rows[2][8], Data::Float(4.0), "the source row");
    assert!(
        matches!(rows[2][1], Data::DateTime(_)),
        "dates stay dates: {:?}",
        rows[2][1]
    );
    assert_eq!(rows[3][5], Data::Float(-1.0));
    // Notes on D3 (F-2's IDNO) and F4 (F-3's quantity), filled cells.
    let comments = zip_part(&path, "xl/comments1.xml");
    assert!(
        comments.contains(r#"ref="D3""#) && comments.contains(r#"ref="F4""#),
        "{comments}"
    );
    assert!(comments.contains("check digit"), "{comments}");
    let styles = zip_part(&path, "xl/styles.xml");
    assert!(styles.contains("FFC7CE"), "the light red fill");
    // The same mapping reads the rejects: header row 2 on sheet Facturi.
    let (code, stdout, stderr) =
        case.validate(&["rejects.xlsx", "--mapping", "facturi.toml", "--json"]);
    assert_eq!(code, 1, "{stderr}");
    let s = json(&stdout);
    assert_eq!(
        (s["rows_read"].as_u64(), s["rejected"].as_u64()),
        (Some(2), Some(2)),
        "{s}"
    );
}

/// Each mapping in mappings/ validates its sample(s) in samples/: the exit
/// code agrees with the summary, which is complete and consistent.
#[test]
fn every_sample_with_its_mapping() {
    let samples = repo().join("samples");
    let mut ran = 0;
    for (sample, mapping) in sample_pairs() {
        let case = Case::new();
        // No extension: the rejects come in the input's own format.
        let rejects = case.path("rejects");
        let (code, stdout, stderr) = case.validate(&[
            sample.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--json",
            "--rejects",
            rejects.to_str().unwrap(),
        ]);
        let s = json(&stdout);
        let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
        assert!(n("rows_read") > 0, "{}: {s}", sample.display());
        assert_eq!(n("valid") + n("rejected"), n("invoices_formed"));
        assert!(
            n("valid") > 0,
            "{}: some invoices are good: {stderr}",
            sample.display()
        );
        let expected = if n("rejected") + n("row_errors") > 0 {
            1
        } else {
            0
        };
        assert_eq!(code, expected, "{}: {stderr}", sample.display());
        // The text summary, snapshot-like: its first line and the codes.
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("{} rows read", n("rows_read")))
                && first.ends_with(&format!(
                    "{} documents formed: {} valid, {} rejected",
                    n("invoices_formed"),
                    n("valid"),
                    n("rejected")
                )),
            "{first}"
        );
        for code in s["by_code"].as_object().unwrap().keys() {
            assert!(stderr.contains(&format!("  {code} ")), "{code} in {stderr}");
        }
        let errors = std::fs::read_to_string(case.path("rejects.errors.csv")).unwrap();
        assert_eq!(
            errors.lines().count() as u64,
            1 + n("errors") + n("warnings"),
            "one line per problem: {errors}"
        );
        // CSV and spreadsheet rejects are read by the same mapping: the same
        // documents, all still rejected (JSON rejects are flattened rows, for
        // reading only).
        let is_json = sample
            .extension()
            .is_some_and(|e| e.to_string_lossy().starts_with("json"));
        if n("rejected") > 0 && !is_json {
            let (code, stdout, stderr) = case.validate(&[
                rejects.to_str().unwrap(),
                "--mapping",
                mapping.to_str().unwrap(),
                "--json",
            ]);
            assert_eq!(code, 1, "{}: {stderr}", sample.display());
            let again = json(&stdout);
            assert_eq!(
                again["rejected"],
                s["rejected"],
                "{}: {again}",
                sample.display()
            );
            assert_eq!(again["valid"], 0, "{}: {again}", sample.display());
        }
        ran += 1;
    }
    assert!(
        ran >= 3,
        "samples with mappings in {}: {ran}",
        samples.display()
    );
}

/// Samples paired with the mapping that reads them: `samples/<stem>.*` with
/// `mappings/<stem>.toml`, or a sample the mapping's text names.
fn sample_pairs() -> Vec<(PathBuf, PathBuf)> {
    let mut pairs = Vec::new();
    let Ok(dir) = std::fs::read_dir(repo().join("mappings")) else {
        return pairs;
    };
    let samples: Vec<PathBuf> = std::fs::read_dir(repo().join("samples"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    for m in dir.filter_map(|e| e.ok().map(|e| e.path())) {
        if m.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&m).unwrap_or_default();
        for s in &samples {
            let name = s.file_name().unwrap().to_string_lossy().into_owned();
            if s.file_stem() == m.file_stem() || text.contains(&format!("samples/{name}")) {
                pairs.push((s.clone(), m.clone()));
            }
        }
    }
    pairs.sort();
    pairs.dedup();
    pairs
}

#[test]
fn a_quote_free_file_is_reported_as_the_parser_reads_it() {
    // A file with no quotes is split at its line breaks in both passes,
    // without the CSV parser: the same documents, problems, rows and cells
    // as when a quoted cell sends it through the parser; CRLF or LF alike.
    let case = Case::new();
    case.register();
    let variants = [
        ("crlf.csv", REGISTER.to_string()),
        ("lf.csv", REGISTER.replace("\r\n", "\n")),
        ("quoted.csv", REGISTER.replace(";Хлеб;", ";\"Хлеб\";")),
    ];
    let mut seen: Vec<(serde_json::Value, Vec<Vec<String>>)> = Vec::new();
    for (name, text) in variants {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
        case.write(name, &bytes);
        let errors = format!("{name}.errors.csv");
        let (code, stdout, stderr) = case.validate(&[
            name,
            "--mapping",
            "register.toml",
            "--json",
            "--errors",
            &errors,
        ]);
        assert_eq!(code, 1, "{name}: {stderr}");
        // The same but for the file's name.
        let mut summary = json(&stdout.replace(name, "in.csv"));
        summary["errors_list"] = serde_json::Value::Null;
        let bytes = std::fs::read(case.path(&errors)).unwrap();
        let mut rd = csv::Reader::from_reader(&bytes[3..]);
        let rows: Vec<Vec<String>> = rd
            .records()
            .map(|r| r.unwrap().iter().skip(1).map(String::from).collect())
            .collect();
        assert_eq!(rows.len(), 3, "{name}");
        seen.push((summary, rows));
    }
    assert_eq!(seen[0], seen[2], "split (CRLF) and parsed");
    assert_eq!(seen[1], seen[2], "split (LF) and parsed");
}
