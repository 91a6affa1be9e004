//! Writes the input files of `tests/corpus/<layout>/`: registers and exports
//! that look like the ones accountants, shops and ERPs really produce (1C
//! registers in cp1251 and UTF-8, Romanian and English Excel workbooks, CSV
//! exports, web-shop JSON), each with a few planted defects, and, beside
//! them, `expected.toml`: how many documents the layout holds and how many
//! of them are valid, worked out here from the documents before they are
//! written, with the defect planted in each rejected one.
//!
//! The hand mappings (`mapping.toml`) and the layouts exported by the tool
//! itself (`export-*`) are not written here: they are kept in the corpus as
//! they are (see `tests/corpus/README.md`).
//!
//! Deterministic: every layout draws from its own fixed seed, workbooks carry
//! a fixed creation time. `--seed N` moves every seed to write a fresh
//! variant of each layout elsewhere (the corpus test does so through
//! [`generate`], to try the guesser on data it was not looked at with).
//!
//! Run: `cargo run --example make_corpus -- tests/corpus [--seed N]`

use chrono::{Datelike, Duration, NaiveDate};
use facturare_etl::model::idno::check_digit;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};
use rust_xlsxwriter::{
    utility::row_col_to_cell, DocProperties, ExcelDateTime, Format, FormatAlign, Formula, Workbook,
    Worksheet,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

thread_local! {
    /// Added to every fixed seed: 0 writes the corpus, another value a
    /// fresh variant of every layout (same headers and notations, other
    /// customers, documents, dates and planted defects).
    static SEED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A layout's random numbers: its fixed seed, moved by the variant's.
fn seeded(base: u64) -> StdRng {
    let offset = SEED.with(std::cell::Cell::get);
    StdRng::seed_from_u64(base.wrapping_add(offset.wrapping_mul(1_000_003)))
}

// ---------------------------------------------------------------------------
// Customers and products
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Party {
    Company,
    Person,
    /// A buyer abroad: its country and its own (non-Moldovan) tax id.
    Foreign(&'static str, &'static str),
}

struct Cust {
    /// The name as a Russian-language 1C base holds it (cp1251-safe).
    ru: String,
    /// The name in Romanian, with diacritics.
    ro: String,
    /// The name as an English-language or ASCII-only system holds it.
    en: String,
    party: Party,
    /// A valid IDNO (empty for buyers abroad).
    idno: String,
}

/// (ru, ro, en, kind) — kind: 'c' company, 'p' person.
#[rustfmt::skip]
const CUSTOMERS: &[(&str, &str, &str, char)] = &[
    ("ООО «Агроком»", "SRL „Agrocom”", "Agrocom SRL", 'c'),
    ("SRL «Vinaria Bostavan»", "SRL „Vinăria Bostavan”", "Vinaria Bostavan SRL", 'c'),
    ("ИП Петров А.В.", "Î.I. Petrov Alexandru", "Petrov Alexandru II", 'p'),
    ("АО «Франзелуца»", "SA „Franzeluța”", "Franzeluta SA", 'c'),
    ("ООО «Кафе Панорама»", "SRL „Cafeneaua Panorama”", "Cafe Panorama SRL", 'c'),
    ("ИМ «Евро-Транс Логистик»", "ÎM „Euro-Trans Logistic”", "Euro-Trans Logistic JV", 'c'),
    ("ООО «Молдагротехника»", "SRL „Moldagrotehnica”", "Moldagrotehnica SRL", 'c'),
    ("АО «Молдтелеком»", "SA „Moldtelecom”", "Moldtelecom SA", 'c'),
    ("ООО «Лактис Груп»", "SRL „Lactis Grup”", "Lactis Grup SRL", 'c'),
    ("ООО «Нистру Агро»", "SRL „Nistru Agro”", "Nistru Agro SRL", 'c'),
    ("СПК «Фермер Юга»", "CP „Fermierul Sudului”", "Fermierul Sudului Coop", 'c'),
    ("ООО «Фарма-Плюс»", "SRL „Farma-Plus”", "Farma-Plus SRL", 'c'),
    ("ООО «Ресторан Старый город»", "SRL „Restaurantul Orașul Vechi”", "Orasul Vechi SRL", 'c'),
    ("ПУ Лицей им. М. Эминеску", "IP Liceul Teoretic „Mihai Eminescu”", "Mihai Eminescu High School", 'c'),
    ("ООО «ДаблЮ-Софт»", "SRL „W-Soft”", "W-Soft SRL", 'c'),
    ("ООО «Строй-Инвест, ЛТД»", "SRL „Construct-Invest, LTD”", "Construct-Invest, LTD", 'c'),
    ("ООО Бюро \"Аудит-Консалт\"", "SRL Biroul \"Audit-Consult\"", "\"Audit-Consult\" Bureau SRL", 'c'),
    ("ИП Русу Ана", "Î.I. Rusu Ana", "Rusu Ana II", 'p'),
    ("ООО «Кишинэу-Газ»", "SRL „Chișinău-Gaz”", "Chisinau-Gaz SRL", 'c'),
    ("АО «Кармез»", "SA „Carmez”", "Carmez SA", 'c'),
    ("ООО «Отель Бристоль»", "SRL „Hotel Bristol”", "Hotel Bristol SRL", 'c'),
    ("ООО «Тирас-Фуд»", "SRL „Tiras-Food”", "Tiras Food SRL", 'c'),
    ("ООО «Оргтехника Центр»", "SRL „Orgtehnica Centru”", "Orgtehnica Centru SRL", 'c'),
    ("АО «Бельцкий мясокомбинат»", "SA „Combinatul de carne Bălți”", "Balti Meat Plant SA", 'c'),
    ("ООО «Гагауз Шарап»", "SRL „Gagauz Șarap”", "Gagauz Sarap SRL", 'c'),
    ("ООО «Медикал Лайн»", "SRL „Medical Line”", "Medical Line SRL", 'c'),
    ("ООО «Унгень-Лемн»", "SRL „Ungheni-Lemn”", "Ungheni-Lemn SRL", 'c'),
    ("ООО «Энди'с Пицца»", "SRL „Andy's Pizza”", "Andy's Pizza SRL", 'c'),
    ("ООО «Дельта-Сервис»", "SRL „Delta-Service”", "Delta Service SRL", 'c'),
    ("ИП Чебан Ион", "Î.I. Ceban Ion", "Ceban Ion II", 'p'),
    ("ООО «Кодру-Вин»", "SRL „Codru-Vin”", "Codru-Vin SRL", 'c'),
    ("ООО «Стиль-Мебель»", "SRL „Stil-Mobila”", "Stil-Mobila SRL", 'c'),
];

/// Buyers abroad: (ru, ro, en, country, tax id).
#[rustfmt::skip]
const FOREIGN: &[(&str, &str, &str, &str, &str)] = &[
    ("SC Vinexport SRL (Румыния)", "SC „Vinexport” SRL (România)", "Vinexport SRL", "RO", "RO14399840"),
    ("ТОВ «Одеса-Агро» (Украина)", "SRL „Odesa-Agro” (Ucraina)", "Odesa-Agro LLC", "UA", "UA38547102"),
    ("Weinhaus Keller GmbH", "Weinhaus Keller GmbH", "Weinhaus Keller GmbH", "DE", "DE811569869"),
    ("Polfood Sp. z o.o.", "Polfood Sp. z o.o.", "Polfood Sp. z o.o.", "PL", "PL5261040828"),
];

/// Word parts for the synthetic customers of the large layouts.
#[rustfmt::skip]
const STEMS: &[&str] = &[
    "Agro", "Nord", "Vin", "Lact", "Tehno", "Construct", "Trans", "Farm", "Delta", "Prim", "Nova",
    "Euro", "Bio", "Info", "Gaz", "Mold", "Sud", "Codru", "Prut", "Nistru", "Auto", "Termo", "Elit",
    "Optim", "Market",
];
#[rustfmt::skip]
const TAILS: &[&str] = &[
    "Grup", "Service", "Trade", "Impex", "Com", "Plus", "Prod", "Sistem", "Invest", "Logistic",
    "Design", "Tur", "Energ", "Consulting", "Distribution",
];

fn idno(rng: &mut StdRng, person: bool) -> String {
    let mut d = [0u32; 12];
    // 1 for legal persons, 2 for a few old registrations of individuals;
    // the next digits look like the real ones (10036..., 10026..., 10136...).
    d[0] = if person { 2 } else { 1 };
    d[1] = 0;
    d[2] = rng.gen_range(0..2);
    d[3] = [2, 3, 4, 6, 7, 8][rng.gen_range(0..6)];
    d[4] = 6;
    d[5] = 0;
    d[6] = 0;
    for x in d.iter_mut().skip(7) {
        *x = rng.gen_range(0..10);
    }
    let mut s: String = d.iter().map(|x| char::from(b'0' + *x as u8)).collect();
    s.push(char::from(b'0' + check_digit(&d) as u8));
    s
}

/// The same IDNO with a wrong check digit.
fn bad_idno(good: &str) -> String {
    let mut s: Vec<char> = good.chars().collect();
    let last = s[12].to_digit(10).unwrap_or(0);
    s[12] = char::from(b'0' + ((last + 3) % 10) as u8);
    s.into_iter().collect()
}

fn customers() -> Vec<Cust> {
    let mut rng = seeded(7);
    let mut v = Vec::new();
    for (ru, ro, en, k) in CUSTOMERS {
        let person = *k == 'p';
        v.push(Cust {
            ru: ru.to_string(),
            ro: ro.to_string(),
            en: en.to_string(),
            party: if person {
                Party::Person
            } else {
                Party::Company
            },
            idno: {
                let old = person && rng.gen_bool(0.5);
                idno(&mut rng, old)
            },
        });
    }
    for (ru, ro, en, country, tax) in FOREIGN {
        v.push(Cust {
            ru: ru.to_string(),
            ro: ro.to_string(),
            en: en.to_string(),
            party: Party::Foreign(country, tax),
            idno: String::new(),
        });
    }
    v
}

/// Customers made up from word parts (for the layouts with many of them).
fn synthetic_customers(rng: &mut StdRng, n: usize) -> Vec<Cust> {
    let mut seen = std::collections::BTreeSet::new();
    let mut v = Vec::new();
    while v.len() < n {
        let a = STEMS[rng.gen_range(0..STEMS.len())];
        let b = TAILS[rng.gen_range(0..TAILS.len())];
        let name = if rng.gen_bool(0.5) {
            format!("{a}-{b}")
        } else {
            format!("{a}{}", b.to_lowercase())
        };
        if !seen.insert(name.clone()) {
            continue;
        }
        let form = ["SRL", "SRL", "SRL", "SA", "ÎM", "ÎI"][rng.gen_range(0..6)];
        let ro = match form {
            "ÎI" => format!("Î.I. „{name}”"),
            f => format!("{f} „{name}”"),
        };
        let en = match form {
            "ÎM" => format!("{name} JV"),
            "ÎI" => format!("{name} II"),
            f => format!("{name} {f}"),
        };
        v.push(Cust {
            ru: ro.clone(),
            ro,
            en,
            party: Party::Company,
            idno: idno(rng, false),
        });
    }
    v
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Cat {
    /// 20%.
    Std,
    /// 8%: bread, dairy, medicines, natural gas.
    Red,
    /// HoReCa: 12% until 13 Feb 2025, 8% from 14 Feb 2025.
    Horeca,
    /// 0%: exports.
    Export,
    /// Exempt, no deduction.
    Exempt,
}

struct Prod {
    ru: &'static str,
    ro: &'static str,
    en: &'static str,
    unit: [&'static str; 3],
    lo: f64,
    hi: f64,
    cat: Cat,
    /// Quantity: low, high, decimals.
    q: (f64, f64, u32),
}

/// A product row of the catalogue table (one argument per column).
#[allow(clippy::too_many_arguments)]
const fn p(
    ru: &'static str,
    ro: &'static str,
    en: &'static str,
    unit: [&'static str; 3],
    lo: f64,
    hi: f64,
    cat: Cat,
    q: (f64, f64, u32),
) -> Prod {
    Prod {
        ru,
        ro,
        en,
        unit,
        lo,
        hi,
        cat,
        q,
    }
}

const SVC: [&str; 3] = ["усл.", "serv.", "service"];
const PCS: [&str; 3] = ["шт", "buc.", "pcs"];
const HOUR: [&str; 3] = ["час", "oră", "hr"];
const KG: [&str; 3] = ["кг", "kg", "kg"];

/// The product catalogue; layouts pick from it by index.
#[rustfmt::skip]
const PRODUCTS: &[Prod] = &[
    // 0..
    p("Услуги по обслуживанию оборудования", "Servicii de mentenanță a echipamentului", "Equipment maintenance", SVC, 800.0, 3000.0, Cat::Std, (1.0, 3.0, 0)),
    p("Кабель UTP cat.6, м", "Cablu UTP cat.6, m", "UTP cat.6 cable, m", ["м", "m", "m"], 5.0, 9.0, Cat::Std, (10.0, 305.0, 0)),
    p("Бумага A4, 500 л.", "Hârtie A4, 500 file", "A4 paper, 500 sheets", ["пач.", "top", "ream"], 65.0, 90.0, Cat::Std, (1.0, 60.0, 0)),
    p("Монитор Dell 24\"", "Monitor Dell 24\"", "Dell 24\" monitor", PCS, 2500.0, 3500.0, Cat::Std, (1.0, 12.0, 0)),
    p("Картридж HP 85A", "Cartuș HP 85A", "HP 85A toner cartridge", PCS, 350.0, 520.0, Cat::Std, (1.0, 10.0, 0)),
    p("Ноутбук Lenovo ThinkPad E14", "Laptop Lenovo ThinkPad E14", "Lenovo ThinkPad E14 laptop", PCS, 11000.0, 16000.0, Cat::Std, (1.0, 5.0, 0)),
    p("Разработка ПО", "Dezvoltare software", "Software development", HOUR, 450.0, 900.0, Cat::Std, (4.0, 160.0, 0)),
    p("Консультационные услуги", "Servicii de consultanță", "Consulting services", SVC, 1500.0, 9000.0, Cat::Std, (1.0, 1.0, 0)),
    p("Аренда помещения, месяц", "Chirie spațiu comercial, lună", "Office rent, month", ["мес.", "lună", "month"], 5000.0, 25000.0, Cat::Std, (1.0, 1.0, 0)),
    p("Транспортные услуги по РМ", "Servicii de transport pe teritoriul RM", "Domestic transport", ["рейс", "cursă", "trip"], 1200.0, 4000.0, Cat::Std, (1.0, 4.0, 0)),
    // 10..
    p("Цемент М400, мешок 50 кг", "Ciment M400, sac 50 kg", "Cement M400, 50 kg bag", ["меш.", "sac", "bag"], 95.0, 130.0, Cat::Std, (10.0, 400.0, 0)),
    p("Доска обрезная 25х150, м3", "Scândură tivită 25x150, m³", "Edged board 25x150, m3", ["м3", "m³", "m3"], 3000.0, 4200.0, Cat::Std, (0.5, 12.0, 3)),
    p("Бензин А-95, л", "Benzină A-95, l", "Petrol A-95, l", ["л", "l", "l"], 22.0, 27.0, Cat::Std, (20.0, 800.0, 2)),
    p("Хлеб «Франзелуца» 400 г", "Pâine „Franzeluța” 400 g", "Franzeluta bread 400 g", PCS, 8.0, 11.0, Cat::Red, (20.0, 400.0, 0)),
    p("Молоко 2,5% 1 л", "Lapte 2,5% 1 l", "Milk 2.5% 1 l", PCS, 15.0, 19.0, Cat::Red, (12.0, 240.0, 0)),
    p("Брынза овечья", "Brânză de oi", "Sheep cheese", KG, 90.0, 140.0, Cat::Red, (1.0, 40.0, 3)),
    p("Парацетамол 500 мг №20", "Paracetamol 500 mg nr. 20", "Paracetamol 500 mg x20", ["уп.", "cutie", "pack"], 18.0, 30.0, Cat::Red, (10.0, 200.0, 0)),
    p("Газ природный, м3", "Gaz natural, m³", "Natural gas, m3", ["м3", "m³", "m3"], 9.0, 14.0, Cat::Red, (100.0, 5000.0, 3)),
    p("Кейтеринг, бизнес-ланч", "Catering, prânz de afaceri", "Catering, business lunch", ["порц.", "porție", "portion"], 120.0, 180.0, Cat::Horeca, (10.0, 120.0, 0)),
    p("Обслуживание банкета", "Deservirea banchetului", "Banquet service", SVC, 3000.0, 9000.0, Cat::Horeca, (1.0, 1.0, 0)),
    // 20..
    p("Проживание в гостинице, сутки", "Cazare la hotel, noapte", "Hotel accommodation, night", ["сут.", "noapte", "night"], 900.0, 1800.0, Cat::Horeca, (1.0, 14.0, 0)),
    p("Кофе-брейк", "Pauză de cafea", "Coffee break", ["порц.", "porție", "portion"], 45.0, 80.0, Cat::Horeca, (10.0, 150.0, 0)),
    p("Вино столовое, экспорт", "Vin de masă, export", "Table wine, export", ["бут.", "sticlă", "bottle"], 40.0, 70.0, Cat::Export, (120.0, 6000.0, 0)),
    p("Ядро грецкого ореха, экспорт", "Miez de nucă, export", "Walnut kernels, export", KG, 80.0, 120.0, Cat::Export, (100.0, 5000.0, 0)),
    p("Международная перевозка", "Transport internațional de mărfuri", "International freight", ["рейс", "cursă", "trip"], 8000.0, 25000.0, Cat::Export, (1.0, 3.0, 0)),
    p("Медицинские услуги", "Servicii medicale", "Medical services", SVC, 300.0, 1500.0, Cat::Exempt, (1.0, 5.0, 0)),
    p("Обучение, курс \"1С:Бухгалтерия\"", "Curs de instruire „1C:Contabilitate”", "Training course \"1C:Accounting\"", SVC, 1500.0, 6000.0, Cat::Exempt, (1.0, 6.0, 0)),
    p("Кресло офисное, модель \"Комфорт\"", "Fotoliu de birou, model „Confort”", "Office chair, model \"Comfort\"", PCS, 1200.0, 2600.0, Cat::Std, (1.0, 20.0, 0)),
    p("Стол письменный 120х60, дуб", "Masă de birou 120x60, stejar", "Desk 120x60, oak", PCS, 1800.0, 4200.0, Cat::Std, (1.0, 10.0, 0)),
    p("Сыр твердый «Российский»", "Cașcaval „Rusesc”", "Hard cheese \"Rossiysky\"", KG, 110.0, 160.0, Cat::Red, (1.0, 60.0, 3)),
];

const HORECA_CHANGE: (i32, u32, u32) = (2025, 2, 14);

fn horeca_change() -> NaiveDate {
    ymd(HORECA_CHANGE.0, HORECA_CHANGE.1, HORECA_CHANGE.2)
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
}

// ---------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Rate {
    V20,
    V12,
    V8,
    V0,
    Ex,
}

impl Rate {
    fn pct(self) -> Decimal {
        Decimal::from(match self {
            Rate::V20 => 20,
            Rate::V12 => 12,
            Rate::V8 => 8,
            Rate::V0 | Rate::Ex => 0,
        })
    }
    /// The number as most registers print it (`20`), empty when exempt.
    fn n(self) -> &'static str {
        match self {
            Rate::V20 => "20",
            Rate::V12 => "12",
            Rate::V8 => "8",
            Rate::V0 => "0",
            Rate::Ex => "",
        }
    }
    fn frac(self) -> f64 {
        match self {
            Rate::V20 => 0.2,
            Rate::V12 => 0.12,
            Rate::V8 => 0.08,
            Rate::V0 | Rate::Ex => 0.0,
        }
    }
}

fn rate_for(cat: Cat, date: NaiveDate) -> Rate {
    match cat {
        Cat::Std => Rate::V20,
        Cat::Red => Rate::V8,
        Cat::Horeca if date < horeca_change() => Rate::V12,
        Cat::Horeca => Rate::V8,
        Cat::Export => Rate::V0,
        Cat::Exempt => Rate::Ex,
    }
}

/// A planted defect: what is wrong with a document, and in which line.
#[derive(Clone, Debug)]
enum D {
    /// The customer's IDNO has a wrong check digit.
    BadIdno,
    /// A word where the quantity belongs.
    WordQty(&'static str),
    /// A word where the unit price belongs.
    WordPrice(&'static str),
    /// A 12% HoReCa rate on a date after 13 Feb 2025.
    VatOutOfForce,
    /// The customer's name left blank (and no customer number to fall back on).
    BlankName,
    /// The stated net amount of a line does not match quantity × price.
    NetMismatch,
    /// The stated VAT of a line (or of the document) is not what the rate gives.
    VatMismatch,
    /// Two rows of one document disagree on its date.
    DateDisagree,
    /// A date that does not exist, typed as text.
    BadDate(&'static str),
    /// A VAT rate that is not one of Moldova's.
    UnknownRate(&'static str),
    /// A negative quantity on an invoice.
    NegativeQty,
    /// A currency that is not an ISO 4217 code.
    UnknownCurrency(&'static str),
    /// The number of an earlier document used again.
    Duplicate,
}

impl D {
    fn code(&self) -> &'static str {
        match self {
            D::BadIdno => "idno_check_digit",
            D::WordQty(_) | D::WordPrice(_) => "bad_decimal",
            D::VatOutOfForce => "vat_not_in_force",
            D::BlankName => "required",
            D::NetMismatch | D::VatMismatch => "total_mismatch",
            D::DateDisagree => "group_disagrees",
            D::BadDate(_) => "bad_date",
            D::UnknownRate(_) => "not_in_lookup",
            D::NegativeQty => "bad_quantity",
            D::UnknownCurrency(_) => "unknown_currency",
            D::Duplicate => "duplicate_number",
        }
    }
    fn what(&self) -> String {
        match self {
            D::BadIdno => "the customer's IDNO has a wrong check digit".into(),
            D::WordQty(w) => format!("the quantity is the word {w:?}"),
            D::WordPrice(w) => format!("the unit price is the word {w:?}"),
            D::VatOutOfForce => "a HoReCa line at 12% dated after 13 Feb 2025".into(),
            D::BlankName => "the customer's name is blank (and there is no customer number)".into(),
            D::NetMismatch => "a line's stated net amount is not quantity × price".into(),
            D::VatMismatch => "a stated VAT amount is not what the rate gives".into(),
            D::DateDisagree => "two rows of the document carry different dates".into(),
            D::BadDate(s) => format!("the date {s:?} does not exist"),
            D::UnknownRate(s) => format!("the VAT rate {s:?} is not one of Moldova's"),
            D::NegativeQty => "a negative quantity (a return) on an invoice".into(),
            D::UnknownCurrency(s) => format!("the currency {s:?} is not an ISO 4217 code"),
            D::Duplicate => "the number of an earlier document is used again".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Line {
    prod: usize,
    qty: Decimal,
    price: Decimal,
    rate: Rate,
}

fn r2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl Line {
    fn net(&self) -> Decimal {
        r2(self.qty * self.price)
    }
    fn vat(&self) -> Decimal {
        r2(self.net() * self.rate.pct() / Decimal::ONE_HUNDRED)
    }
    fn gross(&self) -> Decimal {
        self.net() + self.vat()
    }
    fn p(&self) -> &'static Prod {
        &PRODUCTS[self.prod]
    }
}

#[derive(Clone, Debug)]
struct Doc {
    number: String,
    date: NaiveDate,
    /// Index into the layout's customer list.
    cust: usize,
    currency: &'static str,
    lines: Vec<Line>,
    defect: Option<(D, usize)>,
}

impl Doc {
    fn is(&self, f: impl Fn(&D) -> bool) -> Option<usize> {
        match &self.defect {
            Some((d, line)) if f(d) => Some(*line),
            _ => None,
        }
    }
    fn bad_idno(&self) -> bool {
        self.is(|d| matches!(d, D::BadIdno)).is_some()
    }
    fn blank_name(&self) -> bool {
        self.is(|d| matches!(d, D::BlankName)).is_some()
    }
    fn word_qty(&self, line: usize) -> Option<&'static str> {
        match &self.defect {
            Some((D::WordQty(w), l)) if *l == line => Some(w),
            _ => None,
        }
    }
    fn word_price(&self, line: usize) -> Option<&'static str> {
        match &self.defect {
            Some((D::WordPrice(w), l)) if *l == line => Some(w),
            _ => None,
        }
    }
    fn net_off(&self, line: usize) -> bool {
        self.is(|d| matches!(d, D::NetMismatch)) == Some(line)
    }
    fn vat_off(&self, line: usize) -> bool {
        self.is(|d| matches!(d, D::VatMismatch)) == Some(line)
    }
    fn date_off(&self, line: usize) -> bool {
        line > 0 && self.is(|d| matches!(d, D::DateDisagree)) == Some(line)
    }
    fn bad_date(&self) -> Option<&'static str> {
        match &self.defect {
            Some((D::BadDate(s), _)) => Some(s),
            _ => None,
        }
    }
    fn unknown_rate(&self, line: usize) -> Option<&'static str> {
        match &self.defect {
            Some((D::UnknownRate(s), l)) if *l == line => Some(s),
            _ => None,
        }
    }
    fn currency_shown(&self) -> &'static str {
        match &self.defect {
            Some((D::UnknownCurrency(s), _)) => s,
            _ => self.currency,
        }
    }
    fn net(&self) -> Decimal {
        self.lines.iter().map(Line::net).sum()
    }
    /// A line's stated net: off by a typo where the defect says so.
    fn stated_net(&self, i: usize) -> Decimal {
        let n = self.lines[i].net();
        if self.net_off(i) {
            typo(n)
        } else {
            n
        }
    }
    /// A line's stated VAT: off by a typo where the defect says so.
    fn stated_vat(&self, i: usize) -> Decimal {
        let v = self.lines[i].vat();
        if self.vat_off(i) {
            typo(v)
        } else {
            v
        }
    }
    /// The date a row shows (the day after on the disagreeing row).
    fn row_date(&self, i: usize) -> NaiveDate {
        if self.date_off(i) {
            self.date + Duration::days(1)
        } else {
            self.date
        }
    }
}

/// A typing slip: two neighbouring digits swapped (or a digit added when
/// swapping changes nothing).
fn typo(d: Decimal) -> Decimal {
    let s = fixed(d, 2);
    let mut c: Vec<char> = s.chars().collect();
    let digits: Vec<usize> = (0..c.len()).filter(|&i| c[i].is_ascii_digit()).collect();
    for w in digits.windows(2).rev() {
        let (a, b) = (w[0], w[1]);
        if b == a + 1 && c[a] != c[b] {
            c.swap(a, b);
            let t: String = c.into_iter().collect();
            return t.parse().expect("a number");
        }
    }
    d + Decimal::from(10)
}

struct Spec<'a> {
    n: usize,
    from: NaiveDate,
    to: NaiveDate,
    /// The layout's customers (indices into its customer list), the first
    /// ones more frequent.
    custs: &'a [Cust],
    /// Products sold to Moldovan buyers.
    prods: &'a [usize],
    /// Products sold abroad.
    export: &'a [usize],
    lines: (usize, usize),
    number: &'a dyn Fn(usize) -> String,
    /// The currency of a document for a buyer abroad.
    foreign_currency: &'static [&'static str],
}

/// Prices of a layout's price list, a few of them varying per line.
struct Prices(Vec<Decimal>);

impl Prices {
    fn new(rng: &mut StdRng) -> Prices {
        Prices(PRODUCTS.iter().map(|p| list_price(rng, p)).collect())
    }
    fn get(&self, rng: &mut StdRng, prod: usize) -> Decimal {
        if rng.gen_bool(0.2) {
            list_price(rng, &PRODUCTS[prod])
        } else {
            self.0[prod]
        }
    }
}

fn list_price(rng: &mut StdRng, p: &Prod) -> Decimal {
    let lo = (p.lo * 100.0).round() as i64;
    let hi = (p.hi * 100.0).round() as i64;
    let c = rng.gen_range(lo..=hi);
    let c = match rng.gen_range(0..5) {
        0 | 1 if c >= 10_000 => c / 100 * 100,
        2 => c / 10 * 10,
        3 => c / 50 * 50,
        _ => c,
    };
    Decimal::new(c.max(1), 2)
}

fn quantity(rng: &mut StdRng, p: &Prod) -> Decimal {
    let (lo, hi, dp) = p.q;
    if dp == 0 {
        Decimal::from(rng.gen_range(lo as i64..=hi as i64))
    } else {
        let s = 10f64.powi(dp as i32);
        let q = rng.gen_range((lo * s).round() as i64..=(hi * s).round() as i64);
        // Often a round quantity even where decimals are allowed.
        let q = if rng.gen_bool(0.4) {
            q / s as i64 * s as i64
        } else {
            q
        };
        Decimal::new(q.max(1), dp)
    }
}

fn gen_docs(rng: &mut StdRng, s: &Spec) -> Vec<Doc> {
    let prices = Prices::new(rng);
    let span = (s.to - s.from).num_days();
    let mut dates: Vec<NaiveDate> = (0..s.n)
        .map(|_| s.from + Duration::days(rng.gen_range(0..=span)))
        .collect();
    dates.sort();
    let mut docs = Vec::with_capacity(s.n);
    for (i, date) in dates.into_iter().enumerate() {
        // The first customers buy more often.
        let k = (rng.gen::<f64>().powf(1.7) * s.custs.len() as f64) as usize;
        let cust = k.min(s.custs.len() - 1);
        let abroad = matches!(s.custs[cust].party, Party::Foreign(..));
        let pool = if abroad && !s.export.is_empty() {
            s.export
        } else {
            s.prods
        };
        let (lo, hi) = s.lines;
        let mut n = lo;
        while n < hi && rng.gen_bool(0.55) {
            n += 1;
        }
        let n = n.min(pool.len());
        let mut chosen: Vec<usize> = pool.to_vec();
        chosen.shuffle(rng);
        chosen.truncate(n);
        let lines = chosen
            .into_iter()
            .map(|prod| Line {
                prod,
                qty: quantity(rng, &PRODUCTS[prod]),
                price: prices.get(rng, prod),
                rate: rate_for(PRODUCTS[prod].cat, date),
            })
            .collect();
        let currency = if abroad {
            s.foreign_currency[rng.gen_range(0..s.foreign_currency.len())]
        } else {
            "MDL"
        };
        docs.push(Doc {
            number: (s.number)(i),
            date,
            cust,
            currency,
            lines,
            defect: None,
        });
    }
    docs
}

/// Plant a defect in one document that `ok` accepts and that has none yet.
fn plant_where(
    rng: &mut StdRng,
    docs: &mut [Doc],
    custs: &[Cust],
    d: D,
    ok: impl Fn(&Doc) -> bool,
) {
    let fits = |doc: &Doc, i: usize| -> bool {
        let domestic = !matches!(custs[doc.cust].party, Party::Foreign(..));
        doc.defect.is_none()
            && ok(doc)
            && match d {
                D::BadIdno | D::BlankName | D::NegativeQty => domestic,
                D::VatOutOfForce => domestic && doc.date >= horeca_change(),
                D::DateDisagree => doc.lines.len() == 2,
                D::Duplicate => i >= 3,
                D::VatMismatch | D::NetMismatch => doc
                    .lines
                    .iter()
                    .all(|l| l.rate != Rate::Ex && l.rate != Rate::V0),
                _ => true,
            }
    };
    let candidates: Vec<usize> = (0..docs.len()).filter(|&i| fits(&docs[i], i)).collect();
    let i = *candidates
        .choose(rng)
        .unwrap_or_else(|| panic!("no document to plant {d:?} in"));
    let line = match d {
        D::DateDisagree => 1,
        _ => rng.gen_range(0..docs[i].lines.len()),
    };
    match d {
        D::VatOutOfForce => {
            // A line of catering still billed at the old rate.
            let l = &mut docs[i].lines[line];
            l.prod = 18;
            l.rate = Rate::V12;
            l.price = Decimal::new(14500, 2);
        }
        D::NegativeQty => {
            let l = &mut docs[i].lines[line];
            l.qty = -l.qty;
        }
        D::Duplicate => {
            let j = rng.gen_range(i.saturating_sub(12)..i);
            docs[i].number = docs[j].number.clone();
        }
        _ => {}
    }
    docs[i].defect = Some((d, line));
}

fn plant(rng: &mut StdRng, docs: &mut [Doc], custs: &[Cust], mut defects: Vec<D>) {
    // The defects that fit few documents first.
    defects.sort_by_key(|d| !matches!(d, D::VatOutOfForce | D::DateDisagree));
    for d in defects {
        plant_where(rng, docs, custs, d, |_| true);
    }
}

// ---------------------------------------------------------------------------
// What a layout should give
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Expected {
    layout: String,
    imitates: String,
    files: Vec<String>,
    documents: usize,
    valid: usize,
    by_code: BTreeMap<&'static str, usize>,
    defects: Vec<(String, &'static str, String, String)>,
    needs: Vec<&'static str>,
    sheets: Vec<(String, usize, usize)>,
    note: String,
}

impl Expected {
    fn new(layout: &str, imitates: &str, files: &[&str]) -> Expected {
        Expected {
            layout: layout.into(),
            imitates: imitates.into(),
            files: files.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }
    /// Count the documents; `place` names where a document's defect is (a
    /// sheet, a row).
    fn count(&mut self, docs: &[Doc], place: impl Fn(&Doc) -> String) {
        self.documents += docs.len();
        for doc in docs {
            match &doc.defect {
                None => self.valid += 1,
                Some((d, _)) => {
                    *self.by_code.entry(d.code()).or_default() += 1;
                    self.defects
                        .push((doc.number.clone(), d.code(), d.what(), place(doc)));
                }
            }
        }
    }

    fn write(&self, dir: &Path) -> Res<()> {
        let q = |s: &str| toml_str(s);
        let mut t = String::new();
        writeln!(
            t,
            "# Written by examples/make_corpus.rs from the documents it generated;"
        )?;
        writeln!(
            t,
            "# checked against `facturare-etl validate FILE --mapping mapping.toml --json`."
        )?;
        writeln!(t, "layout = {}", q(&self.layout))?;
        writeln!(t, "imitates = {}", q(&self.imitates))?;
        let files: Vec<String> = self.files.iter().map(|f| q(f)).collect();
        writeln!(t, "files = [{}]", files.join(", "))?;
        writeln!(t, "mapping = \"mapping.toml\"")?;
        let needs: Vec<String> = self.needs.iter().map(|f| q(f)).collect();
        writeln!(t, "needs = [{}]", needs.join(", "))?;
        writeln!(t, "documents = {}", self.documents)?;
        writeln!(t, "valid = {}", self.valid)?;
        writeln!(t, "rejected = {}", self.documents - self.valid)?;
        let codes: Vec<String> = self
            .by_code
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        writeln!(t, "by_code = {{ {} }}", codes.join(", "))?;
        let mut sentence = format!(
            "{} documents, {} of them with one planted defect each: ",
            self.documents,
            self.documents - self.valid
        );
        let parts: Vec<String> = self
            .defects
            .iter()
            .map(|(n, _, what, _)| format!("{n}: {what}"))
            .collect();
        sentence.push_str(&parts.join("; "));
        sentence.push('.');
        if !self.note.is_empty() {
            sentence.push(' ');
            sentence.push_str(&self.note);
        }
        writeln!(t, "defects = {}", q(&sentence))?;
        for (name, docs, valid) in &self.sheets {
            writeln!(t, "\n[[sheet]]")?;
            writeln!(t, "name = {}", q(name))?;
            writeln!(t, "documents = {docs}")?;
            writeln!(t, "valid = {valid}")?;
        }
        for (number, code, what, place) in &self.defects {
            writeln!(t, "\n[[defect]]")?;
            writeln!(t, "document = {}", q(number))?;
            writeln!(t, "code = {}", q(code))?;
            writeln!(t, "what = {}", q(what))?;
            if !place.is_empty() {
                writeln!(t, "where = {}", q(place))?;
            }
        }
        std::fs::write(dir.join("expected.toml"), t)?;
        Ok(())
    }
}

fn toml_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

// ---------------------------------------------------------------------------
// Writing: numbers, dates, CSV, encodings, workbooks
// ---------------------------------------------------------------------------

/// `d` with exactly `dp` decimals, `.` as the point, no grouping.
fn fixed(d: Decimal, dp: u32) -> String {
    let mut x = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    x.rescale(dp);
    x.to_string()
}

/// `d` with `dp` decimals, the decimal mark `point` and thousands grouped by `group`.
fn grouped(d: Decimal, dp: u32, point: &str, group: &str) -> String {
    let s = fixed(d.abs(), dp);
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut g = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            g.push_str(group);
        }
        g.push(c);
    }
    let sign = if d.is_sign_negative() && !d.is_zero() {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{g}")
    } else {
        format!("{sign}{g}{point}{frac}")
    }
}

/// A quantity as people write it: no trailing zeros (`2.5`, `12`).
fn plain(d: Decimal) -> String {
    d.normalize().to_string()
}

fn f64_of(d: Decimal) -> f64 {
    d.to_string().parse().expect("a number")
}

fn xl_date(d: NaiveDate) -> ExcelDateTime {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).expect("a date")
}

fn strip_diacritics(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ă' | 'â' => 'a',
            'Ă' | 'Â' => 'A',
            'î' => 'i',
            'Î' => 'I',
            'ș' | 'ş' => 's',
            'Ș' | 'Ş' => 'S',
            'ț' | 'ţ' => 't',
            'Ț' | 'Ţ' => 'T',
            '„' | '”' | '“' => '"',
            '³' => '3',
            c => c,
        })
        .collect()
}

