"""The benchmark-only server: the product plus one trivial `ping` tool, the yardstick for every ratio.

The product has no trivial tool and must not get one. This variant builds the product's own server with
`build_server(settings)`, adds `async def ping() -> str`, and builds the ASGI app with the same options
as `finance_mcp.server.app.build_app`. It is served by the product's own `serve` (same uvicorn config,
same SO_REUSEPORT + TCP_NODELAY listener per worker for `--workers N`), only with this factory as the app.

    python -m bench.server --port 8765 [--workers 2]      # settings from the environment, as the product
"""

from __future__ import annotations

import argparse

from starlette.applications import Starlette

from bench import whatif
from finance_mcp import cli
from finance_mcp.server.app import build_server, configure_logging, serve_http
from finance_mcp.settings import Settings

APP = "bench.server:create_app"


def build_bench_app(settings: Settings) -> Starlette:
    """`build_app(settings)` with one extra tool; keep the options in step with the product's."""
    chosen = whatif.selected()
    whatif.apply(chosen)
    mcp, _state = build_server(settings)

    @mcp.tool(description="Benchmark yardstick: returns 'pong' and touches nothing.")
    async def ping() -> str:  # pyright: ignore[reportUnusedFunction]
        return "pong"

    # json_response is a what-if only: the product leaves it at False.
    return serve_http(mcp, settings, json_response="json_response" in chosen)


def create_app() -> Starlette:
    """uvicorn `--factory` entry point, like `finance_mcp.server.app.create_app`."""
    settings = Settings()
    configure_logging(settings)
    return build_bench_app(settings)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the benchmark server binds loopback only")
    # The product's serve path, unchanged, with the benchmark factory as the app.
    cli.APP = APP
    cli.serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
