"""API token scopes. A token may only do what its scopes name; a browser session may do all."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "account:read": "Read your profile and API tokens",
    "account:write": "Change your profile and manage API tokens",
    "users:admin": "Operators: list users and change their roles",
}

DEFAULT_SCOPES = ("account:read",)


def unknown_scopes(requested: list[str]) -> list[str]:
    return [scope for scope in requested if scope not in SCOPES]
