"""The README's generated sections (tools, resources, settings), so they cannot drift from the code.

Regenerate with: .venv/bin/python -m tests.readme_sections
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from finance_mcp.server.app import build_server
from finance_mcp.server.toolsets import ALL, CATALOGUE, TOOLSETS
from finance_mcp.settings import Settings
from tests import tool_list_size
from tests.tool_list_size import as_listed

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _server() -> Any:
    mcp, _state = build_server(Settings(secret_key="x" * 40, _env_file=None))  # type: ignore[call-arg]
    return mcp


def render_tools() -> str:
    tools = asyncio.run(_server().list_tools())
    lines = ["| tool | what it does | arguments (* = required) |", "|---|---|---|"]
    for tool in tools:
        schema = tool.input_schema or {}
        required = set(schema.get("required", []))
        args = ", ".join(f"`{name}`{'*' if name in required else ''}" for name in schema.get("properties", {}))
        summary = (tool.description or "").split("\n")[0]
        lines.append(f"| `{tool.name}` | {summary} | {args or '–'} |")
    return "\n".join(lines)


def render_resources() -> str:
    server = _server()
    resources = asyncio.run(server.list_resources())
    templates = asyncio.run(server.list_resource_templates())
    lines = ["| resource | what it returns |", "|---|---|"]
    for item in resources:
        lines.append(f"| `{item.uri}` | {(item.description or '').strip()} |")
    for item in templates:
        lines.append(f"| `{item.uri_template}` | {(item.description or '').strip()} |")
    return "\n".join(lines)


def render_settings() -> str:
    """One row per variable of .env.example: its default and its comment."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    comment: list[str] = []
    for raw in (ROOT / ".env.example").read_text().splitlines()[3:]:
        line = raw.strip()
        if line.startswith("#"):
            comment.append(line.lstrip("# ").strip())
        elif "=" in line:
            name, default = line.split("=", 1)
            meaning = " ".join(comment).replace("|", "\\|")
            shown = "required" if name == "SECRET_KEY" else f"`{default}`" if default else "–"
            lines.append(f"| `{name}` | {shown} | {meaning} |")
            comment = []
        else:
            comment = []
    return "\n".join(lines)


def render_toolsets() -> str:
    """Each toolset's tools and what listing them costs (tokens: `tests/tool_list_size.py`)."""
    tools = asyncio.run(_server().list_tools())
    lines = ["| toolset | tools | tokens | bytes |", "|---|---|---:|---:|"]
    for toolset in [*TOOLSETS, ALL]:
        chosen = [tool for tool in tools if toolset == ALL or CATALOGUE[tool.name].toolset == toolset]
        if not chosen:
            continue
        names = f"every tool ({len(chosen)})" if toolset == ALL else ", ".join(f"`{tool.name}`" for tool in chosen)
        lines.append(f"| `{toolset}` | {names} | {tool_list_size.tokens(chosen):,} | {len(as_listed(chosen)):,} |")
    return "\n".join(lines)


SECTIONS = {
    "tools": render_tools,
    "toolsets": render_toolsets,
    "resources": render_resources,
    "settings": render_settings,
}


def marked(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {name}:start -->)(.*?)(<!-- {name}:end -->)", re.S)


def sync(text: str) -> str:
    for name, render in SECTIONS.items():
        text = marked(name).sub(lambda m, r=render: m.group(1) + "\n" + r() + "\n" + m.group(3), text)
    return text


if __name__ == "__main__":
    README.write_text(sync(README.read_text()))
