"""Exports through the service layer, on SQLite and PostgreSQL, read back by readers written here from the
layout the module documents (not by the exporter's own code): nothing is lost, whatever the text holds,
across page boundaries, and only the selected rows of the caller's household go out."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import NotFound
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.transactions import TransactionFilter, TransactionRead
from finance_mcp.services import exports
from tests.services.helpers import MakePrincipal, all_transactions, open_account, record

pytestmark = pytest.mark.anyio

NASTY = [
    {"amount": "-1234.56", "description": 'Dinner, "the good one"\nwith a second line', "merchant": "Café, Ünïcödé"},
    {"amount": "0.01", "description": "line\r\nwindows", "merchant": "A & B <Ltd>", "location": "Zürich; CH"},
    {"amount": "-99999999999.99", "tags": ["semi;colon", "back\\slash", "Mixed Case", "日本"], "der_category": "x"},
    {"amount": "300", "category": "Salary", "der_merchant": "  ", "tags": ["a"]},
    {"amount": "-0.10", "date": "2024-02-29", "merchant": "=SUM(A1)", "description": "\u2028 and \t tab"},
]


async def _rows(db: Database, me: Principal) -> tuple[int, list[TransactionRead]]:
    account = await open_account(db, me, "10")
    for fields in NASTY:
        await record(db, me, account.id, **fields)
    return account.id, await all_transactions(db, me)


def read_tags(field: str) -> list[str]:
    """The documented tags field: split on unescaped `;`, then `\\\\` -> `\\` and `\\;` -> `;`."""
    tags, current, escaped = [], "", False
    for char in field:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            escaped = True
        elif char == ";":
            tags, current = [*tags, current], ""
        else:
            current += char
    return [*tags, current] if field else []


def read_csv(text: str) -> list[dict[str, Any]]:
    """The documented CSV layout, read with nothing but the standard library."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return [
        {
            "id": int(r["id"]),
            "account_id": int(r["account_id"]),
            "date": r["date"],
            "amount": Decimal(r["amount"]),
            "category": r["category"],
            **{
                name: r[name] or None
                for name in ("description", "merchant", "location", "der_category", "der_merchant")
            },
            "tags": read_tags(r["tags"]),
        }
        for r in rows
    ]


def stored(rows: list[TransactionRead]) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "account_id": t.account_id,
            "date": t.date.isoformat(),
            "amount": t.amount,
            "category": t.category,
            "description": t.description,
            "merchant": t.merchant,
            "location": t.location,
            "der_category": t.der_category,
            "der_merchant": t.der_merchant,
            "tags": t.tags,
        }
        for t in rows
    ]


async def export(db: Database, me: Principal, fmt: exports.Format, **filters: Any) -> str:
    text, _ = await exports.export_text(db, me, TransactionFilter(**filters), fmt)
    return text


async def test_a_csv_export_read_back_by_its_documented_layout_loses_nothing(
    db: Database, make_principal: MakePrincipal
):
    me = await make_principal()
    _, rows = await _rows(db, me)

    text = await export(db, me, "csv")

    assert text.splitlines()[0] == ",".join(exports.CSV_COLUMNS)
    assert text.startswith("date,amount,description,merchant,category,der_category,der_merchant,tags,id")
    assert text.endswith("\r\n")
    assert read_csv(text) == stored(rows)
    assert "-99999999999.99" in text
    assert "300.00" in text


async def test_a_json_export_loses_nothing(db: Database, make_principal: MakePrincipal):
    me = await make_principal()
    _, rows = await _rows(db, me)

    document = json.loads(await export(db, me, "json"))

    assert (document["format"], document["version"]) == ("finance-mcp.transactions", 1)
    assert document["transactions"] == [t.model_dump(mode="json") for t in rows]


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_an_export_pages_through_the_rows_without_losing_or_repeating_one(
    db: Database, make_principal: MakePrincipal, monkeypatch: pytest.MonkeyPatch, fmt: exports.Format
):
    me = await make_principal()
    account = await open_account(db, me)
    for day in ("2026-01-01", "2026-01-01", "2026-01-02", "2026-01-02", "2026-01-02", "2026-01-03", "2026-01-04"):
        await record(db, me, account.id, "-1", date=day)
    monkeypatch.setattr(exports, "PAGE", 2)

    text = await export(db, me, fmt, account_id=account.id)

    ids = [r["id"] for r in (read_csv(text) if fmt == "csv" else json.loads(text)["transactions"])]
    assert ids == [t.id for t in await all_transactions(db, me)]
    assert len(set(ids)) == 7