/// One CSV cell: quoted when it holds the delimiter, a quote or a line break
/// (or when `always`), quotes doubled.
fn cell(s: &str, delim: char, always: bool) -> String {
    if always || s.contains(delim) || s.contains('"') || s.contains('\n') || s.contains('\r') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

struct Csv {
    delim: char,
    eol: &'static str,
    /// A delimiter after the last cell of every line (as 1C writes them).
    trailing: bool,
    /// Pad every line to this many cells (a table saved as CSV).
    width: usize,
    text: String,
}

impl Csv {
    fn new(delim: char, eol: &'static str) -> Csv {
        Csv {
            delim,
            eol,
            trailing: false,
            width: 0,
            text: String::new(),
        }
    }
    fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let mut v: Vec<String> = cells
            .iter()
            .map(|c| cell(c.as_ref(), self.delim, false))
            .collect();
        while v.len() < self.width {
            v.push(String::new());
        }
        let d = self.delim.to_string();
        self.text.push_str(&v.join(&d));
        if self.trailing {
            self.text.push(self.delim);
        }
        self.text.push_str(self.eol);
    }
}

enum Enc {
    Cp1251,
    Utf8,
    Utf8Bom,
}

fn write_text(path: &Path, text: &str, enc: Enc) -> Res<()> {
    let bytes = match enc {
        Enc::Cp1251 => {
            let (b, _, bad) = encoding_rs::WINDOWS_1251.encode(text);
            assert!(
                !bad,
                "{}: text that windows-1251 cannot hold",
                path.display()
            );
            b.into_owned()
        }
        Enc::Utf8 => text.as_bytes().to_vec(),
        Enc::Utf8Bom => {
            let mut b = vec![0xEF, 0xBB, 0xBF];
            b.extend_from_slice(text.as_bytes());
            b
        }
    };
    std::fs::write(path, bytes)?;
    Ok(())
}

