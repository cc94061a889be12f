"""What-if switches for the benchmark server: measure a candidate change before anyone makes it.

`BENCH_WHATIF=a,b` in the benchmark server's environment applies these at start-up, in the server process
only, by patching at run time; nothing under finance_mcp/ changes. `make bench` never sets it: its rows
are the product as it is. `python -m bench.ab` runs a base/what-if pair alternately.

* ``json_response``  - `streamable_http_app(json_response=True)`: legacy POSTs answered as one JSON body
  instead of an SSE stream (the 2026-07-28 leg answers JSON either way).
* ``no_pre_ping``    - PostgreSQL engine without `pool_pre_ping` (one round trip less per unit of work).
* ``quiet_sdk_log``  - the SDK's `mcp.*` loggers at WARNING (stateless requests log an INFO line each).
* ``no_count``       - list_transactions without its `COUNT(*)` (total reported as -1): the price of total.
* ``pin_generic``    - hold a strong reference to `AcceptedElicitation[Any]`. The SDK builds that generic
  class for every `Resolve(...)` parameter; pydantic caches it only weakly, so each garbage collection
  frees it and the next call rebuilds the class (~0.6 ms).
"""

from __future__ import annotations

import logging
import os
from typing import Any

KNOWN = ("json_response", "no_pre_ping", "quiet_sdk_log", "no_count", "pin_generic")
_PINNED: list[Any] = []


def selected() -> set[str]:
    chosen = {name.strip() for name in os.environ.get("BENCH_WHATIF", "").split(",") if name.strip()}
    unknown = chosen - set(KNOWN)
    if unknown:
        raise SystemExit(f"unknown BENCH_WHATIF {sorted(unknown)}; known: {KNOWN}")
    return chosen


def apply(chosen: set[str]) -> None:
    """Patch the process before the server is built."""
    if "no_pre_ping" in chosen:
        from finance_mcp.db import database

        original = database.create_async_engine

        def engine_without_pre_ping(*args: Any, **kwargs: Any) -> Any:
            return original(*args, **{**kwargs, "pool_pre_ping": False})

        database.create_async_engine = engine_without_pre_ping  # type: ignore[assignment]
    if "quiet_sdk_log" in chosen:
        logging.getLogger("mcp").setLevel(logging.WARNING)
    if "pin_generic" in chosen:
        from mcp.server.elicitation import AcceptedElicitation

        _PINNED.append(AcceptedElicitation[Any])
    if "no_count" in chosen:
        from finance_mcp.repositories.transactions import TransactionRepository

        async def no_count(_self: Any, _filters: Any) -> int:
            return -1

        TransactionRepository.count = no_count  # type: ignore[method-assign]
