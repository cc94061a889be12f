"""Splits on the wire: one transaction counted as several parts (categories), which add up to its amount."""

from __future__ import annotations

from pydantic import BaseModel

from finance_mcp.schemas.common import AmountIn, Category, DerCategory, Description, InputModel, Tags
from finance_mcp.schemas.transactions import TransactionRead


class SplitPart(InputModel):
    amount: AmountIn
    category: Category
    der_category: DerCategory = None
    description: Description = None
    tags: Tags = None


class TransactionSplitDone(BaseModel):
    transaction: TransactionRead
