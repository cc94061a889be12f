"""Configuration: one typed object, read from the environment and `.env`, checked at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./finance_mcp.db"
MIN_SECRET_LENGTH = 32
GENERATE_HINT = (
    'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))" '
    "and put SECRET_KEY=<value> in .env or the environment (it must equal MCP_Auth's SECRET_KEY)"
)


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the server. Unsafe or malformed values stop start-up with a message."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = Field(default="", repr=False)
    debug: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list[str])
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None
    auth_server_url: str = "http://localhost:8001"
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list[str])
    stateless_http: bool = False
    max_request_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_strong(cls, value: str) -> str:
        if not value:
            raise ValueError(f"SECRET_KEY is not set; {GENERATE_HINT}")
        if value.startswith("change-me"):
            raise ValueError(f"SECRET_KEY is still the placeholder from .env.example; {GENERATE_HINT}")
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"SECRET_KEY is {len(value)} characters; at least {MIN_SECRET_LENGTH} are required; " + GENERATE_HINT
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError(
                "DATABASE_URL must be a sqlite:///path.db or postgresql://user@host/db URL, "
                f"got one starting with {value.split(':', 1)[0]!r}"
            )
        return value

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("public_url", "jwt_audience", "jwt_issuer", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def resource_url(self) -> str:
        """The public URL of the MCP endpoint: the RFC 9728 resource and the default token audience."""
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + "/mcp"
