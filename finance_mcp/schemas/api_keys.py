"""Wire schemas of API keys: what the key tools accept and return. The secret appears in exactly one
place, `ApiKeyCreated.key`, returned once by create_api_key."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: KeyName
    scopes: KeyScopes
    expires_in_days: ExpiresInDays = DEFAULT_EXPIRY_DAYS


class ApiKeyRead(BaseModel):
    id: int = Field(description="The key's id, for revoke_api_key")
    name: str
    prefix: str = Field(description="The start of the key, to recognise it; the rest is never shown again")
    scopes: list[str]
    role: str = Field(description="The creator's role when the key was made; the key never exceeds it")
    user_id: int
    user_email: str | None
    status: Literal["active", "revoked", "expired"]
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str | None = Field(
        default=None, description="Why the key was stopped, when a re-check with MCP_Auth stopped it"
    )


class ApiKeyCreated(BaseModel):
    key: str = Field(description="The API key. Shown only now: store it in the client's secret store")
    api_key: ApiKeyRead
    usage: str = Field(description="How to use the key")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyRead]
    total: int


class ApiKeyRevoked(BaseModel):
    revoked: Literal[True] = True
    api_key: ApiKeyRead
