"""Categorisation rules on the wire: conditions, actions, and what applying them did."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from finance_mcp.domain.rules import Field as RuleField
from finance_mcp.domain.rules import Op
from finance_mcp.schemas.common import Category, DerCategory, DerMerchant, InputModel, Tags


def _as_text(value: Any) -> Any:
    """Numbers are compared exactly: a JSON number becomes its text before it can become a float's."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return [_as_text(item) for item in value]  # pyright: ignore[reportUnknownVariableType]
    return value


ConditionValue = Annotated[
    str | list[str],
    BeforeValidator(_as_text),
    Field(
        description='Text for merchant/description/category; a number as text for amount/account_id ("-10.00"); '
        "for between a pair [low, high]. Text matches ignore case; regex is at most 200 characters."
    ),
]


class RuleCondition(InputModel):
    field: RuleField
    op: Op
    value: ConditionValue


class RuleActions(InputModel):
    category: Annotated[Category | None, Field(description="Category to give (only where none was given)")] = None
    der_category: DerCategory = None
    der_merchant: DerMerchant = None
    add_tags: Tags = None


class RuleRead(BaseModel):
    id: int
    name: str
    conditions: list[dict[str, Any]]
    actions: dict[str, Any]
    priority: int = Field(description="Rules run in ascending priority, then by id")
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleList(BaseModel):
    rules: list[RuleRead]
    total: int


class RuleDeleted(BaseModel):
    deleted: bool = True
    rule_id: int


class FieldChange(BaseModel):
    before: Any
    after: Any


class RuleEffect(BaseModel):
    transaction_id: int
    rule_ids: list[int] = Field(description="The rules that matched, in the order they ran")
    changes: dict[str, FieldChange]


class RulesApplied(BaseModel):
    dry_run: bool
    matched: int = Field(description="Transactions the filters selected")
    changed: int = Field(description="Transactions the rules change (or would change, in a dry run)")
    sample: list[RuleEffect] = Field(description="Up to 20 of the changed transactions")
    cut_off_rules: list[int] = Field(
        description="Rules whose regex ran out of time and were skipped for this call: simplify their pattern"
    )
