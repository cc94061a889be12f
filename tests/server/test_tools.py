"""Every tool of the contract (the README's Tools table) through the SDK client, in process, on both protocol eras."""

from __future__ import annotations

import json

import pytest

from tests.e2e.helpers import CONTRACT_TOOLS, MONEY, balance, call, fresh_sub, fresh_tenant, make_account, refusal

pytestmark = pytest.mark.anyio

TOOLS = set(CONTRACT_TOOLS)
ANALYTICS = {"spending_summary", "cash_flow", "net_worth", "top_merchants", "category_trends"}
PLANNING = {
    *("set_budget", "list_budgets", "delete_budget", "budget_status"),
    *("create_rule", "list_rules", "update_rule", "delete_rule", "apply_rules"),
    *("create_recurring", "list_recurring", "update_recurring", "delete_recurring"),
    *("upcoming", "post_due_recurring", "detect_recurring"),
}
TOOLS |= ANALYTICS | PLANNING | {"get_overview", "create_transfer", "split_transaction"}
BULK = {"bulk_update_transactions", "bulk_delete_transactions"}
TOOLS |= BULK | {"export_transactions", "import_transactions"}
READ_ONLY = {
    *("list_budgets", "budget_status", "list_rules", "list_recurring", "upcoming", "detect_recurring"),
    "whoami",
    "get_overview",
    "list_accounts",
    "get_account",
    "list_transactions",
    "get_transaction",
    "list_changes",
    "export_transactions",
    *ANALYTICS,
}
DESTRUCTIVE = {
    "delete_account",
    "delete_transaction",
    "undo_change",
    "bulk_delete_transactions",
    "delete_budget",
    "delete_rule",
    "delete_recurring",
}
ACCOUNT_KEYS = {"id", "name", "account_type", "currency", "opening_balance", "balance", "created_at", "updated_at"}
TRANSACTION_KEYS = {
    "id",
    "account_id",
    "amount",
    "date",
    "category",
    "description",
    "merchant",
    "location",
    "tags",
    "der_category",
    "der_merchant",
    "created_at",
    "updated_at",
    "transfer_id",
    "splits",
}


def assert_account(account: dict, *, opening: str, balance: str) -> None:
    assert set(account) == ACCOUNT_KEYS
    assert account["opening_balance"] == opening
    assert account["balance"] == balance
    assert MONEY.match(account["balance"])
    assert MONEY.match(account["opening_balance"])


def assert_transaction(transaction: dict, *, amount: str) -> None:
    assert set(transaction) == TRANSACTION_KEYS
    assert transaction["amount"] == amount
    assert isinstance(transaction["id"], int)
    assert isinstance(transaction["tags"], list)


# ---- the catalogue -------------------------------------------------------------------------------


async def test_tools_list_names_exactly_the_tools_of_the_contract(server, connect):
    async with connect(server.token(tenant=fresh_tenant()), toolsets="all") as client:
        tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools} == TOOLS
    assert len(tools) == len(TOOLS)


async def test_every_tool_has_a_description_an_output_schema_and_annotations(server, connect):
    async with connect(server.token(tenant=fresh_tenant()), toolsets="all") as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert len(tool.description or "") > 20, tool.name
        assert (tool.output_schema or {}).get("type") == "object", tool.name
        assert tool.input_schema.get("type") == "object", tool.name
        assert tool.annotations is not None, tool.name
        assert tool.annotations.read_only_hint is (tool.name in READ_ONLY), tool.name
        assert tool.annotations.destructive_hint is (tool.name in DESTRUCTIVE), tool.name


