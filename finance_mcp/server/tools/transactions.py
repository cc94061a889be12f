"""Transaction tools."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field, StringConstraints

from finance_mcp.schemas.common import (
    AmountIn,
    Category,
    DerCategory,
    DerMerchant,
    Description,
    Location,
    Merchant,
    Tags,
)
from finance_mcp.schemas.transactions import (
    BatchCreated,
    ClearableField,
    TransactionCreated,
    TransactionDeleted,
    TransactionFields,
    TransactionFilter,
    TransactionPage,
    TransactionRead,
    TransactionUpdate,
    TransactionUpdated,
)
from finance_mcp.server.tools import CREATE, DELETE, READ, UPDATE, CurrentPrincipal, Db, tool
from finance_mcp.services import transactions as service

AccountId = Annotated[int, Field(ge=1, description="Account id, from list_accounts")]
TransactionId = Annotated[int, Field(ge=1, description="Transaction id, from list_transactions")]
Day = Annotated[dt.date, Field(description="Date as YYYY-MM-DD")]
FilterText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
# A tag filter longer than any tag can be is refused, not answered with nothing.
TagText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Record a transaction", annotations=CREATE)
    async def create_transaction(
        account_id: AccountId,
        amount: AmountIn,
        date: Day,
        category: Category,
        principal: CurrentPrincipal,
        db: Db,
        description: Description = None,
        merchant: Merchant = None,
        location: Location = None,
        tags: Tags = None,
        der_category: DerCategory = None,
        der_merchant: DerMerchant = None,
    ) -> TransactionCreated:
        """Record one income or expense on an account and return it with the account's new balance.

        Use a negative amount for spending or withdrawals and a positive one for income or deposits.
        For many rows at once (a statement import), use create_transactions_batch.
        """
        fields = TransactionFields(
            amount=amount,
            date=date,
            category=category,
            description=description,
            merchant=merchant,
            location=location,
            tags=tags,
            der_category=der_category,
            der_merchant=der_merchant,
        )
        return await service.record_transaction(db, principal, account_id, fields)

    @tool(mcp, title="Record many transactions", annotations=CREATE)
    async def create_transactions_batch(
        account_id: AccountId,
        transactions: Annotated[
            list[TransactionFields],
            Field(
                min_length=1,
                max_length=service.MAX_BATCH,
                description="1-1000 transactions, each with the fields of create_transaction except account_id",
            ),
        ],
        principal: CurrentPrincipal,
        db: Db,
    ) -> BatchCreated:
        """Record up to 1000 transactions on one account, all or nothing.

        If any item is invalid, nothing is recorded and the error names the item. Returns the stored
        transactions in input order, their count and sum, and the account's new balance. For a bank's
        export file use import_transactions, which skips rows already stored; list_transactions shows them.
        """
        return await service.record_batch(db, principal, account_id, transactions)

    @tool(mcp, title="Find transactions", annotations=READ)
    async def list_transactions(
        principal: CurrentPrincipal,
        db: Db,
        account_id: Annotated[int | None, Field(ge=1, description="Only this account")] = None,
        start_date: Annotated[dt.date | None, Field(description="From this date, inclusive")] = None,
        end_date: Annotated[dt.date | None, Field(description="Up to this date, inclusive")] = None,
        category: Annotated[FilterText | None, Field(description="Exact category, any case")] = None,
        der_category: Annotated[FilterText | None, Field(description="Exact derived category, any case")] = None,
        merchant: Annotated[FilterText | None, Field(description="Merchant contains this text, any case")] = None,
        der_merchant: Annotated[FilterText | None, Field(description="Derived merchant contains this text")] = None,
        tags: Annotated[
            list[TagText] | None, Field(max_length=50, description="Has ANY of these tags (exact, any case)")
        ] = None,
        min_amount: Annotated[AmountIn | None, Field(description='Signed amount at least this, e.g. "-100.00"')] = None,
        max_amount: Annotated[AmountIn | None, Field(description='Signed amount at most this, e.g. "-10.00"')] = None,
        search: Annotated[
            FilterText | None, Field(description="Text in description, merchant, category or location")
        ] = None,
        limit: Annotated[
            int, Field(ge=0, le=service.MAX_PAGE, description="Page size, 1-500; 0 for the total alone")
        ] = 50,
        cursor: Annotated[str | None, Field(max_length=200, description="next_cursor of the previous page")] = None,
    ) -> TransactionPage:
        """Find transactions, newest first (date, then id), with optional filters combined with AND.

        Returns one page, the total number of matches, and next_cursor: call again with the same
        filters and cursor=next_cursor to get the next page; it is null on the last page. For totals
        (how much on groceries?) use spending_summary instead of adding pages up.
        """
        filters = TransactionFilter(
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
        return await service.list_transactions(db, principal, filters, limit=limit, cursor=cursor)

    @tool(mcp, title="Get transaction", annotations=READ)
    async def get_transaction(transaction_id: TransactionId, principal: CurrentPrincipal, db: Db) -> TransactionRead:
        """Return one transaction, with its tags and derived fields.

        Ids come from list_transactions; change it with update_transaction.
        """
        return await service.get_transaction(db, principal, transaction_id)

    @tool(mcp, title="Update transaction", annotations=UPDATE)
    async def update_transaction(
        transaction_id: TransactionId,
        principal: CurrentPrincipal,
        db: Db,
        account_id: Annotated[int | None, Field(ge=1, description="Move it to this account")] = None,
        amount: Annotated[AmountIn | None, Field(description='New signed amount, e.g. "-12.50"')] = None,
        date: Annotated[dt.date | None, Field(description="New date, YYYY-MM-DD")] = None,
        category: Annotated[Category | None, Field(description="New category")] = None,
        description: Description = None,
        merchant: Merchant = None,
        location: Location = None,
        tags: Tags = None,
        der_category: DerCategory = None,
        der_merchant: DerMerchant = None,
        clear_fields: Annotated[
            list[ClearableField] | None, Field(description='Optional fields to empty, e.g. ["merchant", "tags"]')
        ] = None,
    ) -> TransactionUpdated:
        """Change a transaction: the fields of create_transaction you give change; absent or null ones do not.

        To empty an optional field, list it in clear_fields. Changing the amount or moving the
        transaction to another account updates the balances; all touched balances are returned.
        undo_change takes an edit back.
        """
        changes = TransactionUpdate(
            account_id=account_id,
            amount=amount,
            date=date,
            category=category,
            description=description,
            merchant=merchant,
            location=location,
            tags=tags,
            der_category=der_category,
            der_merchant=der_merchant,
            clear_fields=clear_fields or [],
        )
        return await service.update_transaction(db, principal, transaction_id, changes)

    @tool(mcp, title="Delete transaction", annotations=DELETE)
    async def delete_transaction(
        transaction_id: TransactionId, principal: CurrentPrincipal, db: Db
    ) -> TransactionDeleted:
        """Delete one transaction and take its amount back out of the account's balance.

        To fix a wrong amount or category, prefer update_transaction. undo_change can put it back.
        """
        return await service.delete_transaction(db, principal, transaction_id)
