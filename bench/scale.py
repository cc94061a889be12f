"""Past one database (`make bench-scale`, docs/DEPLOYMENT.md): two comparisons on loopback.

* PgBouncer: W5 (the mixed workload) at c16 on 4 server workers, straight to PostgreSQL (127.0.0.1:5432)
  and through Debian's PgBouncer in transaction mode (pool of 10 server connections), with
  DATABASE_PGBOUNCER=true and, to measure why it exists, without it (asyncpg's cached prepared statements).
* Replica: W4 (a month's spending summary over 10,000 rows) at c8 while W1 writes run at c8 on 2 workers,
  all on the primary, then with DATABASE_REPLICA_URL on a synchronous hot standby (`pg_basebackup -R`).

A separate target because `make bench` already takes ~8.5 of its 10 minutes. Every server and cluster is
stopped by its own pid; the databases are dropped. Writes bench/results/scale.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.load import run_load
from bench.run import RESULTS, ROOT, free_port, list_tools
from bench.seed import Seed, create_postgres_database, drop_postgres_database, migrate, seed
from bench.workloads import Tokens, Workload, build
from tests.deploy.clusters import Pair, primary_and_standby, wait_replayed
from tests.deploy.pgbouncer import running_pgbouncer, version

STARTUP_TIMEOUT = 300.0  # a busy shared machine can take minutes to import 4 workers
MAX_OPS = 200_000


class Server:
    """`python -m bench.server` on a free loopback port, with these settings; stopped by its own pid."""

    def __init__(self, database_url: str, secret: str, workers: int, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = log
        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret, "STATELESS_HTTP": "true"}
        # WRITE_QUOTA_PER_MINUTE=0: the load writes far faster than any person; the quota would throttle it.
        self.env |= {
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "BENCH_WHATIF": "",
            "WRITE_QUOTA_PER_MINUTE": "0",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "bench.server", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while self.log.read_text().count("Application startup complete") < self.workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


async def measure(server: Server, workload: Workload, concurrency: int, args: argparse.Namespace) -> dict[str, Any]:
    outcome = await run_load(
        host="127.0.0.1", port=server.port, wire="stateless", concurrency=concurrency,
        operation=workload.operation, tokens_for_task=workload.tokens_for_task,
        warmup_seconds=args.warmup, measure_seconds=args.measure, max_ops=MAX_OPS,
    )  # fmt: skip
    return {"workload": workload.key, "title": workload.title, "concurrency": concurrency, **outcome.summary()}


async def workloads_of(server: Server, seeded: Seed, tokens: Tokens) -> dict[str, Workload]:
    return build(seeded, tokens, await list_tools(server.port, tokens(seeded.big)))


async def pgbouncer_rows(secret: str, args: argparse.Namespace, logs: Path) -> list[dict[str, Any]]:
    url = await create_postgres_database()
    rows: list[dict[str, Any]] = []
    try:
        await asyncio.to_thread(migrate, url)  # Alembic runs its own event loop
        seeded, tokens = await seed(url), Tokens(secret)
        with running_pgbouncer(url, pool_size=10) as bounced:
            targets = [
                ("direct", url, {}),
                ("pgbouncer, DATABASE_PGBOUNCER=true", bounced, {"DATABASE_PGBOUNCER": "true"}),
                ("pgbouncer, driver defaults (prepared statements cached)", bounced, {}),
            ]
            for label, target, env in targets:
                print(f"== W5 c16, 4 workers: {label}", flush=True)
                with Server(target, secret, 4, env, logs / f"scale-pgbouncer-{len(rows)}.log") as server:
                    workload = (await workloads_of(server, seeded, tokens))["w5"]
                    rows.append({"target": label, **await measure(server, workload, 16, args)})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        await drop_postgres_database(url)
    return rows


async def replica_rows(pair: Pair, secret: str, args: argparse.Namespace, logs: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url = pair.primary.database_url()
    seeded, tokens = await seed(url), Tokens(secret)
    await wait_replayed(pair)
    targets = (("primary only", {}), ("reads on the replica", {"DATABASE_REPLICA_URL": pair.standby.database_url()}))
    for label, env in targets:
        print(f"== W4 c8 + W1 c8, 2 workers: {label}", flush=True)
        with Server(url, secret, 2, env, logs / f"scale-replica-{len(rows)}.log") as server:
            catalogue = await workloads_of(server, seeded, tokens)
            reads, writes = await asyncio.gather(
                measure(server, catalogue["w4"], 8, args), measure(server, catalogue["w1_spread"], 8, args)
            )
        rows.append({"target": label, "analytics": reads, "writes": writes})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(results: dict[str, Any]) -> str:
    lines = [f"PgBouncer ({results['pgbouncer_version']}), W5 mixed at c16, 4 workers, stateless wire:", ""]
    lines += ["| target | calls/s | p50 ms | p95 ms | errors |", "|---|---:|---:|---:|---:|"]
    for row in results["pgbouncer"]:
        lines.append(
            f"| {row['target']} | {row['calls_per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row['errors']} |"
        )
    lines += ["", "Analytics (W4 c8) while writes (W1 c8) run, 2 workers, synchronous standby:", ""]
    lines += ["| reads go to | W4 calls/s | W4 p50 ms | W4 p95 ms | W1 calls/s | W1 p95 ms | errors |"]
    lines += ["|---|---:|---:|---:|---:|---:|---:|"]
    for row in results["replica"]:
        a, w = row["analytics"], row["writes"]
        lines.append(
            f"| {row['target']} | {a['calls_per_s']} | {a['p50_ms']} | {a['p95_ms']} | {w['calls_per_s']} "
            f"| {w['p95_ms']} | {a['errors'] + w['errors']} |"
        )
    return "\n".join(lines) + "\n"


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    secret = secrets.token_urlsafe(48)
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"pgbouncer_version": version(), "warmup_s": args.warmup, "measure_s": args.measure}
    results["pgbouncer"] = asyncio.run(pgbouncer_rows(secret, args, logs)) if "pgbouncer" in args.only else []
    results["replica"] = []
    if "replica" in args.only:
        with primary_and_standby() as pair:  # built and torn down outside any event loop (it runs its own)
            results["replica"] = asyncio.run(replica_rows(pair, secret, args, logs))
    results["duration_s"] = round(time.perf_counter() - started, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=["pgbouncer", "replica"], default=["pgbouncer", "replica"])
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per scenario")
    parser.add_argument("--measure", type=float, default=8.0, help="seconds measured per scenario")
    args = parser.parse_args()
    results = run_all(args)
    out = RESULTS / "scale.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(results))
    print("\n" + markdown(results) + f"\nwrote {out} in {results['duration_s']} s")


if __name__ == "__main__":
    main()