fn workbook(title: &str) -> Workbook {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(2025, 7, 1).expect("a date");
    wb.set_properties(
        &DocProperties::new()
            .set_title(title)
            .set_author("Contabilitate")
            .set_creation_datetime(&created),
    );
    wb
}

fn a1(row: u32, col: u16) -> String {
    row_col_to_cell(row, col)
}

fn formula(text: String, cached: Decimal) -> Formula {
    Formula::new(text).set_result(plain(cached))
}

fn dir(root: &Path, layout: &str) -> Res<PathBuf> {
    let d = root.join(layout);
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

fn pick(all: &[Cust], idx: &[usize]) -> Vec<Cust> {
    idx.iter()
        .map(|&i| {
            let c = &all[i];
            Cust {
                ru: c.ru.clone(),
                ro: c.ro.clone(),
                en: c.en.clone(),
                party: c.party,
                idno: c.idno.clone(),
            }
        })
        .collect()
}

fn tax_id(doc: &Doc, c: &Cust) -> String {
    match c.party {
        Party::Foreign(_, t) => t.to_string(),
        _ if doc.bad_idno() => bad_idno(&c.idno),
        _ => c.idno.clone(),
    }
}

/// The customer's IDNO as a Moldovan register shows it: empty for a buyer abroad.
fn md_idno(doc: &Doc, c: &Cust) -> String {
    match c.party {
        Party::Foreign(..) => String::new(),
        _ => tax_id(doc, c),
    }
}

fn name_of(doc: &Doc, name: &str) -> String {
    if doc.blank_name() {
        String::new()
    } else {
        name.to_string()
    }
}

// ---------------------------------------------------------------------------
// 1C registers
// ---------------------------------------------------------------------------

fn rate_ru(r: Rate) -> String {
    match r {
        Rate::Ex => "Без НДС".into(),
        r => format!("{}%", r.n()),
    }
}

/// 1C 7.7/8 "Реализация товаров и услуг" register saved as CSV: cp1251, `;`,
/// CRLF, every line padded and ended with `;`, title lines, `Номер`,
/// `Контрагент`, NBSP-grouped decimal commas, 3-decimal quantities, a final
/// `Итого`.
fn c1_realizatsiya(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "1c-realizatsiya-cp1251";
    let file = "realizatsiya_2024-2025.csv";
    let mut rng = seeded(101);
    let custs = pick(
        all,
        &[0, 1, 2, 3, 4, 5, 6, 9, 12, 14, 17, 19, 21, 22, 32, 34],
    );
    let codes: Vec<String> = (0..custs.len())
        .map(|i| format!("00-{:06}", 17 + i * 3))
        .collect();
    let prods = [0, 1, 2, 3, 4, 13, 14, 18, 19, 26];
    let number = |i: usize| format!("МТ00-{:06}", 101 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 60,
            from: ymd(2024, 1, 9),
            to: ymd(2025, 6, 27),
            custs: &custs,
            prods: &prods,
            export: &[22],
            lines: (1, 5),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BadIdno,
            D::WordQty("десять"),
            D::VatOutOfForce,
            D::NetMismatch,
        ],
    );
    let header = [
        "Номер",
        "Дата",
        "Контрагент",
        "Код контрагента",
        "ИНН",
        "Номенклатура",
        "Ед.",
        "Количество",
        "Цена",
        "Сумма без НДС",
        "Ставка НДС",
        "НДС",
        "Всего",
        "Валюта",
    ];
    let nb = "\u{a0}";
    let money = |d: Decimal| grouped(d, 2, ",", nb);
    let mut csv = Csv::new(';', "\r\n");
    csv.trailing = true;
    csv.width = header.len();
    csv.row(&["Реестр документов \"Реализация товаров и услуг\""]);
    csv.row(&["Организация: ООО «Молдтехсервис»; период: 09.01.2024 - 27.06.2025"]);
    csv.row::<&str>(&[]);
    csv.row(&header);
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        for (i, l) in doc.lines.iter().enumerate() {
            let qty = match doc.word_qty(i) {
                Some(w) => w.to_string(),
                None => grouped(l.qty, 3, ",", nb),
            };
            tn += l.net();
            tv += l.vat();
            tg += l.gross();
            csv.row(&[
                doc.number.clone(),
                doc.date.format("%d.%m.%Y").to_string(),
                c.ru.clone(),
                codes[doc.cust].clone(),
                md_idno(doc, c),
                l.p().ru.to_string(),
                l.p().unit[0].to_string(),
                qty,
                money(l.price),
                money(doc.stated_net(i)),
                rate_ru(l.rate),
                money(l.vat()),
                money(l.gross()),
                doc.currency.to_string(),
            ]);
        }
    }
    csv.row(&[
        "Итого",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        &money(tn),
        "",
        &money(tv),
        &money(tg),
        "",
    ]);
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Cp1251)?;
    let mut e = Expected::new(
        layout,
        "1C register «Реализация товаров и услуг», cp1251",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

/// The register users reported: `№ документа`, `Код`, `Покупатель`,
/// `Товар (услуга)`, `Кол-во`, `Цена без НДС`, `НДС %` as a bare number,
/// `Сумма` the *net* amount, `Сумма с НДС`, `Валюта документа`; cp1251,
/// the lines of the 40 documents shuffled, 5 defects.
fn c1_pokupatel_shuffled(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "1c-pokupatel-shuffled-cp1251";
    let file = "prodazhi.csv";
    let mut rng = seeded(102);
    let custs = pick(
        all,
        &[
            7, 8, 10, 11, 13, 15, 16, 18, 20, 23, 24, 25, 27, 28, 29, 30, 33,
        ],
    );
    let codes: Vec<String> = (0..custs.len())
        .map(|i| format!("{:09}", 112 + i * 7))
        .collect();
    let prods = [0, 2, 5, 6, 7, 8, 9, 16, 17, 20, 21, 25];
    let number = |i: usize| format!("ЮГ00-{:06}", 412 + i * 2);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 40,
            from: ymd(2024, 4, 1),
            to: ymd(2025, 5, 30),
            custs: &custs,
            prods: &prods,
            export: &[23, 24],
            lines: (1, 4),
            number: &number,
            foreign_currency: &["USD"],
        },
    );
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BadIdno,
            D::WordQty("пять"),
            D::VatOutOfForce,
            D::NetMismatch,
            D::DateDisagree,
        ],
    );
    let header = [
        "№ документа",
        "Дата",
        "Код",
        "Покупатель",
        "Фискальный код",
        "Товар (услуга)",
        "Кол-во",
        "Цена без НДС",
        "НДС %",
        "Сумма",
        "Сумма НДС",
        "Сумма с НДС",
        "Валюта документа",
    ];
    let money = |d: Decimal| grouped(d, 2, ",", "");
    let qty = |d: Decimal| plain(d).replace('.', ",");
    let mut rows = Vec::new();
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        for (i, l) in doc.lines.iter().enumerate() {
            tn += l.net();
            tv += l.vat();
            tg += l.gross();
            rows.push(vec![
                doc.number.clone(),
                doc.row_date(i).format("%d.%m.%Y").to_string(),
                codes[doc.cust].clone(),
                c.ru.clone(),
                md_idno(doc, c),
                l.p().ru.to_string(),
                doc.word_qty(i)
                    .map(str::to_string)
                    .unwrap_or_else(|| qty(l.qty)),
                money(l.price),
                match l.rate {
                    Rate::Ex => "Без НДС".to_string(),
                    r => r.n().to_string(),
                },
                money(doc.stated_net(i)),
                money(l.vat()),
                money(l.gross()),
                doc.currency.to_string(),
            ]);
        }
    }
    rows.shuffle(&mut rng);
    let mut csv = Csv::new(';', "\r\n");
    csv.row(&["Продажи по документам за период 01.04.2024 - 30.05.2025"]);
    csv.row::<&str>(&[]);
    csv.row(&header);
    for r in &rows {
        csv.row(r);
    }
    csv.row(&[
        "Итого",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        &money(tn),
        &money(tv),
        &money(tg),
        "",
    ]);
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Cp1251)?;
    let mut e = Expected::new(
        layout,
        "1C sales register as reported by a user: shuffled lines, `Сумма` is the net amount",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

/// 1C 8.3 report saved as "Текст с разделителями": UTF-8 with a BOM, tabs,
/// `Номер документа`, `Дата документа` with a time, `Контрагент` and its
/// `ИНН контрагента` (no customer code), currency as its name (`лей`),
/// `Сумма` net, a final `Всего` row.
fn c1_nomer_dokumenta_tab(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "1c-nomer-dokumenta-utf8bom-tab";
    let file = "vedomost_prodazh.txt";
    let mut rng = seeded(103);
    let custs = pick(
        all,
        &[3, 8, 10, 12, 4, 20, 21, 2, 17, 23, 24, 27, 29, 31, 0, 6, 11],
    );
    let prods = [13, 14, 15, 29, 16, 18, 19, 20, 21, 0, 2, 25];
    let number = |i: usize| format!("КШ00-{:06}", 2301 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 130,
            from: ymd(2024, 7, 1),
            to: ymd(2025, 6, 30),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 5),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    // A few documents in foreign currency for Moldovan buyers (a price list in EUR).
    for doc in docs.iter_mut().filter(|d| d.number.ends_with('7')) {
        doc.currency = if doc.number.ends_with("17") {
            "USD"
        } else {
            "EUR"
        };
    }
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BlankName,
            D::BadIdno,
            D::WordPrice("договорная"),
            D::VatOutOfForce,
        ],
    );
    let header = [
        "Дата документа",
        "Номер документа",
        "Контрагент",
        "ИНН контрагента",
        "Номенклатура",
        "Количество",
        "Цена",
        "Сумма",
        "% НДС",
        "НДС",
        "Всего",
        "Валюта",
    ];
    let money = |d: Decimal| grouped(d, 2, ",", " ");
    let qty = |d: Decimal| plain(d).replace('.', ",");
    let cur = |c: &str| {
        if c == "MDL" {
            "лей".to_string()
        } else {
            c.to_string()
        }
    };
    let mut csv = Csv::new('\t', "\r\n");
    csv.row(&header);
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        for (i, l) in doc.lines.iter().enumerate() {
            tn += l.net();
            tv += l.vat();
            tg += l.gross();
            csv.row(&[
                doc.date.format("%d.%m.%Y 0:00:00").to_string(),
                doc.number.clone(),
                name_of(doc, &c.ru),
                md_idno(doc, c),
                l.p().ru.to_string(),
                qty(l.qty),
                doc.word_price(i)
                    .map(str::to_string)
                    .unwrap_or_else(|| money(l.price)),
                money(l.net()),
                rate_ru(l.rate),
                money(l.vat()),
                money(l.gross()),
                cur(doc.currency),
            ]);
        }
    }
    csv.row(&[
        "Всего",
        "",
        "",
        "",
        "",
        "",
        "",
        &money(tn),
        "",
        &money(tv),
        &money(tg),
        "",
    ]);
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Utf8Bom)?;
    let mut e = Expected::new(
        layout,
        "1C 8.3 report saved as tab-separated text, UTF-8 with BOM",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

/// 1C register where the document is one column, `Документ` = "Реализация
/// товаров и услуг 00ИТ-000123 от 05.01.2024 12:00:00"; UTF-8, `,` (so
/// every decimal comma is quoted), a subtotal row `Итого по документу`
/// after each document and `Итого` at the end; a seller of IT equipment, all
/// at 20%, VAT given only as an amount.
fn c1_dokument_comma(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "1c-dokument-utf8-comma";
    let file = "reestr_realizatsii_2024.csv";
    let mut rng = seeded(104);
    let custs = pick(
        all,
        &[14, 7, 22, 15, 16, 13, 1, 9, 19, 25, 26, 28, 30, 31, 5],
    );
    let prods = [1, 2, 3, 4, 5, 6, 0, 27, 28];
    let number = |i: usize| format!("00ИТ-{:06}", 1201 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 80,
            from: ymd(2024, 1, 10),
            to: ymd(2024, 12, 27),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 4),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![D::BadIdno, D::VatMismatch, D::NegativeQty, D::BlankName],
    );
    let header = [
        "Документ",
        "Контрагент",
        "Фискальный код",
        "Номенклатура",
        "Количество",
        "Цена",
        "Сумма",
        "НДС",
        "Сумма с НДС",
    ];
    let money = |d: Decimal| grouped(d, 2, ",", " ");
    let qty = |d: Decimal| grouped(d, 3, ",", " ");
    let mut csv = Csv::new(',', "\r\n");
    csv.row(&["Реестр документов реализации за 2024 г."]);
    csv.row(&["Организация: ООО «Компьютерный мир», ИНН 1003600150117"]);
    csv.row::<&str>(&[]);
    csv.row(&header);
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        let time = format!(
            "{}:{:02}:{:02}",
            9 + rng.gen_range(0..9),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        );
        let title = format!(
            "Реализация товаров и услуг {} от {} {}",
            doc.number,
            doc.date.format("%d.%m.%Y"),
            time
        );
        let (mut dn, mut dv, mut dg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for (i, l) in doc.lines.iter().enumerate() {
            let v = doc.stated_vat(i);
            dn += l.net();
            dv += v;
            dg += l.gross();
            csv.row(&[
                title.clone(),
                name_of(doc, &c.ru),
                md_idno(doc, c),
                l.p().ru.to_string(),
                qty(l.qty),
                money(l.price),
                money(l.net()),
                money(v),
                money(l.gross()),
            ]);
        }
        csv.row(&[
            "Итого по документу",
            "",
            "",
            "",
            "",
            "",
            &money(dn),
            &money(dv),
            &money(dg),
        ]);
        tn += dn;
        tv += dv;
        tg += dg;
    }
    csv.row(&[
        "Итого",
        "",
        "",
        "",
        "",
        "",
        &money(tn),
        &money(tv),
        &money(tg),
    ]);
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Utf8)?;
    let mut e = Expected::new(
        layout,
        "1C register with the document as one presentation column, comma-separated UTF-8",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

// ---------------------------------------------------------------------------
// Romanian registers
// ---------------------------------------------------------------------------

#[rustfmt::skip]
const LUNI: [&str; 12] = [
    "Ianuarie", "Februarie", "Martie", "Aprilie", "Mai", "Iunie", "Iulie", "August", "Septembrie",
    "Octombrie", "Noiembrie", "Decembrie",
];

fn rate_ro(r: Rate) -> String {
    match r {
        Rate::Ex => "scutit".into(),
        r => format!("{}%", r.n()),
    }
}

/// An accountant's register kept in Excel, one sheet: a merged title, the
/// company and period above the header (row 4), `Nr. factură`, `Cumpărător`,
/// `Cod fiscal` as text, `Cota TVA` as text (`20%`), net, VAT and gross as
/// formulas with their cached values, a merged `Total general` row.
fn ro_registru(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "ro-xlsx-registru-o-foaie";
    let file = "registru_facturi.xlsx";
    let mut rng = seeded(201);
    let custs = pick(
        all,
        &[0, 3, 4, 8, 12, 13, 17, 18, 20, 23, 24, 26, 27, 29, 10, 11],
    );
    let prods = [13, 14, 15, 29, 18, 19, 21, 2, 8, 9, 25];
    let number = |i: usize| format!("EA{:07}", 412301 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 90,
            from: ymd(2024, 9, 2),
            to: ymd(2025, 5, 30),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 5),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BlankName,
            D::BadIdno,
            D::WordQty("zece"),
            D::VatOutOfForce,
        ],
    );
    plant_where(&mut rng, &mut docs, &custs, D::BadDate("31.09.2024"), |d| {
        d.date.month() == 9 && d.date.year() == 2024
    });
    let header = [
        "Nr. d/o",
        "Nr. factură",
        "Data",
        "Cumpărător",
        "Cod fiscal",
        "Denumire bun/serviciu",
        "U.M.",
        "Cantitate",
        "Preț unitar fără TVA",
        "Valoare fără TVA",
        "Cota TVA",
        "Suma TVA",
        "Valoare cu TVA",
        "Valuta",
    ];
    let mut wb = workbook("Registrul facturilor fiscale emise");
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color("E2EFDA")
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let date_fmt = Format::new().set_num_format("dd.mm.yyyy");
    let money = Format::new().set_num_format("#,##0.00");
    let bold_money = Format::new().set_bold().set_num_format("#,##0.00");
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet().set_name("Registru")?;
    ws.merge_range(0, 0, 0, 13, "Registrul facturilor fiscale emise", &title)?;
    ws.write_string(1, 0, "Întreprinderea: SRL „Agro-Prim Nord”, IDNO 1003602150214 · perioada: 02.09.2024 – 30.05.2025")?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(3, c as u16, *h, &head)?;
    }
    let mut row = 4u32;
    let mut k = 0;
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        for (i, l) in doc.lines.iter().enumerate() {
            k += 1;
            ws.write_number(row, 0, k as f64)?;
            ws.write_string(row, 1, &doc.number)?;
            match doc.bad_date() {
                Some(s) => ws.write_string(row, 2, s)?,
                None => ws.write_datetime_with_format(row, 2, xl_date(doc.date), &date_fmt)?,
            };
            ws.write_string(row, 3, name_of(doc, &c.ro))?;
            ws.write_string(row, 4, md_idno(doc, c))?;
            ws.write_string(row, 5, l.p().ro)?;
            ws.write_string(row, 6, l.p().unit[1])?;
            ws.write_number_with_format(row, 8, f64_of(l.price), &money)?;
            ws.write_string(row, 10, rate_ro(l.rate))?;
            let (h, i_, j, lc) = (a1(row, 7), a1(row, 8), a1(row, 9), a1(row, 11));
            if let Some(w) = doc.word_qty(i) {
                // The row was pasted as values from another file.
                ws.write_string(row, 7, w)?;
                ws.write_number_with_format(row, 9, f64_of(l.net()), &money)?;
                ws.write_number_with_format(row, 11, f64_of(l.vat()), &money)?;
                ws.write_number_with_format(row, 12, f64_of(l.gross()), &money)?;
            } else {
                ws.write_number(row, 7, f64_of(l.qty))?;
                ws.write_formula_with_format(
                    row,
                    9,
                    formula(format!("=ROUND({h}*{i_},2)"), l.net()),
                    &money,
                )?;
                let vat = match l.rate {
                    Rate::Ex | Rate::V0 => Formula::new("=0").set_result("0"),
                    r => formula(format!("=ROUND({j}*{}/100,2)", r.n()), l.vat()),
                };
                ws.write_formula_with_format(row, 11, vat, &money)?;
                ws.write_formula_with_format(
                    row,
                    12,
                    formula(format!("={j}+{lc}"), l.gross()),
                    &money,
                )?;
            }
            ws.write_string(row, 13, doc.currency)?;
            tn += l.net();
            tv += l.vat();
            tg += l.gross();
            row += 1;
        }
    }
    ws.merge_range(row, 0, row, 8, "Total general", &bold)?;
    for (col, v) in [(9u16, tn), (11, tv), (12, tg)] {
        let f = formula(format!("=SUM({}:{})", a1(4, col), a1(row - 1, col)), v);
        ws.write_formula_with_format(row, col, f, &bold_money)?;
    }
    ws.set_column_width(3, 30)?;
    ws.set_column_width(5, 34)?;
    ws.set_freeze_panes(4, 0)?;
    let d = dir(root, layout)?;
    wb.save(d.join(file))?;
    let mut e = Expected::new(
        layout,
        "Romanian invoice register kept in Excel, one sheet",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

/// The register users reported: a sheet per month (Ianuarie ... Iunie 2025)
/// with the same header on row 3, a merged title, `Cota TVA` a
/// percent-formatted 0.2, net/VAT/total as formulas, a `TOTAL` row per
/// sheet, a summary sheet at the end; a caterer, so HoReCa goes from 12% to
/// 8% in February.
fn ro_lunar(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "ro-xlsx-foaie-pe-luna";
    let file = "registru_2025_lunar.xlsx";
    let mut rng = seeded(202);
    let custs = pick(all, &[12, 4, 20, 13, 7, 14, 9, 22, 25, 27, 19, 1, 3, 28]);
    let prods = [18, 19, 21, 13, 14, 15, 29, 8, 9];
    let number = |i: usize| format!("GC-{:04}", 1 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 75,
            from: ymd(2025, 1, 3),
            to: ymd(2025, 6, 30),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 4),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    let month = |m: u32| move |d: &Doc| d.date.month() == m;
    plant_where(&mut rng, &mut docs, &custs, D::BadIdno, month(1));
    plant_where(&mut rng, &mut docs, &custs, D::WordQty("două"), month(2));
    plant_where(&mut rng, &mut docs, &custs, D::VatOutOfForce, month(3));
    plant_where(&mut rng, &mut docs, &custs, D::BlankName, month(4));
    plant_where(&mut rng, &mut docs, &custs, D::UnknownRate("19%"), month(5));
    let header = [
        "Nr. factură",
        "Data",
        "Cumpărător",
        "Cod fiscal",
        "Denumire",
        "Cant.",
        "Preț unitar",
        "Cota TVA",
        "Valoare fără TVA",
        "TVA",
        "Total",
    ];
    let mut wb = workbook("Registrul facturilor emise 2025");
    let title = Format::new()
        .set_bold()
        .set_font_size(13)
        .set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_background_color("FCE4D6")
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let date_fmt = Format::new().set_num_format("dd.mm.yyyy");
    let money = Format::new().set_num_format("#,##0.00");
    let pct = Format::new().set_num_format("0%");
    let bold = Format::new().set_bold();
    let bold_money = Format::new().set_bold().set_num_format("#,##0.00");
    let mut e = Expected::new(
        layout,
        "Romanian register kept in Excel with a sheet per month, as reported by a user",
        &[file],
    );
    let mut totals = Vec::new();
    for m in 1..=6u32 {
        let name = LUNI[m as usize - 1];
        let ws: &mut Worksheet = wb.add_worksheet().set_name(name)?;
        ws.merge_range(
            0,
            0,
            0,
            10,
            &format!("Registrul facturilor emise — {name} 2025"),
            &title,
        )?;
        for (c, h) in header.iter().enumerate() {
            ws.write_string_with_format(2, c as u16, *h, &head)?;
        }
        let mut row = 3u32;
        let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let month_docs: Vec<&Doc> = docs.iter().filter(|d| d.date.month() == m).collect();
        for doc in &month_docs {
            let c = &custs[doc.cust];
            for (i, l) in doc.lines.iter().enumerate() {
                ws.write_string(row, 0, &doc.number)?;
                ws.write_datetime_with_format(row, 1, xl_date(doc.date), &date_fmt)?;
                ws.write_string(row, 2, name_of(doc, &c.ro))?;
                // Some codes were typed in as numbers.
                if doc.cust % 3 == 1 {
                    ws.write_number(row, 3, md_idno(doc, c).parse::<f64>()?)?;
                } else {
                    ws.write_string(row, 3, md_idno(doc, c))?;
                }
                ws.write_string(row, 4, l.p().ro)?;
                ws.write_number_with_format(row, 6, f64_of(l.price), &money)?;
                let frac = if doc.unknown_rate(i).is_some() {
                    0.19
                } else {
                    l.rate.frac()
                };
                ws.write_number_with_format(row, 7, frac, &pct)?;
                let (f, g, h, ic, j) = (a1(row, 5), a1(row, 6), a1(row, 7), a1(row, 8), a1(row, 9));
                let pct_of = if doc.unknown_rate(i).is_some() {
                    Decimal::from(19)
                } else {
                    l.rate.pct()
                };
                let vat = r2(l.net() * pct_of / Decimal::ONE_HUNDRED);
                if let Some(w) = doc.word_qty(i) {
                    ws.write_string(row, 5, w)?;
                    ws.write_number_with_format(row, 8, f64_of(l.net()), &money)?;
                    ws.write_number_with_format(row, 9, f64_of(vat), &money)?;
                    ws.write_number_with_format(row, 10, f64_of(l.net() + vat), &money)?;
                } else {
                    ws.write_number(row, 5, f64_of(l.qty))?;
                    ws.write_formula_with_format(
                        row,
                        8,
                        formula(format!("=ROUND({f}*{g},2)"), l.net()),
                        &money,
                    )?;
                    ws.write_formula_with_format(
                        row,
                        9,
                        formula(format!("=ROUND({ic}*{h},2)"), vat),
                        &money,
                    )?;
                    ws.write_formula_with_format(
                        row,
                        10,
                        formula(format!("={ic}+{j}"), l.net() + vat),
                        &money,
                    )?;
                }
                tn += l.net();
                tv += vat;
                tg += l.net() + vat;
                row += 1;
            }
        }
        ws.write_string_with_format(row, 0, "TOTAL", &bold)?;
        for (col, v) in [(8u16, tn), (9, tv), (10, tg)] {
            let f = formula(format!("=SUM({}:{})", a1(3, col), a1(row - 1, col)), v);
            ws.write_formula_with_format(row, col, f, &bold_money)?;
        }
        ws.set_column_width(2, 30)?;
        ws.set_column_width(4, 30)?;
        totals.push((name, row, tn, tv, tg));
        let valid = month_docs.iter().filter(|d| d.defect.is_none()).count();
        e.sheets.push((name.to_string(), month_docs.len(), valid));
    }
    let ws = wb.add_worksheet().set_name("Sinteză")?;
    for (c, h) in ["Luna", "Valoare fără TVA", "TVA", "Total"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
    }
    for (k, (name, row, tn, tv, tg)) in totals.iter().enumerate() {
        let r = k as u32 + 1;
        ws.write_string(r, 0, *name)?;
        for (col, src, v) in [(1u16, 8u16, tn), (2, 9, tv), (3, 10, tg)] {
            let f = formula(format!("='{name}'!{}", a1(*row, src)), *v);
            ws.write_formula_with_format(r, col, f, &money)?;
        }
    }
    ws.set_column_width(0, 14)?;
    let d = dir(root, layout)?;
    wb.save(d.join(file))?;
    e.count(&docs, |d| LUNI[d.date.month() as usize - 1].to_string());
    e.note = "The mapping reads the six month sheets in one go (`sheet = [...]`, or `\"*\"`, which \
              skips `Sinteză` for its other header); each [[sheet]] below gives one month's counts, \
              as `sheet = \"<name>\"` reads them."
        .into();
    Ok(e)
}

/// A Moldovan accounting program's export without diacritics: `;`, UTF-8,
/// series and number in two columns (`FA` goods, `FS` services, each numbered
/// from 1, so only the pair names a document), `1.234,56`, `dd/mm/yyyy`, VAT as
/// a bare number or `scutit`, product names with `;` in them, `Totaluri`.
fn ro_serie_numar(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "ro-csv-serie-numar";
    let file = "facturi_emise.csv";
    let mut rng = seeded(203);
    let custs = pick(
        all,
        &[1, 4, 9, 11, 15, 19, 21, 23, 24, 25, 26, 28, 29, 31, 0, 6],
    );
    let prods = [0, 2, 7, 9, 10, 11, 12, 13, 14, 17, 25, 26];
    let number = |i: usize| format!("{i}");
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 110,
            from: ymd(2024, 10, 1),
            to: ymd(2025, 4, 30),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 5),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    // Services on the FS series, goods on FA; each series numbered from 1.
    let (mut fa, mut fs) = (0, 0);
    for doc in docs.iter_mut() {
        let services = doc
            .lines
            .iter()
            .any(|l| matches!(l.prod, 0 | 7 | 9 | 25 | 26));
        if services {
            fs += 1;
            doc.number = format!("FS-{fs}");
        } else {
            fa += 1;
            doc.number = format!("FA-{fa}");
        }
        if fs % 9 == 4 && services {
            doc.currency = "EUR";
        }
    }
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BadIdno,
            D::WordQty("doi"),
            D::VatOutOfForce,
            D::BlankName,
        ],
    );
    let header = [
        "Serie",
        "Numar",
        "Data emiterii",
        "Client",
        "IDNO client",
        "Produs",
        "UM",
        "Cantitate",
        "Pret unitar",
        "Cota TVA",
        "Valoare",
        "Valoare TVA",
        "Total",
        "Moneda",
    ];
    let money = |d: Decimal| grouped(d, 2, ",", ".");
    let qty = |d: Decimal| {
        let n = d.normalize();
        grouped(n, n.scale(), ",", ".")
    };
    let mut csv = Csv::new(';', "\n");
    csv.row(&header);
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        let (serie, nr) = doc.number.split_once('-').expect("series-number");
        for (i, l) in doc.lines.iter().enumerate() {
            let mut name = strip_diacritics(l.p().ro);
            if matches!(l.prod, 0 | 7 | 9) {
                let m = doc.date.month() as usize - 1;
                name = format!(
                    "{name}; luna {} {}",
                    LUNI[m].to_lowercase(),
                    doc.date.year()
                );
            }
            let cota = match l.rate {
                Rate::Ex => "scutit".to_string(),
                r => r.n().to_string(),
            };
            tn += l.net();
            tv += l.vat();
            tg += l.gross();
            csv.row(&[
                serie.to_string(),
                nr.to_string(),
                doc.date.format("%d/%m/%Y").to_string(),
                name_of(doc, &strip_diacritics(&c.ro)),
                md_idno(doc, c),
                name,
                strip_diacritics(l.p().unit[1]),
                doc.word_qty(i)
                    .map(str::to_string)
                    .unwrap_or_else(|| qty(l.qty)),
                money(l.price),
                cota,
                money(l.net()),
                money(l.vat()),
                money(l.gross()),
                doc.currency.to_string(),
            ]);
        }
    }
    csv.row(&[
        "Totaluri",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        &money(tn),
        &money(tv),
        &money(tg),
        "",
    ]);
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Utf8)?;
    let mut e = Expected::new(
        layout,
        "Moldovan accounting program's CSV export, no diacritics",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

/// A small IT services firm's workbook: one row per invoice, no quantity or
/// price, only the net, the VAT amount (all at 20%, as a formula) and the
/// total; invoice numbers are plain numbers, dates ISO text pasted from the
/// bank's portal; a `Total` row.
fn ro_servicii(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "ro-xlsx-servicii-tva-suma";
    let file = "facturi_servicii_2024.xlsx";
    let mut rng = seeded(204);
    let custs = pick(all, &[14, 7, 9, 19, 25, 11, 15, 20, 22]);
    let prods = [6, 7];
    let number = |i: usize| format!("{}", 1 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 24,
            from: ymd(2024, 1, 15),
            to: ymd(2024, 12, 20),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 1),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    // One amount per invoice: the hours are in the description.
    let mut descr = Vec::new();
    for doc in docs.iter_mut() {
        let l = &mut doc.lines[0];
        let m = LUNI[doc.date.month() as usize - 1].to_lowercase();
        descr.push(match l.prod {
            6 => format!(
                "Dezvoltare software, {m} {} ({} ore)",
                doc.date.year(),
                l.qty
            ),
            _ => format!("Servicii de consultanță IT, {m} {}", doc.date.year()),
        });
        l.price = l.net();
        l.qty = Decimal::ONE;
    }
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![D::Duplicate, D::BadIdno, D::VatMismatch],
    );
    let header = [
        "Nr.",
        "Data emiterii",
        "Beneficiar",
        "IDNO beneficiar",
        "Descrierea serviciului",
        "Suma fără TVA",
        "TVA",
        "Suma totală",
    ];
    let mut wb = workbook("Facturi servicii 2024");
    let head = Format::new()
        .set_bold()
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let money = Format::new().set_num_format("#,##0.00");
    let bold = Format::new().set_bold();
    let bold_money = Format::new().set_bold().set_num_format("#,##0.00");
    let ws = wb.add_worksheet().set_name("Facturi 2024")?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
    }
    let mut row = 1u32;
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for (k, doc) in docs.iter().enumerate() {
        let c = &custs[doc.cust];
        let l = &doc.lines[0];
        ws.write_number(row, 0, doc.number.parse::<f64>()?)?;
        ws.write_string(row, 1, doc.date.format("%Y-%m-%d").to_string())?;
        ws.write_string(row, 2, &c.ro)?;
        ws.write_string(row, 3, md_idno(doc, c))?;
        ws.write_string(row, 4, &descr[k])?;
        ws.write_number_with_format(row, 5, f64_of(l.net()), &money)?;
        let v = doc.stated_vat(0);
        if doc.vat_off(0) {
            // The formula was overwritten by a typed amount.
            ws.write_number_with_format(row, 6, f64_of(v), &money)?;
        } else {
            ws.write_formula_with_format(
                row,
                6,
                formula(format!("=ROUND({}*20%,2)", a1(row, 5)), v),
                &money,
            )?;
        }
        ws.write_formula_with_format(
            row,
            7,
            formula(format!("={}+{}", a1(row, 5), a1(row, 6)), l.net() + v),
            &money,
        )?;
        tn += l.net();
        tv += v;
        tg += l.net() + v;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "Total", &bold)?;
    for (col, v) in [(5u16, tn), (6, tv), (7, tg)] {
        let f = formula(format!("=SUM({}:{})", a1(1, col), a1(row - 1, col)), v);
        ws.write_formula_with_format(row, col, f, &bold_money)?;
    }
    ws.set_column_width(2, 28)?;
    ws.set_column_width(4, 44)?;
    let d = dir(root, layout)?;
    wb.save(d.join(file))?;
    let mut e = Expected::new(
        layout,
        "A services firm's one-row-per-invoice workbook, VAT as an amount only",
        &[file],
    );
    e.count(&docs, |_| String::new());
    // The total follows the mistyped VAT, so the document total is off too.
    *e.by_code.entry("total_mismatch").or_default() += 1;
    Ok(e)
}

