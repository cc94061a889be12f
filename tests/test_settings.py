"""Settings: unsafe values are refused at start-up with a fix, URLs and lists are read as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from finance_mcp.db.database import async_url
from finance_mcp.settings import Settings

SECRET = "s" * 32
ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"
# The variables the README's Configuration table documents.
DOCUMENTED_VARIABLES = [
    "DATABASE_URL",
    "SECRET_KEY",
    "DEBUG",
    "LOG_LEVEL",
    "CORS_ORIGINS",
    "HOST",
    "PORT",
    "PUBLIC_URL",
    "AUTH_SERVER_URL",
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "ALLOWED_HOSTS",
    "STATELESS_HTTP",
]
SETTING_VARIABLES = sorted(name.upper() for name in Settings.model_fields)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own environment must not leak into these tests."""
    for name in {*DOCUMENTED_VARIABLES, *SETTING_VARIABLES}:
        monkeypatch.delenv(name, raising=False)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # pyright: ignore[reportCallIssue]


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    return str(caught.value)


def test_a_missing_secret_key_is_refused_with_how_to_generate_one() -> None:
    message = refusal()

    assert "SECRET_KEY is not set" in message
    assert "secrets.token_urlsafe" in message


def test_a_secret_key_shorter_than_32_characters_is_refused_with_how_to_generate_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 31)

    message = refusal()

    assert "SECRET_KEY is 31 characters" in message
    assert "at least 32" in message
    assert "secrets.token_urlsafe" in message


def test_a_secret_key_of_32_characters_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 32)

    assert settings().secret_key == "x" * 32


def test_the_secret_key_is_not_shown_in_the_settings_repr() -> None:
    assert SECRET not in repr(settings(secret_key=SECRET))


def test_the_default_database_is_a_sqlite_file_in_the_working_directory() -> None:
    url = settings(secret_key=SECRET).database_url

    assert url.startswith("sqlite:///./")
    assert async_url(url) == url


@pytest.mark.parametrize(
    ("url", "driver_url"),
    [
        ("sqlite:///./finance.db", "sqlite:///./finance.db"),
        ("sqlite:////var/lib/finance/finance.db", "sqlite:////var/lib/finance/finance.db"),
        ("postgresql://finance:pw@db.example:5432/finance", "postgresql+asyncpg://finance:pw@db.example:5432/finance"),
        ("postgres://finance@db.example/finance", "postgresql+asyncpg://finance@db.example/finance"),
        ("postgresql+asyncpg://finance@db.example/finance", "postgresql+asyncpg://finance@db.example/finance"),
    ],
)
def test_plain_database_urls_are_accepted_and_mapped_to_the_servers_drivers(
    monkeypatch: pytest.MonkeyPatch, url: str, driver_url: str
) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("DATABASE_URL", url)

    configured = settings().database_url

    assert configured == url
    assert async_url(configured) == driver_url


def test_an_unsupported_database_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://finance@db.example/finance")

    message = refusal(secret_key=SECRET)

    assert "DATABASE_URL must be a sqlite:///" in message
    assert "'mysql'" in message


def test_the_driver_mapping_refuses_an_unsupported_scheme_too() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        async_url("mysql://finance@db.example/finance")


@pytest.mark.parametrize("variable", ["CORS_ORIGINS", "ALLOWED_HOSTS"])
def test_list_settings_are_read_as_comma_separated_values(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv(variable, " https://a.example, https://b.example:8443 ,,")

    assert getattr(settings(), variable.lower()) == ["https://a.example", "https://b.example:8443"]


@pytest.mark.parametrize("variable", ["CORS_ORIGINS", "ALLOWED_HOSTS"])
def test_list_settings_are_empty_when_unset_or_blank(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert getattr(settings(), variable.lower()) == []

    monkeypatch.setenv(variable, "")
    assert getattr(settings(), variable.lower()) == []


def test_the_resource_url_is_host_and_port_when_no_public_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert settings().resource_url == "http://127.0.0.1:8000/mcp"

    monkeypatch.setenv("HOST", "192.0.2.10")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("PUBLIC_URL", "")
    assert settings().resource_url == "http://192.0.2.10:9000/mcp"


def test_the_resource_url_is_the_public_url_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("HOST", "192.0.2.10")
    monkeypatch.setenv("PUBLIC_URL", "https://finance.example.com/")

    assert settings().resource_url == "https://finance.example.com/mcp"


def test_every_documented_variable_is_a_setting() -> None:
    assert set(DOCUMENTED_VARIABLES) <= set(SETTING_VARIABLES)


def _commented_variables(text: str) -> set[str]:
    """Variables assigned (or shown commented out) in a paragraph that also holds a prose comment."""
    commented: set[str] = set()
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.splitlines()]
        names = {m.group(1) for line in lines if (m := re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line))}
        has_prose = any(line.startswith("#") and not re.match(r"#\s*[A-Z][A-Z0-9_]*=", line) for line in lines)
        if has_prose:
            commented |= names
    return commented


@pytest.mark.skipif(not ENV_EXAMPLE.exists(), reason=".env.example is not written yet")
@pytest.mark.parametrize("variable", sorted({*DOCUMENTED_VARIABLES, *SETTING_VARIABLES}))
def test_env_example_lists_every_variable_with_a_comment(variable: str) -> None:
    assert variable in _commented_variables(ENV_EXAMPLE.read_text())


@pytest.mark.skipif(not ENV_EXAMPLE.exists(), reason=".env.example is not written yet")
def test_env_example_holds_only_valid_values_but_its_placeholder_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(_env_file=ENV_EXAMPLE)  # pyright: ignore[reportCallIssue]
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    loaded = Settings(_env_file=ENV_EXAMPLE)  # pyright: ignore[reportCallIssue]

    assert loaded.resource_url == "http://127.0.0.1:8000/mcp"


@pytest.mark.parametrize(
    ("url", "driver_url"),
    [
        (
            "postgresql://finance@h1:5432,h2:5433/finance?target_session_attrs=read-write",
            "postgresql+asyncpg://finance@/finance?host=h1:5432&host=h2:5433&target_session_attrs=read-write",
        ),
        ("postgresql://finance:pw@h1,h2/finance", "postgresql+asyncpg://finance:pw@/finance?host=h1:5432&host=h2:5432"),
    ],
)
def test_a_multi_host_database_url_is_mapped_to_asyncpgs_host_list(url: str, driver_url: str) -> None:
    """libpq's `h1:p1,h2:p2` form, which SQLAlchemy cannot parse, for failover to a promoted standby."""
    assert async_url(url) == driver_url


def test_a_replica_url_that_is_not_postgresql_is_refused() -> None:
    message = refusal(
        secret_key=SECRET, database_url="postgresql://u@h/db", database_replica_url="sqlite:///./replica.db"
    )

    assert "DATABASE_REPLICA_URL must be a postgresql://" in message


@pytest.mark.parametrize("extra", [{"database_replica_url": "postgresql://u@h/db"}, {"database_pgbouncer": True}])
def test_replica_and_pgbouncer_settings_are_refused_on_sqlite(extra: dict[str, object]) -> None:
    assert "need a PostgreSQL DATABASE_URL" in refusal(secret_key=SECRET, database_url="sqlite:///./f.db", **extra)


def test_an_empty_replica_url_means_no_replica() -> None:
    assert settings(secret_key=SECRET, database_replica_url="").database_replica_url is None
