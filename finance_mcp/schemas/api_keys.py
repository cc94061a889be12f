"""Wire schemas of API keys: what the key tools accept and return. The secret appears in exactly one
place, `ApiKeyCreated.key`, returned once by create_api_key."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from finance_mcp.domain.toolsets import TOOLSET_NAMES, ToolsetName

Scope = Literal["finance:read", "finance:write", "finance:admin"]
KeyName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(description="A name that says where the key is used, e.g. 'Cursor on my laptop' (1-100 characters)"),
]
KeyScopes = Annotated[
    list[Scope],
    Field(
        min_length=1,
        max_length=3,
        description="What the key may do: finance:read (look), finance:write (record and change), "
        "finance:admin (delete accounts). At most what your own role and sign-in allow.",
    ),
]
ExpiresInDays = Annotated[int, Field(ge=1, le=365, description="Days until the key stops working (1-365)")]

DEFAULT_EXPIRY_DAYS = 90


KeyToolsets = Annotated[
    list[ToolsetName] | None,
    Field(
        max_length=len(TOOLSET_NAMES),
        description='The toolsets its client is offered by default, e.g. ["core", "planning"]; '
        "default: the household's",
    ),
]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: KeyName
    scopes: KeyScopes
    expires_in_days: ExpiresInDays = DEFAULT_EXPIRY_DAYS
    toolsets: KeyToolsets = None


class ApiKeyRead(BaseModel):
    id: int = Field(description="The key's id, for revoke_api_key")
    name: str
    prefix: str = Field(description="The start of the key, to recognise it; the rest is never shown again")
    scopes: list[str]
    toolsets: list[str] | None = Field(
        default=None, description="Offered by default to its client; null: the household's"
    )
    role: str = Field(
        description="The key's role: its creator's when it was made, lowered by re-checks with MCP_Auth; never higher"
    )
    user_id: int
    user_email: str | None
    status: Literal["active", "revoked", "expired"]
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str | None = Field(
        default=None, description="Why the key was stopped, when a re-check with MCP_Auth stopped it"
    )
    rechecked_with_mcp_auth: bool = Field(
        default=False,
        description="Whether uses of the key re-check its person with MCP_Auth (at most every few minutes), "
        "lowering its role with theirs and stopping it when they leave the household; false: it keeps its "
        "creator's role until it expires",
    )
    recheck: str = Field(default="", description="How the key's person is re-checked with MCP_Auth, in words")
    checked_at: dt.datetime | None = Field(
        default=None, description="When MCP_Auth last vouched for the key's person (null: never re-checked)"
    )


class ApiKeyCreated(BaseModel):
    # Never kept for an idempotent repeat (server/idempotency.py): the secret is shown once.
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("key",)

    key: str = Field(description="The API key. Shown only now: store it in the client's secret store")
    api_key: ApiKeyRead
    usage: str = Field(description="How to use the key")
    notice: str | None = Field(
        default=None, description="Something the person should know about this key, e.g. a shortened lifetime"
    )


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyRead]
    total: int


class ApiKeyRevoked(BaseModel):
    revoked: Literal[True] = True
    api_key: ApiKeyRead
