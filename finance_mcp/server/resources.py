"""Read-only JSON resources. Another household's resource is "not found", exactly like a missing one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import NotFound
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.transactions import TransactionFilter
from finance_mcp.server.dependencies import resolve_principal
from finance_mcp.server.errors import translate_resource_errors
from finance_mcp.server.state import ServerState
from finance_mcp.services import accounts, budgets, changes, exports, overview, transactions
from finance_mcp.services.households import describe

JSON = "application/json"
RECENT_TRANSACTIONS = 100
RECENT_CHANGES = 50

Reader = Callable[[Database, Principal], Awaitable[BaseModel]]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def resource(mcp: MCPServer, uri: str, *, name: str, title: str, mime_type: str) -> Callable[[F], F]:
    """`@mcp.resource(...)` with the function's domain errors translated once (`server/errors.py`)."""

    def register(fn: F) -> F:
        mcp.resource(uri, name=name, title=title, mime_type=mime_type)(translate_resource_errors(uri)(fn))
        return fn

    return register


def _id(value: str) -> int:
    if not value.isdecimal() or not 0 < int(value) < 2**63:
        raise NotFound(value)
    return int(value)


def register(mcp: MCPServer, state: ServerState) -> None:
    async def read(reader: Reader) -> str:
        principal = await resolve_principal(state)
        return (await reader(state.db, principal)).model_dump_json(indent=2)

    @resource(mcp, "finance://me", name="me", title="Who am I", mime_type=JSON)
    async def me() -> str:
        """The signed-in user, household, role and permissions."""

        async def reader(_db: Database, p: Principal) -> BaseModel:
            return describe(p)

        return await read(reader)

    @resource(mcp, "finance://accounts", name="accounts", title="Accounts", mime_type=JSON)
    async def all_accounts() -> str:
        """Every account of the household with its balance."""
        return await read(accounts.list_accounts)

    @resource(mcp, "finance://accounts/{account_id}", name="account", title="Account", mime_type=JSON)
    async def account(account_id: str) -> str:
        """One account with its balance."""

        async def reader(db: Database, p: Principal) -> BaseModel:
            return await accounts.get_account(db, p, _id(account_id))

        return await read(reader)

    @resource(
        mcp,
        "finance://accounts/{account_id}/transactions",
        name="account_transactions",
        title="Recent transactions of an account",
        mime_type=JSON,
    )
    async def account_transactions(account_id: str) -> str:
        """The latest 100 transactions of one account, newest first."""

        async def reader(db: Database, p: Principal) -> BaseModel:
            filters = TransactionFilter(account_id=_id(account_id))
            return await transactions.list_transactions(db, p, filters, limit=RECENT_TRANSACTIONS)

        return await read(reader)

    @resource(mcp, "finance://transactions/{transaction_id}", name="transaction", title="Transaction", mime_type=JSON)
    async def transaction(transaction_id: str) -> str:
        """One transaction."""

        async def reader(db: Database, p: Principal) -> BaseModel:
            return await transactions.get_transaction(db, p, _id(transaction_id))

        return await read(reader)

    @resource(mcp, "finance://overview", name="overview", title="Overview", mime_type=JSON)
    async def household_overview() -> str:
        """The household at a glance: balances, this month against last, top categories (as get_overview)."""
        return await read(overview.get_overview)

    async def read_export(fmt: exports.Format, query: str) -> str:
        principal = await resolve_principal(state)
        text, _exported = await exports.export_text(state.db, principal, exports.filters_of_uri(query), fmt)
        return text

    def export_resource(fmt: exports.Format) -> None:
        uri = f"finance://exports/{fmt}/{{query}}"

        @resource(mcp, uri, name=f"export_{fmt}", title=f"Transactions as {fmt}", mime_type=exports.MIME_TYPES[fmt])
        async def export_file(query: str) -> str:
            """An export_transactions file, read again (the query in its URI holds its filters)."""
            return await read_export(fmt, query)

    for fmt in exports.FORMATS:
        export_resource(fmt)

    @resource(mcp, "finance://changes/recent", name="recent_changes", title="Recent changes", mime_type=JSON)
    async def recent_changes() -> str:
        """The household's latest 50 changes, newest first (undo one with undo_change)."""

        async def reader(db: Database, p: Principal) -> BaseModel:
            return await changes.list_changes(db, p, limit=RECENT_CHANGES)

        return await read(reader)

    @resource(mcp, "finance://budgets/{year}-{month}", name="budgets", title="Budgets of a month", mime_type=JSON)
    async def budgets_of_month(year: str, month: str) -> str:
        """How every budget stands in a month (URI month: YYYY-MM): budgeted, rollover, spent, projection."""

        async def reader(db: Database, p: Principal) -> BaseModel:
            return await budgets.budget_status(db, p, f"{year}-{month}")

        return await read(reader)
