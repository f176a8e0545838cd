"""Billing: valid billable events become ledger transfers exactly once."""