// ---------------------------------------------------------------------------
// English registers and exports
// ---------------------------------------------------------------------------

/// An English-language XLSX sales register: Title Case headers on row 4
/// under a merged title, real dates shown as mm/dd/yyyy, a `Country` column
/// (buyers abroad have their own tax ids and buy at 0%), `VAT %` as a number
/// (`20`) or `Exempt`, net/VAT/gross as values, a `Total` row.
fn en_register(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "en-xlsx-title-case";
    let file = "Sales Register FY2024-25.xlsx";
    let mut rng = seeded(301);
    let custs = pick(
        all,
        &[
            7, 14, 0, 5, 11, 25, 9, 19, 32, 20, 13, 27, 33, 1, 34, 15, 21, 35, 22, 30,
        ],
    );
    let prods = [0, 1, 2, 3, 4, 5, 6, 7, 16, 18, 21, 25, 26];
    let number = |i: usize| format!("INV-{:05}", 2401 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 140,
            from: ymd(2024, 7, 1),
            to: ymd(2025, 6, 30),
            custs: &custs,
            prods: &prods,
            export: &[23, 24, 22],
            lines: (1, 5),
            number: &number,
            foreign_currency: &["EUR", "USD"],
        },
    );
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BadIdno,
            D::WordPrice("TBD"),
            D::VatOutOfForce,
            D::UnknownCurrency("LEI"),
        ],
    );
    let header = [
        "Invoice No.",
        "Invoice Date",
        "Customer Code",
        "Customer Name",
        "Country",
        "Tax ID",
        "Item Description",
        "Qty",
        "Unit Price",
        "VAT %",
        "Net Amount",
        "VAT Amount",
        "Gross Amount",
        "Currency",
    ];
    let mut wb = workbook("Sales Register FY2024-25");
    let title = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_font_color("FFFFFF")
        .set_background_color("305496");
    let date_fmt = Format::new().set_num_format("mm/dd/yyyy");
    let money = Format::new().set_num_format("#,##0.00");
    let bold = Format::new().set_bold();
    let bold_money = Format::new().set_bold().set_num_format("#,##0.00");
    let ws = wb.add_worksheet().set_name("Sales 2024-25")?;
    ws.merge_range(
        0,
        0,
        0,
        13,
        "Moldova Trade Partners SRL — Sales Invoice Register",
        &title,
    )?;
    ws.write_string(
        1,
        0,
        "Period: 07/01/2024 - 06/30/2025 · all amounts in document currency",
    )?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(3, c as u16, *h, &head)?;
    }
    let mut row = 4u32;
    let (mut tn, mut tv, mut tg) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        let country = match c.party {
            Party::Foreign(k, _) => k,
            _ => "MD",
        };
        for (i, l) in doc.lines.iter().enumerate() {
            ws.write_string(row, 0, &doc.number)?;
            ws.write_datetime_with_format(row, 1, xl_date(doc.date), &date_fmt)?;
            ws.write_string(row, 2, format!("CUST-{:03}", 101 + doc.cust))?;
            ws.write_string(row, 3, &c.en)?;
            ws.write_string(row, 4, country)?;
            ws.write_string(row, 5, tax_id(doc, c))?;
            ws.write_string(row, 6, l.p().en)?;
            ws.write_number(row, 7, f64_of(l.qty))?;
            match doc.word_price(i) {
                Some(w) => ws.write_string(row, 8, w)?,
                None => ws.write_number_with_format(row, 8, f64_of(l.price), &money)?,
            };
            match l.rate {
                Rate::Ex => ws.write_string(row, 9, "Exempt")?,
                r => ws.write_number(row, 9, f64_of(r.pct()))?,
            };
            ws.write_number_with_format(row, 10, f64_of(l.net()), &money)?;
            ws.write_number_with_format(row, 11, f64_of(l.vat()), &money)?;
            ws.write_number_with_format(row, 12, f64_of(l.gross()), &money)?;
            ws.write_string(row, 13, doc.currency_shown())?;
            tn += l.net();
            tv += l.vat();
            tg += l.gross();
            row += 1;
        }
    }
    ws.write_string_with_format(row, 0, "Total", &bold)?;
    for (col, v) in [(10u16, tn), (11, tv), (12, tg)] {
        let f = formula(
            format!("=SUBTOTAL(9,{}:{})", a1(4, col), a1(row - 1, col)),
            v,
        );
        ws.write_formula_with_format(row, col, f, &bold_money)?;
    }
    ws.set_column_width(3, 28)?;
    ws.set_column_width(6, 32)?;
    ws.autofilter(3, 0, row - 1, 13)?;
    ws.set_freeze_panes(4, 0)?;
    let d = dir(root, layout)?;
    wb.save(d.join(file))?;
    let mut e = Expected::new(
        layout,
        "English-language Excel sales register with buyers abroad",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

/// The export users reported: snake_case, `,`, ISO dates, dot decimals,
/// `vat_rate` as `20`, `line_total` the net amount, customers only by IDNO;
/// 3,000 rows forming 986 invoices.
fn en_snake(root: &Path, _all: &[Cust]) -> Res<Expected> {
    let layout = "en-snake-csv";
    let file = "invoice_lines.csv";
    let mut rng = seeded(302);
    let custs = synthetic_customers(&mut rng, 85);
    let prods = [
        0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13, 14, 16, 18, 21, 25, 27, 28,
    ];
    let number = |i: usize| format!("INV-{:05}", 10001 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 986,
            from: ymd(2023, 7, 1),
            to: ymd(2025, 6, 30),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 6),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    // Exactly 3,000 lines: take lines from long documents, add to short ones.
    let prices = Prices::new(&mut rng);
    let mut total: usize = docs.iter().map(|d| d.lines.len()).sum();
    while total != 3000 {
        let i = rng.gen_range(0..docs.len());
        let doc = &mut docs[i];
        if total > 3000 && doc.lines.len() > 1 {
            doc.lines.pop();
            total -= 1;
        } else if total < 3000 && doc.lines.len() < 7 {
            let prod = prods[rng.gen_range(0..prods.len())];
            if doc.lines.iter().any(|l| l.prod == prod) {
                continue;
            }
            doc.lines.push(Line {
                prod,
                qty: quantity(&mut rng, &PRODUCTS[prod]),
                price: prices.get(&mut rng, prod),
                rate: rate_for(PRODUCTS[prod].cat, doc.date),
            });
            total += 1;
        }
    }
    for doc in docs.iter_mut().filter(|d| d.number.ends_with("13")) {
        doc.currency = "EUR";
    }
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BadIdno,
            D::WordQty("n/a"),
            D::VatOutOfForce,
            D::BlankName,
            D::NetMismatch,
            D::UnknownRate("15"),
        ],
    );
    let mut csv = Csv::new(',', "\n");
    csv.row(&[
        "invoice_no",
        "invoice_date",
        "customer_idno",
        "customer_name",
        "item",
        "quantity",
        "unit_price",
        "vat_rate",
        "line_total",
        "currency",
    ]);
    for doc in &docs {
        let c = &custs[doc.cust];
        for (i, l) in doc.lines.iter().enumerate() {
            let rate = match (doc.unknown_rate(i), l.rate) {
                (Some(s), _) => s.to_string(),
                (None, Rate::Ex) => "exempt".to_string(),
                (None, r) => r.n().to_string(),
            };
            csv.row(&[
                doc.number.clone(),
                doc.date.format("%Y-%m-%d").to_string(),
                md_idno(doc, c),
                name_of(doc, &c.en),
                l.p().en.to_string(),
                doc.word_qty(i)
                    .map(str::to_string)
                    .unwrap_or_else(|| plain(l.qty)),
                fixed(l.price, 2),
                rate,
                fixed(doc.stated_net(i), 2),
                doc.currency.to_string(),
            ]);
        }
    }
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Utf8)?;
    let mut e = Expected::new(
        layout,
        "English snake_case CSV export, as reported by a user",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

fn en_month(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][m as usize - 1]
}

