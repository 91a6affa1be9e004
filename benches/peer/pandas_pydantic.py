"""The pandas + pydantic peer of `facturare-etl validate` (issue 15).

What a data engineer would write instead of our tool for the second
generator's register (`benches/support/register_ro.rs`, `registru.toml`):
pandas reads the file (`;`, UTF-8, every cell a string), a pydantic model
checks each line (number present, `dd.mm.yyyy` date, decimal-comma
amounts as `Decimal`, IDNO of 13 digits with its check digit, a known VAT
rate, net = quantity x price to the cent, VAT = net x rate), and the lines
are grouped by invoice number (a document is valid when all its lines are).
It does less than `validate`: no customer merging across the batch, no
duplicate or totals-row checks, no cell-level reports, no encodings or
malformed-input guards.

    pip install pandas pydantic
    python3 benches/peer/pandas_pydantic.py /tmp/i15/registru-quoted-1000000.csv

Prints one JSON line: rows, documents, valid, rejected, seconds (wall,
from before the read to after the grouping).
"""

import datetime as dt
import json
import sys
import time
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

import pandas as pd
from pydantic import BaseModel, ValidationError, field_validator

RATES = {"20%": Decimal("0.20"), "8%": Decimal("0.08"), "0%": Decimal("0")}
CENT = Decimal("0.01")


def amount(text: str) -> Decimal:
    """`1 234,50` (spaces or no-break spaces between thousands) as a Decimal."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation as e:
        raise ValueError(f"not an amount: {text!r}") from e


class Line(BaseModel):
    number: str
    date: dt.date
    idno: str
    quantity: Decimal
    price: Decimal
    rate: Decimal
    net: Decimal
    vat: Decimal

    @field_validator("number")
    @classmethod
    def present(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("no invoice number")
        return v

    @field_validator("date", mode="before")
    @classmethod
    def ddmmyyyy(cls, v: str) -> dt.date:
        return dt.datetime.strptime(v, "%d.%m.%Y").date()

    @field_validator("idno")
    @classmethod
    def idno_check(cls, v: str) -> str:
        if len(v) != 13 or not v.isdigit():
            raise ValueError("an IDNO is 13 digits")
        weights = (7, 3, 1)
        check = sum(int(d) * weights[i % 3] for i, d in enumerate(v[:12])) % 10
        if int(v[12]) != check:
            raise ValueError("IDNO check digit")
        return v

    @field_validator("quantity", "price", "net", "vat", mode="before")
    @classmethod
    def decimal_comma(cls, v: str) -> Decimal:
        return amount(v)

    @field_validator("rate", mode="before")
    @classmethod
    def vat_rate(cls, v: str) -> Decimal:
        if v not in RATES:
            raise ValueError(f"unknown VAT rate {v!r}")
        return RATES[v]


def main(path: str) -> None:
    started = time.perf_counter()
    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8")
    ok = []
    for row in frame.itertuples(index=False, name=None):
        try:
            line = Line(
                number=row[0],
                date=row[1],
                idno=row[4],
                quantity=row[7],
                price=row[8],
                rate=row[9],
                net=row[10],
                vat=row[11],
            )
            net = (line.quantity * line.price).quantize(CENT, rounding=ROUND_HALF_UP)
            vat = (net * line.rate).quantize(CENT, rounding=ROUND_HALF_UP)
            ok.append(abs(net - line.net) <= CENT and abs(vat - line.vat) <= CENT)
        except ValidationError:
            ok.append(False)
    frame["ok"] = ok
    by_doc = frame.groupby(frame.columns[0], sort=False)["ok"].all()
    valid = int(by_doc.sum())
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": len(frame),
                "documents": len(by_doc),
                "valid": valid,
                "rejected": len(by_doc) - valid,
                "seconds": round(seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
