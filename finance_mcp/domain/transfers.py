"""What a transfer is: money moved between the household's own accounts, which analytics never count as
spending or income."""

TRANSFER_CATEGORY = "transfer"
TRANSFER_RULE = (
    "Transactions whose category is 'transfer' (any case) move money between the household's own accounts: "
    "they are never counted as spending or income (they still move account balances and net worth)."
)
