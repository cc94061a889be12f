"""`get_overview` and `finance://overview` through the SDK client, on both protocol eras."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.e2e.helpers import call, fresh_tenant, make_account

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_overview_tool_and_resource_show_the_same_household(server, connect, mode):
    async with connect(server.token(tenant=fresh_tenant()), mode=mode) as client:
        account_id = await make_account(client, name="Checking", opening_balance="250")
        await call(client, "create_transaction", account_id=account_id, amount="-20", date=_today(), category="Food")
        seen = await call(client, "get_overview")
        read = await client.read_resource("finance://overview")

    assert [(a["name"], a["balance"]) for a in seen["accounts"]] == [("Checking", "230.00")]
    assert seen["this_month"]["totals"]["spending"] == "20.00"
    assert seen["top_categories"] == [{"name": "Food", "spending": "20.00", "last_month": "0.00"}]
    assert json.loads(read.contents[0].text) == seen  # type: ignore[union-attr]


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()
