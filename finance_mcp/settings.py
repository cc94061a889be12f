"""Configuration: one typed object, read from the environment and `.env`, checked at start-up."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./finance_mcp.db"
MIN_SECRET_LENGTH = 32
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
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
    # The SECRET_KEY before a rotation: still accepted to verify and open, never used to sign or seal.
    secret_key_previous: str | None = Field(default=None, repr=False)
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
    # How long one statement of a summary or a search may run before it is stopped with "narrow the range".
    scan_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    oauth_bridge: bool | None = None
    api_keys: bool = True
    # The login bridge's client registration and Client ID Metadata Documents (see .env.example).
    oauth_registrations_per_address: int = Field(default=20, ge=1)
    oauth_registrations_total: int = Field(default=200, ge=1)
    oauth_registration_window_seconds: int = Field(default=3600, ge=60, le=86400)
    oauth_unused_client_hours: int = Field(default=24, ge=1, le=24 * 90)
    oauth_client_id_metadata_documents: bool = True
    oauth_cimd_allow_private_addresses: bool = False
    # Scale-out (docs/DEPLOYMENT.md): PgBouncer in transaction mode, a hot-standby replica for reads.
    database_pgbouncer: bool = False
    database_replica_url: str | None = None
    # Sessions of the 2025-era protocol (issue 11, item 4): per principal, in all, and how long one may idle.
    max_sessions_per_principal: int = Field(default=16, ge=1, le=10_000)
    max_sessions: int = Field(default=1000, ge=1, le=1_000_000)
    session_idle_seconds: int = Field(default=600, ge=1, le=7 * 24 * 3600)
    # Per-household quotas (0 = no limit) and what a slow or greedy HTTP client may hold (item 12).
    max_accounts_per_household: int = Field(default=0, ge=0)
    max_transactions_per_household: int = Field(default=0, ge=0)
    max_api_keys_per_household: int = Field(default=0, ge=0)
    max_stored_bytes_per_household: int = Field(default=0, ge=0)
    # Calls of writing tools one user may make a minute (0 = no limit): a sliding window kept in memory by
    # each worker process, so N workers allow up to N times this. A call beyond it writes nothing and is told
    # how many seconds to wait.
    write_quota_per_minute: int = Field(default=120, ge=0)
    limit_concurrency: int = Field(default=1000, ge=1)
    timeout_keep_alive_seconds: int = Field(default=5, ge=1, le=3600)
    header_timeout_seconds: float = Field(default=10, gt=0, le=3600)
    body_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    # Observability (docs/DEPLOYMENT.md): one log format for uvicorn and the app; Prometheus metrics.
    log_format: Literal["text", "json"] = "text"
    metrics: bool = False
    metrics_token: str | None = Field(default=None, repr=False, min_length=16)
    # The sign-in page's first wait after the free attempts of a key; each further attempt doubles it.
    signin_backoff_seconds: float = Field(default=1.0, gt=0, le=900)
    # How often a use of an API key re-checks its person with MCP_Auth, and how long past that a key keeps
    # working while MCP_Auth is unreachable (services/api_key_recheck.py).
    api_key_recheck_seconds: int = Field(default=300, ge=0, le=86400)
    api_key_recheck_grace_seconds: int = Field(default=900, ge=0, le=86400)
    # The longest life of an API key nothing can re-check (made with the create_api_key tool by a caller with
    # a bare MCP_Auth token, not an OAuth sign-in); 0 refuses to make such keys (services/api_keys.py).
    api_key_unchecked_max_days: int = Field(default=1, ge=0, le=365)

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

    @field_validator("secret_key_previous", mode="before")
    @classmethod
    def _previous_key_is_strong(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value.startswith("change-me") or len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"SECRET_KEY_PREVIOUS must be the old SECRET_KEY (at least {MIN_SECRET_LENGTH} characters)"
            )
        return value

    @model_validator(mode="after")
    def _previous_key_differs(self) -> Settings:
        if self.secret_key_previous == self.secret_key:
            raise ValueError(
                "SECRET_KEY_PREVIOUS equals SECRET_KEY; set it to the key before the rotation, or unset it"
            )
        return self

    @property
    def secret_keys(self) -> list[str]:
        """SECRET_KEY first (it alone signs and seals), then SECRET_KEY_PREVIOUS when set."""
        return [self.secret_key, *([self.secret_key_previous] if self.secret_key_previous else [])]

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError(
                "DATABASE_URL must be a sqlite:///path.db or postgresql://user@host/db URL, "
                f"got one starting with {value.split(':', 1)[0]!r}"
            )
        return value

    @field_validator("database_replica_url", mode="before")
    @classmethod
    def _replica_is_postgres(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not str(value).startswith(("postgresql", "postgres://")):
            raise ValueError("DATABASE_REPLICA_URL must be a postgresql://user@host/db URL of a hot standby")
        return value

    @model_validator(mode="after")
    def _replica_needs_postgres(self) -> Settings:
        if (self.database_replica_url or self.database_pgbouncer) and self.database_url.startswith("sqlite"):
            raise ValueError(
                "DATABASE_REPLICA_URL and DATABASE_PGBOUNCER need a PostgreSQL DATABASE_URL; unset them for SQLite"
            )
        return self

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("public_url", "jwt_audience", "jwt_issuer", "oauth_bridge", "metrics_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", "auto") else value

    @model_validator(mode="after")
    def _bridge_needs_a_safe_url(self) -> Settings:
        if self.oauth_bridge and not self._public_url_is_safe():
            raise ValueError(
                f"OAUTH_BRIDGE=true serves a password sign-in page at {self.public_base_url}, which is plain http "
                "on a non-local host; set PUBLIC_URL=https://... (TLS in front of the server), or OAUTH_BRIDGE=false"
            )
        return self

    @model_validator(mode="after")
    def _private_documents_only_on_a_local_server(self) -> Settings:
        if (
            self.oauth_cimd_allow_private_addresses
            and (urlsplit(self.public_base_url).hostname or "") not in LOOPBACK_HOSTS
        ):
            raise ValueError(
                "OAUTH_CIMD_ALLOW_PRIVATE_ADDRESSES=true lets anyone make this server fetch plain-http and internal "
                f"addresses; it is for tests on one machine only, and {self.public_base_url} is not local: unset it"
            )
        return self

    def _public_url_is_safe(self) -> bool:
        url = urlsplit(self.public_base_url)
        return url.scheme == "https" or (url.hostname or "") in LOOPBACK_HOSTS

    @property
    def bridge_enabled(self) -> bool:
        """The OAuth login bridge: on when asked, or by default when its page would be safe to serve."""
        return self.oauth_bridge if self.oauth_bridge is not None else self._public_url_is_safe()

    @property
    def public_base_url(self) -> str:
        """scheme://host[:port] that clients use; the bridge's OAuth issuer."""
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address needs its brackets
        return (self.public_url or f"http://{host}:{self.port}").rstrip("/")

    @property
    def resource_url(self) -> str:
        """The public URL of the MCP endpoint: the RFC 9728 resource and the default token audience."""
        return self.public_base_url + "/mcp"
