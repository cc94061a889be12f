"""Rule tools: categorise transactions automatically, as they are created or afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field, StringConstraints

from finance_mcp.schemas.rules import RuleActions, RuleCondition, RuleDeleted, RuleList, RuleRead, RulesApplied
from finance_mcp.schemas.transactions import TransactionFilter
from finance_mcp.server.tools import CREATE, DELETE, READ, UPDATE, CurrentPrincipal, Db, tool
from finance_mcp.services import rules as service

RuleId = Annotated[int, Field(ge=1, description="Rule id, from list_rules")]
RuleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Conditions = Annotated[
    list[RuleCondition],
    Field(
        min_length=1,
        max_length=service.MAX_CONDITIONS,
        description="All must hold. field: merchant|description|category (ops contains, equals, starts_with, "
        "regex; any case) or amount|account_id (ops equals, lt, gt, between)",
    ),
]
Priority = Annotated[int | None, Field(ge=0, le=1_000_000, description="Lower runs first (default 100)")]
FilterText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Create a rule", annotations=CREATE)
    async def create_rule(
        name: RuleName,
        conditions: Conditions,
        actions: Annotated[
            RuleActions, Field(description="What to fill in: category, der_category, der_merchant, add_tags")
        ],
        principal: CurrentPrincipal,
        db: Db,
        priority: Priority = None,
    ) -> RuleRead:
        """Create a rule that fills in fields of every new transaction whose fields match all its conditions.

        Rules run on every create in priority order (lower first); the first rule to fill a field wins it,
        and a rule never overwrites a value the caller gave (a category counts as given unless it is a
        placeholder such as "Uncategorized"). Tags are added. To run rules over existing transactions, call
        apply_rules. A regex that backtracks catastrophically is refused.
        """
        return await service.create_rule(
            db, principal, name=name, conditions=conditions, actions=actions, priority=priority
        )

    @tool(mcp, title="List rules", annotations=READ)
    async def list_rules(principal: CurrentPrincipal, db: Db) -> RuleList:
        """Every rule of the household, in the order they run (priority, then id).

        Change one with update_rule; run them over past transactions with apply_rules.
        """
        return await service.list_rules(db, principal)

    @tool(mcp, title="Update a rule", annotations=UPDATE)
    async def update_rule(
        rule_id: RuleId,
        principal: CurrentPrincipal,
        db: Db,
        name: RuleName | None = None,
        conditions: Annotated[list[RuleCondition] | None, Field(max_length=service.MAX_CONDITIONS)] = None,
        actions: RuleActions | None = None,
        priority: Priority = None,
    ) -> RuleRead:
        """Change a rule: only what you give changes (conditions and actions are replaced whole).

        Ids come from list_rules; the conditions and actions are as in create_rule.
        """
        return await service.update_rule(
            db, principal, rule_id, name=name, conditions=conditions, actions=actions, priority=priority
        )

    @tool(mcp, title="Delete a rule", annotations=DELETE)
    async def delete_rule(rule_id: RuleId, principal: CurrentPrincipal, db: Db) -> RuleDeleted:
        """Delete a rule; transactions it already categorised keep their values.

        Ids come from list_rules; undo_change brings it back.
        """
        return await service.delete_rule(db, principal, rule_id)

    @tool(mcp, title="Apply rules", annotations=UPDATE)
    async def apply_rules(
        principal: CurrentPrincipal,
        db: Db,
        account_id: Annotated[int | None, Field(ge=1, description="Only this account")] = None,
        start_date: Annotated[dt.date | None, Field(description="From this date, inclusive")] = None,
        end_date: Annotated[dt.date | None, Field(description="Up to this date, inclusive")] = None,
        category: Annotated[FilterText | None, Field(description="Exact category, any case")] = None,
        merchant: Annotated[FilterText | None, Field(description="Merchant contains this text")] = None,
        search: Annotated[FilterText | None, Field(description="Text in description, merchant, category")] = None,
        rule_ids: Annotated[list[Annotated[int, Field(ge=1)]] | None, Field(max_length=100)] = None,
        overwrite: Annotated[bool, Field(description="Replace values already set (default: fill only)")] = False,
        dry_run: Annotated[bool, Field(description="Only report what would change (default)")] = True,
    ) -> RulesApplied:
        """Run the rules (or only rule_ids) over recorded transactions matching the filters (up to 5000).

        With dry_run=true (the default) nothing changes: check the sample, then call again with
        dry_run=false. Without overwrite, rules only fill empty fields. One change, undone by undo_change.
        """
        filters = TransactionFilter(
            account_id=account_id,
            start_date=start_date,
            end_date=end_date,
            category=category,
            merchant=merchant,
            search=search,
        )
        return await service.apply_rules(
            db, principal, filters, dry_run=dry_run, overwrite=overwrite, rule_ids=rule_ids
        )
