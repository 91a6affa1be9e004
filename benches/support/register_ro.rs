//! The second generator: a register no one here tuned for, unlike the 1C
//! one (`benches/validate.rs`). UTF-8 with Romanian diacritics and
//! Cyrillic, `;`, decimal commas (`1 234,50`), `dd.mm.yyyy`, 15 columns,
//! one header line, invoices of 1 to 5 lines. About a sixth of the rows
//! are quoted: a product name holding `"` (written `""`), a comment
//! holding the delimiter, and one row in about 600 a comment with a line
//! break inside its quotes.
//!
//! Kinds ([`Kind`]): `quoted` (an invoice's lines adjacent), `shuffled`
//! (the same records in a shuffled order, so groups close only at the end),
//! `rejected` (as `quoted`, but most documents are rejected: four
//! customers in five have an IDNO with a wrong check digit, and three
//! invoices in four a line whose net amount does not match).

use facturare_etl::model::idno::check_digit;
use facturare_etl::model::round_money;
use rust_decimal::Decimal;
use std::io::{BufWriter, Write};
use std::path::Path;

pub const HEADER: &str = "Nr. factură;Data;Cod client;Client;IDNO;Denumire;U.M.;Cantitate;Preț;Cota TVA;Valoare fără TVA;Suma TVA;Total;Valuta;Comentariu";

pub const MAPPING: &str = r#"version = 1
name = "bench-ro"

[source]
format = "csv"
encoding = "utf-8"
delimiter = ";"

[invoice]
group_by = "Nr. factură"
number = "Nr. factură"
date = { column = "Data", date = ["%d.%m.%Y"] }
currency = { column = "Valuta", default = "MDL" }
metadata.source = { value = "registru" }

[customer]
number = "Cod client"
name = { column = "Client", transform = ["trim", "collapse_spaces"] }
tax_id = "IDNO"

[line]
name = "Denumire"
description = "Comentariu"
quantity = { column = "Cantitate", decimal = "ru" }
unit_cost = { column = "Preț", decimal = "ru" }
taxes = { column = "Cota TVA", lookup = { "20%" = "tva20", "8%" = "tva8", "0%" = "tva0" } }
check_net = { column = "Valoare fără TVA", decimal = "ru" }
check_vat = { column = "Suma TVA", decimal = "ru" }
check_gross = { column = "Total", decimal = "ru" }
"#;

/// Which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Quoted,
    Shuffled,
    Rejected,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Quoted => "quoted",
            Kind::Shuffled => "shuffled",
            Kind::Rejected => "rejected",
        }
    }
}

/// Plain product names, and (the first two) names that hold a quote.
const GOODS: [&str; 10] = [
    "Pâine albă feliată 400 g",
    "Lapte pasteurizat 2,5% 1 l",
    "Brânză telemea de vacă",
    "Servicii de transport, cursă",
    "Ulei de floarea-soarelui rafinat 1 l",
    "Сыр твёрдый «Российский» весовой",
    "Chefir 1% în sticlă PET 900 g",
    "Consultanță juridică (oră)",
    "Вода минеральная газированная 1,5 л",
    "Apă minerală „Izvorul Mureșului” 1,5 l",
];
const QUOTED_GOODS: [&str; 2] = [
    "Vin \"Negru de Purcari\" 0,75 l",
    "Конфеты \"Bucuria\" ассорти 200 г",
];
const CUSTOMERS: [&str; 6] = [
    "SRL Agroprim  Invest",
    "ÎI Țurcanu Ștefan",
    "ООО «Молдтрейд Групп»",
    "SA Franzeluța (Chișinău)",
    "ИП Черненко Андрей Викторович",
    "SRL Vinăria Bălți",
];