/// A US-style accounting package's "Invoice detail" report: UTF-8 with a
/// BOM, CRLF, company/report/period lines above the header, `mm/dd/yyyy`,
/// `1,234.56` (quoted), `Tax Code` as `VAT 20%`/`Exempt`, descriptions with
/// commas and quotes, rows sorted by date so that invoices of the same day
/// are interleaved, a `TOTAL` row.
fn en_us_report(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "en-csv-us-report-bom";
    let file = "InvoiceDetail.csv";
    let mut rng = seeded(303);
    let custs = pick(
        all,
        &[22, 14, 7, 28, 31, 3, 10, 19, 12, 20, 23, 25, 27, 8, 0],
    );
    let prods = [0, 1, 2, 3, 4, 5, 27, 28, 12, 16, 18, 21, 25, 26];
    let number = |i: usize| format!("{}", 5001 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 180,
            from: ymd(2024, 11, 1),
            to: ymd(2025, 4, 30),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 6),
            number: &number,
            foreign_currency: &["USD"],
        },
    );
    // Invoices go out on Mondays, Wednesdays and Fridays.
    for doc in docs.iter_mut() {
        while !matches!(doc.date.weekday().num_days_from_monday(), 0 | 2 | 4) {
            doc.date -= Duration::days(1);
        }
        let date = doc.date;
        for l in doc.lines.iter_mut() {
            l.rate = rate_for(PRODUCTS[l.prod].cat, date);
        }
    }
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BadIdno,
            D::WordQty("ten"),
            D::NetMismatch,
            D::VatOutOfForce,
        ],
    );
    let notes = [
        "Delivery to warehouse, str. Uzinelor 19, Chisinau",
        "As per contract No. 14/2024, \"Annex 2\"",
        "",
        "",
        "Backorder, shipped in 2 parts",
        "",
    ];
    let money = |d: Decimal| grouped(d, 2, ".", ",");
    let tax_code = |r: Rate| match r {
        Rate::Ex => "Exempt".to_string(),
        r => format!("VAT {}%", r.n()),
    };
    let mut rows: Vec<(NaiveDate, u32, Vec<String>)> = Vec::new();
    let (mut tn, mut tv) = (Decimal::ZERO, Decimal::ZERO);
    for doc in &docs {
        let c = &custs[doc.cust];
        for (i, l) in doc.lines.iter().enumerate() {
            let descr = match l.prod {
                0 | 6 => format!(
                    "Monthly service, {} {}",
                    en_month(doc.date.month()),
                    doc.date.year()
                ),
                _ => notes[rng.gen_range(0..notes.len())].to_string(),
            };
            tn += l.net();
            tv += l.vat();
            rows.push((
                doc.date,
                rng.gen(),
                vec![
                    doc.date.format("%m/%d/%Y").to_string(),
                    doc.number.clone(),
                    c.en.clone(),
                    format!("C{}", 1001 + doc.cust),
                    md_idno(doc, c),
                    l.p().en.to_string(),
                    descr,
                    doc.word_qty(i)
                        .map(str::to_string)
                        .unwrap_or_else(|| plain(l.qty)),
                    money(l.price),
                    money(doc.stated_net(i)),
                    tax_code(l.rate),
                    money(l.vat()),
                    doc.currency.to_string(),
                ],
            ));
        }
    }
    rows.sort_by_key(|(d, k, _)| (*d, *k));
    let mut csv = Csv::new(',', "\r\n");
    csv.row(&["Nord Distribution SRL"]);
    csv.row(&["Invoice Detail"]);
    csv.row(&["November 1, 2024 - April 30, 2025"]);
    csv.row::<&str>(&[]);
    csv.row(&[
        "Date",
        "Invoice #",
        "Customer",
        "Customer ID",
        "Fiscal Code",
        "Product/Service",
        "Description",
        "Qty",
        "Rate",
        "Amount",
        "Tax Code",
        "Tax Amount",
        "Currency",
    ]);
    for (_, _, r) in &rows {
        csv.row(r);
    }
    csv.row(&[
        "TOTAL",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        &money(tn),
        "",
        &money(tv),
        "",
    ]);
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Utf8Bom)?;
    let mut e = Expected::new(
        layout,
        "US-style accounting package report, CSV with BOM",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

// ---------------------------------------------------------------------------
// Web shops and marketplaces (JSON)
// ---------------------------------------------------------------------------

fn num(d: Decimal) -> Value {
    serde_json::from_str(&plain(d)).expect("a JSON number")
}

fn offset(d: NaiveDate) -> &'static str {
    // Chisinau: EEST from the last Sunday of March to the last Sunday of October.
    if (4..=10).contains(&d.month()) {
        "+03:00"
    } else {
        "+02:00"
    }
}

