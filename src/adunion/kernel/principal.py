"""Who is calling: a signed-in browser or an API token, with roles and (for tokens) scopes.

Every entry point (API, pages, CLI) checks roles, so the roles and the principal live in the kernel;
``accounts`` stores and authenticates them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal


class Role(enum.StrEnum):
    WEBMASTER = "webmaster"
    ADVERTISER = "advertiser"
    ADMIN = "admin"
    FINANCE = "finance"
    RISK = "risk"

    @property
    def is_operator(self) -> bool:
        return self in OPERATOR_ROLES


OPERATOR_ROLES = frozenset({Role.ADMIN, Role.FINANCE, Role.RISK})
CUSTOMER_ROLES = frozenset({Role.WEBMASTER, Role.ADVERTISER})


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
