"""API shapes for accounts. Input models reject unknown fields so typos fail loudly."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

CustomerRoleName = Literal["webmaster", "advertiser"]
RoleName = Literal["webmaster", "advertiser", "admin", "finance", "risk"]

PASSWORD_MIN = 10
PASSWORD_MAX = 200


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignUpIn(StrictInput):
    email: EmailStr
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    display_name: str = Field(min_length=1, max_length=100)
    roles: list[CustomerRoleName] = Field(min_length=1, max_length=2)

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class LoginIn(StrictInput):
    email: EmailStr
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    token_name: str = Field(default="login", min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["account:read"], min_length=1)

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()


class ProfileIn(StrictInput):
    display_name: str = Field(min_length=1, max_length=100)


class PasswordChangeIn(StrictInput):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class TokenCreateIn(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=50)


class RolesIn(StrictInput):
    roles: list[RoleName] = Field(max_length=5)


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    roles: list[str]
    is_active: bool
    created_at: datetime


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret. Shown once; store it now.")