/// A flower and gift shop's order export: `{"export": ..., "orders": [...]}`,
/// each order with a nested `customer` (a `company` object with the IDNO for
/// business buyers, `null` for people), `line_items` whose VAT is inside a
/// `tax_lines` array, prices as strings, totals per order; one order was
/// exported twice (two pages overlapping).
fn webshop(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "webshop-json-nested";
    let file = "orders_2024.json";
    let mut rng = seeded(401);
    // (sku, title, price, rate)
    let items: [(&str, &str, &str, Rate); 9] = [
        ("ROSE-RED-50", "Trandafiri roșii 50 cm", "35.00", Rate::V20),
        ("ROSE-WHT-60", "Trandafiri albi 60 cm", "42.00", Rate::V20),
        ("BQ-SPRING", "Buchet „Primăvara”", "450.00", Rate::V20),
        ("TULIP-MIX", "Lalele, mix de culori", "22.50", Rate::V20),
        ("BOX-GIFT", "Cutie cadou", "120.00", Rate::V20),
        ("CARD-01", "Felicitare", "25.00", Rate::V20),
        ("CAKE-NAP", "Tort „Napoleon” 1 kg", "310.00", Rate::V8),
        ("MACARON-12", "Macarons, cutie 12 buc.", "185.00", Rate::V8),
        ("DLV-CHIS", "Livrare în Chișinău", "60.00", Rate::V20),
    ];
    let people = [
        ("Elena Popescu", "elena.popescu@example.md"),
        ("Ion Rusu", "ion.rusu@example.md"),
        ("Maria Ceban", "maria.ceban@example.md"),
        ("Andrei Lungu", "andrei.lungu@example.md"),
        ("Natalia Cojocaru", "n.cojocaru@example.md"),
        ("Victor Munteanu", "victor.m@example.md"),
        ("Olga Sîrbu", "olga.sirbu@example.md"),
        ("Dumitru Bălan", "d.balan@example.md"),
    ];
    let firms = pick(all, &[20, 12, 4, 14, 7]);
    // Buyers: people first (most orders), then companies.
    let mut custs: Vec<Cust> = people
        .iter()
        .map(|(n, _)| Cust {
            ru: n.to_string(),
            ro: n.to_string(),
            en: n.to_string(),
            party: Party::Person,
            idno: String::new(),
        })
        .collect();
    custs.extend(firms);
    let n = 30;
    let mut docs = Vec::new();
    let from = ymd(2024, 2, 1);
    let mut dates: Vec<NaiveDate> = (0..n)
        .map(|_| from + Duration::days(rng.gen_range(0..320)))
        .collect();
    dates.sort();
    for (i, date) in dates.into_iter().enumerate() {
        let cust = if rng.gen_bool(0.35) {
            people.len() + rng.gen_range(0..5)
        } else {
            rng.gen_range(0..people.len())
        };
        let mut pool: Vec<usize> = (0..items.len() - 1).collect();
        pool.shuffle(&mut rng);
        let k = 1 + rng.gen_range(0..3);
        let mut lines: Vec<Line> = pool[..k]
            .iter()
            .map(|&j| Line {
                prod: j,
                qty: Decimal::from(match j {
                    0 | 1 | 3 => [5, 7, 9, 11, 15, 21, 25, 51][rng.gen_range(0..8)],
                    _ => rng.gen_range(1..3),
                }),
                price: items[j].2.parse().expect("a price"),
                rate: items[j].3,
            })
            .collect();
        if rng.gen_bool(0.6) {
            lines.push(Line {
                prod: items.len() - 1,
                qty: Decimal::ONE,
                price: items[items.len() - 1].2.parse().expect("a price"),
                rate: Rate::V20,
            });
        }
        docs.push(Doc {
            number: format!("{}", 1001 + i),
            date,
            cust,
            currency: "MDL",
            lines,
            defect: None,
        });
    }
    let is_firm = |d: &Doc| d.cust >= people.len();
    plant_where(&mut rng, &mut docs, &custs, D::BadIdno, is_firm);
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![D::WordPrice("la cerere"), D::UnknownRate("0.05")],
    );
    let mut orders: Vec<Value> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let c = &custs[doc.cust];
        let t = format!(
            "{}T{:02}:{:02}:{:02}{}",
            doc.date.format("%Y-%m-%d"),
            8 + rng.gen_range(0..13),
            rng.gen_range(0..60),
            rng.gen_range(0..60),
            offset(doc.date)
        );
        let mut vat_sum = Decimal::ZERO;
        let line_items: Vec<Value> = doc
            .lines
            .iter()
            .enumerate()
            .map(|(j, l)| {
                let (sku, title, _, _) = items[l.prod];
                let (rate_text, rate_num) = match doc.unknown_rate(j) {
                    Some(r) => ("TVA 5%".to_string(), r.parse::<Decimal>().expect("a rate")),
                    None => (format!("TVA {}%", l.rate.n()), l.rate.pct() / Decimal::ONE_HUNDRED),
                };
                let vat = r2(l.net() * rate_num);
                vat_sum += vat;
                json!({
                    "id": 90000 + i * 10 + j,
                    "sku": sku,
                    "title": title,
                    "quantity": num(l.qty),
                    "price": match doc.word_price(j) {
                        Some(w) => Value::String(w.into()),
                        None => Value::String(fixed(l.price, 2)),
                    },
                    "tax_lines": [{ "title": rate_text, "rate": num(rate_num), "price": fixed(vat, 2) }],
                })
            })
            .collect();
        let company = match c.party {
            Party::Company => json!({ "idno": tax_id(doc, c), "vat_payer": true }),
            _ => Value::Null,
        };
        let (email, phone) = match c.party {
            Party::Person => (
                people[doc.cust].1.to_string(),
                format!(
                    "+373 69 {:03} {:03}",
                    100 + doc.cust * 37,
                    200 + doc.cust * 91
                ),
            ),
            _ => (
                format!(
                    "office@{}.md",
                    c.en.split_whitespace()
                        .next()
                        .unwrap_or("firma")
                        .to_lowercase()
                        .replace(['\'', '"'], "")
                ),
                "+373 22 555 010".to_string(),
            ),
        };
        orders.push(json!({
            "id": 5012 + i * 3,
            "order_number": doc.number,
            "created_at": t,
            "currency": doc.currency,
            "financial_status": "paid",
            "customer": {
                "id": 880 + doc.cust,
                "name": c.ro,
                "email": email,
                "phone": phone,
                "company": company,
            },
            "line_items": line_items,
            "subtotal_price": fixed(doc.net(), 2),
            "total_tax": fixed(vat_sum, 2),
            "total_price": fixed(doc.net() + vat_sum, 2),
        }));
    }
    // Page 2 of the export started one order early: order k appears twice.
    let k = 17;
    let dup = orders[k].clone();
    orders.insert(k + 1, dup);
    let mut twice = docs[k].clone();
    assert!(twice.defect.is_none() && docs[k].defect.is_none());
    twice.defect = Some((D::Duplicate, 0));
    let mut all_docs = docs.clone();
    all_docs.insert(k + 1, twice);
    let out = json!({
        "export": {
            "shop": "florarie-online.md",
            "generated_at": "2025-01-05T03:00:00+02:00",
            "count": orders.len(),
        },
        "orders": orders,
    });
    let d = dir(root, layout)?;
    std::fs::write(d.join(file), serde_json::to_string_pretty(&out)? + "\n")?;
    let mut e = Expected::new(
        layout,
        "Web shop order export (JSON), nested customers and lines",
        &[file],
    );
    e.count(&all_docs, |_| String::new());
    Ok(e)
}