async def test_an_export_holds_only_the_selected_rows_of_the_callers_household(
    db: Database, make_principal: MakePrincipal
):
    me, other = await make_principal(), await make_principal()
    await _rows(db, me)
    theirs, _ = await _rows(db, other)

    salary = read_csv(await export(db, me, "csv", category="salary"))
    tagged = read_csv(await export(db, me, "csv", tags=["MIXED CASE"]))
    everything = read_csv(await export(db, me, "csv"))

    assert [r["amount"] for r in salary] == [Decimal("300.00")]
    assert [r["amount"] for r in tagged] == [Decimal("-99999999999.99")]
    assert {r["id"] for r in everything}.isdisjoint({t.id for t in await all_transactions(db, other)})
    with pytest.raises(NotFound):
        await export(db, me, "csv", account_id=theirs)


async def test_an_ofx_export_is_ofx_2_xml_with_our_ids_as_fitids(db: Database, make_principal: MakePrincipal):
    me = await make_principal()
    account_id, rows = await _rows(db, me)
    savings = await open_account(db, me, "5", name="Savings", account_type="savings")
    kept = await record(db, me, savings.id, "7.5", merchant="M" * 40)
    empty = await open_account(db, me, "0", name="Empty")

    text = await export(db, me, "ofx")

    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<?OFX OFXHEADER="200" VERSION="220"'
    )
    root = ET.fromstring(text.encode())  # noqa: S314 - our own output
    assert root.tag == "OFX"
    assert root.findtext("SIGNONMSGSRSV1/SONRS/STATUS/CODE") == "0"
    statements = root.findall("BANKMSGSRSV1/STMTTRNRS/STMTRS")
    by_account = {s.findtext("BANKACCTFROM/ACCTID"): s for s in statements}
    assert set(by_account) == {str(account_id), str(savings.id)}  # an account with nothing selected: no statement
    assert str(empty.id) not in by_account
    checking = by_account[str(account_id)]
    assert checking.findtext("BANKACCTFROM/ACCTTYPE") == "CHECKING"
    assert checking.findtext("CURDEF") == "USD"
    assert checking.findtext("LEDGERBAL/BALAMT") == format(Decimal("10") + sum(t.amount for t in rows), ".2f")
    found = [
        (
            int(t.findtext("FITID") or 0),
            Decimal(t.findtext("TRNAMT") or "x"),
            t.findtext("DTPOSTED"),
            t.findtext("TRNTYPE"),
        )
        for t in checking.findall("BANKTRANLIST/STMTTRN")
    ]
    assert found == [(t.id, t.amount, t.date.strftime("%Y%m%d"), "CREDIT" if t.amount > 0 else "DEBIT") for t in rows]
    names = {t.findtext("FITID"): t.findtext("NAME") for t in root.iter("STMTTRN")}
    assert names[str(kept.id)] == "M" * 32
    assert "A & B <Ltd>" in names.values()  # escaped in the file, itself again once parsed
    assert checking.findtext("BANKTRANLIST/DTSTART") == "20240229"
    assert by_account[str(savings.id)].findtext("BANKACCTFROM/ACCTTYPE") == "SAVINGS"


async def test_an_export_address_carries_its_filters(db: Database, make_principal: MakePrincipal):
    filters = TransactionFilter(category="Food", tags=["a;b"], min_amount=Decimal("-5"))

    uri = exports.export_uri(filters, "csv")

    assert uri.startswith("finance://exports/csv/")
    assert exports.filters_of_uri(uri.rsplit("/", 1)[1]) == filters
    assert exports.parse_tags_field(exports.tags_field(["a;b", "c\\", "d"])) == ["a;b", "c\\", "d"]
