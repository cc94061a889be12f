"""Run the Alembic migrations from code (the CLI's `migrate`, the tests, `make run`), wherever we are installed.

The scripts are the package `finance_mcp.migrations`: in a repository checkout that is the top-level
`migrations/` directory (pyproject.toml maps it), in an installed wheel the copy inside the package. So the
configuration is built here rather than read from `alembic.ini`, which only the checkout has (for Alembic's
own CLI, e.g. `alembic revision`).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_PACKAGE = "finance_mcp.migrations"


def script_location() -> str:
    """The migrations' directory on disk (pip installs packages unzipped, so it is a real directory)."""
    return str(files(MIGRATIONS_PACKAGE))


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location())
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


@cache
def head_revision() -> str:
    """The revision the code's models match: the newest of the installed scripts."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "finance_mcp.migrations holds no revision"
    return head


@cache
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
