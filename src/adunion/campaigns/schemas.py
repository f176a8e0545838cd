"""API shapes for campaigns and creatives. Money is integer micros; unknown fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from adunion.campaigns.countries import COUNTRY_CODES
from adunion.campaigns.models import Pacing, Pricing
from adunion.inventory.categories import CATEGORIES
from adunion.inventory.formats import SlotFormat
from adunion.kernel.money import Micros

DEVICE_CLASSES = ("desktop", "mobile", "tablet")
HTML_MAX = 64 * 1024

Device = Literal["desktop", "mobile", "tablet"]


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def check_landing_url(value: str) -> str:
    """Only absolute http(s) URLs: ``javascript:``, ``data:`` and friends are refused."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host, such as https://shop.example/offer")
    return value


class TargetingIn(StrictInput):
    categories: list[str] = Field(default_factory=list, max_length=len(CATEGORIES))
    include_site_ids: list[str] = Field(default_factory=list, max_length=500)
    exclude_site_ids: list[str] = Field(default_factory=list, max_length=500)
    formats: list[SlotFormat] = Field(default_factory=list, max_length=len(SlotFormat))
    devices: list[Device] = Field(default_factory=list, max_length=3)
    countries: list[str] = Field(default_factory=list, max_length=len(COUNTRY_CODES))
    keywords: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=50
    )

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown IAB content categories: {', '.join(unknown)}")
        return sorted(set(value), key=list(CATEGORIES).index)

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        upper = [v.strip().upper() for v in value]
        unknown = [v for v in upper if v not in COUNTRY_CODES]
        if unknown:
            raise ValueError(f"not ISO 3166-1 alpha-2 country codes: {', '.join(unknown)}")
        return sorted(set(upper))

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return sorted({v.strip().lower() for v in value if v.strip()})

    @field_validator("formats", "devices", "include_site_ids", "exclude_site_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class CampaignIn(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    pricing: Pricing
    bid_micros: Micros
    daily_budget_micros: Micros
    total_budget_micros: Micros
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    days_of_week: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: list(range(7)), min_length=1, max_length=7
    )
    hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(
        default_factory=lambda: list(range(24)), min_length=1, max_length=24
    )
    pacing: Pacing = Pacing.EVEN
    frequency_cap: int | None = Field(default=None, gt=0, le=10_000)
    targeting: TargetingIn = Field(default_factory=TargetingIn)

    @field_validator("days_of_week", "hours")
    @classmethod
    def _sorted_unique(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


class CampaignUpdateIn(StrictInput):
    """Any subset of the campaign's fields; the result is checked as a whole."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    pricing: Pricing | None = None
    bid_micros: Micros | None = None
    daily_budget_micros: Micros | None = None
    total_budget_micros: Micros | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    days_of_week: list[Annotated[int, Field(ge=0, le=6)]] | None = None
    hours: list[Annotated[int, Field(ge=0, le=23)]] | None = None
    pacing: Pacing | None = None
    frequency_cap: int | None = Field(default=None, gt=0, le=10_000)
    targeting: TargetingIn | None = None


class CampaignStatusIn(StrictInput):
    status: Literal["active", "paused", "ended"]


class TextCreativeIn(StrictInput):
    kind: Literal["text"]
    name: str = Field(min_length=1, max_length=100)
    landing_url: str = Field(min_length=1, max_length=2000)
    headline: str = Field(min_length=1, max_length=90)
    body: str = Field(min_length=1, max_length=300)
    display_url: str = Field(min_length=1, max_length=100)

    @field_validator("landing_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_landing_url(value)


class HtmlCreativeIn(StrictInput):
    kind: Literal["html"]
    name: str = Field(min_length=1, max_length=100)
    landing_url: str = Field(min_length=1, max_length=2000)
    format: SlotFormat
    html: str = Field(min_length=1, max_length=HTML_MAX)

    @field_validator("landing_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_landing_url(value)

    @field_validator("format")
    @classmethod
    def _not_text(cls, value: SlotFormat) -> SlotFormat:
        if value is SlotFormat.TEXT:
            raise ValueError("HTML creatives need a banner size or responsive")
        return value


CreativeIn = Annotated[TextCreativeIn | HtmlCreativeIn, Field(discriminator="kind")]


class ImageCreativeFields(StrictInput):
    """The form fields sent with an uploaded image."""

    name: str = Field(min_length=1, max_length=100)
    landing_url: str = Field(min_length=1, max_length=2000)
    format: SlotFormat

    @field_validator("landing_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_landing_url(value)


class CreativeUpdateIn(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    landing_url: str | None = Field(default=None, min_length=1, max_length=2000)
    headline: str | None = Field(default=None, min_length=1, max_length=90)
    body: str | None = Field(default=None, min_length=1, max_length=300)
    display_url: str | None = Field(default=None, min_length=1, max_length=100)
    html: str | None = Field(default=None, min_length=1, max_length=HTML_MAX)

    @field_validator("landing_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_landing_url(value)


class ModerationIn(StrictInput):
    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=500)


class TargetingOut(BaseModel):
    categories: list[str]
    include_site_ids: list[str]
    exclude_site_ids: list[str]
    formats: list[str]
    devices: list[str]
    countries: list[str]
    keywords: list[str]


class CampaignOut(BaseModel):
    id: str
    name: str
    status: str
    currency: str
    pricing: str
    bid_micros: int
    daily_budget_micros: int
    total_budget_micros: int
    starts_at: datetime
    ends_at: datetime | None
    days_of_week: list[int]
    hours: list[int]
    timezone: str
    pacing: str
    frequency_cap: int | None
    targeting: TargetingOut
    created_at: datetime
    updated_at: datetime


class CreativeOut(BaseModel):
    id: str
    campaign_id: str
    kind: str
    name: str
    format: str
    landing_url: str
    headline: str
    body: str
    display_url: str
    html_url: str | None = Field(description="The sandboxed HTML route (HTML creatives)")
    image_url: str | None = Field(description="Immutable, content-addressed image URL")
    width: int | None
    height: int | None
    moderation: str
    rejection_reason: str
    moderated_at: datetime | None
    created_at: datetime
    updated_at: datetime
