"""The SDK's authorization-server protocol, implemented over our grant store and MCP_Auth.

The SDK's handlers do the protocol work (request validation, exact redirect URIs, PKCE S256, code expiry,
client authentication); this class decides who signed in, what they may have, and keeps MCP_Auth in the
loop at every refresh, so a deactivated user or a changed role takes effect then.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, ConfigDict

from finance_mcp.crypto import Sealer
from finance_mcp.db.database import Database
from finance_mcp.domain.errors import FinanceError
from finance_mcp.domain.principals import ROLE_PERMISSIONS, Role, scopes_for
from finance_mcp.server.auth import JwtVerifier, identity_from_token
from finance_mcp.server.oauth.access_tokens import AccessTokens, Holder
from finance_mcp.server.oauth.client_documents import ClientDocuments, DocumentRefused
from finance_mcp.server.oauth.client_metadata import check_client, redirect_uri_problem
from finance_mcp.server.oauth.login_requests import LoginRequest, LoginRequests
from finance_mcp.server.oauth.mcp_auth_client import McpAuthClient, Refused, Unreachable
from finance_mcp.services import oauth as grants
from finance_mcp.services.oauth_registrations import RegistrationLimit, admit
from finance_mcp.services.sign_in_throttle import SignInThrottle

logger = logging.getLogger(__name__)

LOGIN_PATH = "/oauth/login"


class UpstreamUnavailable(Exception):
    """MCP_Auth could not be asked about a refresh: the grant stands, the client should retry later (503),
    never drop it as it would on a 400."""

    retry_after = 30
    description = "MCP_Auth is not answering; the sign-in still stands, try again shortly"


class UpstreamBusy(UpstreamUnavailable):
    """The re-check of an API key made under the sign-in holds MCP_Auth's refresh token for a moment."""

    retry_after = 1
    description = "the sign-in is being re-checked with MCP_Auth right now; it still stands, try again in a second"


class BridgeCode(AuthorizationCode):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    record: grants.Code


class BridgeRefreshToken(RefreshToken):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    record: grants.RefreshToken


def allowed_scopes(role: str) -> set[str]:
    """The finance:* scopes a role may hold: never more than the role itself allows."""
    return set(scopes_for(ROLE_PERMISSIONS[Role.parse(role, shared_household=True)]))


def _subject(person: grants.Person) -> str:
    return f"{person.tenant_id if person.tenant_id is not None else 'personal'}:{person.auth_user_id}"


