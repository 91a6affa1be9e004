//! The vocabulary `mapping init` matches headers against: known header
//! names per field in Russian, Romanian and English (lower case, trimmed),
//! the names that only count inside a dotted group (`customer.id`), weak
//! top-level names of JSON records, and the words that name a group.

/// Known header names (lower case, trimmed) per field, most specific first.
pub(super) const KNOWN: &[(&str, &[&str])] = &[
    (
        "invoice.number",
        &[
            "номер",
            "номер документа",
            "№",
            "№ документа",
            "nr.",
            "nr",
            "nr factura",
            "nr. factura",
            "număr",
            "numar",
            "numărul",
            "number",
            "invoice number",
            "invoice no",
            "invoice",
            "no.",
            "factura",
            "document",
        ],
    ),
    (
        "invoice.date",
        &[
            "дата",
            "дата документа",
            "data",
            "data facturii",
            "date",
            "invoice date",
        ],
    ),
    (
        "invoice.due_date",
        &[
            "срок оплаты",
            "оплатить до",
            "scadența",
            "scadenta",
            "termen de plată",
            "termen de plata",
            "due date",
            "due",
        ],
    ),
    (
        "invoice.currency",
        &["валюта", "valuta", "moneda", "currency"],
    ),
    (
        "invoice.kind",
        &[
            "вид документа",
            "тип",
            "тип документа",
            "tip",
            "tip document",
            "type",
            "document type",
            "kind",
        ],
    ),
    (
        "invoice.notes",
        &[
            "комментарий",
            "примечание",
            "comentariu",
            "note",
            "notes",
            "comment",
        ],
    ),
    (
        "customer.number",
        &[
            "код контрагента",
            "код клиента",
            "код покупателя",
            "cod client",
            "cod",
            "customer number",
            "customer id",
            "client id",
            "customer code",
        ],
    ),
    (
        "customer.name",
        &[
            "контрагент",
            "покупатель",
            "клиент",
            "client",
            "clientul",
            "cumpărător",
            "cumparator",
            "denumire client",
            "customer",
            "customer name",
            "buyer",
        ],
    ),
    (
        "customer.tax_id",
        &[
            "idno",
            "инн",
            "фискальный код",
            "код фискальный",
            "cod fiscal",
            "codul fiscal",
            "idno client",
            "tax id",
            "tax_id",
            "vat number",
            "fiscal code",
        ],
    ),
    ("customer.email", &["email", "e-mail", "эл. почта", "почта"]),
    (
        "customer.address1",
        &["адрес", "adresa", "adresă", "address"],
    ),
    (
        "line.name",
        &[
            "номенклатура",
            "товар",
            "наименование",
            "товар/услуга",
            "denumire",
            "denumirea",
            "produs",
            "marfa",
            "item",
            "product",
            "description",
            "описание",
            "line",
        ],
    ),
    (
        "line.quantity",
        &[
            "количество",
            "кол-во",
            "кол.",
            "cantitate",
            "cantitatea",
            "cant.",
            "cant",
            "qty",
            "quantity",
        ],
    ),
    (
        "line.unit_cost",
        &[
            "цена",
            "цена без ндс",
            "preț",
            "pret",
            "preț unitar",
            "pret unitar",
            "price",
            "unit price",
            "unit cost",
        ],
    ),
    (
        "line.taxes",
        &[
            "ставка ндс",
            "ндс %",
            "ндс, %",
            "% ндс",
            "cota tva",
            "tva %",
            "cota",
            "vat",
            "vat rate",
            "vat %",
            "tax rate",
        ],
    ),
    (
        "line.check_net",
        &[
            "сумма без ндс",
            "suma fără tva",
            "suma fara tva",
            "valoare fără tva",
            "valoare fara tva",
            "net",
            "net amount",
            "amount excl vat",
        ],
    ),
    (
        "line.check_vat",
        &["сумма ндс", "ндс", "suma tva", "tva", "vat amount"],
    ),
    (
        "line.check_gross",
        &[
            "сумма",
            "сумма с ндс",
            "всего",
            "suma",
            "suma cu tva",
            "valoare",
            "total",
            "gross",
            "amount",
        ],
    ),
    (
        "payment.amount",
        &[
            "оплачено",
            "сумма оплаты",
            "achitat",
            "suma achitată",
            "paid",
            "amount paid",
        ],
    ),
    (
        "payment.method",
        &[
            "metoda",
            "metoda de plată",
            "способ оплаты",
            "method",
            "payment method",
        ],
    ),
    (
        "payment.date",
        &[
            "дата оплаты",
            "data plății",
            "data platii",
            "payment date",
            "data achitarii",
            "data achitării",
            "paid on",
        ],
    ),
];

/// Extra names that only count inside a JSON object of that group
/// (`customer.id`, `payment.paid_at`).
pub(super) const IN_CONTEXT: &[(&str, &[&str])] = &[
    ("customer.number", &["id", "code", "number"]),
    ("customer.name", &["name", "full_name", "company_name"]),
    (
        "customer.tax_id",
        &["idno", "tax_id", "vat_id", "fiscal_code"],
    ),
    (
        "customer.address1",
        &["street", "address", "address1", "line1"],
    ),
    ("customer.city", &["city"]),
    ("customer.postal_code", &["zip", "postal_code", "postcode"]),
    ("customer.country", &["country"]),
    ("customer.phone", &["phone", "tel"]),
    ("line.name", &["title", "name", "product", "description"]),
    ("line.quantity", &["qty", "quantity", "count"]),
    ("line.unit_cost", &["price", "unit_price", "unit_cost"]),
    ("line.taxes", &["vat", "vat_rate", "tax_rate", "tva"]),
    ("payment.amount", &["amount", "sum", "paid"]),
    ("payment.date", &["paid_at", "date", "paid_on"]),
    ("payment.method", &["method", "type"]),
];

/// Names at the top level of a JSON record that are weaker guesses.
pub(super) const TOP_WEAK: &[(&str, &[&str])] = &[
    (
        "invoice.number",
        &["id", "order_id", "order_number", "number"],
    ),
    (
        "invoice.date",
        &["created", "created_at", "order_date", "date"],
    ),
];

pub(super) fn context(first: &str) -> Option<&'static str> {
    match first {
        "line" | "lines" | "item" | "items" => Some("line"),
        "customer" | "client" | "buyer" | "contragent" => Some("customer"),
        "payment" | "payments" => Some("payment"),
        _ => None,
    }
}
