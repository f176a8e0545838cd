"""Who is calling: a signed-in browser or an API token, with roles and (for tokens) scopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adunion.accounts.models import OPERATOR_ROLES, Role


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    display_name: str
    roles: frozenset[Role]
    via: Literal["session", "token"]
    scopes: frozenset[str] | None = None  # None: a browser session, not limited by scopes
    token_id: str | None = None

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    @property
    def is_operator(self) -> bool:
        return bool(self.roles & OPERATOR_ROLES)
