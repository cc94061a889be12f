"""Per-household quotas (issue 11, item 12): accounts, transactions, active API keys and stored bytes.

0 means no limit (the default). A create that would go beyond a limit is refused with a message naming the
limit, what to do, and the operator's setting; nothing is changed. Stored bytes are an estimate kept beside
each account's balance (`accounts.stored_bytes`): every transaction counts `ROW_OVERHEAD` plus the UTF-8
length of its text fields, and its tags twice (the row's list and the tag index).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from finance_mcp.domain.errors import Conflict

ROW_OVERHEAD = 64
TEXT_FIELDS = ("category", "description", "merchant", "location", "der_category", "der_merchant")


@dataclass(frozen=True, slots=True)
class Quotas:
    accounts: int = 0
    transactions: int = 0
    api_keys: int = 0
    stored_bytes: int = 0

    @property
    def on_rows(self) -> bool:
        """Whether writing transactions must check the household's totals."""
        return bool(self.transactions or self.stored_bytes)

    def check_accounts(self, held: int) -> None:
        if self.accounts and held >= self.accounts:
            raise _reached(f"{self.accounts} accounts", "delete unused accounts", "MAX_ACCOUNTS_PER_HOUSEHOLD")

    def check_api_keys(self, held: int) -> None:
        if self.api_keys and held >= self.api_keys:
            what = "revoke unused keys (list_api_keys, then revoke_api_key)"
            raise _reached(f"{self.api_keys} active API keys", what, "MAX_API_KEYS_PER_HOUSEHOLD")

    def check_rows(self, *, held_rows: int, held_bytes: int, rows: int, added_bytes: int) -> None:
        """Refuse adding `rows` transactions (and `added_bytes`) to a household holding the `held_*` totals."""
        if self.transactions and rows > 0 and held_rows + rows > self.transactions:
            what = f"it holds {held_rows:,}, this call adds {rows:,}; delete unused transactions"
            raise _reached(f"{self.transactions:,} transactions", what, "MAX_TRANSACTIONS_PER_HOUSEHOLD")
        if self.stored_bytes and added_bytes > 0 and held_bytes + added_bytes > self.stored_bytes:
            what = (
                f"about {held_bytes:,} are used and this call needs {added_bytes:,}; "
                "delete unused transactions or shorten their text"
            )
            raise _reached(f"{self.stored_bytes:,} stored bytes", what, "MAX_STORED_BYTES_PER_HOUSEHOLD")


NO_QUOTAS = Quotas()


def _reached(limit: str, what_to_do: str, setting: str) -> Conflict:
    return Conflict(
        f"This household has reached its limit of {limit}; {what_to_do}, or ask the operator to raise "
        f"{setting}. Nothing was changed."
    )


def row_bytes(row: Mapping[Any, Any]) -> int:
    """The estimated storage of one transaction (see the module docstring)."""
    size = ROW_OVERHEAD
    for name in TEXT_FIELDS:  # a plain loop: this runs on every create
        value = row.get(name)
        if value:
            size += len(value.encode())
    for tag in row.get("tags") or ():
        size += 2 * len(tag.encode())
    return size
