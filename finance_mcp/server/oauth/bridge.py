"""Assembling the login bridge from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, ConfigDict, TypeAdapter
from starlette.routing import Route

from finance_mcp.crypto import Sealer
from finance_mcp.db.database import Database
from finance_mcp.server.auth import JwtVerifier
from finance_mcp.server.oauth.access_tokens import AccessTokens
from finance_mcp.server.oauth.client_documents import ClientDocuments
from finance_mcp.server.oauth.login_requests import LoginRequests
from finance_mcp.server.oauth.mcp_auth_client import McpAuthClient
from finance_mcp.server.oauth.provider import BridgeProvider
from finance_mcp.server.oauth.routes import bridge_routes
from finance_mcp.services.oauth import UPSTREAM_SEALING
from finance_mcp.services.oauth_registrations import RegistrationLimit
from finance_mcp.settings import Settings

# RFC 8414 compares issuers as strings: keep "https://host" without the slash pydantic would add.
_URL = TypeAdapter(AnyHttpUrl, config=ConfigDict(url_preserve_empty_path=True))


@dataclass(frozen=True)
class LoginBridge:
    issuer: str
    tokens: AccessTokens
    provider: BridgeProvider

    @property
    def issuer_url(self) -> AnyHttpUrl:
        return _URL.validate_python(self.issuer)

    def routes(self) -> list[Route]:
        secure = urlsplit(self.issuer).scheme == "https"
        return bridge_routes(self.provider, issuer_url=self.issuer_url, secure_cookie=secure)


def build_bridge(settings: Settings, database: Callable[[], Database], mcp_auth_tokens: JwtVerifier) -> LoginBridge:
    issuer = settings.public_base_url
    tokens = AccessTokens(
        settings.secret_key,
        issuer=issuer,
        resource_url=settings.resource_url,
        leeway=settings.jwt_leeway_seconds,
        previous=settings.secret_key_previous,
    )
    provider = BridgeProvider(
        database,
        sealer=Sealer(settings.secret_key, UPSTREAM_SEALING, previous=settings.secret_key_previous),
        tokens=tokens,
        mcp_auth=McpAuthClient(settings.auth_server_url),
        mcp_auth_tokens=mcp_auth_tokens,
        login_requests=LoginRequests(settings.secret_key, previous=settings.secret_key_previous),
        registration_limit=RegistrationLimit(
            per_source=settings.oauth_registrations_per_address,
            total=settings.oauth_registrations_total,
            window_seconds=settings.oauth_registration_window_seconds,
        ),
        documents=(
            ClientDocuments(allow_private_addresses=settings.oauth_cimd_allow_private_addresses)
            if settings.oauth_client_id_metadata_documents
            else None
        ),
        unused_client_lifetime=dt.timedelta(hours=settings.oauth_unused_client_hours),
        signin_backoff_seconds=settings.signin_backoff_seconds,
    )
    return LoginBridge(issuer=issuer, tokens=tokens, provider=provider)
