//! The CSV layouts with their headers renamed to other words people use for
//! the same columns (some of which the guesser's vocabulary does not know,
//! so only the values can tell them) and their rows shuffled: the guess
//! still forms the hand mapping's documents (renamed alike) and finds at
//! least 90% as many valid.

use super::{corpus, layouts, measure, report, Layout, Measured};
use crate::support::TestDir;
use std::path::{Path, PathBuf};

/// A CSV layout with its headers renamed: (layout, delimiter, encoding,
/// whether its rows may be shuffled, the renames).
type Renamed = (
    &'static str,
    u8,
    &'static encoding_rs::Encoding,
    bool,
    &'static [(&'static str, &'static str)],
);

/// Other names people give these columns: from 1C configurations, other
/// Romanian and English registers, and a few no vocabulary has (`Вал.`,
/// `Стоимость`, `Код по ГНИ`, `Seria`, `Cur`), which only the values
/// can tell.
const RENAMED: &[Renamed] = &[
    (
        "1c-realizatsiya-cp1251",
        b';',
        encoding_rs::WINDOWS_1251,
        true,
        &[
            ("Номер", "Номер документа"),
            ("Контрагент", "Покупатель"),
            ("Код контрагента", "Код клиента"),
            ("ИНН", "Фискальный код"),
            ("Номенклатура", "Товар"),
            ("Количество", "Кол-во"),
            ("Цена", "Цена без НДС"),
            ("Сумма без НДС", "Сумма"),
            ("Ставка НДС", "НДС, %"),
            ("НДС", "Сумма НДС"),
            ("Всего", "Сумма с НДС"),
            ("Валюта", "Вал."),
        ],
    ),
    (
        "1c-pokupatel-shuffled-cp1251",
        b';',
        encoding_rs::WINDOWS_1251,
        true,
        &[
            ("№ документа", "Номер"),
            ("Покупатель", "Контрагент"),
            ("Код", "Код контрагента"),
            ("Фискальный код", "IDNO"),
            ("Товар (услуга)", "Номенклатура"),
            ("Кол-во", "Количество"),
            ("Цена без НДС", "Цена"),
            ("НДС %", "Ставка НДС"),
            ("Сумма", "Стоимость"),
            ("Сумма НДС", "НДС"),
            ("Сумма с НДС", "Всего"),
            ("Валюта документа", "Валюта"),
        ],
    ),
    (
        "1c-nomer-dokumenta-utf8bom-tab",
        b'\t',
        encoding_rs::UTF_8,
        true,
        &[
            ("Дата документа", "Дата"),
            ("Номер документа", "№"),
            ("Контрагент", "Клиент"),
            ("ИНН контрагента", "ИНН"),
            ("Номенклатура", "Наименование"),
            ("Количество", "Кол."),
            ("Цена", "Цена за единицу"),
            ("Сумма", "Сумма без НДС"),
            ("% НДС", "Ставка"),
            ("НДС", "В т.ч. НДС"),
            ("Всего", "Сумма с НДС"),
        ],
    ),
    (
        "1c-dokument-utf8-comma",
        b',',
        encoding_rs::UTF_8,
        true,
        &[
            ("Контрагент", "Покупатель"),
            ("Фискальный код", "Код по ГНИ"),
            ("Номенклатура", "Товары (работы, услуги)"),
            ("Количество", "Кол-во"),
            ("Цена", "Цена, лей"),
            ("Сумма", "Сумма без НДС"),
            ("НДС", "Сумма НДС"),
            ("Сумма с НДС", "Всего"),
        ],
    ),
    (
        "ro-csv-serie-numar",
        b';',
        encoding_rs::UTF_8,
        true,
        &[
            ("Serie", "Seria"),
            ("Numar", "Nr. document"),
            ("Data emiterii", "Data"),
            ("Client", "Cumparator"),
            ("IDNO client", "Cod fiscal"),
            ("Produs", "Denumirea bunurilor"),
            ("UM", "U.M."),
            ("Cantitate", "Cant"),
            ("Pret unitar", "Preț"),
            ("Cota TVA", "TVA %"),
            ("Valoare", "Suma"),
            ("Valoare TVA", "Suma TVA"),
            ("Total", "Valoare cu TVA"),
            ("Moneda", "Valuta"),
        ],
    ),
    (
        "en-snake-csv",
        b',',
        encoding_rs::UTF_8,
        true,
        &[
            ("invoice_no", "InvoiceNumber"),
            ("invoice_date", "IssueDate"),
            ("customer_idno", "BuyerVatId"),
            ("customer_name", "BuyerName"),
            ("item", "Description"),
            ("quantity", "Qty"),
            ("unit_price", "UnitPrice"),
            ("vat_rate", "TaxRate"),
            ("line_total", "Amount"),
            ("currency", "Cur"),
        ],
    ),
    (
        "en-csv-us-report-bom",
        b',',
        encoding_rs::UTF_8,
        true,
        &[
            ("Date", "Txn Date"),
            ("Invoice #", "Doc No."),
            ("Customer", "Bill To"),
            ("Customer ID", "Account"),
            ("Fiscal Code", "Tax ID"),
            ("Product/Service", "Item"),
            ("Qty", "Quantity"),
            ("Rate", "Sales Price"),
            ("Amount", "Line Amount"),
            ("Tax Code", "VAT Code"),
            ("Tax Amount", "VAT"),
            ("Currency", "Cur"),
        ],
    ),
    (
        "odoo-export-fill-down",
        b',',
        encoding_rs::UTF_8,
        false,
        &[
            ("Number", "Invoice Number"),
            ("Invoice/Bill Date", "Date"),
            ("Partner", "Customer"),
            ("Partner/Tax ID", "Customer VAT"),
            ("Invoice lines/Label", "Invoice lines/Description"),
            ("Invoice lines/Unit Price", "Invoice lines/Price"),
            ("Invoice lines/Subtotal", "Invoice lines/Amount"),
        ],
    ),
    (
        "export-lines-mapped-csv",
        b';',
        encoding_rs::UTF_8,
        true,
        &[
            ("Invoice", "Invoice No"),
            ("Customer", "Client"),
            ("IDNO", "Tax ID"),
            ("Item", "Product"),
            ("Quantity", "Qty"),
            ("Unit price", "Price"),
            ("Amount", "Net"),
            ("VAT", "Tax"),
        ],
    ),
];