async def test_tools_list_carries_no_schema_titles_and_stays_within_its_size_budget(server, connect):
    """Every assistant reads tools/list into its context window: pydantic's per-property titles are gone."""
    async with connect(server.token(tenant=fresh_tenant()), toolsets="all") as client:
        tools = (await client.list_tools()).tools
    listed = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    compact = json.dumps(listed, separators=(",", ":"))

    def keywords(schema: object) -> set[str]:
        if isinstance(schema, list):
            return set().union(*(keywords(item) for item in schema)) if schema else set()
        if not isinstance(schema, dict):
            return set()
        found = set(schema) - {"properties", "$defs"}
        nested = [*schema.get("properties", {}).values(), *schema.get("$defs", {}).values()]
        nested += [value for key, value in schema.items() if key not in ("properties", "$defs")]
        return found | keywords(nested)

    for tool in listed:
        used = keywords(tool["inputSchema"]) | keywords(tool["outputSchema"])
        assert not {"title", "decimal_places", "max_digits"} & used, tool["name"]
    # 57,931 bytes before the titles went; 49,379 after; then idempotency_key on every writing tool and the
    # Every tool: the change log's, transfers and splits, bulk edits and export, budgets, rules and recurring.
    # Toolsets (issue 17) keep the default list small (tests/server/test_toolsets.py).
    assert len(compact) < 110_000


async def test_tool_input_schemas_hide_the_per_call_dependencies_and_bound_the_arguments(server, connect):
    async with connect(server.token(tenant=fresh_tenant()), toolsets="all") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for tool in tools.values():
        assert not {"principal", "db", "ctx"} & set(tool.input_schema.get("properties", {})), tool.name
    listing = tools["list_transactions"].input_schema["properties"]["limit"]
    assert listing["minimum"] == 0  # limit=0 answers the total alone
    assert listing["maximum"] == 500
    assert tools["whoami"].input_schema.get("properties", {}) == {}
    assert set(tools["create_transaction"].input_schema["required"]) == {"account_id", "amount", "date", "category"}


