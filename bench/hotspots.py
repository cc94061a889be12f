"""Where a server process spends its CPU under one workload: a py-spy sampling profile, summarised.

    .venv/bin/python -m bench.hotspots --db sqlite --workload w1_hot [--wire stateless] [--seconds 6]

Seeds a throw-away database, starts the benchmark server (1 worker, pinned to core 1), drives the workload
from core 0 and records the server with py-spy (`pip install py-spy`; not a project dependency) while the
load runs. Prints self time by package, the hottest functions, and inclusive time of the frames that
matter for the hot paths; writes the raw collapsed stacks next to the results.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.load import run_load
from bench.run import CONFIGS, RESULTS, Server, list_tools, prepare
from bench.seed import drop_postgres_database, remove_sqlite_database
from bench.workloads import Tokens, build

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
INCLUSIVE = [
    ("SQLAlchemy execute", "sqlalchemy/engine/base.py", "_execute_context"),
    ("SQLAlchemy pool checkout (+pre-ping)", "sqlalchemy/pool/base.py", "_checkout"),
    ("SQLAlchemy pre-ping", "sqlalchemy/", "do_ping"),
    ("SQLAlchemy commit", "sqlalchemy/engine/base.py", "commit"),
    ("asyncpg adapter await_", "sqlalchemy/util/_concurrency_py3k.py", "await_"),
    ("SDK call_tool (validate + tool + convert)", "mcp/server/mcpserver/server.py", "call_tool"),
    ("SDK convert_result", "mcp/server/mcpserver/", "convert_result"),
    ("pydantic model_validate (TransactionRead etc.)", "finance_mcp/services/", "to_transaction"),
    ("finance_mcp services", "finance_mcp/services/", ""),
    ("finance_mcp repositories", "finance_mcp/repositories/", ""),
    ("JWT verify", "finance_mcp/server/auth.py", "verify"),
    ("logging", "logging/__init__.py", ""),
    ("SSE response (sse_starlette)", "sse_starlette/", ""),
]


def package(file: str) -> str:
    """py-spy names files relative to their sys.path entry: the first component is the package."""
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    if file.startswith("finance_mcp/"):
        return "finance_mcp." + file.split("/")[1].removesuffix(".py")
    return file.split("/", 1)[0].removesuffix(".py") or "?"


def _named(frame_function: str, wanted: str) -> bool:
    return not wanted or frame_function == wanted or frame_function.endswith("." + wanted)


def parse(raw: str) -> list[tuple[list[tuple[str, str]], int]]:
    stacks: list[tuple[list[tuple[str, str]], int]] = []
    for line in raw.splitlines():
        frames_text, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames: list[tuple[str, str]] = []
        for frame in frames_text.split(";"):
            match = FRAME.match(frame.strip())
            frames.append((match["func"], match["file"]) if match else (frame, ""))
        stacks.append((frames, int(count)))
    return stacks


def summarise(raw: str, top: int = 25) -> str:
    stacks = [(frames, n) for frames, n in parse(raw) if not frames[0][0].startswith("process ")]
    main = [(f, n) for f, n in stacks if any(func == "run" and "uvicorn" in file for func, file in f)] or stacks
    total = sum(n for _, n in main) or 1
    by_package: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for frames, n in main:
        func, file = frames[-1]
        by_package[package(file)] += n
        by_function[f"{func} ({package(file)})"] += n
    lines = [f"{total} samples (main thread)", "", "self time by package:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_package.most_common(top)]
    lines += ["", "self time by function:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_function.most_common(top)]
    lines += ["", "inclusive time:"]
    for label, path, func in INCLUSIVE:
        hits = sum(n for frames, n in main if any(path in f and _named(fn, func) for fn, f in frames))
        lines.append(f"  {hits / total:6.1%}  {label}")
    return "\n".join(lines)


def find_py_spy() -> str:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return py_spy


async def profile(args: argparse.Namespace) -> None:
    py_spy = find_py_spy()
    seeded = await prepare(args.db)
    secret = secrets.token_urlsafe(48)
    config = next(c for c in CONFIGS if c.workers == 1 and c.stateless == (args.wire == "stateless"))
    out_dir = RESULTS / "profiles"
    out_dir.mkdir(parents=True, exist_ok=True)
    server = Server(seeded.database_url, secret, config, out_dir)
    server.start()
    try:
        tokens = Tokens(secret)
        workload = build(seeded, tokens, await list_tools(server.port, tokens(seeded.big)))[args.workload]
        raw_path = out_dir / f"{args.db}-{args.workload}-{args.wire}.raw.txt"
        command = [py_spy, "record", "-p", str(server.pids[0]), "-d", str(int(args.seconds)), "-r", "250"]
        command += ["-f", "raw", "-o", str(raw_path)]

        async def attach(edge: str) -> None:
            if edge == "start":
                recorder.append(await asyncio.create_subprocess_exec(*command, stdout=subprocess.DEVNULL))

        recorder: list[asyncio.subprocess.Process] = []
        outcome = await run_load(
            host="127.0.0.1",
            port=server.port,
            wire=args.wire,
            concurrency=args.concurrency,
            operation=workload.operation,
            tokens_for_task=workload.tokens_for_task,
            warmup_seconds=1.0,
            measure_seconds=args.seconds + 1,
            max_ops=1_000_000,
            on_window=attach,
        )
        await recorder[0].wait()
        report = f"{args.db} {args.workload} {args.wire} c{args.concurrency}: {outcome.summary()}\n\n"
        report += summarise(raw_path.read_text())
        (out_dir / f"{args.db}-{args.workload}-{args.wire}.txt").write_text(report + "\n")
        print(report)
    finally:
        server.stop()
        if args.db == "postgres":
            await drop_postgres_database(seeded.database_url)
        else:
            remove_sqlite_database(seeded.database_url)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotspots", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workload", default="w1_hot")
    parser.add_argument("--wire", choices=["stateless", "stateful", "modern"], default="stateless")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    asyncio.run(profile(args))


if __name__ == "__main__":
    main()
