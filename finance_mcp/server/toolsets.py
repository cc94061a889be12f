"""Toolsets, and the tool list fitted to the caller (`tools/list` may depend on authorization, 2026-07-28).

Every tool an assistant is offered costs context in every conversation, so tools come in sets, and a caller
is offered:

- the sets chosen with `?toolsets=core,planning` on the MCP URL or an `X-Finance-Toolsets` header (`all`
  names every set); without a choice, `core` plus the sets the household already uses (there are changes to
  undo, API keys of the caller's, ...);
- of those, only the tools the caller may call: a viewer or a read-only key is not offered writing tools,
  and a caller signed in with an API key is not offered the tools that manage keys.

The list is in `CATALOGUE` order whatever the registration order. It offers; it never permits: a tool left
out can still be called by name, and every tool still checks the caller's permission itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from finance_mcp.domain.errors import Invalid
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.domain.toolsets import TOOLSET_NAMES

HEADER = "x-finance-toolsets"
QUERY = "toolsets"
ALL = "all"
CORE = "core"


@dataclass(frozen=True, slots=True)
class Offer:
    """Where a tool is listed and who is offered it."""

    toolset: str
    needs: Permission = Permission.READ
    signed_in: bool = False  # offered only to a sign-in (OAuth or MCP_Auth token), never to an API key


R, W, A = Permission.READ, Permission.WRITE, Permission.ADMIN

# Every tool, in the order tools/list gives them. A registered tool missing here is a test failure.
CATALOGUE: dict[str, Offer] = {
    # core: who am I, accounts, transactions, analytics
    "whoami": Offer(CORE),
    "get_overview": Offer(CORE),
    "list_accounts": Offer(CORE),
    "get_account": Offer(CORE),
    "create_account": Offer(CORE, W),
    "update_account": Offer(CORE, W),
    "delete_account": Offer(CORE, A),
    "list_transactions": Offer(CORE),
    "get_transaction": Offer(CORE),
    "create_transaction": Offer(CORE, W),
    "create_transactions_batch": Offer(CORE, W),
    "update_transaction": Offer(CORE, W),
    "delete_transaction": Offer(CORE, W),
    "create_transfer": Offer(CORE, W),
    "split_transaction": Offer(CORE, W),
    "spending_summary": Offer(CORE),
    "cash_flow": Offer(CORE),
    "net_worth": Offer(CORE),
    "top_merchants": Offer(CORE),
    "category_trends": Offer(CORE),
    # changes: the change log and undo
    "list_changes": Offer("changes"),
    "undo_change": Offer("changes", W),
    # import: bringing history in, taking it out, many rows at once
    "import_transactions": Offer("import", W),
    "export_transactions": Offer("import"),
    "bulk_update_transactions": Offer("import", W),
    "bulk_delete_transactions": Offer("import", A),
    # planning: budgets, recurring bills, rules
    "set_budget": Offer("planning", W),
    "list_budgets": Offer("planning"),
    "delete_budget": Offer("planning", W),
    "budget_status": Offer("planning"),
    "create_recurring": Offer("planning", W),
    "list_recurring": Offer("planning"),
    "update_recurring": Offer("planning", W),
    "delete_recurring": Offer("planning", W),
    "upcoming": Offer("planning"),
    "post_due_recurring": Offer("planning", W),
    "detect_recurring": Offer("planning"),
    "create_rule": Offer("planning", W),
    "list_rules": Offer("planning"),
    "update_rule": Offer("planning", W),
    "delete_rule": Offer("planning", W),
    "apply_rules": Offer("planning", W),
    # keys: API keys for clients without OAuth
    "create_api_key": Offer("keys", signed_in=True),
    "list_api_keys": Offer("keys", signed_in=True),
    "revoke_api_key": Offer("keys", signed_in=True),
}
TOOLSETS: tuple[str, ...] = TOOLSET_NAMES
ORDER = {name: position for position, name in enumerate(CATALOGUE)}

# The caller's choice for this HTTP request, as written: None when they made none (the default applies).
CHOSEN: ContextVar[str | None] = ContextVar("finance_toolsets", default=None)


def chosen(in_use: frozenset[str], *, key_default: Sequence[str] | None = None) -> frozenset[str]:
    """The toolsets this request lists: the request's choice, else the API key's own default, else core
    and the sets the household uses."""
    choice = CHOSEN.get()
    if choice is not None:
        return parse(choice)
    if key_default is not None:
        return frozenset(key_default)
    return frozenset({CORE}) | in_use


def parse(choice: str) -> frozenset[str]:
    """`"core, planning"` as a set of toolsets; `all` is every set. Refused, naming the sets, when a name
    is not one."""
    names = {name.strip().lower() for name in choice.split(",") if name.strip()}
    if ALL in names:
        return frozenset(TOOLSETS)
    if unknown := sorted(names - set(TOOLSETS)):
        raise Invalid(
            f"Unknown toolset {', '.join(repr(name[:40]) for name in unknown[:5])} in the MCP URL's ?toolsets= "
            f"or the X-Finance-Toolsets header; choose from {', '.join(TOOLSETS)} or all."
        )
    return frozenset(names)


def offered(names: Iterable[str], principal: Principal, toolsets: frozenset[str]) -> list[str]:
    """Of the registered tools `names`, those in `toolsets` the caller may call, in catalogue order."""
    permissions = principal.permissions
    chosen = [
        name
        for name in names
        if (offer := CATALOGUE.get(name)) is not None
        and offer.toolset in toolsets
        and offer.needs in permissions
        and not (offer.signed_in and principal.api_key_id is not None)
    ]
    return sorted(chosen, key=ORDER.__getitem__)


class ToolsetChoice:
    """ASGI wrapper of /mcp: the request's `?toolsets=` or `X-Finance-Toolsets` into `CHOSEN` (a bad name is
    kept as the text, refused by tools/list so the person reads which names exist)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        choice = _choice(scope)
        if choice is None:
            await self.app(scope, receive, send)
            return
        reset = CHOSEN.set(choice)
        try:
            await self.app(scope, receive, send)
        finally:
            CHOSEN.reset(reset)


def _choice(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == HEADER.encode():
            return value.decode("latin-1")[:500]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")[:2000])
    if QUERY in query:
        return ",".join(query[QUERY])
    return None
