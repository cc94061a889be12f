"""import_transactions at scale: 100,000 CSV rows into one account, as a dry run and for real, next to the
same rows sent as 100 create_transactions_batch calls of 1,000; on SQLite and PostgreSQL.

    .venv/bin/python -m bench.imports [--rows 100000] [--db sqlite postgres]      (or: make bench-import)

Every call goes through the real server in this process (`build_server`, the SDK's in-memory client: tool
argument validation, the service, the database), so the batches pay what a client sending them would pay
but HTTP. Each measured phase runs in a fresh process, so its peak RSS (ru_maxrss) is its own; the server's
own footprint before the phase is printed beside it. Databases are its own and removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import subprocess
import sys
import time
from typing import Any

from bench.seed import (
    create_postgres_database,
    drop_postgres_database,
    migrate,
    remove_sqlite_database,
    sqlite_database_url,
)

PHASES = ("dry_run", "import", "batches")
BATCH = 1000


def rows(count: int) -> list[tuple[str, str, str]]:
    """(date, amount, description): a year of varied rows, repeatable."""
    out: list[tuple[str, str, str]] = []
    for i in range(count):
        day = f"2026-{1 + i % 12:02d}-{1 + (i * 7) % 28:02d}"
        amount = f"-{(i * 37) % 500}.{(i * 13) % 100:02d}" if i % 10 else f"{1000 + i % 900}.00"
        out.append((day, amount, f"Merchant {i % 5000} purchase {i}"))
    return out


def csv_text(count: int) -> str:
    return "Date,Amount,Description\n" + "".join(f"{d},{a},{t}\n" for d, a, t in rows(count))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def phase(url: str, name: str, count: int) -> dict[str, Any]:
    from mcp import Client
    from mcp.server.auth.middleware.auth_context import auth_context_var
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

    from finance_mcp.cli.dev import mint_token
    from finance_mcp.server.app import build_server
    from finance_mcp.settings import Settings

    secret = secrets.token_urlsafe(48)
    settings = Settings(
        _env_file=None,  # pyright: ignore[reportCallIssue]
        database_url=url,
        secret_key=secret,
        oauth_bridge=False,
        api_keys=False,
        write_quota_per_minute=0,
        max_request_body_bytes=64 * 1024 * 1024,
    )
    mcp, _state = build_server(settings)
    token = mint_token(secret, sub=str(secrets.randbelow(10**9)), tenant=f"bench-{secrets.token_hex(6)}")
    assert mcp.bearer is not None
    verified = await mcp.bearer.verify_token(token)
    assert verified is not None
    auth_context_var.set(AuthenticatedUser(verified))
    content = csv_text(count) if name != "batches" else ""
    items = [{"amount": a, "date": d, "category": "Uncategorized", "description": t} for d, a, t in rows(count)]
    if name != "batches":
        items = []
    async with Client(mcp) as client:  # pyright: ignore[reportArgumentType]
        made = await client.call_tool("create_account", {"name": "Bench", "account_type": "checking"})
        account = (made.structured_content or {})["id"]
        before = peak_rss_mb()
        started = time.perf_counter()
        if name == "batches":
            for start in range(0, count, BATCH):
                result = await client.call_tool(
                    "create_transactions_batch", {"account_id": account, "transactions": items[start : start + BATCH]}
                )
                assert not result.is_error, result.content
        else:
            arguments = {"account_id": account, "content": content, "dry_run": name == "dry_run"}
            result = await client.call_tool("import_transactions", arguments)
            assert not result.is_error, result.content
            assert (result.structured_content or {})["to_add"] == count
        seconds = time.perf_counter() - started
        got = await client.call_tool("get_account", {"account_id": account})
        balance = (got.structured_content or {})["balance"]
    return {
        "phase": name,
        "rows": count,
        "seconds": seconds,
        "rows_per_s": count / seconds,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "balance": balance,
    }


def run_phase(url: str, name: str, count: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.imports", "--phase", name, "--url", url, "--rows", str(count)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def database(kind: str) -> str:
    return await create_postgres_database() if kind == "postgres" else sqlite_database_url()


async def forget(url: str) -> None:
    if url.startswith("postgresql"):
        await drop_postgres_database(url)
    else:
        remove_sqlite_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(asyncio.run(phase(args.url, args.phase, args.rows))))
        return
    print(f"{'db':9} {'phase':8} {'rows':>7} {'seconds':>8} {'rows/s':>8} {'RSS before':>10} {'peak RSS':>9}")
    for kind in args.db:
        url = asyncio.run(database(kind))
        try:
            migrate(url)
            results = {name: run_phase(url, name, args.rows) for name in PHASES}
        finally:
            asyncio.run(forget(url))
        for name, r in results.items():
            print(
                f"{kind:9} {name:8} {r['rows']:>7} {r['seconds']:>8.2f} {r['rows_per_s']:>8.0f} "
                f"{r['rss_before_mb']:>8.0f}MB {r['peak_rss_mb']:>7.0f}MB"
            )
        assert results["import"]["balance"] == results["batches"]["balance"], "the two paths disagree"
        speedup = results["batches"]["seconds"] / results["import"]["seconds"]
        print(f"{kind:9} import is {speedup:.1f}x the speed of the batches (same rows, same balance)")


if __name__ == "__main__":
    main()