# ---- the whole contract, on both wires ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_owner_uses_every_tool_and_the_balances_follow(server, connect, mode):
    tenant, sub = fresh_tenant(), fresh_sub()
    async with connect(server.token(tenant=tenant, sub=sub, email="owner@example.com"), mode=mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")

        me = await call(client, "whoami")
        assert me["user"]["auth_user_id"] == sub
        assert me["role"] == "owner"

        checking = await call(
            client, "create_account", name="Checking", account_type="checking", opening_balance="1000"
        )
        assert_account(checking, opening="1000.00", balance="1000.00")
        assert checking["currency"] == "USD"
        account_id = checking["id"]

        spent = await call(
            client, "create_transaction", account_id=account_id, amount="-50", date="2026-01-05", category="Food"
        )
        assert_transaction(spent["transaction"], amount="-50.00")
        assert spent["account_balance"] == "950.00"
        transaction_id = spent["transaction"]["id"]

        changed = await call(client, "update_transaction", transaction_id=transaction_id, amount="-100")
        assert changed["transaction"]["amount"] == "-100.00"
        assert changed["account_balances"] == {str(account_id): "900.00"}

        fetched = await call(client, "get_transaction", transaction_id=transaction_id)
        assert fetched["amount"] == "-100.00"
        assert fetched["category"] == "Food"

        page = await call(client, "list_transactions", account_id=account_id)
        assert page["total"] == 1
        assert page["next_cursor"] is None
        assert [t["id"] for t in page["transactions"]] == [transaction_id]

        deleted = await call(client, "delete_transaction", transaction_id=transaction_id)
        assert deleted == {
            "deleted": True,
            "transaction_id": transaction_id,
            "account_balance": "1000.00",
            "account_balances": {str(account_id): "1000.00"},
            "deleted_transaction_ids": [transaction_id],
        }

        savings_id = (await call(client, "create_account", name="Savings", account_type="savings"))["id"]
        batch = await call(
            client,
            "create_transactions_batch",
            account_id=savings_id,
            transactions=[
                {"amount": "100", "date": "2026-01-01", "category": "Salary"},
                {"amount": "-30.5", "date": "2026-01-02", "category": "Fees"},
            ],
        )
        assert batch["count"] == 2
        assert batch["total_amount"] == "69.50"
        assert batch["account_balance"] == "69.50"

        moved = await call(
            client, "update_transaction", transaction_id=batch["transactions"][0]["id"], account_id=account_id
        )
        assert moved["account_balances"] == {str(account_id): "1100.00", str(savings_id): "-30.50"}

        renamed = await call(client, "update_account", account_id=savings_id, name="Rainy day")
        assert renamed["name"] == "Rainy day"
        assert renamed["balance"] == "-30.50"
        assert (await call(client, "get_account", account_id=savings_id))["name"] == "Rainy day"

        listed = await call(client, "list_accounts")
        assert listed["total"] == 2
        assert {a["id"]: a["balance"] for a in listed["accounts"]} == {account_id: "1100.00", savings_id: "-30.50"}

        gone = await call(client, "delete_account", account_id=savings_id)
        assert gone == {"deleted": True, "account_id": savings_id, "transactions_deleted": 1}
        assert (await call(client, "list_accounts"))["total"] == 1


# ---- the upstream scenarios ------------------------------------------------------------------------


async def test_spending_50_from_1000_leaves_950(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        spent = await call(
            client, "create_transaction", account_id=account_id, amount=-50, date="2026-02-01", category="Food"
        )
        assert spent["account_balance"] == "950.00"
        assert await balance(client, account_id) == "950.00"


async def test_a_batch_of_minus_50_minus_30_plus_100_on_1000_leaves_1020(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        items = [
            {"amount": "-50", "date": "2026-02-01", "category": "Food", "merchant": "Grocer"},
            {"amount": "-30", "date": "2026-02-02", "category": "Transport", "tags": ["bus"]},
            {"amount": "100", "date": "2026-02-03", "category": "Gift", "description": "from gran"},
        ]
        batch = await call(client, "create_transactions_batch", account_id=account_id, transactions=items)
        assert batch["count"] == 3
        assert batch["total_amount"] == "20.00"
        assert batch["account_balance"] == "1020.00"
        assert [t["amount"] for t in batch["transactions"]] == ["-50.00", "-30.00", "100.00"]
        assert [t["category"] for t in batch["transactions"]] == ["Food", "Transport", "Gift"]
        assert batch["transactions"][1]["tags"] == ["bus"]
        assert await balance(client, account_id) == "1020.00"


async def test_changing_an_expense_from_minus_50_to_minus_100_leaves_900(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        spent = await call(
            client, "create_transaction", account_id=account_id, amount="-50", date="2026-02-01", category="Food"
        )
        changed = await call(client, "update_transaction", transaction_id=spent["transaction"]["id"], amount="-100")
        assert changed["account_balances"] == {str(account_id): "900.00"}
        assert await balance(client, account_id) == "900.00"


async def test_deleting_a_transaction_restores_the_balance(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        spent = await call(
            client, "create_transaction", account_id=account_id, amount="-50", date="2026-02-01", category="Food"
        )
        deleted = await call(client, "delete_transaction", transaction_id=spent["transaction"]["id"])
        assert deleted["account_balance"] == "1000.00"
        assert await balance(client, account_id) == "1000.00"
        missing = refusal(await client.call_tool("get_transaction", {"transaction_id": spent["transaction"]["id"]}))
        assert "not found" in missing


async def test_moving_a_transaction_between_accounts_changes_both_balances(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        first = await make_account(client, "First", opening_balance="1000")
        second = await make_account(client, "Second", opening_balance="500")
        spent = await call(
            client, "create_transaction", account_id=first, amount="-50", date="2026-02-01", category="Food"
        )
        moved = await call(
            client, "update_transaction", transaction_id=spent["transaction"]["id"], account_id=second, amount="-60"
        )
        assert moved["transaction"]["account_id"] == second
        assert moved["account_balances"] == {str(first): "1000.00", str(second): "440.00"}
        assert await balance(client, first) == "1000.00"
        assert await balance(client, second) == "440.00"
        assert (await call(client, "list_transactions", account_id=first))["total"] == 0


async def test_a_negative_opening_balance_is_kept_for_debts(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        card = await call(client, "create_account", name="Card", account_type="credit_card", opening_balance="-1200.5")
        assert card["opening_balance"] == "-1200.50"
        assert card["balance"] == "-1200.50"
        paid = await call(
            client, "create_transaction", account_id=card["id"], amount=200, date="2026-02-01", category="Repayment"
        )
        assert paid["account_balance"] == "-1000.50"


# ---- money -----------------------------------------------------------------------------------------


async def test_money_goes_out_as_strings_with_two_decimals_whatever_came_in(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await call(client, "create_account", name="Cash", account_type="cash", opening_balance=12.5)
        assert account["opening_balance"] == "12.50"
        for amount, expected in [(-3, "-3.00"), ("-0.1", "-0.10"), ("7.05", "7.05"), (0.01, "0.01")]:
            made = await call(
                client, "create_transaction", account_id=account["id"], amount=amount, date="2026-03-01", category="X"
            )
            assert made["transaction"]["amount"] == expected
        assert await balance(client, account["id"]) == "16.46"


async def test_large_amounts_are_kept_to_the_cent(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="0")
        for amount in ["123456789012.34", "-9999999999.99"]:
            await call(
                client, "create_transaction", account_id=account_id, amount=amount, date="2026-03-01", category="Big"
            )
        assert await balance(client, account_id) == "113456789012.35"
        page = await call(client, "list_transactions", account_id=account_id)
        assert sorted(t["amount"] for t in page["transactions"]) == ["-9999999999.99", "123456789012.34"]


# ---- details of single tools -----------------------------------------------------------------------


async def test_whoami_describes_the_user_the_household_and_the_permissions(server, connect):
    tenant, sub = fresh_tenant(), fresh_sub()
    async with connect(server.token(tenant=tenant, sub=sub, role="MEMBER", email="m@example.com")) as client:
        me = await call(client, "whoami")
    assert set(me) == {"user", "household", "role", "scopes", "permissions"}
    assert set(me["user"]) == {"id", "auth_user_id", "email"}
    assert me["user"]["auth_user_id"] == sub
    assert me["user"]["email"] == "m@example.com"
    assert isinstance(me["user"]["id"], int)
    assert isinstance(me["household"]["id"], int)
    assert tenant in me["household"]["name"]
    assert me["role"] == "member"
    assert me["scopes"] == []
    assert me["permissions"] == ["read", "write"]


async def test_members_of_one_tenant_share_one_household(server, connect):
    tenant = fresh_tenant()
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        account_id = await make_account(owner, opening_balance="10")
        owner_household = (await call(owner, "whoami"))["household"]["id"]
    async with connect(server.token(tenant=tenant, role="MEMBER")) as member:
        assert (await call(member, "whoami"))["household"]["id"] == owner_household
        await call(member, "create_transaction", account_id=account_id, amount="-1", date="2026-01-01", category="X")
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        assert await balance(owner, account_id) == "9.00"


async def test_create_account_trims_text_and_upper_cases_the_currency(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account = await call(client, "create_account", name="  Euro savings  ", account_type="savings", currency="eur")
    assert account["name"] == "Euro savings"
    assert account["currency"] == "EUR"
    assert account["balance"] == "0.00"


async def test_list_accounts_is_ordered_by_name_with_a_total(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        for name in ["Zeta", "Alpha", "Mid"]:
            await make_account(client, name)
        listed = await call(client, "list_accounts")
    assert listed["total"] == 3
    assert [a["name"] for a in listed["accounts"]] == ["Alpha", "Mid", "Zeta"]


async def test_update_account_changes_only_what_is_given(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, "Old", opening_balance="5")
        typed = await call(client, "update_account", account_id=account_id, account_type="cash", name=None)
        assert typed["name"] == "Old"
        assert typed["account_type"] == "cash"
        assert typed["balance"] == "5.00"
        nothing = refusal(await client.call_tool("update_account", {"account_id": account_id}))
        assert "Nothing to change" in nothing


async def test_update_transaction_clears_only_the_fields_listed_in_clear_fields(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        made = await call(
            client,
            "create_transaction",
            account_id=account_id,
            amount="-12.5",
            date="2026-04-01",
            category="Dining",
            description="Lunch",
            merchant="Cafe",
            location="Paris",
            tags=["work", "food"],
            der_category="Restaurants",
            der_merchant="Cafe Inc",
        )
        transaction_id = made["transaction"]["id"]
        cleared = await call(
            client, "update_transaction", transaction_id=transaction_id, clear_fields=["merchant", "tags", "location"]
        )
        after = cleared["transaction"]
        assert after["merchant"] is None
        assert after["tags"] == []
        assert after["location"] is None
        assert after["description"] == "Lunch"
        assert after["der_category"] == "Restaurants"
        assert after["der_merchant"] == "Cafe Inc"
        assert after["amount"] == "-12.50"
        assert cleared["account_balances"] == {str(account_id): "987.50"}

        cleared = await call(
            client,
            "update_transaction",
            transaction_id=transaction_id,
            clear_fields=["description", "der_category", "der_merchant"],
        )
        after = cleared["transaction"]
        assert after["description"] is None
        assert after["der_category"] is None
        assert after["der_merchant"] is None
        assert await call(client, "get_transaction", transaction_id=transaction_id) == after


async def test_update_transaction_leaves_fields_sent_as_null_unchanged(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        made = await call(
            client,
            "create_transaction",
            account_id=account_id,
            amount="-1",
            date="2026-04-01",
            category="A",
            description="keep me",
            merchant="Shop",
            tags=["x"],
        )
        transaction_id = made["transaction"]["id"]
        changed = await call(
            client,
            "update_transaction",
            transaction_id=transaction_id,
            category="B",
            date="2026-04-02",
            description=None,
            merchant=None,
            tags=None,
            amount=None,
            account_id=None,
            clear_fields=None,
        )
        after = changed["transaction"]
        assert after["category"] == "B"
        assert after["date"] == "2026-04-02"
        assert after["description"] == "keep me"
        assert after["merchant"] == "Shop"
        assert after["tags"] == ["x"]
        assert after["amount"] == "-1.00"


async def test_update_transaction_refuses_to_set_and_clear_the_same_field(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        made = await call(
            client, "create_transaction", account_id=account_id, amount="-1", date="2026-04-01", category="A"
        )
        text = refusal(
            await client.call_tool(
                "update_transaction",
                {"transaction_id": made["transaction"]["id"], "merchant": "Shop", "clear_fields": ["merchant"]},
            )
        )
    assert "merchant" in text
    assert "clear_fields" in text


async def test_delete_account_removes_its_transactions_too(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        batch = await call(
            client,
            "create_transactions_batch",
            account_id=account_id,
            transactions=[{"amount": "-1", "date": "2026-01-01", "category": "A"}] * 3,
        )
        gone = await call(client, "delete_account", account_id=account_id)
        assert gone["transactions_deleted"] == 3
        for transaction in batch["transactions"]:
            text = refusal(await client.call_tool("get_transaction", {"transaction_id": transaction["id"]}))
            assert "not found" in text
        assert (await call(client, "list_transactions"))["total"] == 0
        assert "not found" in refusal(await client.call_tool("get_account", {"account_id": account_id}))


async def test_a_batch_with_one_bad_item_records_nothing_and_names_the_item(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="1000")
        items = [
            {"amount": "-50", "date": "2026-02-01", "category": "Food"},
            {"amount": "-1.234", "date": "2026-02-02", "category": "Food"},
            {"amount": "100", "date": "2026-02-03", "category": "Gift"},
        ]
        text = refusal(
            await client.call_tool("create_transactions_batch", {"account_id": account_id, "transactions": items})
        )
        assert "transactions.1.amount" in text
        assert await balance(client, account_id) == "1000.00"
        assert (await call(client, "list_transactions", account_id=account_id))["total"] == 0


async def test_a_batch_of_a_thousand_is_accepted_and_one_more_is_refused(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client, opening_balance="0")
        item = {"amount": "-0.01", "date": "2026-02-01", "category": "Tiny"}
        batch = await call(client, "create_transactions_batch", account_id=account_id, transactions=[item] * 1000)
        assert batch["count"] == 1000
        assert batch["account_balance"] == "-10.00"
        too_many = refusal(
            await client.call_tool(
                "create_transactions_batch", {"account_id": account_id, "transactions": [item] * 1001}
            )
        )
        assert "transactions" in too_many
        empty = refusal(
            await client.call_tool("create_transactions_batch", {"account_id": account_id, "transactions": []})
        )
        assert "transactions" in empty
        assert await balance(client, account_id) == "-10.00"


# ---- list_transactions -----------------------------------------------------------------------------


async def test_list_transactions_pages_newest_first_with_next_cursor(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        days = ["2026-01-03", "2026-01-01", "2026-01-03", "2026-01-02", "2026-01-05", "2026-01-04", "2026-01-03"]
        batch = await call(
            client,
            "create_transactions_batch",
            account_id=account_id,
            transactions=[{"amount": f"-{i + 1}", "date": day, "category": "C"} for i, day in enumerate(days)],
        )
        expected = sorted(((t["date"], t["id"]) for t in batch["transactions"]), reverse=True)

        seen: list[tuple[str, int]] = []
        pages = 0
        cursor = None
        while True:
            page = await call(client, "list_transactions", account_id=account_id, limit=3, cursor=cursor)
            pages += 1
            assert page["total"] == 7
            assert len(page["transactions"]) <= 3
            seen += [(t["date"], t["id"]) for t in page["transactions"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert isinstance(cursor, str)
        assert pages == 3
        assert seen == expected


async def test_list_transactions_with_a_page_that_fits_exactly_has_no_next_cursor(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        await call(
            client,
            "create_transactions_batch",
            account_id=account_id,
            transactions=[{"amount": "1", "date": "2026-01-01", "category": "C"}] * 4,
        )
        first = await call(client, "list_transactions", limit=2)
        assert first["next_cursor"] is not None
        second = await call(client, "list_transactions", limit=2, cursor=first["next_cursor"])
        assert len(second["transactions"]) == 2
        assert second["next_cursor"] is None
        whole = await call(client, "list_transactions", limit=4)
        assert len(whole["transactions"]) == 4
        assert whole["next_cursor"] is None


async def test_list_transactions_refuses_a_forged_cursor_and_out_of_range_limits(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        text = refusal(await client.call_tool("list_transactions", {"cursor": "not-a-cursor!"}))
        assert "cursor" in text
        assert "next_cursor" in text
        for limit in (-1, 501):
            assert "limit" in refusal(await client.call_tool("list_transactions", {"limit": limit}))


async def test_list_transactions_filters_combine_and_match_as_documented(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await make_account(client)
        other_id = await make_account(client, "Other")
        items = [
            {
                "amount": "-10",
                "date": "2026-05-01",
                "category": "Groceries",
                "merchant": "Big 100% Market",
                "tags": ["Food", "weekly"],
                "description": "milk",
            },
            {
                "amount": "-20",
                "date": "2026-05-02",
                "category": "groceries",
                "merchant": "Corner_Shop",
                "tags": ["foods"],
                "der_category": "Food",
                "der_merchant": "Corner",
            },
            {"amount": "-30", "date": "2026-05-03", "category": "Rent", "location": "Lisbon", "tags": ["home"]},
            {"amount": "500", "date": "2026-05-04", "category": "Salary", "description": "May pay"},
        ]
        made = await call(client, "create_transactions_batch", account_id=account_id, transactions=items)
        ids = [t["id"] for t in made["transactions"]]
        await call(client, "create_transaction", account_id=other_id, amount="-5", date="2026-05-02", category="Rent")

        async def found(**filters) -> list[int]:
            page = await call(client, "list_transactions", account_id=account_id, **filters)
            assert page["total"] == len(page["transactions"])
            return sorted(t["id"] for t in page["transactions"])

        assert await found(category="GROCERIES") == sorted(ids[:2])
        assert await found(category="Grocer") == []
        assert await found(tags=["food"]) == [ids[0]]
        assert await found(tags=["FOODS", "home"]) == sorted([ids[1], ids[2]])
        assert await found(merchant="100%") == [ids[0]]
        assert await found(merchant="r_s") == [ids[1]]
        assert await found(merchant="r%s") == []
        assert await found(der_category="food") == [ids[1]]
        assert await found(der_merchant="corn") == [ids[1]]
        assert await found(start_date="2026-05-02", end_date="2026-05-03") == sorted(ids[1:3])
        assert await found(min_amount="-20", max_amount="-10") == sorted(ids[:2])
        assert await found(min_amount=0) == [ids[3]]
        assert await found(search="may") == [ids[3]]
        assert await found(search="lisbon") == [ids[2]]
        assert await found(category="groceries", min_amount="-15") == [ids[0]]
        everywhere = await call(client, "list_transactions", category="rent")
        assert everywhere["total"] == 2

        swapped = refusal(
            await client.call_tool("list_transactions", {"start_date": "2026-05-03", "end_date": "2026-05-01"})
        )
        assert "start_date" in swapped


async def test_a_tag_filter_longer_than_any_tag_can_be_is_refused(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        said = refusal(await client.call_tool("list_transactions", {"tags": ["t" * 101]}))
    assert "tags" in said
    assert "100 characters" in said
