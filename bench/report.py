"""Ratios, target verdicts and the Markdown table of a benchmark run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def progress_line(row: dict[str, Any]) -> str:
    check = row.get("check")
    verdict = "" if check is None else ("  ledger ok" if check["ok"] else f"  LEDGER FAIL {check['problems'][:2]}")
    errors = f"  errors {row['errors']} {row['error_samples'][:1]}" if row["errors"] else ""
    return (
        f"  {row['wire']:9} c{row['concurrency']:<3} {row['workload']:9} {row['ops_per_s']:8.1f} ops/s  "
        f"p50 {row['p50_ms']} p99 {row['p99_ms']} ms  srv {row['server_cpu']} cpu  other {row['other_cpu']}  "
        f"rss {row['rss_peak_mb']} MB{verdict}{errors}"
    )


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """ratio = ops/s over the ping ops/s of the same server process, wire and concurrency: the mean of the
    pings just before and just after the row where there are such (c16), else of all of them (c1; and each
    ping row against all the pings, which shows the drift). cpu ratio: the same by server CPU per call."""
    for index, row in enumerate(rows):
        same = [
            (i, r)
            for i, r in enumerate(rows)
            if r["workload"] == "ping" and r["wire"] == row["wire"] and r["concurrency"] == row["concurrency"]
        ]
        pings = [r for _, r in same]
        if row["workload"] != "ping":
            before = [r for i, r in same if i < index][-1:]
            after = [r for i, r in same if i > index][:1]
            if before and after:
                pings = before + after
        ceiling = sum(r["ops_per_s"] for r in pings) / len(pings) if pings else 0.0
        row["ceiling_ops_per_s"] = round(ceiling, 1)
        row["ratio"] = round(row["ops_per_s"] / ceiling, 3) if ceiling else None
        # The same comparison by server CPU per call: steadier when other processes share the machine.
        costs = [r["server_cpu_ms_per_call"] for r in pings if r["server_cpu_ms_per_call"]]
        own = row["server_cpu_ms_per_call"]
        row["cpu_ratio"] = round(sum(costs) / len(costs) / own, 3) if costs and own else None


def _find(results: list[dict[str, Any]], db: str, label: str, workload: str, wire: str, conc: int) -> dict[str, Any]:
    for config in results:
        if config["db"] == db and config["label"] == label:
            for row in config["scenarios"]:
                if row["workload"] == workload and row["wire"] == wire and row["concurrency"] == conc:
                    return row
    return {}


def _verdict(name: str, db: str, measured: str, met: bool | None, detail: str = "") -> dict[str, Any]:
    return {"target": name, "db": db, "measured": measured, "met": met, "detail": detail}


def _clean(row: dict[str, Any]) -> bool:
    check = row.get("check")
    return row.get("errors", 1) == 0 and (check is None or check["ok"])


def targets(results: list[dict[str, Any]], duration_s: float | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    dbs = sorted({c["db"] for c in results}, reverse=True)  # sqlite first
    for db in dbs:
        floor = 0.55 if db == "sqlite" else 0.45
        for key in ("w1_hot", "w1_spread"):
            row = _find(results, db, "1w-stateless", key, "stateless", 16)
            if row:
                ok = row["ratio"] >= floor and _clean(row)
                ledger = "ledger ok" if row.get("check", {}).get("ok") else "LEDGER FAIL"
                out.append(
                    _verdict(
                        f"W1 create ({key[3:]}) >= {floor:.0%} of ping, c16, 0 lost updates",
                        db,
                        f"{row['ratio']:.0%}, {row['errors']} errors, {ledger}",
                        ok,
                    )
                )
        for key, floor, name in (
            ("w2", 0.40, "W2 list 50 of 10,000"),
            ("w3_get", 0.65, "W3 get_account"),
            ("w3_list", 0.65, "W3 list_accounts"),
        ):
            row = _find(results, db, "1w-stateless", key, "stateless", 16)
            if row:
                out.append(
                    _verdict(f"{name} >= {floor:.0%} of ping, c16", db, f"{row['ratio']:.0%}", row["ratio"] >= floor)
                )
        row = _find(results, db, "1w-stateless", "w4", "stateless", 1)
        if row:
            per_op = row["calls"] / row["ops"] if row["ops"] else 0
            one_call = abs(per_op - 1) < 1e-9
            out.append(
                _verdict(
                    "W4 month by category: one call, p50 < 50 ms (10,000-row household)",
                    db,
                    f"{per_op:.1f} calls/op, p50 {row['p50_ms']} ms",
                    one_call and (row["p50_ms"] or 1e9) < 50,
                    row.get("note", ""),
                )
            )
        row = _find(results, db, "1w-stateless", "w6", "stateless", 1)
        if row:
            out.append(
                _verdict(
                    "W6 get_overview p50 < 30 ms (10,000-row household)",
                    db,
                    f"p50 {row['p50_ms']} ms",
                    (row["p50_ms"] or 1e9) < 30,
                    row.get("note", ""),
                )
            )
        scaling = next((c for c in results if c["db"] == db and c["label"] == "scaling"), None)
        if scaling:
            one = [r["ops_per_s"] for r in scaling["scenarios"] if r["workers"] == 1]
            two = [r["ops_per_s"] for r in scaling["scenarios"] if r["workers"] == 2]
            if one and two and sum(one):
                a, b = sum(one) / len(one), sum(two) / len(two)
                is_target = db == "postgres"
                out.append(
                    _verdict(
                        "W5 2 workers >= 1.6x 1 worker (stateless wire, runs 1-2-1)" + ("" if is_target else " [info]"),
                        db,
                        f"{b / a:.2f}x ({a:.0f} -> {b:.0f} calls/s)",
                        b / a >= 1.6 if is_target else None,
                    )
                )
        for wire in ("stateful", "modern"):
            one = _find(results, db, "1w-stateful", "w5", wire, 16)
            two = _find(results, db, "2w-stateful", "w5", wire, 16)
            if one and two and one["ops_per_s"]:
                scale = two["ops_per_s"] / one["ops_per_s"]
                out.append(
                    _verdict(
                        f"W5 2 workers vs 1 worker ({wire} wire, separate blocks) [info]",
                        db,
                        f"{scale:.2f}x ({one['ops_per_s']:.0f} -> {two['ops_per_s']:.0f} calls/s)",
                        None,
                    )
                )
        w5 = [r for c in results if c["db"] == db for r in c["scenarios"] if r["workload"] == "w5"]
        if w5:
            peak = max(r["rss_peak_mb"] for r in w5)
            out.append(_verdict("server process under W5 < 200 MB RSS", db, f"peak {peak} MB", peak < 200))
        lost = [r for c in results if c["db"] == db for r in c["scenarios"] if not r.get("check", {"ok": True})["ok"]]
        out.append(_verdict("no lost updates in any write scenario", db, f"{len(lost)} failing", not lost))
    if duration_s is not None:
        out.append(_verdict("make bench under 10 minutes", "both", f"{duration_s:.0f} s", duration_s < 600))
    return out


# --- Markdown -------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _throughput(row: dict[str, Any]) -> str:
    per_op = row["calls"] / row["ops"] if row["ops"] else 1
    if abs(per_op - 1) < 1e-9:
        return f"{row['ops_per_s']:.0f}"
    return f"{row['ops_per_s']:.1f} ops ({per_op:.1f} calls each)"


def _check(row: dict[str, Any]) -> str:
    check = row.get("check")
    if check is None:
        return ""
    return f"ok ({check['rows_written']} rows)" if check["ok"] else "FAIL"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Run {results['generated_at']}, {results['duration_s']} s in all; each scenario "
        f"{results['warmup_s']:g} s warm-up + {results['measure_s']:g} s measured.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Linux {m['kernel']}; Python {m['python']}; "
        f"SQLite {m['sqlite']}; PostgreSQL {m['postgresql']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + ".",
        f"Pinning: {m['pinning']}. Code: {m.get('code', '?')}.",
        "",
        "### Targets",
        "",
        "| target | db | measured | met |",
        "|---|---|---|---|",
    ]
    for t in results["targets"]:
        met = "info" if t["met"] is None else ("**yes**" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {t['db']} | {t['measured']} | {met} |")
    notes = {r.get("note") for c in results["configs"] for r in c["scenarios"] if r["workload"] == "w4"}
    lines += ["", *[f"W4: {n}." for n in sorted(n for n in notes if n)]]
    for config in results["configs"]:
        lines += [
            "",
            f"### {config['db']}, {config['workers']} worker{'s' if config['workers'] != 1 else ''}, "
            f"STATELESS_HTTP={'true' if config['stateless_http'] else 'false'} (server cpus {config['server_cpus']})",
            "",
            "| wire | workload | conc | calls/s | ratio | cpu ratio | p50 ms | p95 ms | p99 ms | errors | server cpu | "
            "cpu ms/call | pg cpu | client cpu | other cpu | peak RSS MB | ledger |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in config["scenarios"]:
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.0%}"
            cpu_ratio = "-" if row.get("cpu_ratio") is None else f"{row['cpu_ratio']:.0%}"
            pg = "-" if row["pg_cpu"] is None else f"{row['pg_cpu']:.2f}"
            lines.append(
                f"| {row['wire']} | {row['title']} | {row['concurrency']} | {_throughput(row)} | {ratio} | "
                f"{cpu_ratio} | "
                f"{_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {row['errors']} | "
                f"{row['server_cpu']:.2f} | {row['server_cpu_ms_per_call'] or 0:.2f} | {pg} | "
                f"{row['client_cpu']:.2f} | {row['other_cpu']:.2f} | {row['rss_peak_mb']:.0f} | {_check(row)} |"
            )
        if config["log_problems"]:
            lines += ["", "Server log problems: " + "; ".join(f"`{p}`" for p in config["log_problems"][:3])]
    return "\n".join(lines) + "\n"


def update_docs(path: Path, table: str) -> None:
    text = path.read_text()
    block = f"{BEGIN}\n{table}{END}"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
