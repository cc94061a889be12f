"""The filters of `list_transactions` as tool arguments, for the tools that select rows the same way
(bulk edits, exports): one spelling and description of each, and the criteria object they make."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints

from finance_mcp.schemas.common import AmountIn
from finance_mcp.schemas.transactions import TransactionFilter

FilterText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
TagText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

AccountFilter = Annotated[int | None, Field(ge=1, description="Only this account")]
StartDate = Annotated[dt.date | None, Field(description="From this date, inclusive")]
EndDate = Annotated[dt.date | None, Field(description="Up to this date, inclusive")]
CategoryFilter = Annotated[FilterText | None, Field(description="Exact category, any case")]
DerCategoryFilter = Annotated[FilterText | None, Field(description="Exact derived category, any case")]
MerchantFilter = Annotated[FilterText | None, Field(description="Merchant contains this text, any case")]
DerMerchantFilter = Annotated[FilterText | None, Field(description="Derived merchant contains this text")]
TagsFilter = Annotated[
    list[TagText] | None, Field(max_length=50, description="Has ANY of these tags (exact, any case)")
]
MinAmount = Annotated[AmountIn | None, Field(description='Amount at least this (signed, e.g. "-100.00")')]
MaxAmount = Annotated[AmountIn | None, Field(description='Amount at most this (signed, e.g. "-10.00")')]
SearchFilter = Annotated[FilterText | None, Field(description="Text in description, merchant, category or location")]


def criteria(
    *,
    account_id: int | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    category: str | None = None,
    der_category: str | None = None,
    merchant: str | None = None,
    der_merchant: str | None = None,
    tags: list[str] | None = None,
    min_amount: object = None,
    max_amount: object = None,
    search: str | None = None,
) -> TransactionFilter:
    return TransactionFilter.model_validate(
        {
            "account_id": account_id,
            "start_date": start_date,
            "end_date": end_date,
            "category": category,
            "der_category": der_category,
            "merchant": merchant,
            "der_merchant": der_merchant,
            "tags": tags,
            "min_amount": min_amount,
            "max_amount": max_amount,
            "search": search,
        }
    )
