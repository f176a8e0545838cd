"""API token scopes. A token may only do what its scopes name; a browser session may do all."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "account:read": "Read your profile and API tokens",
    "account:write": "Change your profile and manage API tokens",
    "users:admin": "Operators: list users and change their roles",
    "inventory:read": "Read your sites and ad slots; search the slot inventory",
    "inventory:write": "Add and change your sites and ad slots; run site verification",
    "campaigns:read": "Read your campaigns and creatives",
    "campaigns:write": "Create and change your campaigns and creatives",
    "moderation": "Operators (risk or admin): review creatives, verify or suspend sites",
    "wallet:read": "Read your wallet: balances, statements, deposits, withdrawals",
    "wallet:write": "Move money: request deposits and withdrawals",
    "reports:read": "Read reports: your sites' or campaigns' figures; operators the network",
    "finance": "Finance staff: confirm deposits, pay withdrawals, grant credits, read the books",
}


def unknown_scopes(requested: list[str]) -> list[str]:
    return [scope for scope in requested if scope not in SCOPES]
