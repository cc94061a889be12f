"""`finance-mcp import FILE --account ID [--format F] [--commit]`: a statement file into an account, as the
person whose token is given (`--token` or FINANCE_MCP_TOKEN, verified with SECRET_KEY exactly as the server
verifies it). Without --commit it only previews; with it, the rows are added all or nothing, with a
progress bar on standard error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from finance_mcp.domain.errors import FinanceError
from finance_mcp.schemas.imports import ImportResult
from finance_mcp.settings import Settings

# The CLI reads a file on the server's own machine, so it is not bound by one HTTP request's size.
MAX_FILE_BYTES = 64 * 1024 * 1024
BAR = 30


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    command = commands.add_parser(
        "import", help="import a bank statement (CSV, OFX, QFX, QIF, CAMT.053) into an account"
    )
    command.add_argument("file", type=Path, help="the statement file")
    command.add_argument("--account", type=int, required=True, help="account id (list_accounts)")
    command.add_argument("--format", default="auto", choices=["auto", "csv", "ofx", "qfx", "qif", "camt053", "json"])
    command.add_argument("--date-format", help='CSV/QIF dates, e.g. "DD.MM.YYYY"')
    command.add_argument(
        "--map", action="append", default=[], metavar="ROLE=HEADER", help="CSV column for a role, e.g. date=Booked"
    )
    command.add_argument("--commit", action="store_true", help="import for real (default: preview only)")
    command.add_argument("--token", help="an MCP_Auth or development token (default: FINANCE_MCP_TOKEN)")


class ProgressBar:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    async def __call__(self, done: int, total: int, message: str) -> None:
        filled = BAR * done // max(total, 1)
        self._out.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} rows")
        if done >= total:
            self._out.write("\n")
        self._out.flush()


async def run_import(settings: Settings, args: argparse.Namespace, token: str) -> int:
    from finance_mcp.db.database import open_database
    from finance_mcp.server.auth import JwtVerifier, Rejected, identity_from_token
    from finance_mcp.server.state import household_quotas
    from finance_mcp.services import imports
    from finance_mcp.services.households import IdentityService

    verifier = JwtVerifier(
        settings.secret_key,
        resource_url=settings.resource_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        leeway=settings.jwt_leeway_seconds,
        previous=settings.secret_key_previous,
    )
    checked = verifier.check(token)
    if isinstance(checked, Rejected):
        sys.exit(f"finance-mcp: the token was refused: {checked.reason}")
    content = _read(args.file)
    mapping = _mapping(args.map)
    db = open_database(settings.database_url)
    try:
        principal = await IdentityService(db, quotas=household_quotas(settings)).resolve(identity_from_token(checked))
        result = await imports.import_transactions(
            db,
            principal,
            args.account,
            content,
            format=args.format,
            mapping=mapping,
            date_format=args.date_format,
            dry_run=not args.commit,
            max_bytes=MAX_FILE_BYTES,
            progress=ProgressBar(sys.stderr),
        )
    except FinanceError as error:
        sys.exit(f"finance-mcp: {error}")
    finally:
        await db.dispose()
    report(result, sys.stdout)
    return 1 if result.problems else 0


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        sys.exit(f"finance-mcp: cannot read {path}: {error.strerror or error}")
    if len(raw) > MAX_FILE_BYTES:
        sys.exit(f"finance-mcp: {path} is {len(raw)} bytes; at most {MAX_FILE_BYTES} are imported at once: split it")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # older bank exports (Windows-1252, Latin-1)


def _mapping(pairs: list[str]) -> dict[str, str] | None:
    mapping: dict[str, str] = {}
    for pair in pairs:
        role, sep, header = pair.partition("=")
        if not sep or not header.strip():
            sys.exit(f"finance-mcp: --map takes ROLE=HEADER, e.g. date=Booked; got {pair!r}")
        mapping[role.strip()] = header.strip()
    return mapping or None


def report(result: ImportResult, out: TextIO) -> None:
    verb = "would add" if result.dry_run else "added"
    out.write(
        f"{result.format}: {result.rows_read} rows read; {verb} {result.to_add} "
        f"({result.total_amount:.2f}); {result.duplicates} already in the account; "
        f"{len(result.problems)} problems; balance {result.account_balance:.2f}\n"
    )
    for problem in result.problems:
        out.write(f"  row {problem.row}: {problem.reason}\n")
    for note in result.notes:
        out.write(f"  note: {note}\n")
    for row in result.sample:
        mark = " (already there)" if row.duplicate else ""
        out.write(f"  {row.date}  {row.amount:>12.2f}  {(row.description or '')[:50]}{mark}\n")
    if result.dry_run:
        out.write("Nothing was stored: run again with --commit to import.\n" if not result.problems else "")
    elif result.change_id is not None:
        out.write(f"Change {result.change_id}: undo it with undo_change({result.change_id}).\n")
