"""Small helpers shared by the end-to-end tests: fresh tenants, result checks, and raw HTTP requests on
both wires (2026-07-28 without sessions, and the initialize-based 2025-11-25 with `Mcp-Session-Id`)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx2
from mcp import Client
from mcp.types import CallToolResult

MONEY = re.compile(r"^-?\d+\.\d{2}$")
NEW_WIRE = "2026-07-28"
LEGACY_WIRE = "2025-11-25"
ACCEPT = "application/json, text/event-stream"
# Words that would mean the database or Python leaked into a message meant for the model.
LEAKS_ANY_CASE = ("sqlalchemy", "traceback", "asyncpg", "sqlite3", "psycopg", 'file "')
LEAKS_EXACT = ("SELECT", "INSERT", "UPDATE ", "DELETE FROM", "WHERE")
# An id no household will ever reach, yet small enough for every id column.
MISSING_ID = 987_654_321


def fresh_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def fresh_sub() -> str:
    return str(uuid.uuid4().int % 10**9)


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful call (fails the test with the error text otherwise)."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def text_of(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def refusal(result: CallToolResult) -> str:
    """The text of an `isError` result, checked to be free of SQL, tracebacks and driver names."""
    assert result.is_error, f"expected an error, got {result.structured_content}"
    text = text_of(result)
    assert_safe(text)
    return text


def assert_safe(text: str) -> None:
    lowered = text.lower()
    for word in LEAKS_ANY_CASE:
        assert word not in lowered, f"{word!r} leaked into {text!r}"
    for word in LEAKS_EXACT:
        assert word not in text, f"{word!r} leaked into {text!r}"


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    return ok(await client.call_tool(tool, arguments))


async def make_account(client: Client, name: str = "Checking", opening_balance: str = "1000", **kw: Any) -> int:
    account = await call(
        client,
        "create_account",
        name=name,
        account_type=kw.pop("account_type", "checking"),
        opening_balance=opening_balance,
        **kw,
    )
    return int(account["id"])


async def balance(client: Client, account_id: int) -> str:
    return str((await call(client, "get_account", account_id=account_id))["balance"])


async def snapshot(client: Client) -> dict[str, Any]:
    """Everything a household can see, for before/after comparisons."""
    accounts = await call(client, "list_accounts")
    transactions = await call(client, "list_transactions", limit=500)
    return {"accounts": accounts, "transactions": transactions}


# ---- raw HTTP --------------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tool_call_body(
    name: str, arguments: dict[str, Any], *, request_id: int = 1, wire: str = NEW_WIRE
) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if wire == NEW_WIRE:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": NEW_WIRE,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def new_wire_headers(tool: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "accept": ACCEPT,
        "mcp-protocol-version": NEW_WIRE,
        "mcp-method": "tools/call",
        "mcp-name": tool,
        **(extra or {}),
    }


async def post_tool_call(
    http: httpx2.AsyncClient, url: str, tool: str, arguments: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx2.Response:
    """One stateless 2026-07-28 `tools/call`, with whatever auth headers the test chooses."""
    return await http.post(url, json=tool_call_body(tool, arguments), headers=new_wire_headers(tool, headers))


def jsonrpc_message(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message of a response, whether sent as JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        messages = [json.loads(event) for event in events if event]
        return next(m for m in messages if "id" in m)
    return response.json()


def legacy_headers(session_id: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": ACCEPT, "mcp-protocol-version": LEGACY_WIRE}
    if session_id is not None:
        headers["mcp-session-id"] = session_id
    return headers | (extra or {})


async def open_legacy_session(http: httpx2.AsyncClient, url: str, token: str) -> str:
    """`initialize` then `notifications/initialized` on the 2025-11-25 wire; returns the session id."""
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY_WIRE, "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}},
    }
    response = await http.post(url, json=init, headers=legacy_headers(extra=bearer(token)))
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    assert "result" in jsonrpc_message(response)
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = await http.post(url, json=initialized, headers=legacy_headers(session_id, bearer(token)))
    assert response.status_code == 202, response.text
    return session_id


# The contract's tools (the README's Tools table), in order: the e2e catalogue test and the bad-input fuzzing share it.
CONTRACT_TOOLS = (
    "whoami",
    "list_accounts",
    "create_account",
    "get_account",
    "update_account",
    "delete_account",
    "create_transaction",
    "create_transactions_batch",
    "list_transactions",
    "get_transaction",
    "update_transaction",
    "delete_transaction",
    "list_changes",
    "undo_change",
)
