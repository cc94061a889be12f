"""`finance-mcp export`: the transactions a listing's filters select, as CSV, JSON or OFX, to a file or
standard output. Who is exporting comes from a bearer token (`--token` or `FINANCE_MCP_TOKEN`), verified
with the local SECRET_KEY exactly as the server verifies it: its household and role, nothing more. A file is
written next to FILE and renamed into place only when complete."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from finance_mcp.settings import Settings

TOKEN_VARIABLE = "FINANCE_MCP_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def add_export_command(export: argparse.ArgumentParser) -> None:
    export.add_argument("--format", choices=["csv", "json", "ofx"], default="csv", help="default csv (re-importable)")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.add_argument("--token", help=f"bearer token of the person exporting (default: ${TOKEN_VARIABLE})")
    export.add_argument("--account", type=int, help="only this account id")
    export.add_argument("--start-date", help="from this date, inclusive (YYYY-MM-DD)")
    export.add_argument("--end-date", help="up to this date, inclusive (YYYY-MM-DD)")
    export.add_argument("--category", help="exact category, any case")
    export.add_argument("--der-category", help="exact derived category, any case")
    export.add_argument("--merchant", help="merchant contains this text")
    export.add_argument("--der-merchant", help="derived merchant contains this text")
    export.add_argument("--tag", action="append", help="has this tag (repeat for any of several)")
    export.add_argument("--min-amount", type=Decimal, help="amount at least this")
    export.add_argument("--max-amount", type=Decimal, help="amount at most this")
    export.add_argument("--search", help="text in description, merchant, category or location")


def run_export(settings: Settings, args: argparse.Namespace) -> None:
    token = args.token or os.environ.get(TOKEN_VARIABLE)
    if not token:
        sys.exit(f"finance-mcp: give the exporting person's token with --token or {TOKEN_VARIABLE}")
    asyncio.run(_export(settings, args, token))


async def _export(settings: Settings, args: argparse.Namespace, token: str) -> None:
    from finance_mcp.db.database import open_database
    from finance_mcp.domain.errors import FinanceError
    from finance_mcp.schemas.transactions import TransactionFilter
    from finance_mcp.server.auth import JwtVerifier, identity_from_token
    from finance_mcp.server.state import household_quotas
    from finance_mcp.services.exports import write_export
    from finance_mcp.services.households import IdentityService

    verifier = JwtVerifier(  # as the server builds it (server/app.py)
        settings.secret_key,
        resource_url=settings.resource_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        leeway=settings.jwt_leeway_seconds,
        previous=settings.secret_key_previous,
    )
    verified = verifier.verify(token)
    if verified is None:
        sys.exit("finance-mcp: the token does not verify here (expired, or signed with another SECRET_KEY)")
    try:
        filters = TransactionFilter.model_validate(
            {
                "account_id": args.account,
                "start_date": args.start_date,
                "end_date": args.end_date,
                "category": args.category,
                "der_category": args.der_category,
                "merchant": args.merchant,
                "der_merchant": args.der_merchant,
                "tags": args.tag,
                "min_amount": args.min_amount,
                "max_amount": args.max_amount,
                "search": args.search,
            }
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        sys.exit(f"finance-mcp: {problems}")
    db = open_database(settings.database_url)
    output: Path | None = args.output
    partial = output.with_name(f".{output.name}.partial") if output is not None else None
    try:
        principal = await IdentityService(db, quotas=household_quotas(settings)).resolve(identity_from_token(verified))
        if partial is None:
            exported = await write_export(db, principal, filters, args.format, sys.stdout)
        else:
            with partial.open("w", encoding="utf-8", newline="") as out:
                exported = await write_export(db, principal, filters, args.format, out)
            partial.replace(output or partial)
    except FinanceError as error:
        sys.exit(f"finance-mcp: {error}")
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
        await db.dispose()
    where = output or "standard output"
    print(f"finance-mcp: exported {exported.rows} transactions as {exported.format} to {where}", file=sys.stderr)  # noqa: T201