/// A B2B marketplace's order lines as JSON Lines: one object per line, the
/// lines of an order scattered through the file, numbers as JSON numbers,
/// `vat_percent` as `"20%"`, the buyer nested.
fn marketplace(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "marketplace-jsonl";
    let file = "order_lines.jsonl";
    let mut rng = seeded(402);
    let custs = pick(all, &[12, 4, 20, 27, 22, 14, 8, 21, 3, 25, 28, 31, 9]);
    let prods = [1, 2, 3, 4, 13, 14, 15, 18, 21, 27, 28, 29];
    let number = |i: usize| format!("MP-24-{:06}", 310 + i * 3);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 70,
            from: ymd(2024, 10, 1),
            to: ymd(2025, 5, 31),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 5),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![
            D::BadIdno,
            D::BlankName,
            D::WordQty("2 buc"),
            D::VatOutOfForce,
        ],
    );
    let cities = ["Chișinău", "Bălți", "Cahul", "Orhei", "Ungheni", "Comrat"];
    let mut lines: Vec<(u64, String)> = Vec::new();
    for doc in &docs {
        let c = &custs[doc.cust];
        let t = format!(
            "{} {:02}:{:02}:{:02}",
            doc.date.format("%Y-%m-%d"),
            7 + rng.gen_range(0..14),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        );
        for (i, l) in doc.lines.iter().enumerate() {
            let vat = match l.rate {
                Rate::Ex => "fără TVA".to_string(),
                r => format!("{}%", r.n()),
            };
            let v = json!({
                "order_id": doc.number,
                "order_date": t,
                "line_no": i + 1,
                "seller_sku": format!("SKU-{:04}", 100 + l.prod * 7),
                "product_name": l.p().ro,
                "qty": match doc.word_qty(i) {
                    Some(w) => Value::String(w.into()),
                    None => num(l.qty),
                },
                "price": num(l.price),
                "vat_percent": vat,
                "currency": doc.currency,
                "buyer": {
                    "name": name_of(doc, &c.ro),
                    "fiscal_code": md_idno(doc, c),
                    "city": cities[doc.cust % cities.len()],
                },
            });
            lines.push((rng.gen(), serde_json::to_string(&v)?));
        }
    }
    lines.sort();
    let text: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
    let d = dir(root, layout)?;
    std::fs::write(d.join(file), text)?;
    let mut e = Expected::new(
        layout,
        "B2B marketplace order lines (JSON Lines), shuffled",
        &[file],
    );
    e.count(&docs, |_| String::new());
    Ok(e)
}

