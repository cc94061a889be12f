"""Canaries for the other libraries' internals we rely on, one per fenced use: when an upgrade of the MCP
SDK, PyJWT or pydantic changes one, its canary fails and says which upgrade broke what, before a subtler
test (or production) does. Each use lives in one module: `finance_mcp/server/sdk_private.py`,
`finance_mcp/server/jwt_private.py`."""

from __future__ import annotations

import gc
from typing import Any

import jwt
import pytest
from jwt.api_jws import PyJWS
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver import resolve as sdk_resolve
from pydantic import BaseModel

from finance_mcp.server import hs256
from finance_mcp.server.jwt_private import with_signatures
from finance_mcp.server.sdk_private import RESOLVED_VALUE_CLASS, registered_tool
from finance_mcp.server.tools import refuse_unknown_arguments

pytestmark = pytest.mark.anyio

KEY = "k" * 64


class Echo(BaseModel):
    text: str


def echo_server() -> MCPServer:
    mcp = MCPServer("canary")

    @mcp.tool()
    def echo(text: str) -> Echo:  # pyright: ignore[reportUnusedFunction]  # registered by the decorator
        return Echo(text=text)

    return mcp


# ---- the MCP SDK (finance_mcp/server/sdk_private.py) -----------------------------------------------------


async def test_the_sdk_still_hands_out_a_registered_tool_whose_schema_refuse_unknown_arguments_can_tighten() -> None:
    mcp = echo_server()
    upgrade = "an mcp SDK upgrade changed MCPServer._tool_manager.get_tool (sdk_private.registered_tool)"

    tool = registered_tool(mcp, "echo")

    assert registered_tool(mcp, "no_such_tool") is None, f"{upgrade}: an unknown name no longer gives None"
    assert tool is not None, f"{upgrade}: a registered tool is no longer found by name"
    assert issubclass(tool.fn_metadata.arg_model, BaseModel), f"{upgrade}: Tool.fn_metadata.arg_model moved"
    assert isinstance(tool.parameters, dict), f"{upgrade}: Tool.parameters is no longer the input schema"
    assert isinstance(tool.fn_metadata.output_schema, dict), f"{upgrade}: fn_metadata.output_schema moved"
    refuse_unknown_arguments(mcp, "echo")
    (published,) = await mcp.list_tools()
    assert published.input_schema.get("additionalProperties") is False, (
        f"{upgrade}: tools/list no longer publishes the Tool.parameters that refuse_unknown_arguments sets, "
        "so tools would accept misspelt arguments silently"
    )


def test_the_sdk_still_wraps_resolved_values_in_the_generic_class_the_server_pins() -> None:
    accepted = getattr(sdk_resolve, "_accepted", None)
    assert accepted is not None, (
        "an mcp SDK upgrade removed mcpserver.resolve._accepted: check how Resolve(...) values are wrapped now "
        "and whether sdk_private.RESOLVED_VALUE_CLASS still pins the class built on every tool call"
    )

    gc.collect()

    assert type(accepted(1)) is RESOLVED_VALUE_CLASS, (
        "an mcp SDK or pydantic upgrade: Resolve(...) values are no longer wrapped in the pinned "
        "AcceptedElicitation[Any] (sdk_private.RESOLVED_VALUE_CLASS), so each call may rebuild the class"
    )
    assert AcceptedElicitation[Any] is RESOLVED_VALUE_CLASS, (
        "a pydantic upgrade changed how parametrised generics are cached: AcceptedElicitation[Any] is no "
        "longer the pinned class after a garbage collection"
    )


# ---- PyJWT (finance_mcp/server/jwt_private.py) ------------------------------------------------------------


def test_pyjwt_still_verifies_with_the_signature_layer_it_is_given() -> None:
    upgrade = "a PyJWT upgrade changed PyJWT._jws (jwt_private.with_signatures)"
    assert isinstance(getattr(jwt.PyJWT(), "_jws", None), PyJWS), f"{upgrade}: PyJWT no longer keeps a PyJWS there"
    only_hs256 = with_signatures(jwt.PyJWT(), PyJWS(algorithms=["HS256"]))
    hs384 = jwt.encode({"sub": "someone"}, KEY, algorithm="HS384")

    with pytest.raises(jwt.InvalidAlgorithmError):  # the default PyJWS would accept it
        only_hs256.decode(hs384, KEY, algorithms=["HS384"])


def test_the_prepared_hs256_decoder_still_decodes_with_its_key_object() -> None:
    decoding = hs256.decoder(KEY)
    token = jwt.encode({"sub": "someone"}, KEY, algorithm="HS256")

    assert decoding.decode(token, KEY, algorithms=[hs256.ALGORITHM]) == {"sub": "someone"}, (
        "a PyJWT upgrade broke server/hs256.py's decoder (its signature layer, set through jwt_private)"
    )
