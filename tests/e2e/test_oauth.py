"""The OAuth login bridge end to end: the SDK's own OAuth client against the real server, which signs people
in at a stand-in MCP_Auth that follows the documented contract exactly."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from finance_mcp.crypto import derive_key
from tests.e2e.helpers import (
    LEGACY_WIRE,
    bearer,
    call,
    jsonrpc_message,
    legacy_headers,
    open_legacy_session,
    post_tool_call,
    tool_call_body,
)
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn
from tests.e2e.oauth_helpers import (
    Person,
    authorize_url,
    code_for,
    exchange,
    new_household,
    new_member,
    open_sign_in_page,
    pkce,
    read_form,
    redirect_params,
    refresh,
    register,
    sign_in,
    submit,
    tokens_for,
)
from tests.e2e.servers import SECRET, RunningServer

pytestmark = pytest.mark.anyio

FAILED = "Sign-in failed. Check the household email, username, password and one-time code, and try again."


class MemoryStorage:
    """The SDK's `TokenStorage`, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class PagePerson:
    """The SDK's redirect and callback handlers: a person who follows the authorization URL in a browser,
    fills the sign-in form and lets it redirect back with the code."""

    def __init__(self, server: RunningServer, person: Person, **options: Any) -> None:
        self.server, self.person, self.options = server, person, options
        self.result: AuthorizationCodeResult | None = None

    async def open(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient() as browser:
            response = await sign_in(browser, self.server.base_url, authorization_url, self.person, **self.options)
        self.result = AuthorizationCodeResult.model_validate(redirect_params(response))

    async def come_back(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


def oauth_client(
    server: RunningServer, storage: MemoryStorage, person: PagePerson, **metadata: Any
) -> httpx2.AsyncClient:
    provider = OAuthClientProvider(
        server.mcp_url,
        OAuthClientMetadata(
            client_name="SDK test client",
            redirect_uris=[AnyUrl("http://127.0.0.1:33418/callback")],
            grant_types=["authorization_code", "refresh_token"],
            **metadata,
        ),
        storage,
        redirect_handler=person.open,
        callback_handler=person.come_back,
    )
    return httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=60))


# ---- the whole flow through the SDK's OAuth client -----------------------------------------------------


@pytest.mark.parametrize("auth_method", ["client_secret_post", "none"])
async def test_the_sdk_oauth_client_signs_in_through_the_page_and_then_uses_the_tools(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn, auth_method: str
) -> None:
    owner = new_household(mcp_auth)
    storage, person = MemoryStorage(), PagePerson(bridge_server, owner)
    logins_before = mcp_auth.calls.count("/auth/login")

    http = oauth_client(bridge_server, storage, person, token_endpoint_auth_method=auth_method)
    async with http, Client(streamable_http_client(bridge_server.mcp_url, http_client=http)) as client:
        me = await call(client, "whoami")
        account = await call(client, "create_account", name="Everyday", account_type="checking")

    assert me["role"] == "owner"
    assert me["user"]["email"] == owner.tenant_email
    assert me["scopes"] == ["finance:read", "finance:write"]
    assert account["balance"] == "0.00"
    assert storage.tokens is not None
    assert storage.tokens.refresh_token
    assert storage.client_info is not None
    assert (storage.client_info.client_secret is not None) is (auth_method != "none")
    assert mcp_auth.calls.count("/auth/login") == logins_before  # never the tenant-creating endpoint


