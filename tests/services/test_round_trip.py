"""The export's round trip, on SQLite and PostgreSQL: an account exported as CSV or JSON and imported into an empty
account of the same household gives back every row exactly (amounts, dates, texts with commas, quotes,
newlines, semicolons and backslashes, derived fields and tags); only the ids and the account differ."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finance_mcp.db.database import Database
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.transactions import TransactionFields, TransactionFilter, TransactionRead
from finance_mcp.services import exports, imports, transactions
from tests.services.helpers import MakePrincipal, all_transactions, assert_balances_add_up, open_account

pytestmark = pytest.mark.anyio

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MAX = 4 * 1024 * 1024

SPECIAL = [",", '"', "\n", "\r\n", "\r", ";", "\\", "\\;", "\\\\", " ", "\t", "é", "Zürich", "日本", "🙂", "İ", "ß"]
characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.lists(st.sampled_from(SPECIAL) | st.text(characters, max_size=4), max_size=6).map("".join)
optional_text = st.none() | st.just("") | text
category = text.filter(lambda value: value.strip() != "")
tag = (
    st.lists(
        st.sampled_from([";", "\\", "a", "B", " ", "é", ",", '"', "\n"]) | st.text(characters, max_size=3),
        min_size=1,
        max_size=5,
    )
    .map("".join)
    .filter(lambda value: value.strip() != "")
)
cents = st.one_of(st.integers(-50_000, 50_000), st.integers(-(10**13) + 1, 10**13 - 1), st.just(0))
day = st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)) | st.sampled_from(
    [dt.date(2024, 2, 29), dt.date(2000, 2, 29), dt.date(1904, 2, 29), dt.date(2025, 12, 31), dt.date(2026, 1, 1)]
)
row = st.fixed_dictionaries(
    {
        "amount": cents.map(lambda c: str(Decimal(c) / 100)),
        "date": day,
        "category": category,
        "description": optional_text,
        "merchant": optional_text,
        "location": optional_text,
        "der_category": optional_text,
        "der_merchant": optional_text,
        "tags": st.none() | st.lists(tag, max_size=4),
    }
)
# Some files repeat a row exactly (two coffees on one day): `repeat` copies the first row that many times.
rows = st.tuples(st.lists(row, min_size=1, max_size=8), st.integers(0, 2)).map(lambda t: t[0] + [t[0][0]] * t[1])


def shown(listed: list[TransactionRead]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            (
                t.date,
                t.amount,
                t.category,
                t.description,
                t.merchant,
                t.location,
                t.der_category,
                t.der_merchant,
                tuple(sorted(t.tags)),
            )
            for t in listed
        ),
        key=repr,
    )


async def exported_and_imported(db: Database, me: Principal, data: list[dict[str, Any]], fmt: exports.Format):
    source = await open_account(db, me, name="Source")
    target = await open_account(db, me, name="Target")
    for values in data:
        fields = TransactionFields.model_validate(values)
        await transactions.record_transaction(db, me, source.id, fields)
    content, exported = await exports.export_text(db, me, TransactionFilter(account_id=source.id), fmt)
    assert exported.rows == len(data)
    result = await imports.import_transactions(db, me, target.id, content, dry_run=False, max_bytes=MAX)
    assert (result.problems, result.duplicates, result.to_add) == ([], 0, len(data))
    before = await all_transactions(db, me, account_id=source.id)
    after = await all_transactions(db, me, account_id=target.id)
    assert {t.account_id for t in after} == {target.id}
    assert not {t.id for t in before} & {t.id for t in after}
    return before, after


@PROPERTY
@given(data=rows, fmt=st.sampled_from(["csv", "json"]))
async def test_an_export_imported_into_an_empty_account_gives_back_every_row(
    db: Database, make_principal: MakePrincipal, data: list[dict[str, Any]], fmt: exports.Format
) -> None:
    me = await make_principal()
    before, after = await exported_and_imported(db, me, data, fmt)
    assert shown(after) == shown(before)
    await assert_balances_add_up(db, me)


async def test_a_csv_export_imported_again_into_the_same_target_adds_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    data = [
        {"amount": "-3.50", "date": dt.date(2024, 2, 29), "category": "Coffee", "merchant": 'Café "A", Inc.'},
        {"amount": "-3.50", "date": dt.date(2024, 2, 29), "category": "Coffee", "merchant": 'Café "A", Inc.'},
        {"amount": "12.00", "date": dt.date(2024, 3, 1), "category": "Misc", "tags": ["a;b", "c\\"]},
    ]
    before, after = await exported_and_imported(db, me, data, "csv")
    assert shown(after) == shown(before)
    content, _ = await exports.export_text(db, me, TransactionFilter(account_id=before[0].account_id), "csv")
    again = await imports.import_transactions(db, me, after[0].account_id, content, dry_run=False, max_bytes=MAX)
    assert (again.to_add, again.duplicates) == (0, 3)
    assert len(await all_transactions(db, me, account_id=after[0].account_id)) == 3


async def test_a_json_file_that_is_not_an_export_imports_nothing_and_says_why(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    target = await open_account(db, me, name="Target")
    content = '{"format": "finance-mcp.transactions", "version": 1, "transactions": [{"date": "2024-02-30"}]}'
    result = await imports.import_transactions(db, me, target.id, content, max_bytes=MAX)
    assert (result.format, result.to_add, [p.row for p in result.problems]) == ("json", 0, [1])
    assert "YYYY-MM-DD" in result.problems[0].reason
    other = await imports.import_transactions(db, me, target.id, '{"rows": []}', max_bytes=MAX)
    assert "finance-mcp's own export" in other.problems[0].reason
    assert await all_transactions(db, me, account_id=target.id) == []
