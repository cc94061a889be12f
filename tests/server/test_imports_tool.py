"""import_transactions through the real server in process (the SDK's client), on both databases and both
protocol eras: the preview and the import as the model sees them, progress notifications, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import MISSING_ID, balance, call, fresh_tenant, make_account, ok, refusal

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_import_previews_then_imports_reporting_progress(server, connect, mode: str) -> None:
    async with connect(server.token(tenant=fresh_tenant()), mode=mode) as client:
        account = await make_account(client, opening_balance="0")
        preview = await call(client, "import_transactions", account_id=account, content=fixture("sparkasse_de.csv"))
        assert preview["dry_run"] is True
        assert (preview["format"], preview["rows_read"], preview["to_add"], preview["duplicates"]) == ("csv", 5, 5, 0)
        assert preview["sample"][0]["amount"] == "-54.37"
        assert preview["account_balance"] == "0.00"
        assert await balance(client, account) == "0.00"
        seen: list[tuple[float, float | None, str | None]] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            seen.append((done, total, message))

        arguments = {"account_id": account, "content": fixture("sparkasse_de.csv"), "dry_run": False}
        done = ok(await client.call_tool("import_transactions", arguments, progress_callback=progress))
        assert (done["dry_run"], done["to_add"], done["account_balance"]) == (False, 5, "1954.67")
        assert seen == [(5, 5, "imported 5 of 5 rows")]
        again = await call(client, "import_transactions", **arguments)
        assert (again["to_add"], again["duplicates"]) == (0, 5)
        undone = await call(client, "undo_change", change_id=done["change_id"])
        assert undone["rows_restored"] == 5
        assert await balance(client, account) == "0.00"


async def test_a_broken_file_is_refused_with_its_row_numbers_and_nothing_changes(server, connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client, opening_balance="5")
        preview = await call(client, "import_transactions", account_id=account, content=fixture("broken.qif"))
        assert [p["row"] for p in preview["problems"]] == [6, 10]
        result = await client.call_tool(
            "import_transactions", {"account_id": account, "content": fixture("broken.qif"), "dry_run": False}
        )
        text = refusal(result)
        assert "row 6:" in text
        assert "row 10:" in text
        assert await balance(client, account) == "5.00"


async def test_a_mapping_reads_a_csv_whose_headers_are_unknown(server, connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client, opening_balance="0")
        mapping = {"date": "Booked", "amount": "Sum", "description": "Text"}
        done = await call(
            client,
            "import_transactions",
            account_id=account,
            content=fixture("custom_headers.csv"),
            mapping=mapping,
            format="csv",
            dry_run=False,
        )
        assert (done["to_add"], done["account_balance"]) == (2, "10.00")


async def test_a_file_beyond_the_request_bound_is_refused_saying_so(server) -> None:
    connect = server.connector(max_request_body_bytes=2048)
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await make_account(client)
        big = fixture("chase_us.csv") + "11/01/2026,11/01/2026,X,,Sale,-1.00,\n" * 100
        text = refusal(await client.call_tool("import_transactions", {"account_id": account, "content": big}))
        assert "at most 2048 bytes" in text


async def test_another_households_account_is_not_found(server, connect) -> None:
    async with connect(server.token(tenant=fresh_tenant())) as owner:
        account = await make_account(owner)
    async with connect(server.token(tenant=fresh_tenant())) as stranger:
        for target in (account, MISSING_ID):
            result = await stranger.call_tool("import_transactions", {"account_id": target, "content": "x;y\n"})
            assert "not found" in refusal(result)
