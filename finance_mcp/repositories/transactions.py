"""Transactions of one household. The household is fixed at construction; no query can escape it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    RowMapping,
    Select,
    String,
    and_,
    bindparam,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from finance_mcp.db.database import Connection, as_dicts
from finance_mcp.db.models import accounts, change_rows, changes, transaction_splits, transaction_tags, transactions
from finance_mcp.db.types import Money
from finance_mcp.domain.quotas import Quotas, row_bytes
from finance_mcp.repositories.accounts import NOT_WHOLE_ONLY, AccountRepository, balance_bounds
from finance_mcp.repositories.change_recorder import TOTALS, ChangeRecorder, encode, image
from finance_mcp.repositories.ids import storable
from finance_mcp.repositories.quota_usage import QuotaUsage

COLUMNS = (
    transactions.c.id,
    transactions.c.account_id,
    transactions.c.amount,
    transactions.c.date,
    transactions.c.category,
    transactions.c.description,
    transactions.c.merchant,
    transactions.c.location,
    transactions.c.tags,
    transactions.c.der_category,
    transactions.c.der_merchant,
    transactions.c.created_at,
    transactions.c.updated_at,
    transactions.c.transfer_id,
)
SEARCHED = (
    transactions.c.description,
    transactions.c.merchant,
    transactions.c.category,
    transactions.c.location,
    transactions.c.der_category,
    transactions.c.der_merchant,
)

_BY_ID = (transactions.c.id == bindparam("p_id"), transactions.c.household_id == bindparam("p_household"))
_INSERT = insert(transactions).returning(*COLUMNS, sort_by_parameter_order=True)
_GET = select(*COLUMNS).where(*_BY_ID)
_GET_FOR_UPDATE = _GET.with_for_update()
# Every column: the row's image for the change log, from the statement that deletes it.
_DELETE = (
    delete(transactions)
    .where(*_BY_ID)
    .returning(*COLUMNS, transactions.c.created_by, transactions.c.import_fingerprint)
)
_OTHER_LEG = select(*COLUMNS).where(
    transactions.c.household_id == bindparam("p_household"),
    transactions.c.transfer_id == bindparam("p_transfer"),
    transactions.c.id != bindparam("p_id"),
)
_OTHER_LEG_FOR_UPDATE = _OTHER_LEG.with_for_update()
_LINK = (
    update(transactions)
    .where(
        transactions.c.household_id == bindparam("p_household"),
        transactions.c.id.in_(bindparam("p_ids", expanding=True)),
    )
    .values(transfer_id=bindparam("p_transfer"))
    .returning(*COLUMNS)
)
_INSERT_TAGS = insert(transaction_tags)
_DELETE_TAGS = delete(transaction_tags).where(
    transaction_tags.c.transaction_id == bindparam("p_id"),
    transaction_tags.c.household_id == bindparam("p_household"),
)

# `add_many` on SQLite (`_add_on_sqlite`): the row as stored, and as returned (the names of COLUMNS).
_SQLITE_COLUMNS = (
    *("id", "household_id", "account_id", "created_by", "amount", "date", "category", "description", "merchant"),
    *("location", "tags", "der_category", "der_merchant", "created_at", "updated_at", "import_fingerprint"),
    "transfer_id",
)
# Plain SQL text, executed many times at once (no RETURNING): one executemany of the driver, still logged
# as every statement is when DEBUG echoes SQL.
_SQLITE_ADD = text(
    "INSERT INTO transactions (id, household_id, account_id, created_by, amount, date, category, description, "
    "merchant, location, tags, der_category, der_merchant, created_at, updated_at, import_fingerprint, transfer_id) "
    "VALUES (:id, :household_id, :account_id, :created_by, :amount, :date, :category, :description, :merchant, "
    ":location, :tags, :der_category, :der_merchant, :created_at, :updated_at, :import_fingerprint, :transfer_id)"
)
_SQLITE_TOP = text("SELECT coalesce(max(id), 0) FROM transactions")
_SQLITE_RETURNED = tuple(column.name for column in COLUMNS)
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for SQLite DATETIME

# `add_many` on PostgreSQL (`_add_on_postgres`): each column's values as one array.
_PG_ARRAYS = {
    "id": "BIGINT",
    "account_id": "BIGINT",
    "amount": "NUMERIC(15, 2)",
    "date": "DATE",
    "category": "TEXT",
    "description": "TEXT",
    "merchant": "TEXT",
    "location": "TEXT",
    "tags": "TEXT",
    "der_category": "TEXT",
    "der_merchant": "TEXT",
    "import_fingerprint": "TEXT",
    "transfer_id": "BIGINT",
}
_PG_IDS = text("SELECT nextval(pg_get_serial_sequence('transactions', 'id')) FROM generate_series(1, :n)")
_PG_ADD = text(
    "INSERT INTO transactions (id, household_id, account_id, created_by, amount, date, category, description, "
    "merchant, location, tags, der_category, der_merchant, created_at, updated_at, import_fingerprint, transfer_id) "
    "SELECT u.id, :p_household, u.account_id, :p_by, u.amount, u.date, u.category, u.description, u.merchant, "
    "u.location, CAST(u.tags AS JSON), u.der_category, u.der_merchant, :p_now, :p_now, u.import_fingerprint, "
    "u.transfer_id "
    "FROM unnest("
    + ", ".join(f"CAST(:p_{name} AS {kind}[])" for name, kind in _PG_ARRAYS.items())
    + ") AS u("
    + ", ".join(_PG_ARRAYS)
    + ")"
).bindparams(bindparam("p_now", type_=transactions.c.created_at.type))

_IMPORTED_OF = select(transactions.c.import_fingerprint).where(
    transactions.c.household_id == bindparam("p_household"), transactions.c.account_id == bindparam("p_account")
)
_IMPORTED = _IMPORTED_OF.where(transactions.c.import_fingerprint.in_(bindparam("p_fingerprints", expanding=True)))
# One array parameter, however many fingerprints (an expanding IN renders and binds each one).
_IMPORTED_POSTGRES = _IMPORTED_OF.where(
    transactions.c.import_fingerprint == func.any(bindparam("p_fingerprints", type_=ARRAY(String())))
)

_NEWEST_FIRST = (transactions.c.date.desc(), transactions.c.id.desc())
# An account's own listing, the common case, prebuilt: its page and, from the counter kept beside the
# balance, how many rows it holds (one statement, one snapshot; no COUNT over the account's rows).
_ACCOUNT_ROWS = (
    select(accounts.c.transaction_count)
    .where(accounts.c.id == bindparam("p_account"), accounts.c.household_id == bindparam("p_household"))
    .scalar_subquery()
)
_ACCOUNT_PAGE = (
    select(*COLUMNS, _ACCOUNT_ROWS.label("total"))
    .where(transactions.c.household_id == bindparam("p_household"), transactions.c.account_id == bindparam("p_account"))
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("p_limit"))
)
_ACCOUNT_PAGE_AFTER = _ACCOUNT_PAGE.where(
    tuple_(transactions.c.date, transactions.c.id)
    < tuple_(bindparam("p_date", type_=transactions.c.date.type), bindparam("p_id", type_=transactions.c.id.type))
)
_ACCOUNT_TOTAL = select(_ACCOUNT_ROWS)


class TransactionCriteria(Protocol):
    """What a listing filters on (`schemas.transactions.TransactionCriteria` is one): the repository reads
    these and nothing else, so it never depends on the wire schema."""

    @property
    def account_id(self) -> int | None: ...
    @property
    def start_date(self) -> dt.date | None: ...
    @property
    def end_date(self) -> dt.date | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def der_category(self) -> str | None: ...
    @property
    def merchant(self) -> str | None: ...
    @property
    def der_merchant(self) -> str | None: ...
    @property
    def tags(self) -> list[str] | None: ...
    @property
    def min_amount(self) -> Decimal | None: ...
    @property
    def max_amount(self) -> Decimal | None: ...
    @property
    def search(self) -> str | None: ...


# Every criterion but the account and tags: with none of them set, a listing is one account's own rows.
NARROWING = (
    "start_date",
    "end_date",
    "category",
    "der_category",
    "merchant",
    "der_merchant",
    "min_amount",
    "max_amount",
    "search",
)


def _within_quotas() -> list[ColumnElement[bool]]:
    """The household's totals (a sum over its accounts' counters) leave room for one more row."""
    held = accounts.alias("held")
    mine = held.c.household_id == bindparam("p_household")
    rows = select(func.coalesce(func.sum(held.c.transaction_count), 0)).where(mine).scalar_subquery()
    size = select(func.coalesce(func.sum(held.c.stored_bytes), 0)).where(mine).scalar_subquery()
    return [rows < bindparam("p_max_rows"), size + bindparam("p_bytes") <= bindparam("p_max_bytes")]


# The row `create_transaction` stores, one description for both databases' paths: its columns, in the order
# `_stored_values` gives their values. SQLite inserts them as a row; PostgreSQL's one statement binds each
# under its name in `_RECORD_BINDS`.
_STORED_COLUMNS = (
    "household_id",
    "account_id",
    "amount",
    "created_at",
    "updated_at",
    "date",
    "category",
    "description",
    "merchant",
    "location",
    "tags",
    "der_category",
    "der_merchant",
    "created_by",
)
_TAGS = _STORED_COLUMNS.index("tags")


def _stored_values(
    values: Mapping[str, Any], *, household_id: int, account_id: int, created_by: int, now: dt.datetime
) -> tuple[Any, ...]:
    """The values of `_STORED_COLUMNS`, in that order (a tuple: the hot path pays for no dict it renames)."""
    get = values.get
    return (
        household_id,
        account_id,
        values["amount"],
        now,  # created_at
        now,  # updated_at
        get("date"),
        get("category"),
        get("description"),
        get("merchant"),
        get("location"),
        get("tags") or [],
        get("der_category"),
        get("der_merchant"),
        created_by,
    )


# The balance update reads the household, account, amount and time too, under these names; the other
# columns have their own ("v_..."): an UPDATE would also SET any column whose name a parameter reuses.
_SHARED_BINDS = {
    "household_id": "p_household",
    "account_id": "p_account",
    "amount": "p_delta",
    "created_at": "p_now",
    "updated_at": "p_now",
}
_RECORD_BINDS = tuple(_SHARED_BINDS.get(column, f"v_{column}") for column in _STORED_COLUMNS)


_DESCRIBED = ("user_id", "role", "client_id", "api_key_id", "tool", "summary", "entity_type")


def _logged(stored: Any) -> tuple[Any, Any]:
    """The change log of a one-statement create, as two more data-modifying CTEs of the same statement:
    the change (its entity the stored row), and its two rows (the transaction's image, the account's move)."""
    household = bindparam("p_household", type_=transactions.c.household_id.type)
    who = _DESCRIBED
    names = ["household_id", "at", *who, "entity_id"]
    described = select(
        household,
        bindparam("p_now", type_=changes.c.at.type),
        *(bindparam(f"c_{n}", type_=changes.c[n].type) for n in who),
    )
    logged = (
        insert(changes)
        .from_select(names, described.add_columns(stored.c.id).select_from(stored))
        .returning(changes.c.id)
        .cte("logged")
    )
    pictured = JSON(none_as_null=True)
    row = select(logged.c.id, literal(0), household, literal("transactions"), stored.c.id)
    row = row.add_columns(cast(null(), pictured), bindparam("c_after", type_=pictured)).select_from(
        logged.join(stored, true())
    )
    moved = select(
        logged.c.id, literal(1), household, literal(TOTALS), bindparam("p_account", type_=accounts.c.id.type)
    )
    moved = moved.add_columns(cast(null(), pictured), bindparam("c_totals", type_=pictured)).select_from(logged)
    columns = ["change_id", "seq", "household_id", "table_name", "row_id", "before", "after"]
    return logged, insert(change_rows).from_select(columns, union_all(row, moved)).cte("logged_rows")


def _record_statement(*, limited: bool, logged: bool = False) -> Select[Any]:
    """PostgreSQL's `create_transaction` in one statement, so one round trip and the shortest hold on the
    account's row lock: move the balance and the counters (`balance = balance + :delta`), store the row
    and its tags. Atomic on its own; zero rows when the account is not in the household (or, `limited`,
    when the household's quotas are full), and then nothing was stored (the insert selects from the
    update's result)."""
    moved = (
        update(accounts)
        .where(accounts.c.id == bindparam("p_account"), accounts.c.household_id == bindparam("p_household"))
        .where(*(_within_quotas() if limited else ()))
        # A currency without a minor unit (JPY) takes whole amounts only (domain/currencies.py).
        .where(or_(bindparam("p_whole", type_=Boolean()), NOT_WHOLE_ONLY))
        .values(
            balance=accounts.c.balance + bindparam("p_delta", type_=Money()),
            transaction_count=accounts.c.transaction_count + literal_column("1"),
            stored_bytes=accounts.c.stored_bytes + bindparam("p_bytes"),
            updated_at=bindparam("p_now"),
        )
        .returning(accounts.c.balance)
        .cte("moved")
    )
    names = list(_STORED_COLUMNS)
    binds = zip(_RECORD_BINDS, _STORED_COLUMNS, strict=True)
    values = select(*(bindparam(bind, type_=transactions.c[column].type) for bind, column in binds))
    stored = insert(transactions).from_select(names, values.select_from(moved)).returning(*COLUMNS).cte("stored")
    # Unbounded: a cast to VARCHAR(100)[] would silently cut a longer key instead of refusing it.
    tag_keys = func.unnest(bindparam("p_tag_keys", type_=ARRAY(String())))
    tagged = insert(transaction_tags).from_select(
        ["transaction_id", "tag", "household_id"],
        select(stored.c.id, tag_keys, bindparam("p_household", type_=transactions.c.household_id.type)).select_from(
            stored
        ),
    )
    # Both have one row or none: a join on true pairs them without a warning about a cartesian product.
    both = stored.join(moved, true())
    if not logged:
        return select(stored, moved.c.balance.label("account_balance")).select_from(both).add_cte(tagged.cte("tagged"))
    change, rows = _logged(stored)
    both = both.join(change, true())
    result = select(stored, moved.c.balance.label("account_balance"), change.c.id.label("change_id"))
    return result.select_from(both).add_cte(tagged.cte("tagged")).add_cte(rows)


_RECORD_POSTGRES = _record_statement(limited=False)
_RECORD_POSTGRES_LOGGED = _record_statement(limited=False, logged=True)
# With quotas on: the check folded into the same statement. Concurrent creates see one snapshot of the
# totals, so they can overshoot by at most one row each (docs/RELIABILITY.md).
_RECORD_POSTGRES_LIMITED = _record_statement(limited=True)
_RECORD_POSTGRES_LIMITED_LOGGED = _record_statement(limited=True, logged=True)
UNLIMITED = 2**62


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    more: bool
    total: int | None  # how many match, when the page's own statement could tell (else count them)


def _is_whole(amount: Decimal) -> bool:
    return amount == amount.to_integral_value()


def tag_key(tag: str) -> str:
    """The normalised form tags are stored and matched in."""
    return tag.strip().lower()


def _like_pattern(text: str) -> str:
    """A case-insensitive substring pattern in which `%`, `_` and `\\` are literal."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class TransactionRepository:
    def __init__(self, conn: Connection, household_id: int, *, log: ChangeRecorder | None = None) -> None:
        self._conn = conn
        self._household_id = household_id
        self._log = log

    async def add_many(self, rows: Sequence[dict[str, Any]], *, created_by: int, now: dt.datetime) -> list[RowMapping]:
        """Insert rows (in order) with their tags; return the stored rows in the same order."""
        stamp = {
            "household_id": self._household_id,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
        }
        if self._conn.sqlite_driver() is not None:
            return await self._add_on_sqlite(rows, created_by=created_by, now=now)
        if self._conn.dialect == "postgresql" and rows:
            return await self._add_on_postgres(rows, created_by=created_by, now=now)
        params: list[dict[str, Any]] = [{**row, "tags": row.get("tags") or [], **stamp} for row in rows]
        return await self._insert(params)

    async def _add_on_postgres(
        self, rows: Sequence[dict[str, Any]], *, created_by: int, now: dt.datetime
    ) -> list[RowMapping]:
        """`add_many` on PostgreSQL as one INSERT ... SELECT FROM unnest(column arrays): a dozen parameters
        whatever the row count, where an executemany binds and processes every value of every row in
        Python. Ids are taken from the sequence first (one statement), so each row's id is known in order."""
        ids = list((await self._conn.execute(_PG_IDS, {"n": len(rows)})).scalars())
        columns: dict[str, list[Any]] = {name: [] for name in _PG_ARRAYS}
        stored: list[dict[str, Any]] = []
        for ident, row in zip(ids, rows, strict=True):
            get = row.get
            tags: list[str] = get("tags") or []
            values = (ident, row["account_id"], row["amount"], row["date"], row["category"], get("description"))
            values += (get("merchant"), get("location"), json.dumps(tags), get("der_category"), get("der_merchant"))
            for name, value in zip(_PG_ARRAYS, (*values, get("import_fingerprint"), get("transfer_id")), strict=True):
                columns[name].append(value)
            returned = (*values[:8], tags, *values[9:], now, now, get("transfer_id"))
            stored.append(dict(zip(_SQLITE_RETURNED, returned, strict=True)))
        params = {f"p_{name}": values for name, values in columns.items()}
        await self._conn.execute(
            _PG_ADD, {**params, "p_household": self._household_id, "p_by": created_by, "p_now": now}
        )
        tag_rows = [
            {"transaction_id": row["id"], "tag": tag_key(tag), "household_id": self._household_id}
            for row in stored
            for tag in row["tags"]
        ]
        if tag_rows:
            await self._conn.execute(_INSERT_TAGS, tag_rows)
        return stored  # type: ignore[return-value]  # dicts with the same keys serve every caller

    async def _add_on_sqlite(
        self, rows: Sequence[dict[str, Any]], *, created_by: int, now: dt.datetime
    ) -> list[RowMapping]:
        """`add_many` on SQLite in one `executemany`: SQLAlchemy runs an INSERT ... RETURNING once per row
        there (SQLite cannot return a multi-row insert's rows in order), which was most of an import's time.
        Ids are given, counting on from the largest: the unit holds SQLite's one write lock (BEGIN
        IMMEDIATE), so no other insert can take one meanwhile. Values are stored as the column types store
        them (integer cents, ISO dates, naive UTC text, JSON text)."""
        top = int((await self._conn.execute(_SQLITE_TOP)).scalar_one())
        stamp = now.astimezone(dt.UTC).strftime(_SQLITE_TIME)
        household = self._household_id
        stored: list[dict[str, Any]] = []
        params: list[dict[str, Any]] = []
        for ident, row in enumerate(rows, start=top + 1):
            get = row.get
            tags: list[str] = get("tags") or []
            amount, day = row["amount"], row["date"]
            text = (row["category"], get("description"), get("merchant"), get("location"))
            derived = (get("der_category"), get("der_merchant"))
            cents = int(amount.scaleb(2))
            account = row["account_id"]
            values = (ident, household, account, created_by, cents, day.isoformat(), *text, json.dumps(tags))
            stamped = (*values, *derived, stamp, stamp, get("import_fingerprint"), get("transfer_id"))
            params.append(dict(zip(_SQLITE_COLUMNS, stamped, strict=True)))
            returned = (ident, account, amount, day, *text, tags, *derived, now, now, get("transfer_id"))
            stored.append(dict(zip(_SQLITE_RETURNED, returned, strict=True)))
        await self._conn.execute(_SQLITE_ADD, params)
        tag_rows = [
            {"transaction_id": row["id"], "tag": tag_key(tag), "household_id": household}
            for row in stored
            for tag in row["tags"]
        ]
        if tag_rows:
            await self._conn.execute(_INSERT_TAGS, tag_rows)
        return stored  # type: ignore[return-value]  # dicts with the same keys serve every caller

    async def imported(self, account_id: int, fingerprints: Sequence[str]) -> set[str]:
        """Which of these import fingerprints the account already holds (served by the unique index)."""
        if not fingerprints or not storable(account_id):
            return set()
        params = {"p_household": self._household_id, "p_account": account_id, "p_fingerprints": list(fingerprints)}
        statement = _IMPORTED_POSTGRES if self._conn.dialect == "postgresql" else _IMPORTED
        result = await self._conn.execute(statement, params)
        return {str(found) for found in result.scalars()}

    async def _insert(self, params: list[dict[str, Any]]) -> list[RowMapping]:
        """Insert whole rows (in order) with their tags; return the stored rows in the same order."""
        result = await self._conn.execute(_INSERT, params)
        stored = list(result.mappings().all())
        tag_rows = [
            {"transaction_id": row["id"], "tag": tag_key(tag), "household_id": self._household_id}
            for row in stored
            for tag in row["tags"]
        ]
        if tag_rows:
            await self._conn.execute(_INSERT_TAGS, tag_rows)
        return stored

    async def record(
        self, account_id: int, values: dict[str, Any], *, created_by: int, now: dt.datetime, quotas: Quotas
    ) -> tuple[RowMapping, Decimal] | None:
        """Store one transaction and move its account's balance and counters by it, atomically; return
        the row and the new balance, or None when the account is not in the household or the household's
        quotas have no room for it (nothing was stored then).

        On PostgreSQL this is one statement, so the unit of work may run without a transaction
        (`transaction=False`); elsewhere it is two or three statements inside the unit's transaction.
        """
        if not storable(account_id):
            return None
        size = row_bytes(values)
        if self._conn.dialect != "postgresql":
            return await self._record_in_steps(account_id, values, size, created_by=created_by, now=now, quotas=quotas)
        stored = _stored_values(
            values, household_id=self._household_id, account_id=account_id, created_by=created_by, now=now
        )
        params = dict(zip(_RECORD_BINDS, stored, strict=False))  # both as long as _STORED_COLUMNS
        params["p_tag_keys"] = sorted({tag_key(t) for t in stored[_TAGS]})
        params["p_whole"] = _is_whole(values["amount"])
        params["p_bytes"] = size
        change = self._log.change if self._log is not None else None
        logged = change is not None
        statement = _RECORD_POSTGRES_LOGGED if logged else _RECORD_POSTGRES
        if quotas.on_rows:
            statement = _RECORD_POSTGRES_LIMITED_LOGGED if logged else _RECORD_POSTGRES_LIMITED
            params |= {"p_max_rows": quotas.transactions or UNLIMITED, "p_max_bytes": quotas.stored_bytes or UNLIMITED}
        if change is not None:
            params |= {f"c_{name}": change[name] for name in _DESCRIBED}
            after = {**values, "account_id": account_id, "tags": stored[_TAGS], "created_at": now, "updated_at": now}
            params["c_after"] = image(after, created_by=created_by)
            params["c_totals"] = {
                "delta": encode(values["amount"]),
                "rows": 1,
                "bytes": size,
                "updated_at": encode(now),
            }
        with balance_bounds(account_id):
            result = await self._conn.execute(statement, params)
        row = result.mappings().first()
        if row is not None and self._log is not None and self._log.change is not None:
            self._log.written(int(row["change_id"]))
        return None if row is None else (row, row["account_balance"])

    async def _record_in_steps(
        self, account_id: int, values: dict[str, Any], size: int, *, created_by: int, now: dt.datetime, quotas: Quotas
    ) -> tuple[RowMapping, Decimal] | None:
        """`record` on SQLite, where writers are serialised: the quota check is exact."""
        if quotas.on_rows:
            held_rows, held_bytes = await QuotaUsage(self._conn, self._household_id).totals()
            if (quotas.transactions and held_rows >= quotas.transactions) or (
                quotas.stored_bytes and held_bytes + size > quotas.stored_bytes
            ):
                return None
        balance = await AccountRepository(self._conn, self._household_id).adjust_balance(
            account_id, values["amount"], rows=1, size=size, now=now, whole=_is_whole(values["amount"])
        )
        if balance is None:
            return None
        stored = _stored_values(
            values, household_id=self._household_id, account_id=account_id, created_by=created_by, now=now
        )
        (row,) = await self._insert([dict(zip(_STORED_COLUMNS, stored, strict=True))])
        if self._log is not None and self._log.change is not None:
            self._log.change["entity_id"] = int(row["id"])
            self._log.row("transactions", int(row["id"]), None, image(row, created_by=created_by))
            self._log.totals(account_id, values["amount"], rows=1, size=size, now=now)
        return row, balance

    async def get(self, transaction_id: int, *, for_update: bool = False) -> Mapping[Any, Any] | None:
        if not storable(transaction_id):
            return None
        params = {"p_id": transaction_id, "p_household": self._household_id}
        if for_update:
            return (await self._conn.execute(_GET_FOR_UPDATE, params)).mappings().first()
        found = await self._conn.rows(_GET, params)
        return found[0] if found else None

    async def link(self, transaction_ids: Sequence[int], transfer_id: int) -> dict[int, RowMapping]:
        """Make these rows the legs of transfer `transfer_id`; return them as stored, by id."""
        params = {"p_household": self._household_id, "p_ids": list(transaction_ids), "p_transfer": transfer_id}
        rows = (await self._conn.execute(_LINK, params)).mappings().all()
        return {int(row["id"]): row for row in rows}

    async def unlink(self, transfer_ids: Sequence[int]) -> list[tuple[RowMapping, RowMapping]]:
        """Make the remaining legs of these transfers plain rows (their pair is gone with its account);
        return each as it was and as it is."""
        if not transfer_ids:
            return []
        mine = (transactions.c.household_id == self._household_id, transactions.c.transfer_id.in_(transfer_ids))
        found = (await self._conn.execute(select(*COLUMNS).where(*mine).with_for_update())).mappings().all()
        if not found:
            return []
        unlinked = update(transactions).where(*mine).values(transfer_id=None).returning(*COLUMNS)
        after = {int(row["id"]): row for row in (await self._conn.execute(unlinked)).mappings().all()}
        return [(row, after[int(row["id"])]) for row in found]

    async def other_leg(self, transaction_id: int, transfer_id: int, *, for_update: bool = False) -> RowMapping | None:
        """The other leg of the transfer `transaction_id` is a leg of (None: its pair is gone, e.g. with an
        account deleted since)."""
        params = {"p_household": self._household_id, "p_transfer": transfer_id, "p_id": transaction_id}
        statement = _OTHER_LEG_FOR_UPDATE if for_update else _OTHER_LEG
        return (await self._conn.execute(statement, params)).mappings().first()

    async def update(self, transaction_id: int, values: dict[str, Any], *, now: dt.datetime) -> RowMapping:
        statement = (
            update(transactions)
            .where(transactions.c.id == transaction_id, transactions.c.household_id == self._household_id)
            .values(**values, updated_at=now)
            .returning(*COLUMNS)
        )
        row = (await self._conn.execute(statement)).mappings().one()
        if "tags" in values:
            await self._replace_tags(transaction_id, values["tags"])
        return row

    async def locked(self, transaction_ids: Sequence[int]) -> list[dict[str, Any]]:
        """These transactions of the household, newest first, locked until the end of the transaction."""
        if not transaction_ids:
            return []
        statement = (
            select(*COLUMNS)
            .where(transactions.c.household_id == self._household_id, transactions.c.id.in_(transaction_ids))
            .order_by(*_NEWEST_FIRST)
            .with_for_update()
        )
        return as_dicts(await self._conn.execute(statement))

    async def set_tags(self, transaction_id: int, tags: list[str]) -> None:
        """Make the transaction's tag rows those of `tags` (an undo puts a row's tags back)."""
        await self._replace_tags(transaction_id, list({tag_key(t): t for t in tags}.values()))

    async def _replace_tags(self, transaction_id: int, tags: list[str]) -> None:
        await self._conn.execute(_DELETE_TAGS, {"p_id": transaction_id, "p_household": self._household_id})
        if tags:
            rows = [
                {"transaction_id": transaction_id, "tag": tag_key(t), "household_id": self._household_id} for t in tags
            ]
            await self._conn.execute(_INSERT_TAGS, rows)

    async def delete(self, transaction_id: int) -> tuple[int, Decimal, int, RowMapping] | None:
        """Delete one transaction; return its (account_id, amount, estimated bytes, row as it was), or None
        when not found."""
        if not storable(transaction_id):
            return None
        result = await self._conn.execute(_DELETE, {"p_id": transaction_id, "p_household": self._household_id})
        row = result.mappings().first()
        return None if row is None else (int(row["account_id"]), row["amount"], row_bytes(row), row)

    async def page(self, filters: TransactionCriteria, *, limit: int, after: tuple[dt.date, int] | None) -> Page:
        """Up to `limit` matching rows, newest first, after the keyset position; whether more follow; and
        the total when the statement could read it from the account's counter."""
        if self._account_only(filters):
            params: dict[str, Any] = {"p_household": self._household_id, "p_account": filters.account_id}
            params["p_limit"] = limit + 1
            if after is not None:
                params |= {"p_date": after[0], "p_id": after[1]}
            rows = await self._conn.rows(_ACCOUNT_PAGE if after is None else _ACCOUNT_PAGE_AFTER, params)
            total = int(rows[0]["total"]) if rows else None
            return Page(rows[:limit], len(rows) > limit, total)
        conditions = self._conditions(filters)
        if after is not None:
            conditions.append(tuple_(transactions.c.date, transactions.c.id) < tuple_(*after))
        statement = select(*COLUMNS).where(*conditions).order_by(*_NEWEST_FIRST).limit(limit + 1)
        rows = as_dicts(await self._conn.execute(statement))
        return Page(rows[:limit], len(rows) > limit, None)

    async def categories(self, column: str = "category", *, limit: int = 500) -> list[str]:
        """The distinct values of `category` or `der_category` in the household, for "did you mean"."""
        values = getattr(transactions.c, column)
        statement = (
            select(values)
            .where(transactions.c.household_id == self._household_id, values.is_not(None))
            .distinct()
            .limit(limit)
        )
        return [str(value) for value in (await self._conn.execute(statement)).scalars()]

    async def count(self, filters: TransactionCriteria) -> int:
        if self._account_only(filters):
            params = {"p_household": self._household_id, "p_account": filters.account_id}
            return int((await self._conn.execute(_ACCOUNT_TOTAL, params)).scalar_one_or_none() or 0)
        statement = select(func.count()).select_from(transactions).where(*self._conditions(filters))
        return int((await self._conn.execute(statement)).scalar_one())

    async def date_range(self, filters: TransactionCriteria) -> tuple[dt.date, dt.date] | None:
        """The first and last date of the matching rows (None when none match)."""
        t = transactions.c
        statement = select(func.min(t.date), func.max(t.date)).where(*self._conditions(filters))
        found: tuple[Any, ...] = tuple((await self._conn.execute(statement)).one())
        first, last = found
        return None if first is None or last is None else (first, last)

    @staticmethod
    def scans(filters: TransactionCriteria) -> bool:
        """Whether listing `filters` may read many rows: anything but one account's own listing (a search,
        a filter no index answers, a count over the household). Such a listing runs as a scan: off SQLite's
        event loop, so it cannot stall other households' calls, and stopped after the scan timeout."""
        return not TransactionRepository._account_only(filters)

    @staticmethod
    def _account_only(f: TransactionCriteria) -> bool:
        """One account's rows with no other filter: what its counter counts."""
        if f.account_id is None or not storable(f.account_id) or f.tags:
            return False
        return all(getattr(f, name) is None for name in NARROWING)

    def where(self, filters: TransactionCriteria) -> list[ColumnElement[bool]]:
        """The conditions a listing with `filters` selects by (a bulk edit selects the same rows)."""
        return self._conditions(filters)

    def _conditions(self, f: TransactionCriteria) -> list[ColumnElement[bool]]:
        t = transactions.c
        conditions: list[ColumnElement[bool]] = [t.household_id == self._household_id]
        if f.account_id is not None:
            conditions.append(t.account_id == f.account_id if storable(f.account_id) else false())
        if f.start_date is not None:
            conditions.append(t.date >= f.start_date)
        if f.end_date is not None:
            conditions.append(t.date <= f.end_date)
        parts = transaction_splits.c
        for column, part, value in (
            (t.category, parts.category, f.category),
            (t.der_category, parts.der_category, f.der_category),
        ):
            if value is not None:
                # The transaction's own category, or one of its parts' (a split transaction).
                split = select(parts.transaction_id).where(
                    parts.household_id == self._household_id, func.lower(part) == value.lower()
                )
                conditions.append(or_(func.lower(column) == value.lower(), t.id.in_(split)))
        for column, value in ((t.merchant, f.merchant), (t.der_merchant, f.der_merchant)):
            if value is not None:
                conditions.append(func.lower(column).like(_like_pattern(value), escape="\\"))
        if f.search is not None:
            pattern = _like_pattern(f.search)
            conditions.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in SEARCHED)))
        if f.min_amount is not None:
            conditions.append(t.amount >= f.min_amount)
        if f.max_amount is not None:
            conditions.append(t.amount <= f.max_amount)
        if f.tags:
            tagged = select(transaction_tags.c.transaction_id).where(
                and_(
                    transaction_tags.c.household_id == self._household_id,
                    transaction_tags.c.tag.in_(sorted({tag_key(tag) for tag in f.tags})),
                )
            )
            conditions.append(t.id.in_(tagged))
        return conditions
