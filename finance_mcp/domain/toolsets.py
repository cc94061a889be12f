"""The names of the toolsets `tools/list` offers (`server/toolsets.py` says which tools each holds)."""

from __future__ import annotations

from typing import Literal

ToolsetName = Literal["core", "changes", "import", "planning", "keys"]
TOOLSET_NAMES: tuple[ToolsetName, ...] = ("core", "changes", "import", "planning", "keys")
