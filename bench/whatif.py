"""What-if switches for the benchmark server: measure a candidate change before anyone makes it.

`BENCH_WHATIF=a,b` in the benchmark server's environment applies these at start-up, in the server process
only, by patching at run time; nothing under finance_mcp/ changes. `make bench` never sets it: its rows
are the product as it is. `python -m bench.ab` runs a base/what-if pair alternately.

* ``json_response``  - `streamable_http_app(json_response=True)`: legacy POSTs answered as one JSON body
  instead of an SSE stream (the 2026-07-28 leg answers JSON either way).
* ``no_count``       - filtered listings without their `COUNT(*)` (total reported as -1): the price of
  `total` where the account's row counter cannot answer it.

Earlier what-ifs that are now the product: no `pool_pre_ping`, the SDK's INFO logs off outside DEBUG, a
strong reference to `AcceptedElicitation[Any]`, one SO_REUSEPORT listener per worker.
"""

from __future__ import annotations

import os
from typing import Any

KNOWN = ("json_response", "no_count")


def selected() -> set[str]:
    chosen = {name.strip() for name in os.environ.get("BENCH_WHATIF", "").split(",") if name.strip()}
    unknown = chosen - set(KNOWN)
    if unknown:
        raise SystemExit(f"unknown BENCH_WHATIF {sorted(unknown)}; known: {KNOWN}")
    return chosen


def apply(chosen: set[str]) -> None:
    """Patch the process before the server is built (`json_response` is applied by `bench.server`)."""
    if "no_count" in chosen:
        from finance_mcp.repositories.transactions import TransactionRepository

        async def no_count(_self: Any, _filters: Any) -> int:
            return -1

        TransactionRepository.count = no_count  # type: ignore[method-assign]
