"""The error a refused transfer raises from the one-transfer helpers (and the API layer)."""

from __future__ import annotations

from adunion.kernel.errors import AppError, FieldError
from adunion.ledger.schemas import ResultCode, TransferResult

# Refusals that are about the id already being used (or the hold already resolved): 409.
# Everything else refused is a well-formed request the ledger's state cannot accept: 422.
_CONFLICTS = frozenset(
    {
        ResultCode.EXISTS_WITH_DIFFERENT_FLAGS,
        ResultCode.EXISTS_WITH_DIFFERENT_PENDING_ID,
        ResultCode.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
        ResultCode.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID,
        ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT,
        ResultCode.EXISTS_WITH_DIFFERENT_CURRENCY,
        ResultCode.EXISTS_WITH_DIFFERENT_CODE,
        ResultCode.EXISTS_WITH_DIFFERENT_REFERENCE,
        ResultCode.EXISTS_WITH_DIFFERENT_METADATA,
        ResultCode.EXISTS_WITH_DIFFERENT_TIMEOUT,
        ResultCode.ID_ALREADY_FAILED,
        ResultCode.PENDING_TRANSFER_ALREADY_POSTED,
        ResultCode.PENDING_TRANSFER_ALREADY_VOIDED,
        ResultCode.PENDING_TRANSFER_EXPIRED,
    }
)


class TransferRefused(AppError):
    """A transfer the ledger did not apply; ``code`` is the :class:`ResultCode` value."""

    result: TransferResult

    def __init__(self, result: TransferResult) -> None:
        status = 409 if result.code in _CONFLICTS else 422
        field = result.field or "transfer"
        message = f"transfer {result.id!r} refused: {result.code.value}"
        super().__init__(message, [FieldError(field, result.code.value)], status, result.code.value)
        self.result = result

    @classmethod
    def from_result(cls, result: TransferResult) -> TransferRefused:
        return cls(result)


def raise_for_results(results: list[TransferResult]) -> None:
    """Raise :class:`TransferRefused` for the first result that is neither ok nor exists."""
    for result in results:
        if not result.ok:
            # Report the member that caused a chain to fail, not its innocent neighbours.
            if result.code is ResultCode.LINKED_EVENT_FAILED:
                culprit = next(
                    (
                        r
                        for r in results
                        if not r.ok and r.code is not ResultCode.LINKED_EVENT_FAILED
                    ),
                    result,
                )
                raise TransferRefused(culprit)
            raise TransferRefused(result)