async def test_the_issued_access_token_is_ours_bound_to_this_resource_and_short_lived(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        tokens = await tokens_for(http, bridge_server.base_url, client, owner)

    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert header["typ"] == "at+jwt"
    assert claims["aud"] == bridge_server.mcp_url
    assert claims["iss"] == bridge_server.base_url
    assert claims["sub"] == str(owner.user.id)
    assert claims["tenant_id"] == str(owner.user.tenant.id)
    assert claims["role"] == "OWNER"
    assert claims["email"] == owner.tenant_email
    assert claims["client_id"] == client.client_id
    assert claims["scope"] == "finance:read finance:write"
    assert claims["exp"] - claims["iat"] == 900 == tokens["expires_in"]
    with pytest.raises(jwt.InvalidSignatureError):  # not signed with SECRET_KEY: useless to MCP_Auth
        jwt.decode(tokens["access_token"], SECRET, algorithms=["HS256"], audience=bridge_server.mcp_url)


async def test_the_page_offers_only_the_scopes_the_client_registered_for(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url, scope="finance:read")
        page = await open_sign_in_page(http, authorize_url(bridge_server.base_url, client, pkce()[1]))
        granted = await tokens_for(
            http, bridge_server.base_url, client, owner, scopes=["finance:read", "finance:admin"]
        )

    assert read_form(page.text).scopes == {"finance:read": True}
    assert granted["scope"] == "finance:read"  # a scope added to the form by hand is ignored


async def test_the_metadata_advertises_the_bridge_and_the_resource_names_it(bridge_server: RunningServer) -> None:
    async with httpx2.AsyncClient(base_url=bridge_server.base_url) as http:
        resource = (await http.get("/.well-known/oauth-protected-resource/mcp")).json()
        server = (await http.get("/.well-known/oauth-authorization-server")).json()

    assert resource["authorization_servers"] == [bridge_server.base_url]
    assert server["issuer"] == bridge_server.base_url
    assert server["authorization_endpoint"] == f"{bridge_server.base_url}/authorize"
    assert server["token_endpoint"] == f"{bridge_server.base_url}/token"
    assert server["registration_endpoint"] == f"{bridge_server.base_url}/register"
    assert server["revocation_endpoint"] == f"{bridge_server.base_url}/revoke"
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert "none" in server["token_endpoint_auth_methods_supported"]
    assert server["scopes_supported"] == ["finance:read", "finance:write", "finance:admin"]
    assert server["authorization_response_iss_parameter_supported"] is True


# ---- the sign-in page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["password", "username", "tenant_email"])
async def test_wrong_credentials_show_the_page_again_with_one_message_that_names_no_part(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn, wrong: str
) -> None:
    owner = new_household(mcp_auth)
    typo = Person(owner.tenant_email, owner.username, owner.password, owner.user)
    setattr(
        typo,
        wrong,
        "nobody-" + getattr(typo, wrong).replace("@", "-at-") + ("@example.com" if "email" in wrong else ""),
    )
    async with httpx2.AsyncClient() as browser:
        client = await register(browser, bridge_server.base_url)
        url = authorize_url(bridge_server.base_url, client, pkce()[1])
        response = await sign_in(browser, bridge_server.base_url, url, typo)

    assert response.status_code == 401
    page = read_form(response.text)
    assert page.alerts == [FAILED]
    assert page.values["tenant_email"] == typo.tenant_email  # what was typed comes back, the password never
    assert "value" not in response.text.split('id="password"')[1].split(">")[0]
    assert "location" not in response.headers


async def test_the_page_labels_every_field_and_offers_the_scopes(bridge_server: RunningServer) -> None:
    async with httpx2.AsyncClient() as browser:
        client = await register(browser, bridge_server.base_url)
        page = await open_sign_in_page(browser, authorize_url(bridge_server.base_url, client, pkce()[1]))

    form = read_form(page.text)
    assert set(form.labels) >= {"tenant_email", "username", "password", "totp_code", "scope-read", "scope-write"}
    assert form.scopes == {"finance:read": True, "finance:write": True, "finance:admin": False}
    assert "Bridge test client" in page.text
    assert "127.0.0.1:53682" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "httponly" in page.headers["set-cookie"].lower()


async def test_a_form_posted_without_the_pages_cookie_is_refused(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as browser:
        client = await register(browser, bridge_server.base_url)
        page = await open_sign_in_page(browser, authorize_url(bridge_server.base_url, client, pkce()[1]))
        browser.cookies.clear()  # as when another site submits the form in the person's browser
        response = await submit(browser, bridge_server.base_url, page, owner)

    assert response.status_code == 400
    assert "expired" in response.text
    assert "location" not in response.headers


async def test_cancel_sends_the_person_back_with_access_denied(bridge_server: RunningServer) -> None:
    async with httpx2.AsyncClient() as browser:
        client = await register(browser, bridge_server.base_url)
        page = await open_sign_in_page(browser, authorize_url(bridge_server.base_url, client, pkce()[1], state="s1"))
        nobody = Person("x@example.com", "x", "x", None)  # type: ignore[arg-type]
        back = redirect_params(await submit(browser, bridge_server.base_url, page, nobody, action="deny"))

    assert back == {"error": "access_denied", "state": "s1", "iss": bridge_server.base_url}


async def test_repeated_failures_from_one_address_slow_it_down_with_a_retry_after(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    statuses: list[int] = []
    async with httpx2.AsyncClient() as browser:
        client = await register(browser, bridge_server.base_url)
        page = await open_sign_in_page(browser, authorize_url(bridge_server.base_url, client, pkce()[1]))
        for _ in range(20):  # the waits double from one second: a 429 comes long before twenty tries
            slowed = await submit(browser, bridge_server.base_url, page, owner, password="wrong")
            statuses.append(slowed.status_code)
            if slowed.status_code == 429:
                break

    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429
    assert int(slowed.headers["retry-after"]) >= 1  # pyright: ignore[reportPossiblyUnboundVariable]
    assert "Too many failed sign-ins. Wait" in slowed.text  # pyright: ignore[reportPossiblyUnboundVariable]


async def test_a_totp_code_signs_in_through_login_user(bridge_server: RunningServer, mcp_auth: McpAuthStandIn) -> None:
    owner = new_household(mcp_auth)
    mcp_auth.enable_totp(owner.user)
    frozen = time.time()
    mcp_auth.clock = lambda: frozen
    try:
        async with httpx2.AsyncClient() as http:
            client = await register(http, bridge_server.base_url)
            wrong = await code_for_status(http, bridge_server, client, owner, totp_code="000000")
            tokens = await tokens_for(
                http, bridge_server.base_url, client, owner, totp_code=mcp_auth.code_for(owner.user)
            )
    finally:
        mcp_auth.clock = time.time

    assert wrong == 401
    assert jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"] == str(owner.user.id)
    assert mcp_auth.totp_checks.count(owner.user.id) == 2  # both codes were checked by /auth/login-user
    assert (owner.tenant_email, owner.username) in mcp_auth.sign_ins


async def code_for_status(
    http: httpx2.AsyncClient, server: RunningServer, client: Any, person: Person, **kw: Any
) -> int:
    async with httpx2.AsyncClient() as browser:
        url = authorize_url(server.base_url, client, pkce()[1])
        return (await sign_in(browser, server.base_url, url, person, **kw)).status_code


# ---- scopes never above the role -------------------------------------------------------------------------


async def test_a_member_asking_only_for_admin_is_told_what_the_role_allows(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    async with httpx2.AsyncClient() as browser:
        client = await register(browser, bridge_server.base_url)
        url = authorize_url(bridge_server.base_url, client, pkce()[1])
        response = await sign_in(browser, bridge_server.base_url, url, member, scopes=["finance:admin"])

    assert response.status_code == 403
    assert read_form(response.text).alerts == [
        "Your role (member) allows only: finance:read, finance:write. Choose from those."
    ]


async def test_a_member_asking_for_read_and_admin_gets_read_only(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        tokens = await tokens_for(
            http, bridge_server.base_url, client, member, scopes=["finance:read", "finance:admin"]
        )
        write = await post_tool_call(
            http,
            bridge_server.mcp_url,
            "create_account",
            {"name": "No", "account_type": "cash"},
            bearer(tokens["access_token"]),
        )
        read = await post_tool_call(http, bridge_server.mcp_url, "list_accounts", {}, bearer(tokens["access_token"]))

    assert tokens["scope"] == "finance:read"
    assert "finance:write scope" in jsonrpc_message(write)["result"]["content"][0]["text"]
    assert jsonrpc_message(read)["result"]["structuredContent"]["total"] == 0


# ---- codes: single use, bound to PKCE and the redirect URI -----------------------------------------------


async def test_a_code_works_once_and_replaying_it_ends_the_sign_in(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        code, verifier = await code_for(http, bridge_server.base_url, client, owner)
        first = await exchange(http, bridge_server.base_url, client, code, verifier)
        second = await exchange(http, bridge_server.base_url, client, code, verifier)
        renewed = await refresh(http, bridge_server.base_url, client, first.json()["refresh_token"])

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert renewed.status_code == 400
    assert renewed.json()["error"] == "invalid_grant"


async def test_a_code_needs_its_own_pkce_verifier(bridge_server: RunningServer, mcp_auth: McpAuthStandIn) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        code, _verifier = await code_for(http, bridge_server.base_url, client, owner)
        response = await exchange(http, bridge_server.base_url, client, code, pkce()[0])

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "incorrect code_verifier"}


async def test_a_code_needs_the_redirect_uri_it_was_issued_for(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        code, verifier = await code_for(http, bridge_server.base_url, client, owner)
        response = await exchange(
            http, bridge_server.base_url, client, code, verifier, redirect_uri="http://127.0.0.1:1/elsewhere"
        )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_another_clients_code_does_not_exist_for_this_client(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        thief = await register(http, bridge_server.base_url)
        code, verifier = await code_for(http, bridge_server.base_url, client, owner)
        response = await exchange(http, bridge_server.base_url, thief, code, verifier)

    assert response.json()["error"] == "invalid_grant"


async def test_authorize_refuses_unregistered_redirects_plain_pkce_and_other_resources(
    bridge_server: RunningServer,
) -> None:
    base = bridge_server.base_url
    async with httpx2.AsyncClient() as http:
        client = await register(http, base)
        challenge = pkce()[1]
        unregistered = await http.get(authorize_url(base, client, challenge, redirect_uri="http://127.0.0.1:9/x"))
        plain = await http.get(authorize_url(base, client, challenge, code_challenge_method="plain"))
        no_pkce = await http.get(authorize_url(base, client, challenge).replace("code_challenge=", "x="))
        elsewhere = await http.get(authorize_url(base, client, challenge, resource="https://other.example/mcp"))

    assert unregistered.status_code == 400
    assert "location" not in unregistered.headers
    for refused in (plain, no_pkce):
        assert refused.status_code == 302
        assert "error=invalid_request" in refused.headers["location"]
    assert "error=invalid_target" in elsewhere.headers["location"]


async def test_registration_refuses_plain_http_redirects_off_loopback(bridge_server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{bridge_server.base_url}/register",
            json={"redirect_uris": ["http://attacker.example/callback"], "token_endpoint_auth_method": "none"},
        )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


async def test_a_confidential_client_must_present_its_secret(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url, confidential=True)
        code, verifier = await code_for(http, bridge_server.base_url, client, owner)
        wrong = await exchange(http, bridge_server.base_url, client, code, verifier, client_secret="guess")
        right = await exchange(http, bridge_server.base_url, client, code, verifier)

    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert right.status_code == 200


# ---- refresh: rotation, reuse, revocation, and MCP_Auth's word on the person ----------------------------


async def test_refresh_rotates_and_a_reused_refresh_token_fails_and_ends_the_sign_in(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        first = await tokens_for(http, bridge_server.base_url, client, owner)
        second = await refresh(http, bridge_server.base_url, client, first["refresh_token"])
        reused = await refresh(http, bridge_server.base_url, client, first["refresh_token"])
        after_reuse = await refresh(http, bridge_server.base_url, client, second.json()["refresh_token"])
        works = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(second.json()["access_token"]))

    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert second.json()["access_token"] != first["access_token"]
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert after_reuse.json()["error"] == "invalid_grant"  # the whole family is gone
    assert works.status_code == 200  # access tokens already issued live out their 15 minutes


async def test_a_revoked_refresh_token_fails_and_mcp_auth_is_signed_out_too(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        tokens = await tokens_for(http, bridge_server.base_url, client, owner)
        logouts = mcp_auth.calls.count("/auth/logout")
        revoked = await http.post(
            f"{bridge_server.base_url}/revoke", data={"token": tokens["refresh_token"], **client.credentials()}
        )
        response = await refresh(http, bridge_server.base_url, client, tokens["refresh_token"])

    assert revoked.status_code == 200
    assert response.json()["error"] == "invalid_grant"
    assert mcp_auth.calls.count("/auth/logout") == logouts + 1


async def test_a_role_change_in_mcp_auth_takes_effect_at_the_next_refresh(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    admin = new_member(mcp_auth, owner, role="ADMIN")
    all_scopes = ["finance:read", "finance:write", "finance:admin"]
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        before = await tokens_for(http, bridge_server.base_url, client, admin, scopes=all_scopes)
        admin.user.role = "MEMBER"
        after = (await refresh(http, bridge_server.base_url, client, before["refresh_token"])).json()
        me = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(after["access_token"]))

    assert before["scope"] == "finance:read finance:write finance:admin"
    assert after["scope"] == "finance:read finance:write"
    assert jsonrpc_message(me)["result"]["structuredContent"]["role"] == "member"


async def test_a_deactivated_user_cannot_refresh(bridge_server: RunningServer, mcp_auth: McpAuthStandIn) -> None:
    owner = new_household(mcp_auth)
    member = new_member(mcp_auth, owner)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        tokens = await tokens_for(http, bridge_server.base_url, client, member)
        member.user.active = False
        response = await refresh(http, bridge_server.base_url, client, tokens["refresh_token"])
        member.user.active = True  # reactivating does not revive the ended sign-in
        again = await refresh(http, bridge_server.base_url, client, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert again.json()["error"] == "invalid_grant"


async def test_the_sdk_client_refreshes_by_itself_when_its_token_expires(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    storage, person = MemoryStorage(), PagePerson(bridge_server, new_household(mcp_auth))
    http = oauth_client(bridge_server, storage, person)
    async with http, Client(streamable_http_client(bridge_server.mcp_url, http_client=http)) as client:
        await call(client, "whoami")
        assert storage.tokens is not None
        first = storage.tokens
        auth = http.auth
        assert isinstance(auth, OAuthClientProvider)
        auth.context.token_expiry_time = time.time() - 1  # as fifteen minutes later
        await call(client, "list_accounts")

    assert storage.tokens.refresh_token != first.refresh_token
    assert storage.tokens.access_token != first.access_token


# ---- what the bearer verifier accepts -----------------------------------------------------------------


async def test_a_bridge_token_for_another_audience_or_issuer_is_refused(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        tokens = await tokens_for(http, bridge_server.base_url, client, owner)
        claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        key = derive_key(SECRET, "oauth access token")
        forged = {
            "other audience": {**claims, "aud": "https://other.example/mcp"},
            "other issuer": {**claims, "iss": "https://other.example"},
        }
        statuses = {
            name: (
                await post_tool_call(
                    http,
                    bridge_server.mcp_url,
                    "whoami",
                    {},
                    bearer(jwt.encode(body, key, algorithm="HS256", headers={"typ": "at+jwt"})),
                )
            ).status_code
            for name, body in forged.items()
        }
        as_mcp_auth = jwt.encode(claims, SECRET, algorithm="HS256", headers={"typ": "at+jwt"})
        wrong_key = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(as_mcp_auth))

    assert statuses == {"other audience": 401, "other issuer": 401}
    assert wrong_key.status_code == 401


async def test_mcp_auths_own_tokens_keep_working_with_the_bridge_on(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        login = await http.post(
            f"{mcp_auth.url}/auth/login-user",
            json={"tenant_email": owner.tenant_email, "username": owner.username, "password": owner.password},
        )
        response = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(login.json()["access_token"]))

    assert jsonrpc_message(response)["result"]["structuredContent"]["role"] == "owner"


async def test_a_session_opened_with_one_sign_in_cannot_be_driven_with_another_households_token(
    bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    async with httpx2.AsyncClient() as http:
        client = await register(http, bridge_server.base_url)
        mine = await tokens_for(http, bridge_server.base_url, client, new_household(mcp_auth))
        theirs = await tokens_for(http, bridge_server.base_url, client, new_household(mcp_auth))
        session_id = await open_legacy_session(http, bridge_server.mcp_url, mine["access_token"])
        body = tool_call_body("whoami", {}, wire=LEGACY_WIRE)
        hijack = await http.post(
            bridge_server.mcp_url, json=body, headers=legacy_headers(session_id, bearer(theirs["access_token"]))
        )
        own = await http.post(
            bridge_server.mcp_url, json=body, headers=legacy_headers(session_id, bearer(mine["access_token"]))
        )

    assert hijack.status_code == 404
    assert own.status_code == 200
