"""The commands of docs/DEPLOYMENT.md's "Writing a migration", run as written on a copy of the checkout's
Alembic files: they produce a revision after the current head, and (the models being unchanged) an empty one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from finance_mcp.db.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "docs" / "DEPLOYMENT.md").read_text().split("## Writing a migration", 1)[1].split("\n## ", 1)[0]
NEW_REVISION = "9999"  # not 0005: the lead's merges may have used it already


def test_the_documented_autogenerate_writes_an_empty_revision_after_head(tmp_path: Path) -> None:
    (commands,) = re.findall(r"```bash\n(.*?)```", SECTION, re.S)
    script = "\n".join(line.strip() for line in commands.splitlines())
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/").replace("0005", NEW_REVISION)
    shutil.copy(ROOT / "alembic.ini", tmp_path / "alembic.ini")
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"SECRET_KEY": "x" * 40}

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    (written,) = (tmp_path / "migrations" / "versions").glob(f"*_{NEW_REVISION}_what_it_does.py")
    source = written.read_text()
    assert f"down_revision: str | None = '{head_revision()}'" in source
    upgrade = source.split("def upgrade() -> None:", 1)[1].split("def downgrade", 1)[0]
    assert re.sub(r"\s*#.*", "", upgrade).split() == ["pass"]  # the models and the migrations agree
