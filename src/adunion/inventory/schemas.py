"""API shapes for inventory. Money is integer micros; input models refuse unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adunion.inventory.categories import CATEGORIES
from adunion.inventory.domains import MAX_SUBDOMAINS, normalise_domain
from adunion.inventory.formats import SlotFormat
from adunion.kernel.errors import ValidationFailed
from adunion.kernel.money import Micros

SaleMode = Literal["booking", "auction", "affiliate"]


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError("is not a known IAB content category (see GET /api/v1/categories)")
    return value


Subdomains = list[Annotated[str, Field(min_length=1, max_length=300)]]


class SiteIn(StrictInput):
    domain: str = Field(min_length=1, max_length=300)
    category: str = Field(min_length=1, max_length=10)
    description: str = Field(default="", max_length=2000)
    # Other subdomains whose pages show the site's slots (checked against the domain).
    subdomains: Subdomains = Field(default_factory=list, max_length=MAX_SUBDOMAINS)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        try:
            return normalise_domain(value)
        except ValidationFailed as exc:
            raise ValueError(exc.fields[0].message) from None

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _category(value)


class SiteUpdateIn(StrictInput):
    category: str | None = Field(default=None, min_length=1, max_length=10)
    description: str | None = Field(default=None, max_length=2000)
    subdomains: Subdomains | None = Field(default=None, max_length=MAX_SUBDOMAINS)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        return None if value is None else _category(value)


class SiteStatusIn(StrictInput):
    status: Literal["verified", "suspended", "pending"]
    note: str = Field(default="", max_length=500)


class SlotIn(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    format: SlotFormat
    accepts_booking: bool = False
    price_per_day_micros: Micros | None = None
    accepts_auction: bool = False
    floor_cpm_micros: Micros | None = None
    accepts_affiliate: bool = False


class SlotUpdateIn(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    accepts_booking: bool | None = None
    price_per_day_micros: Micros | None = None
    accepts_auction: bool | None = None
    floor_cpm_micros: Micros | None = None
    accepts_affiliate: bool | None = None
    status: Literal["active", "paused"] | None = None


class CategoryOut(BaseModel):
    id: str
    name: str


class SiteOut(BaseModel):
    id: str
    domain: str
    subdomains: list[str]
    category: str
    category_name: str
    description: str
    status: str
    verified_at: datetime | None
    verified_by: str | None
    last_check_at: datetime | None
    last_check_result: str
    ads_txt_line: str
    meta_tag: str
    created_at: datetime


class SlotOut(BaseModel):
    id: str
    site_id: str
    site_domain: str
    name: str
    format: str
    width: int | None
    height: int | None
    currency: str
    accepts_booking: bool
    price_per_day_micros: int | None
    accepts_auction: bool
    floor_cpm_micros: int | None
    accepts_affiliate: bool
    status: str
    embed_tag: str
    created_at: datetime


class ListingOut(BaseModel):
    """A slot as advertisers see it in search (no embed tag, no owner)."""

    id: str
    site_id: str
    site_domain: str
    site_category: str
    name: str
    format: str
    currency: str
    accepts_booking: bool
    price_per_day_micros: int | None
    accepts_auction: bool
    floor_cpm_micros: int | None
    accepts_affiliate: bool


class SellerOut(BaseModel):
    seller_id: str
    name: str
    domain: str
    seller_type: Literal["PUBLISHER", "INTERMEDIARY", "BOTH"] = "PUBLISHER"


class SellersJson(BaseModel):
    contact_email: str
    version: str = "1.0"
    sellers: list[SellerOut]
