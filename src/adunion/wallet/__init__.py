"""The wallet: customer balances on the ledger, deposits, withdrawals, interest, books."""