/// `1 234,50`: a space between thousands, a decimal comma.
pub fn ru(d: Decimal) -> String {
    let s = format!("{:.2}", d);
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let neg = int.starts_with('-');
    let digits = int.trim_start_matches('-');
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    format!("{}{grouped},{frac}", if neg { "-" } else { "" })
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

fn idno(seed: u64, bad: bool) -> String {
    let mut first = [0u32; 12];
    let mut x = mix(seed + 1);
    first[0] = 1;
    for d in first.iter_mut().skip(1) {
        x = mix(x);
        *d = (x % 10) as u32;
    }
    let mut s: String = first.iter().map(|d| char::from(b'0' + *d as u8)).collect();
    let check = check_digit(&first) as u8;
    s.push(char::from(
        b'0' + if bad { (check + 1) % 10 } else { check },
    ));
    s
}

/// A cell as CSV writes it: quoted (inner quotes doubled) when it holds a
/// quote, the delimiter or a line break.
fn cell(out: &mut String, text: &str) {
    if text.contains(['"', ';', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// Write the file; returns its size in bytes, its data records and how
/// many of them are quoted.
pub fn generate(path: &Path, lines: u64, kind: Kind) -> (u64, u64, u64) {
    let mut records: Vec<String> = Vec::with_capacity(lines as usize);
    let mut quoted = 0u64;
    let mut inv = 0u64;
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 2).expect("a date");
    let rejected = kind == Kind::Rejected;
    while (records.len() as u64) < lines {
        inv += 1;
        let h = mix(inv);
        let n_lines = 1 + h % 5;
        let date = start + chrono::Duration::days((inv % 700) as i64);
        let cust = h % 1499;
        let bad_idno = rejected && cust % 5 != 0;
        let tax_id = idno(cust, bad_idno);
        let bad_net = rejected && inv % 4 != 0;
        for l in 0..n_lines {
            if records.len() as u64 == lines {
                break;
            }
            let r = mix(h ^ (l + 1));
            let q = Decimal::new((r % 50 + 1) as i64 * 1000, 3);
            let price = Decimal::new(((r >> 8) % 200_000 + 50) as i64, 2);
            let (rate, pct) = if (inv + l) % 3 == 0 {
                ("8%", 8)
            } else {
                ("20%", 20)
            };
            let net = round_money(q * price);
            let vat = round_money(net * Decimal::from(pct) / Decimal::ONE_HUNDRED);
            let shown_net = if bad_net && l == 0 {
                net + Decimal::ONE
            } else {
                net
            };
            let pick = (r >> 24) % 60;
            let goods = if pick < 6 {
                QUOTED_GOODS[(pick % 2) as usize]
            } else {
                GOODS[((r >> 32) % GOODS.len() as u64) as usize]
            };
            let comment = match pick {
                6..=8 => format!(
                    "Livrare conform contractului nr. {}; termen {} zile",
                    cust * 3 + 11,
                    (r >> 40) % 30 + 5
                ),
                9 if (r >> 40) % 10 == 0 => format!(
                    "Livrare parțială;\nrestul până la {}",
                    (date + chrono::Duration::days(14)).format("%d.%m.%Y")
                ),
                _ => format!(
                    "Отгрузка по договору № {} от {}",
                    cust * 3 + 11,
                    date.format("%d.%m.%Y")
                ),
            };
            quoted += u64::from(pick < 10 && (pick != 9 || (r >> 40) % 10 == 0));
            let mut rec = String::with_capacity(256);
            rec.push_str(&format!(
                "F-{inv:07};{};C-{cust:04};",
                date.format("%d.%m.%Y")
            ));
            cell(&mut rec, CUSTOMERS[(cust % 6) as usize]);
            rec.push(';');
            rec.push_str(&tax_id);
            rec.push(';');
            cell(&mut rec, goods);
            rec.push_str(&format!(
                ";buc;{};{};{rate};{};{};{};MDL;",
                q.to_string().replace('.', ","),
                ru(price),
                ru(shown_net),
                ru(vat),
                ru(net + vat),
            ));
            cell(&mut rec, &comment);
            rec.push_str("\r\n");
            records.push(rec);
        }
    }
    if kind == Kind::Shuffled {
        // Fisher–Yates with a fixed seed: the same file every time.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for i in (1..records.len()).rev() {
            x = mix(x);
            records.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    let file = std::fs::File::create(path).expect("create the bench file");
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut size = 0u64;
    let mut put = |text: &str| {
        out.write_all(text.as_bytes())
            .expect("write the bench file");
        size += text.len() as u64;
    };
    put(HEADER);
    put("\r\n");
    for r in &records {
        put(r);
    }
    out.flush().expect("flush the bench file");
    (size, records.len() as u64, quoted)
}
