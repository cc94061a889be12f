"""Imports point one way (the README's Design section): tools -> services -> repositories -> models.

Every import statement in the package counts, including those inside functions and `TYPE_CHECKING`
blocks: a deferred import still points the wrong way."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "finance_mcp"

MCP_EDGE = ("mcp", "finance_mcp.server")
CLI = "finance_mcp.cli"
TOOLS = "finance_mcp.server.tools"
APP = "finance_mcp.server.app"


@dataclass(frozen=True)
class Import:
    module: str
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool) -> list[Import]:
    """Every module an import statement may load; `from a import b` counts as `a` and `a.b`."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append(Import(module, node.lineno, base))
            found += [Import(module, node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def package_imports() -> list[Import]:
    found: list[Import] = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        found += imports_of(path.read_text(), module_name(path), is_package=path.name == "__init__.py")
    return found


def within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def offending(importers: tuple[str, ...] | str, forbidden: tuple[str, ...] | str) -> list[str]:
    return sorted({str(i) for i in package_imports() if within(i.module, importers) and within(i.target, forbidden)})


def core_modules() -> tuple[str, ...]:
    """Every module of the package outside the MCP edge, the command line and `python -m`'s entry."""
    edge = ("finance_mcp.server", CLI, "finance_mcp.__main__")
    return tuple(sorted({i.module for i in package_imports() if not within(i.module, edge)}))


def test_the_core_never_imports_mcp_the_server_or_the_cli() -> None:
    core = set(core_modules())
    wrong = sorted({str(i) for i in package_imports() if i.module in core and within(i.target, (*MCP_EDGE, CLI))})
    assert wrong == []


def test_the_core_is_every_module_outside_the_server_and_the_cli() -> None:
    core = set(core_modules())

    assert {"finance_mcp.crypto", "finance_mcp.logs", "finance_mcp.domain.quotas", "finance_mcp.schemas.common"} <= core
    assert not {m for m in core if m.startswith(("finance_mcp.server", "finance_mcp.cli"))}


def test_domain_primitives_import_nothing_but_each_other() -> None:
    outside = sorted(
        str(i)
        for i in package_imports()
        if within(i.module, "finance_mcp.domain")
        and within(i.target, "finance_mcp")
        and not within(i.target, "finance_mcp.domain")
    )
    assert outside == []


def test_repositories_never_import_wire_schemas() -> None:
    assert offending("finance_mcp.repositories", "finance_mcp.schemas") == []


def test_repositories_never_import_services() -> None:
    assert offending("finance_mcp.repositories", "finance_mcp.services") == []


def test_the_db_package_never_imports_repositories_or_services() -> None:
    assert offending("finance_mcp.db", ("finance_mcp.repositories", "finance_mcp.services")) == []


def test_only_the_app_factory_imports_the_tools() -> None:
    outside = sorted(
        {str(i) for i in package_imports() if within(i.target, TOOLS) and not within(i.module, (APP, TOOLS))}
    )
    assert outside == []


def test_the_scan_sees_the_whole_package_and_its_known_edges() -> None:
    found = package_imports()
    modules = {i.module for i in found}
    edges = {(i.module, i.target) for i in found}

    assert {"finance_mcp.settings", "finance_mcp.db.models", "finance_mcp.services.accounts", APP} <= modules
    assert (APP, TOOLS) in edges
    assert ("finance_mcp.services.accounts", "finance_mcp.repositories.unit_of_work") in edges


def test_relative_and_from_imports_resolve_to_absolute_modules() -> None:
    source = "from . import money\nfrom ..server import tools\nfrom .tools import accounts\nimport mcp.types\n"

    found = {i.target for i in imports_of(source, "finance_mcp.server.app", is_package=False)}

    assert {"finance_mcp.server.money", "finance_mcp.server.tools", "finance_mcp.server.tools.accounts"} <= found
    assert "mcp.types" in found
    package = {i.target for i in imports_of("from . import errors", "finance_mcp.services", is_package=True)}
    assert "finance_mcp.services.errors" in package


def calls_in(path: Path) -> list[tuple[int, str]]:
    """Every call's line and callee as written: `f` for `f(...)`, `.name` for `x.name(...)`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                found.append((node.lineno, node.func.id))
            elif isinstance(node.func, ast.Attribute):
                found.append((node.lineno, f".{node.func.attr}"))
    return found


def built_on_a_connection(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef) and node.name == "__init__" and "conn" in {a.arg for a in node.args.args}


def test_services_open_units_of_work_by_intent_never_a_connection_or_a_repository() -> None:
    repositories = PACKAGE_ROOT / "repositories"
    classes = {  # the repositories: classes built on a connection
        node.name
        for path in repositories.glob("*.py")
        if path.name != "unit_of_work.py"
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef) and any(built_on_a_connection(item) for item in node.body)
    }
    wrong = [
        f"{path.name}:{line} calls {callee}"
        for path in sorted((PACKAGE_ROOT / "services").glob("*.py"))
        for line, callee in calls_in(path)
        if callee == ".connect" or callee in classes
    ]

    assert {"AccountRepository", "OAuthRepository", "SignInAttemptRepository"} <= classes
    assert wrong == []
