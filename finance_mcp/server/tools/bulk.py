"""Bulk edit tools: recategorise, retag or delete every transaction a listing's filters (or ids) select."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer, Resolve
from pydantic import Field

from finance_mcp.schemas.bulk import BulkResult, BulkSet
from finance_mcp.schemas.common import Tags
from finance_mcp.server.confirm import NOT_ASKED, Confirmation, Question, ask, can_ask, refusal
from finance_mcp.server.errors import translate_tool_errors
from finance_mcp.server.tools import DELETE, UPDATE, CurrentPrincipal, Db, tool
from finance_mcp.server.tools.filters import (
    AccountFilter,
    CategoryFilter,
    DerCategoryFilter,
    DerMerchantFilter,
    EndDate,
    MaxAmount,
    MerchantFilter,
    MinAmount,
    SearchFilter,
    StartDate,
    TagsFilter,
    criteria,
)
from finance_mcp.services import bulk as service
from finance_mcp.services.bulk import Selection

TransactionIds = Annotated[
    list[Annotated[int, Field(ge=1)]] | None,
    Field(
        max_length=service.MAX_BULK,
        description="These transactions (ids from list_transactions); combined with any filters given",
    ),
]
DryRun = Annotated[
    bool, Field(description="true (the default): only preview what would change; false: apply the change")
]


@translate_tool_errors
async def selection_of(
    account_id: int | None,
    start_date: dt.date | None,
    end_date: dt.date | None,
    category: str | None,
    der_category: str | None,
    merchant: str | None,
    der_merchant: str | None,
    tags: list[str] | None,
    min_amount: Decimal | None,
    max_amount: Decimal | None,
    search: str | None,
    transaction_ids: list[int] | None,
) -> Selection:
    """The rows a bulk tool is about, from its filter arguments (those of list_transactions) and ids."""
    filters = criteria(
        account_id=account_id,
        start_date=start_date,
        end_date=end_date,
        category=category,
        der_category=der_category,
        merchant=merchant,
        der_merchant=der_merchant,
        tags=tags,
        min_amount=min_amount,
        max_amount=max_amount,
        search=search,
    )
    return Selection(filters, transaction_ids)


Selected = Annotated[Selection, Resolve(selection_of)]


@translate_tool_errors
async def ask_before_bulk_deleting(
    selection: Selected, dry_run: bool, principal: CurrentPrincipal, db: Db, ctx: Context
) -> Question:
    """A real bulk delete asks the person first, naming how many rows go and their total. A refusal (role,
    no filter, too many rows) comes before any question; a selection of nothing asks nothing."""
    if dry_run or not can_ask(ctx):
        return NOT_ASKED
    question = await service.bulk_deletion_question(db, principal, selection)
    return NOT_ASKED if question is None else ask(question)


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Bulk update transactions", annotations=UPDATE)
    async def bulk_update_transactions(
        selection: Selected,
        principal: CurrentPrincipal,
        db: Db,
        set: Annotated[
            BulkSet | None, Field(description="Fields to give every selected row; null leaves a field as it is")
        ] = None,
        add_tags: Annotated[Tags, Field(description="Tags to add to every selected row")] = None,
        remove_tags: Annotated[Tags, Field(description="Tags to take off every selected row (any case)")] = None,
        dry_run: DryRun = True,
        account_id: AccountFilter = None,
        start_date: StartDate = None,
        end_date: EndDate = None,
        category: CategoryFilter = None,
        der_category: DerCategoryFilter = None,
        merchant: MerchantFilter = None,
        der_merchant: DerMerchantFilter = None,
        tags: TagsFilter = None,
        min_amount: MinAmount = None,
        max_amount: MaxAmount = None,
        search: SearchFilter = None,
        transaction_ids: TransactionIds = None,
    ) -> BulkResult:
        """Recategorise or retag many transactions at once: those list_transactions' filters (or ids) select.

        set gives every selected row a category, der_category, merchant and/or der_merchant; add_tags and
        remove_tags change their tags. At least one filter or transaction_ids is required. dry_run=true (the
        default) only previews: matched, how many would change, a sample as they would be. Call again with
        dry_run=false to apply; at most 10000 rows per call. The whole edit is one change:
        undo_change(change_id) reverts it.
        """
        return await service.bulk_update_transactions(
            db,
            principal,
            selection,
            set or BulkSet(),
            add_tags=add_tags or [],
            remove_tags=remove_tags or [],
            dry_run=dry_run,
        )

    @tool(mcp, title="Bulk delete transactions", annotations=DELETE)
    async def bulk_delete_transactions(
        selection: Selected,
        principal: CurrentPrincipal,
        db: Db,
        confirmation: Annotated[Confirmation, Resolve(ask_before_bulk_deleting)],
        dry_run: DryRun = True,
        account_id: AccountFilter = None,
        start_date: StartDate = None,
        end_date: EndDate = None,
        category: CategoryFilter = None,
        der_category: DerCategoryFilter = None,
        merchant: MerchantFilter = None,
        der_merchant: DerMerchantFilter = None,
        tags: TagsFilter = None,
        min_amount: MinAmount = None,
        max_amount: MaxAmount = None,
        search: SearchFilter = None,
        transaction_ids: TransactionIds = None,
    ) -> BulkResult:
        """Delete every transaction that list_transactions' filters (or transaction_ids) select, undoably.

        Their amounts come out of the balances. Needs the admin or owner role.

        At least one filter or transaction_ids is required. dry_run=true (the default) only previews what
        would go. With dry_run=false and a client that supports elicitation, the server asks the person
        first; if they say no, not_confirmed is set and nothing was deleted. At most 10000 rows per call.
        The whole delete is one change: undo_change(change_id) puts every row back.
        """
        if (refused := refusal(confirmation)) is not None:
            return BulkResult(
                dry_run=dry_run,
                matched=0,
                changed=0,
                sample=[],
                account_balances={},
                not_confirmed=refused.not_confirmed,
                note=refused.note,
            )
        return await service.bulk_delete_transactions(db, principal, selection, dry_run=dry_run)
