"""Exports on the wire: what was exported, and where to read it (the file itself is the result's resource)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ExportResult(BaseModel):
    format: Literal["csv", "json", "ofx"]
    rows: int = Field(description="How many transactions the file holds")
    bytes: int = Field(description="Size of the file in bytes (UTF-8)")
    mime_type: str
    filename: str = Field(description="A file name to save it under")
    uri: str = Field(description="The file as a resource: resources/read it (again) with this URI")
    embedded: bool = Field(
        description="true: the file is in this result as an embedded resource; false: too large to embed, "
        "the result carries a resource link instead (read the uri)"
    )
