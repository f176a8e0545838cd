"""The double-entry ledger: accounts, an append-only journal of transfers, two-phase holds,
linked transfers, idempotency by transfer id, and ``verify``. See docs/ledger.md.

Services never commit: the caller owns the transaction (``with database.transaction() as s:``).
"""

from __future__ import annotations

from adunion.ledger.accounts import balance, get_account, get_or_create_account
from adunion.ledger.errors import TransferRefused, raise_for_results
from adunion.ledger.locks import lock_accounts
from adunion.ledger.schemas import (
    LASTING_FAILURES,
    MAX_AMOUNT,
    Account,
    AccountFlags,
    Balance,
    Discrepancy,
    HoldStatus,
    ResultCode,
    Transfer,
    TransferFlags,
    TransferRequest,
    TransferResult,
)
from adunion.ledger.service import (
    create_transfers,
    expire_pending,
    get_transfer,
    hold,
    hold_status,
    post_pending,
    transfer,
    void_pending,
)
from adunion.ledger.verify import verify

__all__ = [
    "LASTING_FAILURES",
    "MAX_AMOUNT",
    "Account",
    "AccountFlags",
    "Balance",
    "Discrepancy",
    "HoldStatus",
    "ResultCode",
    "Transfer",
    "TransferFlags",
    "TransferRefused",
    "TransferRequest",
    "TransferResult",
    "balance",
    "create_transfers",
    "expire_pending",
    "get_account",
    "get_or_create_account",
    "get_transfer",
    "hold",
    "hold_status",
    "lock_accounts",
    "post_pending",
    "raise_for_results",
    "transfer",
    "verify",
    "void_pending",
]