/// A deterministic shuffle (xorshift), so that a failure can be replayed.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Write `layout`'s file with its headers renamed (and its data rows
/// shuffled), and its hand mapping with the same names, into `to`.
fn renamed(layout: &Layout, r: &Renamed, to: &Path) -> (PathBuf, PathBuf) {
    let (_, delim, enc, shuffled, names) = r;
    let file = &layout.files[0];
    let bytes = std::fs::read(file).unwrap();
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, &bytes[..]),
    };
    let (text, _, _) = enc.decode(body);
    let hand = std::fs::read_to_string(layout.dir.join("mapping.toml")).unwrap();
    let header_row = toml::from_str::<toml::Value>(&hand).unwrap()["source"]
        .get("header_row")
        .and_then(|v| v.as_integer())
        .unwrap_or(1) as usize;
    let crlf = text.contains("\r\n");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let titles: String = lines[..header_row - 1].concat();
    let rest: String = lines[header_row - 1..].concat();
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(*delim)
        .has_headers(false)
        .flexible(true)
        .from_reader(rest.as_bytes());
    let mut records: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let header: Vec<String> = records[0]
        .iter()
        .map(|h| {
            names
                .iter()
                .find(|(from, _)| *from == h.trim())
                .map_or(h.to_string(), |(_, to)| to.to_string())
        })
        .collect();
    records[0] = csv::StringRecord::from(header);
    if *shuffled {
        shuffle(&mut records[1..], 0x9E37_79B9_7F4A_7C15);
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(*delim)
        .flexible(true)
        .terminator(if crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(Vec::new());
    for rec in &records {
        w.write_record(rec).unwrap();
    }
    let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let whole = format!("{titles}{out}");
    let (encoded, _, _) = enc.encode(&whole);
    let mut bytes = if bom {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    bytes.extend_from_slice(&encoded);
    let new_file = to.join(file.file_name().unwrap());
    std::fs::write(&new_file, bytes).unwrap();
    let mut mapping = hand;
    for (from, to) in names.iter() {
        let esc = |s: &str| toml::Value::String(s.to_string()).to_string();
        mapping = mapping.replace(&esc(from), &esc(to));
        mapping = mapping.replace(&format!("{{{from}}}"), &format!("{{{to}}}"));
    }
    let new_mapping = to.join("mapping.toml");
    std::fs::write(&new_mapping, mapping).unwrap();
    (new_file, new_mapping)
}

#[test]
fn init_holds_with_other_header_names_and_shuffled_rows() {
    let dir = TestDir::new();
    let all = layouts(&corpus());
    let ms: Vec<Measured> = RENAMED
        .iter()
        .map(|r| {
            let l = all.iter().find(|l| l.name == r.0).unwrap();
            let to = dir.join(r.0);
            std::fs::create_dir_all(&to).unwrap();
            let (file, mapping) = renamed(l, r, &to);
            let variant = Layout {
                name: l.name.clone(),
                dir: to,
                files: vec![file],
                documents: l.documents,
                valid: l.valid,
            };
            let mut m = measure(dir.path(), &variant, &mapping);
            if m.failure.is_none() && m.hand != (l.documents, l.valid) {
                m.failure = Some(format!(
                    "the renamed hand mapping gives {:?}, the layout {:?}",
                    m.hand,
                    (l.documents, l.valid)
                ));
            }
            m
        })
        .collect();
    let (table, failed) = report("headers renamed, rows shuffled", &ms);
    println!("{table}");
    assert!(failed.is_empty(), "{table}\n{}", failed.join("\n\n"));
}