// ---------------------------------------------------------------------------
// Layouts the current tool cannot read yet
// ---------------------------------------------------------------------------

/// An Odoo "Export" of customer invoices with their lines: the invoice's
/// columns are filled on its first line only and left blank on the others;
/// `Partner/Tax ID` with the country prefix (`MD1003600...`), product names
/// with their internal reference (`[OFF-0027] Office chair`).
fn odoo(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "odoo-export-fill-down";
    let file = "account.move.csv";
    let mut rng = seeded(501);
    let custs = pick(all, &[14, 7, 22, 0, 9, 25, 28, 31, 15, 12, 20, 4]);
    let prods = [0, 1, 2, 3, 4, 5, 6, 27, 28, 18, 21, 16];
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 50,
            from: ymd(2024, 11, 4),
            to: ymd(2025, 5, 30),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 5),
            number: &|i| format!("{}", i + 1),
            foreign_currency: &["EUR"],
        },
    );
    let (mut y24, mut y25) = (40, 0);
    for doc in docs.iter_mut() {
        if doc.date.year() == 2024 {
            y24 += 1;
            doc.number = format!("INV/2024/{y24:05}");
        } else {
            y25 += 1;
            doc.number = format!("INV/2025/{y25:05}");
        }
    }
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![D::BadIdno, D::VatOutOfForce, D::UnknownRate("VAT 15%")],
    );
    let mut csv = Csv::new(',', "\n");
    csv.row(&[
        "Number",
        "Invoice/Bill Date",
        "Partner",
        "Partner/Tax ID",
        "Currency",
        "Invoice lines/Product",
        "Invoice lines/Label",
        "Invoice lines/Quantity",
        "Invoice lines/Unit Price",
        "Invoice lines/Taxes",
        "Invoice lines/Subtotal",
    ]);
    for doc in &docs {
        let c = &custs[doc.cust];
        for (i, l) in doc.lines.iter().enumerate() {
            let head: Vec<String> = if i == 0 {
                vec![
                    doc.number.clone(),
                    doc.date.format("%Y-%m-%d").to_string(),
                    c.en.clone(),
                    format!("MD{}", md_idno(doc, c)),
                    doc.currency.to_string(),
                ]
            } else {
                vec![String::new(); 5]
            };
            let tax = match (doc.unknown_rate(i), l.rate) {
                (Some(s), _) => s.to_string(),
                (None, Rate::V12) => "VAT 12% HoReCa".to_string(),
                (None, Rate::V0) => "VAT 0% Export".to_string(),
                (None, Rate::Ex) => "VAT Exempt".to_string(),
                (None, r) => format!("VAT {}%", r.n()),
            };
            let mut r = head;
            r.extend([
                format!(
                    "[{}-{:04}] {}",
                    if l.p().cat == Cat::Horeca {
                        "SRV"
                    } else {
                        "OFF"
                    },
                    20 + l.prod,
                    l.p().en
                ),
                l.p().en.to_string(),
                fixed(l.qty, 2),
                fixed(l.price, 2),
                tax,
                fixed(l.net(), 2),
            ]);
            csv.row(&r);
        }
    }
    let d = dir(root, layout)?;
    write_text(&d.join(file), &csv.text, Enc::Utf8)?;
    let mut e = Expected::new(
        layout,
        "Odoo export of invoices with lines: invoice columns only on the first line",
        &[file],
    );
    e.count(&docs, |_| String::new());
    e.note = "The invoice's columns are blank on its later lines: the mapping carries them down \
              (`[source] fill_down`). Without it, each continuation row is a document of its own \
              with no number (`missing_group_key`)."
        .into();
    Ok(e)
}

/// The Moldovan VAT sales register ("Registrul de evidență a livrărilor"):
/// one row per invoice, the amounts split into a net and a VAT column per
/// rate (20%, 12%, 8%, 0%), a total with VAT; a wide layout whose slots are
/// named by the rate, not numbered.
fn md_registru_livrari(root: &Path, all: &[Cust]) -> Res<Expected> {
    let layout = "md-registru-livrari-cote";
    let file = "registrul_livrarilor_2024.xlsx";
    let mut rng = seeded(502);
    let custs = pick(all, &[12, 4, 20, 3, 8, 10, 13, 22, 24, 26, 0, 1]);
    let prods = [13, 14, 15, 18, 19, 21, 2, 8, 9, 10, 22];
    let number = |i: usize| format!("EA{:07}", 713400 + i);
    let mut docs = gen_docs(
        &mut rng,
        &Spec {
            n: 36,
            from: ymd(2024, 1, 8),
            to: ymd(2024, 12, 27),
            custs: &custs,
            prods: &prods,
            export: &[],
            lines: (1, 5),
            number: &number,
            foreign_currency: &["EUR"],
        },
    );
    plant(
        &mut rng,
        &mut docs,
        &custs,
        vec![D::BadIdno, D::VatMismatch],
    );
    let rates = [Rate::V20, Rate::V12, Rate::V8, Rate::V0];
    let mut header: Vec<String> = vec![
        "Nr. d/o".into(),
        "Data facturii".into(),
        "Seria și numărul facturii".into(),
        "Denumirea cumpărătorului".into(),
        "Codul fiscal al cumpărătorului".into(),
    ];
    for r in rates {
        header.push(format!("Valoarea livrărilor {}%", r.n()));
        header.push(format!("TVA {}%", r.n()));
    }
    header.push("Total cu TVA".into());
    let mut wb = workbook("Registrul de evidență a livrărilor 2024");
    let title = Format::new()
        .set_bold()
        .set_font_size(13)
        .set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let date_fmt = Format::new().set_num_format("dd.mm.yyyy");
    let money = Format::new().set_num_format("#,##0.00");
    let bold = Format::new().set_bold();
    let bold_money = Format::new().set_bold().set_num_format("#,##0.00");
    let ws = wb.add_worksheet().set_name("Livrări 2024")?;
    let last = header.len() as u16 - 1;
    ws.merge_range(
        0,
        0,
        0,
        last,
        "Registrul de evidență a livrărilor, anul 2024",
        &title,
    )?;
    ws.write_string(
        1,
        0,
        "Subiectul impunerii: SRL „Agro-Prim Nord”, cod fiscal 1003602150214",
    )?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(3, c as u16, h, &head)?;
    }
    let mut row = 4u32;
    let mut sums = vec![Decimal::ZERO; header.len()];
    for (k, doc) in docs.iter().enumerate() {
        let c = &custs[doc.cust];
        ws.write_number(row, 0, (k + 1) as f64)?;
        ws.write_datetime_with_format(row, 1, xl_date(doc.date), &date_fmt)?;
        ws.write_string(row, 2, &doc.number)?;
        ws.write_string(row, 3, &c.ro)?;
        ws.write_string(row, 4, md_idno(doc, c))?;
        let off_rate = doc
            .is(|d| matches!(d, D::VatMismatch))
            .map(|i| doc.lines[i].rate);
        let mut total = Decimal::ZERO;
        for (j, r) in rates.iter().enumerate() {
            let net: Decimal = doc
                .lines
                .iter()
                .filter(|l| l.rate == *r)
                .map(Line::net)
                .sum();
            let present = doc.lines.iter().any(|l| l.rate == *r);
            if !present {
                continue;
            }
            let vat = r2(net * r.pct() / Decimal::ONE_HUNDRED);
            let shown = if off_rate == Some(*r) { typo(vat) } else { vat };
            let col = 5 + 2 * j as u16;
            ws.write_number_with_format(row, col, f64_of(net), &money)?;
            ws.write_number_with_format(row, col + 1, f64_of(shown), &money)?;
            sums[col as usize] += net;
            sums[col as usize + 1] += shown;
            total += net + vat;
        }
        ws.write_number_with_format(row, last, f64_of(total), &money)?;
        sums[last as usize] += total;
        row += 1;
    }
    ws.merge_range(row, 0, row, 4, "Total", &bold)?;
    for col in 5..=last {
        let f = formula(
            format!("=SUM({}:{})", a1(4, col), a1(row - 1, col)),
            sums[col as usize],
        );
        ws.write_formula_with_format(row, col, f, &bold_money)?;
    }
    ws.set_column_width(3, 30)?;
    let d = dir(root, layout)?;
    wb.save(d.join(file))?;
    let mut e = Expected::new(
        layout,
        "Moldovan VAT sales register: net and VAT columns per rate",
        &[file],
    );
    e.count(&docs, |_| String::new());
    e.note = "Each invoice's lines are its rate columns: the mapping reads them as a wide layout \
              whose slots are named by the rates (`wide = { values = [\"20\", \"12\", \"8\", \"0\"] }`)."
        .into();
    Ok(e)
}

/// A layout's writer: into its folder, from the shared customers.
type Layout = fn(&Path, &[Cust]) -> Res<Expected>;

/// Write every generated layout into `root/<layout>/` (input files and
/// `expected.toml`) from the variant `seed` (0: the corpus itself), and
/// return each layout's name, documents and valid documents.
pub fn generate(root: &Path, seed: u64) -> Res<Vec<(String, usize, usize)>> {
    SEED.with(|s| s.set(seed));
    std::fs::create_dir_all(root)?;
    let all = customers();
    let layouts: Vec<Layout> = vec![
        c1_realizatsiya,
        c1_pokupatel_shuffled,
        c1_nomer_dokumenta_tab,
        c1_dokument_comma,
        ro_registru,
        ro_lunar,
        ro_serie_numar,
        ro_servicii,
        en_register,
        en_snake,
        en_us_report,
        webshop,
        marketplace,
        odoo,
        md_registru_livrari,
    ];
    let mut out = Vec::new();
    for f in layouts {
        let e = f(root, &all)?;
        e.write(&root.join(&e.layout))?;
        out.push((e.layout.clone(), e.documents, e.valid));
    }
    SEED.with(|s| s.set(0));
    Ok(out)
}

/// `make_corpus [DIR] [--seed N]`.
fn main() -> Res<()> {
    let mut root = PathBuf::from("tests/corpus");
    let mut seed = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => seed = args.next().ok_or("--seed needs a number")?.parse()?,
            _ => root = PathBuf::from(a),
        }
    }
    for (layout, documents, valid) in generate(&root, seed)? {
        println!("{layout:32} {documents:5} documents, {valid:5} valid");
    }
    Ok(())
}
