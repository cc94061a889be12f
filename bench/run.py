"""`make bench`: the whole matrix, on SQLite and PostgreSQL, in one run; writes JSON and a Markdown table.

    taskset -c 0 .venv/bin/python -m bench.run [--only sqlite|postgres] [--warmup 1] [--measure 3]
                                               [--update-docs docs/PERFORMANCE.md]

For each database: create a throw-away database (a SQLite file in a temp dir, or a `finance_mcp_bench_*`
PostgreSQL database, dropped at the end), migrate and seed it through the services, then for each server
configuration (1 or 2 worker processes, STATELESS_HTTP on or off) start the benchmark server variant
(`bench.server`: the product plus an `async def ping` tool) on a free loopback port and run its scenarios.

Pinning: this process (the load generator) runs on core 0; a 1-worker server on core 1; a 2-worker server
may use cores 0 and 1. PostgreSQL's backends are not pinned.

Every ratio is a scenario's calls/s over the `ping` calls/s of the same server process, wire and
concurrency: at c16 the mean of the pings run just before and just after it (a ping runs between every two
workloads), at c1 the mean of the block's pings. After each write scenario every account's balance
must equal its opening balance plus the sum of its rows exactly, and each written account must have
gained exactly the rows and the amount the client saw succeed (no lost updates).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg

from bench import report
from bench.load import McpConnection, run_load
from bench.seed import (
    PG_ADMIN_URL,
    Ledger,
    Seed,
    create_postgres_database,
    drop_postgres_database,
    ledger,
    migrate,
    remove_sqlite_database,
    seed,
    sqlite_database_url,
)
from bench.workloads import Tokens, Workload, build

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLIENT_CPU = 0
SERVER_CPUS = {1: "1", 2: "0,1"}
STARTUP_TIMEOUT = 30.0
MAX_OPS = 200_000
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = 1024


@dataclass(frozen=True)
class Block:
    """Scenarios on one wire: at c16 ping before, between and after the workloads; at c1 ping first."""

    wire: str
    c1: tuple[str, ...] = ()
    c16: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    workers: int
    stateless: bool
    blocks: tuple[Block, ...]

    @property
    def label(self) -> str:
        return f"{self.workers}w-{'stateless' if self.stateless else 'stateful'}"


ALL = ("w0", "w1_hot", "w1_spread", "w2", "w3_get", "w3_list", "w4", "w6", "w5")
CONFIGS = (
    Config(1, True, (Block("stateless", c1=tuple(w for w in ALL if w != "w1_spread"), c16=ALL),)),
    Config(
        1,
        False,
        (
            Block("stateful", c16=("w0", "w1_hot", "w2", "w5")),
            Block("modern", c16=("w0", "w1_hot", "w2", "w3_get", "w5")),
        ),
    ),
    Config(2, True, (Block("stateless", c1=("w5",), c16=("w1_hot", "w1_spread")),)),  # W5 c16: run_scaling
    Config(2, False, (Block("stateful", c16=("w5",)), Block("modern", c16=("w5",)))),
)


# --- the server process --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def busy_cpu_seconds() -> float:
    """CPU time spent by everything on the machine (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class Server:
    """`python -m bench.server` under taskset, on a free loopback port; stopped by its own pid."""

    def __init__(
        self, database_url: str, secret: str, config: Config, log_dir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.config = config
        self.port = free_port()
        self.log_path = log_dir / f"server-{config.label}-{self.port}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret,
            "STATELESS_HTTP": "true" if config.stateless else "false",
            "LOG_LEVEL": "INFO",  # the product's default
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
            "BENCH_WHATIF": "",  # the product as it is, unless a what-if run asks (bench.ab)
            # A benchmark writes far faster than any person: the write quota would throttle the measurement.
            "WRITE_QUOTA_PER_MINUTE": "0",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []

    def start(self) -> None:
        command = ["taskset", "-c", SERVER_CPUS[self.config.workers], sys.executable, "-m", "bench.server"]
        command += ["--port", str(self.port), "--workers", str(self.config.workers)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start-up:\n{self.log_path.read_text()[-3000:]}")
            if self.log_path.read_text().count("Application startup complete") >= self.config.workers:
                self.pids = descendants(self.process.pid)
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {STARTUP_TIMEOUT} s:\n{self.log_path.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        """The processes that serve requests (the supervisor of a multi-worker server serves none)."""
        return self.pids[1:] if self.config.workers > 1 else self.pids[:1]

    def stop(self) -> None:
        if self.process is None:
            return
        pids = descendants(self.process.pid)
        self.process.send_signal(signal.SIGTERM)  # graceful; SIGINT makes uvicorn re-raise KeyboardInterrupt
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def log_problems(self) -> list[str]:
        text = self.log_path.read_text(errors="replace").split("Shutting down", 1)[0]
        return [line[:300] for line in text.splitlines() if "Traceback" in line or " ERROR " in line][:10]


# --- measurement ---------------------------------------------------------------------------------------


@dataclass
class Probe:
    """Server and database CPU over the measured window; peak RSS of each server process over the scenario."""

    server: Server
    pg_database: str | None
    cpu: dict[str, float] = field(default_factory=dict[str, float])
    pg_pids: list[int] = field(default_factory=list[int])
    rss_peak_kb: dict[int, int] = field(default_factory=dict[int, int])
    pg_start: dict[int, float] = field(default_factory=dict[int, float])

    async def window(self, edge: str) -> None:
        if edge == "start" and self.pg_database:
            self.pg_pids = await pg_backends(self.pg_database)
        if edge == "end":  # backends that ended inside the window would make the sum go backwards
            self.pg_pids = [pid for pid in self.pg_pids if _stat(pid) is not None]
            self.cpu["pg_start"] = sum(self.pg_start.get(pid, 0.0) for pid in self.pg_pids)
        else:
            self.pg_start = {pid: cpu_seconds([pid]) for pid in self.pg_pids}
        self.cpu[f"server_{edge}"] = cpu_seconds(self.server.pids)
        self.cpu[f"pg_{edge}"] = cpu_seconds(self.pg_pids)
        self.cpu[f"client_{edge}"] = time.process_time()
        self.cpu[f"all_{edge}"] = busy_cpu_seconds()
        self.cpu[f"wall_{edge}"] = time.perf_counter()

    async def sample_memory(self) -> None:
        while True:
            for pid in self.server.workers():
                self.rss_peak_kb[pid] = max(self.rss_peak_kb.get(pid, 0), status_kb(pid, "VmRSS"))
            await asyncio.sleep(0.1)


async def pg_backends(database: str) -> list[int]:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def check_writes(workload: Workload, before: Ledger, after: Ledger) -> dict[str, Any]:
    """Zero lost updates: every balance = opening + Σ rows, and the written accounts gained exactly what
    the client saw succeed."""
    problems: list[str] = [f"balance != opening + sum(rows): {m}" for m in after.mismatches[:5]]
    for account_id in workload.writes:
        rows, cents = workload.successes.get(account_id, [0, 0])
        gained_rows = after.rows[account_id] - before.rows[account_id]
        gained = after.balances[account_id] - before.balances[account_id]
        if workload.key != "w5" and (gained_rows != rows or gained != cents) and not workload.uncertain:
            problems.append(f"account {account_id}: +{gained_rows} rows/{gained} cents, client saw {rows}/{cents}")
    if workload.key == "w5":  # updates move amounts too: check rows in total, balances by invariant
        rows = sum(r for r, _ in workload.successes.values())
        gained_rows = sum(after.rows[a] - before.rows[a] for a in workload.writes)
        if gained_rows != rows and not workload.uncertain:
            problems.append(f"W5: +{gained_rows} rows, client saw {rows} successful creates")
    return {
        "ok": not problems,
        "accounts_checked": len(after.rows),
        "rows_written": sum(r for r, _ in workload.successes.values()),
        "uncertain": workload.uncertain,
        "problems": problems,
    }


async def run_scenario(
    server: Server,
    workload: Workload,
    *,
    wire: str,
    concurrency: int,
    args: argparse.Namespace,
    database_url: str,
    pg_database: str | None,
) -> dict[str, Any]:
    workload.successes.clear()
    workload.uncertain = 0
    before = await ledger(database_url) if workload.writes else None
    probe = Probe(server, pg_database)
    sampler = asyncio.create_task(probe.sample_memory())
    try:
        outcome = await run_load(
            host="127.0.0.1",
            port=server.port,
            wire=wire,
            concurrency=concurrency,
            operation=workload.operation,
            tokens_for_task=workload.tokens_for_task,
            warmup_seconds=args.warmup,
            measure_seconds=args.measure,
            max_ops=MAX_OPS,
            on_window=probe.window,
        )
    finally:
        sampler.cancel()
    result: dict[str, Any] = {"workload": workload.key, "title": workload.title, "wire": wire}
    result |= {"concurrency": concurrency, **outcome.summary()}
    wall = probe.cpu["wall_end"] - probe.cpu["wall_start"]
    server_cpu = probe.cpu["server_end"] - probe.cpu["server_start"]
    result["server_cpu"] = round(server_cpu / wall, 2)
    result["server_cpu_ms_per_call"] = round(server_cpu * 1000 / outcome.calls, 3) if outcome.calls else None
    pg_cpu = max(0.0, probe.cpu["pg_end"] - probe.cpu["pg_start"])
    result["pg_cpu"] = round(pg_cpu / wall, 2) if pg_database else None
    ours = sum(probe.cpu[f"{k}_end"] - probe.cpu[f"{k}_start"] for k in ("server", "pg", "client"))
    result["other_cpu"] = round(max(0.0, probe.cpu["all_end"] - probe.cpu["all_start"] - ours) / wall, 2)
    result["rss_peak_mb"] = round(max(probe.rss_peak_kb.values(), default=0) / PAGE_KB, 1)
    if workload.note:
        result["note"] = workload.note
    if before is not None:
        result["check"] = check_writes(workload, before, await ledger(database_url))
    return result


async def list_tools(port: int, token: str) -> dict[str, dict[str, Any]]:
    conn = McpConnection("127.0.0.1", port, "modern")
    await conn.open()
    try:
        result = await conn.rpc(token, "tools/list", {})
    finally:
        await conn.close()
    return {tool["name"]: tool for tool in result["tools"]}


async def run_config(
    config: Config, db: str, seeded: Seed, secret: str, args: argparse.Namespace, log_dir: Path
) -> dict[str, Any]:
    pg_database = seeded.database_url.rsplit("/", 1)[1] if db == "postgres" else None
    server = Server(seeded.database_url, secret, config, log_dir)
    server.start()
    print(
        f"\n== {db} {config.label}: server pids {server.pids} on cpus {SERVER_CPUS[config.workers]}, port {server.port}"
    )
    tokens = Tokens(secret)
    rows: list[dict[str, Any]] = []
    try:
        workloads = build(seeded, tokens, await list_tools(server.port, tokens(seeded.big)))
        for block in config.blocks:
            for concurrency, listed in ((1, block.c1), (16, block.c16)):
                keys = [k for k in listed if not args.workloads or k in args.workloads]
                if not keys:
                    continue
                # At c16 a ping runs between every two workloads: each ratio is taken against the pings
                # measured just before and just after it, so drift in the machine's speed cancels.
                sequence = [k for key in keys for k in ("ping", key)] + ["ping"] if concurrency > 1 else ["ping", *keys]
                for key in sequence:
                    row = await run_scenario(
                        server,
                        workloads[key],
                        wire=block.wire,
                        concurrency=concurrency,
                        args=args,
                        database_url=seeded.database_url,
                        pg_database=pg_database,
                    )
                    rows.append(row)
                    print(report.progress_line(row))
        peak = {pid: status_kb(pid, "VmHWM") for pid in server.workers()}
    finally:
        server.stop()
    report.add_ratios(rows)
    return {
        "db": db,
        "workers": config.workers,
        "stateless_http": config.stateless,
        "label": config.label,
        "server_cpus": SERVER_CPUS[config.workers],
        "vm_hwm_mb": {str(pid): round(kb / PAGE_KB, 1) for pid, kb in peak.items()},
        "log_problems": server.log_problems(),
        "scenarios": rows,
    }


SCALING_ORDER = (1, 2, 1)


async def run_scaling(db: str, seeded: Seed, secret: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """W5 on 1 and 2 workers back to back (1, 2, 1), so linear drift on a shared machine cancels in the ratio."""
    pg_database = seeded.database_url.rsplit("/", 1)[1] if db == "postgres" else None
    rows: list[dict[str, Any]] = []
    print(f"\n== {db} scaling: W5, stateless wire, c16, workers {SCALING_ORDER}")
    for workers in SCALING_ORDER:
        config = Config(workers, True, ())
        server = Server(seeded.database_url, secret, config, log_dir)
        server.start()
        try:
            tokens = Tokens(secret)
            workload = build(seeded, tokens, await list_tools(server.port, tokens(seeded.big)))["w5"]
            row = await run_scenario(
                server,
                workload,
                wire="stateless",
                concurrency=16,
                args=args,
                database_url=seeded.database_url,
                pg_database=pg_database,
            )
        finally:
            server.stop()
        row |= {"workers": workers, "title": f"{row['title']}, {workers} worker{'s' if workers > 1 else ''}"}
        row |= {"ratio": None, "cpu_ratio": None, "ceiling_ops_per_s": None}
        rows.append(row)
        print(report.progress_line(row))
    return {
        "db": db,
        "workers": "1 and 2",
        "stateless_http": True,
        "label": "scaling",
        "server_cpus": f"{SERVER_CPUS[1]} (1 worker), {SERVER_CPUS[2]} (2 workers)",
        "vm_hwm_mb": {},
        "log_problems": [],
        "scenarios": rows,
    }


async def prepare(db: str) -> Seed:
    url = await create_postgres_database() if db == "postgres" else sqlite_database_url()
    began = time.perf_counter()
    await asyncio.to_thread(migrate, url)
    seeded = await seed(url)
    print(f"seeded {db} in {time.perf_counter() - began:.1f} s: {url}")
    return seeded


async def postgres_reachable() -> str | None:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        print(f"!!! PostgreSQL at {PG_ADMIN_URL} unreachable ({error}); PostgreSQL rows SKIPPED !!!")
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def machine(pg_version: str | None) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line), "?")
    mem_kb = status_kb_meminfo()
    packages = ["mcp", "uvicorn", "starlette", "pydantic", "sqlalchemy", "asyncpg", "pyjwt", "anyio"]
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "packages": {name: version(name) for name in packages},
        "code": code_version(),
        "pinning": f"load generator on cpu {CLIENT_CPU}; server cpus: 1 worker -> {SERVER_CPUS[1]}, "
        f"2 workers -> {SERVER_CPUS[2]}; PostgreSQL backends unpinned",
    }


def code_version() -> str:
    """The commit measured, and how many files under finance_mcp/ differ from it (others edit the tree)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "finance_mcp"], cwd=ROOT, capture_output=True, text=True
        ).stdout.splitlines()
    except OSError:
        return "unknown"
    return f"{head.stdout.strip()} + {len(dirty)} uncommitted file(s) under finance_mcp/"


def status_kb_meminfo() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    secret = secrets.token_urlsafe(48)
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("server-*.log"):  # the logs of the latest run only
        old.unlink()
    pg_version = await postgres_reachable() if "postgres" in args.only else None
    databases = [db for db in args.only if db == "sqlite" or pg_version is not None]
    configs = [c for c in CONFIGS if not args.configs or c.label in args.configs]
    results: list[dict[str, Any]] = []
    seeded_json: dict[str, Any] | None = None
    for db in databases:
        seeded = await prepare(db)
        seeded_json = seeded.to_json()
        try:
            for config in configs:
                results.append(await run_config(config, db, seeded, secret, args, log_dir))
            if not args.configs or "scaling" in args.configs:
                results.append(await run_scaling(db, seeded, secret, args, log_dir))
        finally:
            if db == "postgres":
                await drop_postgres_database(seeded.database_url)
            else:
                remove_sqlite_database(seeded.database_url)
    duration = round(time.perf_counter() - started, 1)
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "warmup_s": args.warmup,
        "measure_s": args.measure,
        "machine": machine(pg_version),
        "seed": seeded_json,
        "configs": results,
        "targets": report.targets(results, duration),
        "duration_s": duration,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--configs", nargs="*", help="configurations to run: 1w-stateless 1w-stateful 2w-... scaling")
    parser.add_argument("--workloads", nargs="*", help="only these workloads (ping always runs), e.g. w1_hot w4")
    parser.add_argument("--warmup", type=float, default=0.75, help="seconds of warm-up per scenario")
    parser.add_argument("--measure", type=float, default=3.0, help="seconds measured per scenario")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--update-docs", type=Path, help="replace the results block of this Markdown file")
    args = parser.parse_args()
    os.sched_setaffinity(0, {CLIENT_CPU})  # the load generator stays off the 1-worker server's core
    results = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    markdown = report.markdown(results)
    args.out.with_suffix(".md").write_text(markdown)
    print("\n" + markdown)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')} in {results['duration_s']} s")
    if args.update_docs:
        report.update_docs(args.update_docs, markdown)
        print(f"updated {args.update_docs}")


if __name__ == "__main__":
    main()
