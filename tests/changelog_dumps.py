"""Database dumps for "an undo put everything back" checks: `tests/reliability/dumps.py`'s dumps without the
change log itself (an undo adds to the log: that is the point), and on SQLite with each table's rows in a
stable order. (SQLite's dump lists the rows of a table without an integer key, such as transaction_tags, in
storage order: a tag row put back lands at the end. PostgreSQL's dump is ordered by primary key already.)"""

from __future__ import annotations

from tests.reliability.dumps import database_dump

LOG_TABLES = ("changes", "change_rows")


def _without_log(dump: str) -> list[str]:
    kept: list[str] = []
    in_log = False
    for line in dump.splitlines():
        if line.startswith("-- "):  # a PostgreSQL table's section
            in_log = line[3:] in LOG_TABLES
        if in_log or any(line.startswith(f'INSERT INTO "{table}"') for table in LOG_TABLES):
            continue
        kept.append(line)
    return kept


async def data_dump(url: str) -> str:
    lines = _without_log(await database_dump(url))
    if url.startswith("sqlite"):
        lines.sort()
    return "\n".join(lines)
