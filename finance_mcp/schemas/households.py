"""The caller, their household and what they may do (`whoami`)."""

from __future__ import annotations

from pydantic import BaseModel


class UserRead(BaseModel):
    id: int
    auth_user_id: str
    email: str | None


class HouseholdRead(BaseModel):
    id: int
    name: str


class WhoAmI(BaseModel):
    user: UserRead
    household: HouseholdRead
    role: str
    scopes: list[str]
    permissions: list[str]
