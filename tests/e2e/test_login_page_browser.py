"""The sign-in page in a real browser (headless Debian Chromium driven by Selenium), used as a person would:
find each field by its label, type, tick, press the button or Enter, and land back at the client with a
code that gets tokens that work."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from tests.conftest import REQUIRE_POSTGRES as IN_CI
from tests.e2e.helpers import bearer, jsonrpc_message, post_tool_call
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn
from tests.e2e.oauth_helpers import Client, Person, authorize_url, exchange, new_household, new_member, pkce, register
from tests.e2e.servers import RunningServer

webdriver = pytest.importorskip("selenium.webdriver", reason="!!! selenium missing: pip install -e '.[dev]' !!!")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and Path(p).exists()), None
)
CHROMEDRIVER = shutil.which("chromedriver")
WAIT_SECONDS = 20

if not (CHROMIUM and CHROMEDRIVER):
    message = "!!! Debian chromium and chromium-driver are not installed (apt-get install chromium chromium-driver) !!!"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("bridge_server", ["sqlite"], indirect=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="finance-mcp-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def field(driver: WebDriver, label_text: str) -> WebElement:
    """The input a visible label names, as assistive technology finds it."""
    label = driver.find_element(By.XPATH, f"//label[contains(normalize-space(.), '{label_text}')]")
    return driver.find_element(By.ID, label.get_attribute("for") or "")


def start(driver: WebDriver, server: RunningServer, client: Client) -> tuple[str, str]:
    driver.delete_all_cookies()
    verifier, challenge = pkce()
    driver.get(authorize_url(server.base_url, client, challenge, state="browser-state"))
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.title == "Sign in to Finance")
    return verifier, challenge


def fill(driver: WebDriver, person: Person, *, password: str | None = None) -> None:
    field(driver, "Household email").send_keys(person.tenant_email)
    field(driver, "Username").send_keys(person.username)
    field(driver, "Password").send_keys(person.password if password is None else password)


def landed_at(driver: WebDriver, client: Client) -> dict[str, str]:
    try:
        WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.current_url.startswith(client.redirect_uri))
    except TimeoutException:
        pytest.fail(f"the browser stayed at {driver.current_url}: {driver.find_element(By.TAG_NAME, 'body').text}")
    return {k: v[0] for k, v in parse_qs(urlsplit(driver.current_url).query).items()}


async def browser_client(server: RunningServer, mcp_auth: McpAuthStandIn) -> Client:
    async with httpx2.AsyncClient() as http:
        return await register(http, server.base_url, redirect_uri=f"{mcp_auth.url}/callback")


async def test_a_person_signs_in_with_the_mouse_and_the_assistant_gets_working_tokens(
    browser: WebDriver, bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    client = await browser_client(bridge_server, mcp_auth)
    verifier, _ = start(browser, bridge_server, client)

    assert "Bridge test client" in browser.find_element(By.TAG_NAME, "main").text
    fill(browser, owner)
    admin_box = field(browser, "Delete accounts")
    assert not admin_box.is_selected()
    admin_box.click()
    browser.find_element(By.XPATH, "//button[normalize-space(.)='Sign in and allow']").click()
    back = landed_at(browser, client)

    assert back["state"] == "browser-state"
    assert back["iss"] == bridge_server.base_url
    async with httpx2.AsyncClient() as http:
        tokens = (await exchange(http, bridge_server.base_url, client, back["code"], verifier)).json()
        me = await post_tool_call(http, bridge_server.mcp_url, "whoami", {}, bearer(tokens["access_token"]))
    assert tokens["scope"] == "finance:read finance:write finance:admin"
    assert jsonrpc_message(me)["result"]["structuredContent"]["role"] == "owner"


async def test_a_wrong_password_shows_an_announced_message_and_keeps_what_was_typed(
    browser: WebDriver, bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    client = await browser_client(bridge_server, mcp_auth)
    start(browser, bridge_server, client)

    fill(browser, member, password="not it")
    field(browser, "Password").send_keys(Keys.RETURN)
    WebDriverWait(browser, WAIT_SECONDS).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[role=alert]"))

    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.text == (
        "Sign-in failed. Check the household email, username, password and one-time code, and try again."
    )
    assert browser.find_element(By.TAG_NAME, "form").get_attribute("aria-describedby") == "error"
    assert field(browser, "Household email").get_attribute("value") == member.tenant_email
    assert field(browser, "Username").get_attribute("value") == member.username
    assert field(browser, "Password").get_attribute("value") == ""


async def test_the_keyboard_alone_completes_a_sign_in(
    browser: WebDriver, bridge_server: RunningServer, mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth))
    client = await browser_client(bridge_server, mcp_auth)
    start(browser, bridge_server, client)

    field(browser, "Household email").click()
    browser.switch_to.active_element.send_keys(member.tenant_email, Keys.TAB)
    browser.switch_to.active_element.send_keys(member.username, Keys.TAB)
    browser.switch_to.active_element.send_keys(member.password, Keys.RETURN)
    back = landed_at(browser, client)

    assert back["code"]
    assert back["state"] == "browser-state"