class BridgeProvider(OAuthAuthorizationServerProvider[BridgeCode, BridgeRefreshToken, AccessToken]):
    def __init__(
        self,
        database: Callable[[], Database],
        *,
        sealer: Sealer,
        tokens: AccessTokens,
        mcp_auth: McpAuthClient,
        mcp_auth_tokens: JwtVerifier,
        login_requests: LoginRequests,
        registration_limit: RegistrationLimit,
        documents: ClientDocuments | None = None,
        unused_client_lifetime: dt.timedelta = grants.UNUSED_CLIENT_LIFETIME,
        signin_backoff_seconds: float = 1.0,
    ) -> None:
        self._database = database
        self._sealer = sealer
        self.documents = documents  # None: Client ID Metadata Documents are off
        self._registration_limit = registration_limit
        self._unused_client_lifetime = unused_client_lifetime
        self.tokens = tokens
        self.mcp_auth = mcp_auth
        self._mcp_auth_tokens = mcp_auth_tokens
        self.login_requests = login_requests
        self._signin_backoff = signin_backoff_seconds

    @property
    def store(self) -> grants.GrantStore:
        """The grant store on the running server's database (it exists only once the lifespan has begun)."""
        return grants.GrantStore(self._database(), self._sealer, unused_client_lifetime=self._unused_client_lifetime)

    @property
    def throttle(self) -> SignInThrottle:
        """Sign-in attempts, counted in the running server's database (shared by workers and replicas)."""
        return SignInThrottle(self._database(), backoff_seconds=self._signin_backoff)

    # ---- clients ------------------------------------------------------------------------------------

    async def client_record(self, client_id: str) -> tuple[OAuthClientInformationFull, str | None] | None:
        """The client and the hash of its secret: a registered one, or one a metadata document describes."""
        if self.documents is not None and self.documents.is_document_url(client_id):
            try:
                return await self.documents.client(client_id), None
            except DocumentRefused as refused:
                logger.info("refused the client ID metadata document %s: %s", client_id[:255], refused)
                return None
        found = await self.store.client(client_id)
        if found is None:
            return None
        metadata, secret_hash = found
        return OAuthClientInformationFull.model_validate({**metadata, "client_id": client_id}), secret_hash

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        record = await self.client_record(client_id)
        return None if record is None else record[0]

    async def admit_registration(self, address: str | None) -> int | None:
        """Count a registration from `address`; None when it may go ahead, else seconds to wait."""
        return await admit(self._database(), self._registration_limit, address)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        metadata = check_client(client_info)
        await self.store.register_client(client_info.client_id, client_info.client_secret, metadata)

    # ---- authorization ------------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and params.resource.rstrip("/") != self.tokens.resource_url:
            raise AuthorizeError("invalid_target", f"this server only issues tokens for {self.tokens.resource_url}")
        # A client registered before today's redirect policy may still list a URI it would now refuse.
        if (problem := redirect_uri_problem(str(params.redirect_uri))) is not None:
            raise AuthorizeError("invalid_request", problem)
        request = LoginRequest(
            client_id=client.client_id,
            redirect_uri=str(params.redirect_uri),
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            code_challenge=params.code_challenge,
            state=params.state,
            scopes=params.scopes,
            resource=params.resource,
        )
        return f"{self.tokens.issuer}{LOGIN_PATH}?{urlencode({'request': self.login_requests.seal(request)})}"

    def person_from(self, mcp_auth_access_token: str) -> grants.Person | None:
        """The person an MCP_Auth access token names, after verifying it like any bearer token."""
        verified = self._mcp_auth_tokens.verify(mcp_auth_access_token)
        if verified is None:
            return None
        try:
            identity = identity_from_token(verified)
        except FinanceError:
            return None
        return grants.Person(identity.auth_user_id, identity.tenant_id, identity.email, identity.role.value.upper())

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> BridgeCode | None:
        record = await self.store.find_code(authorization_code)
        if record is None or record.grant.client_id != client.client_id:
            return None
        return BridgeCode(
            code=authorization_code,
            scopes=record.grant.scopes,
            expires_at=record.expires_at.timestamp(),
            client_id=record.grant.client_id,
            code_challenge=record.code_challenge,
            redirect_uri=AnyUrl(record.redirect_uri),
            redirect_uri_provided_explicitly=record.redirect_uri_provided_explicitly,
            resource=record.grant.resource,
            subject=_subject(record.grant.person),
            record=record,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: BridgeCode
    ) -> OAuthToken:
        grant = authorization_code.record.grant
        refresh_token = await self.store.redeem(authorization_code.record)
        if refresh_token is None:
            raise TokenError("invalid_grant", "authorization code was already used")
        return self._issue(grant.id, grant.person, client.client_id, grant.scopes, refresh_token)

    # ---- refresh ------------------------------------------------------------------------------------

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> BridgeRefreshToken | None:
        record = await self.store.find_refresh_token(refresh_token)
        if record is None or record.grant.client_id != client.client_id:
            return None
        return BridgeRefreshToken(
            token=refresh_token,
            client_id=record.grant.client_id,
            scopes=record.grant.scopes,
            expires_at=int(record.expires_at.timestamp()),
            resource=record.grant.resource,
            subject=_subject(record.grant.person),
            record=record,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: BridgeRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        record = refresh_token.record
        try:
            claim = await self.store.claim(record)
        except grants.UpstreamBusy:
            raise UpstreamBusy from None
        if claim is None:
            raise TokenError("invalid_grant", "refresh token was already used; sign in again")
        person, upstream = await self._recheck(record, claim.upstream_refresh_token)
        granted = [scope for scope in scopes if scope in allowed_scopes(person.role)]
        if not granted:
            await self.store.revoke(record.grant.id)
            raise TokenError("invalid_grant", "your role no longer allows any of the granted scopes; sign in again")
        new_refresh_token = await self.store.rotate(
            record, person=person, scopes=record.grant.scopes, upstream_refresh_token=upstream
        )
        return self._issue(record.grant.id, person, client.client_id, granted, new_refresh_token)

    async def _recheck(self, record: grants.RefreshToken, upstream: str | None) -> tuple[grants.Person, str | None]:
        """Ask MCP_Auth about the person again, through its own refresh endpoint (which rotates too)."""
        grant = record.grant
        if upstream is None:
            await self.store.revoke(grant.id)
            raise TokenError("invalid_grant", "this sign-in cannot be renewed; sign in again")
        try:
            answer = await self.mcp_auth.refresh(upstream)
        except Unreachable:
            await self.store.release(record)
            raise UpstreamUnavailable from None
        except Refused as refused:
            logger.info("MCP_Auth refused a refresh for grant %s: %s", grant.id, refused)
            await self.store.revoke(grant.id)
            raise TokenError("invalid_grant", "MCP_Auth no longer accepts this sign-in; sign in again") from None
        person = self.person_from(answer.access_token)
        if person is None or (person.auth_user_id, person.tenant_id) != (
            grant.person.auth_user_id,
            grant.person.tenant_id,
        ):
            await self.store.revoke(grant.id)
            raise TokenError("invalid_grant", "MCP_Auth answered for someone else; sign in again")
        return person, answer.refresh_token

    def _issue(
        self, grant_id: int, person: grants.Person, client_id: str, scopes: list[str], refresh_token: str
    ) -> OAuthToken:
        holder = Holder(person.auth_user_id, person.tenant_id, person.email, person.role, grant_id)
        access_token, lifetime = self.tokens.mint(holder, client_id=client_id, scopes=scopes)
        return OAuthToken(
            access_token=access_token,
            token_type="Bearer",  # noqa: S106
            expires_in=lifetime,
            scope=" ".join(scopes),
            refresh_token=refresh_token,
        )

    # ---- access tokens and revocation ---------------------------------------------------------------

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.tokens.verify(token) if self.tokens.is_ours(token) else None

    async def revoke_token(self, token: AccessToken | BridgeRefreshToken) -> None:
        """Revoking either kind ends the whole sign-in: its refresh tokens at once, its access tokens at
        their expiry (at most 15 minutes), and MCP_Auth's refresh token behind it."""
        claims: dict[str, Any] = (token.claims or {}) if isinstance(token, AccessToken) else {}
        grant_id = token.record.grant.id if isinstance(token, BridgeRefreshToken) else claims.get("gid")
        if not isinstance(grant_id, int):
            return
        upstream = await self.store.revoke(grant_id)
        if upstream is not None:
            await self.mcp_auth.logout(upstream)
