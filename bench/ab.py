"""A/B of one what-if (`bench/whatif.py`) against the product, alternating servers to cancel drift.

    .venv/bin/python -m bench.ab --db postgres --whatif json_response --workloads ping w1_hot w3_get [--rounds 2]

Each round starts a base server and a what-if server (order alternating by round) on the same seeded
database and runs the same scenarios on each; prints the mean calls/s of each and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
from collections import defaultdict

from bench.run import CONFIGS, RESULTS, Server, list_tools, prepare, run_scenario
from bench.seed import drop_postgres_database, remove_sqlite_database
from bench.whatif import KNOWN
from bench.workloads import Tokens, build


async def ab(args: argparse.Namespace) -> None:
    seeded = await prepare(args.db)
    secret = secrets.token_urlsafe(48)
    config = next(c for c in CONFIGS if c.workers == args.workers and c.stateless == (args.wire == "stateless"))
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    rates: dict[tuple[str, str], list[float]] = defaultdict(list)
    costs: dict[tuple[str, str], list[float]] = defaultdict(list)
    variants = {"base": "", "whatif": args.whatif}
    try:
        for round_no in range(args.rounds):
            order = ["base", "whatif"] if round_no % 2 == 0 else ["whatif", "base"]
            for variant in order:
                server = Server(seeded.database_url, secret, config, log_dir, {"BENCH_WHATIF": variants[variant]})
                server.start()
                try:
                    tokens = Tokens(secret)
                    workloads = build(seeded, tokens, await list_tools(server.port, tokens(seeded.big)))
                    for key in args.workloads:
                        row = await run_scenario(
                            server,
                            workloads[key],
                            wire=args.wire,
                            concurrency=args.concurrency,
                            args=args,
                            database_url=seeded.database_url,
                            pg_database=seeded.database_url.rsplit("/", 1)[1] if args.db == "postgres" else None,
                        )
                        rates[(variant, key)].append(row["ops_per_s"])
                        costs[(variant, key)].append(row["server_cpu_ms_per_call"] or 0.0)
                        check = row.get("check", {"ok": True})["ok"]
                        print(
                            f"round {round_no} {variant:6} {key:9} {row['ops_per_s']:8.1f} calls/s "
                            f"p50 {row['p50_ms']} ms "
                            f"{row['server_cpu_ms_per_call']} cpu-ms/call other-cpu {row['other_cpu']} "
                            f"ledger {'ok' if check else 'FAIL'}"
                        )
                finally:
                    server.stop()
    finally:
        if args.db == "postgres":
            await drop_postgres_database(seeded.database_url)
        else:
            remove_sqlite_database(seeded.database_url)
    print(
        f"\n{args.db}, {args.workers} worker(s), {args.wire} c{args.concurrency}, "
        f"what-if {args.whatif!r}, {args.rounds} rounds"
    )
    print("| workload | base calls/s | what-if calls/s | change | base cpu ms/call | what-if cpu ms/call | change |")
    print("|---|---|---|---|---|---|---|")
    for key in args.workloads:
        base = sum(rates[("base", key)]) / args.rounds
        new = sum(rates[("whatif", key)]) / args.rounds
        bc = sum(costs[("base", key)]) / args.rounds
        nc = sum(costs[("whatif", key)]) / args.rounds
        print(f"| {key} | {base:.0f} | {new:.0f} | {new / base - 1:+.0%} | {bc:.2f} | {nc:.2f} | {nc / bc - 1:+.0%} |")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--whatif", required=True, help=f"comma-separated, of {', '.join(KNOWN)}")
    parser.add_argument("--workloads", nargs="+", default=["ping", "w1_hot"])
    parser.add_argument("--wire", choices=["stateless", "stateful", "modern"], default="stateless")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, choices=[1, 2], default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--measure", type=float, default=3.0)
    return parser


def main() -> None:
    args = arguments().parse_args()
    os.sched_setaffinity(0, {0})
    asyncio.run(ab(args))


if __name__ == "__main__":
    main()
