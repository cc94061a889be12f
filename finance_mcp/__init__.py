"""finance-mcp: personal and household finance for AI assistants over the Model Context Protocol."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("finance-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
