//! Writes `samples/workbook.xlsx`: a data team's invoice workbook kept by
//! hand. A notes sheet, a customers sheet, and the invoices sheet: a merged
//! title and a generated-on line above the header (row 4), one row per
//! invoice with up to three items side by side (`Produs 1`, `Cant. 1`, ...),
//! real dates, net totals as formulas with cached values, payments, a credit
//! note, a totals row, and a few realistic bad rows.
//!
//! Run: `cargo run --example make_workbook [-- OUT.xlsx]`

use facturare_etl::model::idno::check_digit;
use rust_decimal::Decimal;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Formula, Workbook, XlsxError};
use std::str::FromStr;

fn idno(first12: &str) -> String {
    let mut d = [0u32; 12];
    for (i, c) in first12.chars().enumerate() {
        d[i] = c.to_digit(10).unwrap_or(0);
    }
    format!("{first12}{}", check_digit(&d))
}

struct Inv {
    nr: &'static str,
    date: (u16, u8, u8),
    due_days: Option<u8>,
    client: usize,
    currency: &'static str,
    items: Vec<(&'static str, &'static str, &'static str, &'static str)>,
    paid: Option<((u16, u8, u8), &'static str)>,
    kind: &'static str,
    bad_date: Option<&'static str>,
}

fn main() -> Result<(), XlsxError> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "samples/workbook.xlsx".to_string());
    let clients = [
        ("SRL «Lactis Grup»", idno("100360001455")),
        ("SA «Moldtelecom Service»", idno("100260006117")),
        ("Î.I. Rusu Ana", idno("100460009911")),
        ("SRL «Cafeneaua Veche»", idno("101360004488")),
        ("ÎM «Euro-Trans Logistic»", idno("100760002261")),
        // A check digit that does not match: validation rejects it.
        ("SRL «Nistru Agro»", "1003600077771".to_string()),
    ];
    let d = |y, m, dd| (y, m, dd);
    let invoices = vec![
        Inv {
            nr: "F-2024/001",
            date: d(2024, 1, 15),
            due_days: Some(30),
            client: 0,
            currency: "MDL",
            items: vec![
                ("Lapte 2,5% 1 l", "120", "17.20", "8%"),
                ("Brânză de vaci 0,5 kg", "40", "46.50", "8%"),
            ],
            paid: Some((d(2024, 2, 10), "wire_transfer")),
            kind: "Factura",
            bad_date: None,
        },
        Inv {
            nr: "F-2024/002",
            date: d(2024, 1, 22),
            due_days: Some(15),
            client: 1,
            currency: "MDL",
            items: vec![("Mentenanță rețea, ianuarie", "1", "4500", "20%")],
            paid: Some((d(2024, 2, 1), "wire_transfer")),
            kind: "Factura",
            bad_date: None,
        },
        Inv {
            nr: "F-2024/003",
            date: d(2024, 2, 5),
            due_days: None,
            client: 2,
            currency: "MDL",
            items: vec![
                ("Consultanță contabilă", "6", "350", "20%"),
                ("Deplasare", "1", "200", "20%"),
                ("Rechizite", "3", "45.90", "20%"),
            ],
            paid: None,
            kind: "Factura",
            bad_date: None,
        },
        Inv {
            nr: "F-2024/004",
            date: d(2024, 3, 1),
            due_days: Some(30),
            client: 3,
            currency: "MDL",
            items: vec![("Catering eveniment", "1", "8200", "12%")],
            paid: Some((d(2024, 3, 20), "cash")),
            kind: "Factura",
            bad_date: None,
        },
        Inv {
            nr: "F-2024/005",
            date: d(2024, 3, 18),
            due_days: Some(45),
            client: 4,
            currency: "EUR",
            items: vec![
                ("Transport Chișinău–Iași", "2", "380", "0%"),
                ("Asigurare marfă", "1", "45", "0%"),
            ],
            paid: Some((d(2024, 4, 25), "wire_transfer")),
            kind: "Factura",
            bad_date: None,
        },
        Inv {
            nr: "F-2024/006",
            date: d(2024, 4, 2),
            due_days: Some(30),
            client: 0,
            currency: "MDL",
            items: vec![
                ("Lapte 2,5% 1 l", "200", "17.20", "8%"),
                ("Iaurt natural 0,4 kg", "150", "12.40", "8%"),
                ("Smântână 20%", "60", "24.90", "8%"),
            ],
            paid: None,
            kind: "Factura",
            bad_date: None,
        },
        Inv {
            nr: "NC-2024/001",
            date: d(2024, 4, 10),
            due_days: None,
            client: 0,
            currency: "MDL",
            items: vec![("Retur: Iaurt natural 0,4 kg", "-20", "12.40", "8%")],
            paid: None,
            kind: "Nota de credit",
            bad_date: None,
        },
        Inv {
            nr: "F-2024/007",
            date: d(2024, 5, 6),
            due_days: Some(15),
            client: 1,
            currency: "MDL",
            items: vec![
                ("Mentenanță rețea, aprilie", "1", "4500", "20%"),
                ("Switch 24 porturi", "2", "3150", "20%"),
            ],
            paid: Some((d(2024, 5, 20), "wire_transfer")),
            kind: "Factura",
            bad_date: None,
        },
        Inv {
            nr: "F-2024/008",
            date: d(2024, 6, 12),
            due_days: Some(30),
            client: 3,
            currency: "MDL",
            items: vec![("Catering prânz de afaceri", "35", "145", "12%")],
            paid: None,
            kind: "Factura",
            bad_date: None,
        },
        // Bad: a date typed as text that does not exist.
        Inv {
            nr: "F-2024/009",
            date: d(2024, 6, 30),
            due_days: None,
            client: 2,
            currency: "MDL",
            items: vec![("Consultanță contabilă", "4", "350", "20%")],
            paid: None,
            kind: "Factura",
            bad_date: Some("31.06.2024"),
        },
        // Bad: a VAT rate that does not exist in Moldova.
        Inv {
            nr: "F-2024/010",
            date: d(2024, 7, 8),
            due_days: Some(30),
            client: 4,
            currency: "MDL",
            items: vec![
                ("Depozitare, iunie", "1", "2600", "20%"),
                ("Manipulare marfă", "12", "85", "15%"),
            ],
            paid: None,
            kind: "Factura",
            bad_date: None,
        },
        // Bad: the customer's IDNO check digit is wrong.
        Inv {
            nr: "F-2024/011",
            date: d(2024, 7, 15),
            due_days: Some(30),
            client: 5,
            currency: "MDL",
            items: vec![("Semințe floarea-soarelui, t", "2.5", "9800", "8%")],
            paid: None,
            kind: "Factura",
            bad_date: None,
        },
    ];

    let mut wb = Workbook::new();
    // A fixed creation time, so the file is the same on every run.
    let created = ExcelDateTime::from_ymd(2025, 1, 5)?;
    wb.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_title("Facturi emise 2024")
            .set_creation_datetime(&created),
    );
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let bold = Format::new().set_bold().set_background_color("DDEBF7");
    let date_fmt = Format::new().set_num_format("dd.mm.yyyy");
    let money = Format::new().set_num_format("#,##0.00");

    let notes = wb.add_worksheet().set_name("Citește-mă")?;
    notes.write_string(0, 0, "Registrul facturilor emise, ținut de echipa de date.")?;
    notes.write_string(
        1,
        0,
        "Foaia «Facturi 2024»: un rând pe factură, până la 3 produse pe rând.",
    )?;
    notes.write_string(
        2,
        0,
        "Foaia «Clienți»: lista clienților cu codul fiscal (IDNO).",
    )?;
    notes.set_column_width(0, 80)?;

    let ws = wb.add_worksheet().set_name("Facturi 2024")?;
    let headers = [
        "Nr. factura",
        "Tip",
        "Data",
        "Scadenta",
        "Client",
        "Cod fiscal",
        "Valuta",
        "Produs 1",
        "Cant. 1",
        "Pret 1",
        "TVA 1",
        "Produs 2",
        "Cant. 2",
        "Pret 2",
        "TVA 2",
        "Produs 3",
        "Cant. 3",
        "Pret 3",
        "TVA 3",
        "Total fara TVA",
        "Achitat",
        "Data achitarii",
        "Metoda",
    ];
    ws.merge_range(
        0,
        0,
        0,
        (headers.len() - 1) as u16,
        "Facturi emise în 2024",
        &title,
    )?;
    ws.write_string(1, 0, "Generat: 05.01.2025, sursa: registrul manual")?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(3, c as u16, *h, &bold)?;
    }
    let mut row = 4u32;
    let mut grand = Decimal::ZERO;
    for inv in &invoices {
        let (client, code) = &clients[inv.client];
        ws.write_string(row, 0, inv.nr)?;
        ws.write_string(row, 1, inv.kind)?;
        match inv.bad_date {
            Some(text) => {
                ws.write_string(row, 2, text)?;
            }
            None => {
                let (y, m, dd) = inv.date;
                ws.write_datetime_with_format(
                    row,
                    2,
                    ExcelDateTime::from_ymd(y, m, dd)?,
                    &date_fmt,
                )?;
            }
        }
        if let Some(days) = inv.due_days {
            let (y, m, dd) = inv.date;
            let due = chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(dd))
                .unwrap_or_default()
                + chrono::Duration::days(i64::from(days));
            let serial = facturare_etl::mapping::transform::to_excel_serial(due);
            ws.write_number_with_format(row, 3, serial as f64, &date_fmt)?;
        }
        ws.write_string(row, 4, *client)?;
        ws.write_string(row, 5, code.as_str())?;
        ws.write_string(row, 6, inv.currency)?;
        let mut net = Decimal::ZERO;
        let mut terms = Vec::new();
        for (i, (name, qty, price, vat)) in inv.items.iter().enumerate() {
            let c = 7 + 4 * i as u16;
            let q = Decimal::from_str(qty).unwrap_or_default();
            let p = Decimal::from_str(price).unwrap_or_default();
            net += q * p;
            ws.write_string(row, c, *name)?;
            ws.write_number(row, c + 1, q.to_string().parse::<f64>().unwrap_or(0.0))?;
            ws.write_number_with_format(
                row,
                c + 2,
                p.to_string().parse::<f64>().unwrap_or(0.0),
                &money,
            )?;
            ws.write_string(row, c + 3, *vat)?;
            let col = |k: u16| rust_xlsxwriter::utility::row_col_to_cell(row, k);
            terms.push(format!("{}*{}", col(c + 1), col(c + 2)));
        }
        let net = net.round_dp(2);
        grand += net;
        let f = Formula::new(format!("=ROUND({},2)", terms.join("+"))).set_result(net.to_string());
        ws.write_formula_with_format(row, 19, f, &money)?;
        if let Some(((y, m, dd), method)) = inv.paid {
            let vat_rate = |v: &str| Decimal::from_str(v.trim_end_matches('%')).unwrap_or_default();
            let gross: Decimal = inv
                .items
                .iter()
                .map(|(_, q, p, v)| {
                    let n = (Decimal::from_str(q).unwrap_or_default()
                        * Decimal::from_str(p).unwrap_or_default())
                    .round_dp(2);
                    n + (n * vat_rate(v) / Decimal::ONE_HUNDRED).round_dp(2)
                })
                .sum();
            ws.write_number_with_format(
                row,
                20,
                gross.to_string().parse::<f64>().unwrap_or(0.0),
                &money,
            )?;
            ws.write_datetime_with_format(row, 21, ExcelDateTime::from_ymd(y, m, dd)?, &date_fmt)?;
            ws.write_string(row, 22, method)?;
        }
        row += 1;
    }
    ws.write_string_with_format(row, 0, "TOTAL", &bold)?;
    let f = Formula::new(format!("=SUM(T5:T{row})")).set_result(grand.to_string());
    ws.write_formula_with_format(row, 19, f, &money)?;
    ws.set_column_width(4, 28)?;
    ws.set_column_width(7, 28)?;

    let cs = wb.add_worksheet().set_name("Clienți")?;
    cs.write_string_with_format(0, 0, "Client", &bold)?;
    cs.write_string_with_format(0, 1, "Cod fiscal", &bold)?;
    for (i, (name, code)) in clients.iter().enumerate() {
        cs.write_string(i as u32 + 1, 0, *name)?;
        cs.write_string(i as u32 + 1, 1, code.as_str())?;
    }
    wb.save(&out)?;
    println!("wrote {out}");
    Ok(())
}
