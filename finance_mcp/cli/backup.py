"""`finance-mcp backup --output FILE`: a consistent copy of the database, taken while servers keep writing.

SQLite: the sqlite3 online-backup API, in one step, so the copy is one read snapshot (WAL lets writers go
on meanwhile) and, unlike copying the file, includes what still sits in the `-wal` file. PostgreSQL:
`pg_dump --format=custom` (one snapshot too), restored with `pg_restore`. The copy is written next to FILE
and renamed into place only when complete, so a failed backup never leaves a file that looks like one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """Why no backup was written; `str(error)` says what to do."""


def backup(database_url: str, output: Path) -> str:
    """Write the backup to `output` (which must not exist yet); returns what was backed up, for the log."""
    if output.exists():
        raise BackupError(f"{output} already exists: choose a new file name (nothing was written)")
    url = make_url(database_url)
    partial = output.with_name(f".{output.name}.partial")
    try:
        if url.get_backend_name() == "sqlite":
            described = _sqlite_backup(url, partial)
        elif url.get_backend_name() in ("postgresql", "postgres"):
            described = _pg_dump(url, partial)
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        partial.rename(output)
    finally:
        partial.unlink(missing_ok=True)
    return described


def _sqlite_backup(url: URL, partial: Path) -> str:
    source = url.database
    if not source or source == ":memory:" or not Path(source).is_file():
        raise BackupError(f"no SQLite database file at {source!r} (DATABASE_URL)")
    with closing(sqlite3.connect(source, timeout=10)) as live, closing(sqlite3.connect(partial)) as copy:
        live.backup(copy)  # pages=-1: every page in one step, i.e. one consistent snapshot
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    return f"SQLite {source}"


def _pg_dump(url: URL, partial: Path) -> str:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump not found: install PostgreSQL's client tools (Debian: postgresql-client)")
    # The password goes in the environment, not on the command line, where any user could read it.
    environment = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run(  # noqa: S603 - fixed program, arguments passed as a list
        [pg_dump, "--format=custom", "--no-password", f"--file={partial}", f"--dbname={libpq}"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return f"PostgreSQL {url.database} on {url.host or 'localhost'}"
