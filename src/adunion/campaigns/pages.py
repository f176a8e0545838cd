"""Web pages for advertisers (campaigns, creatives) and operators (the moderation queue).

Pages call the same services as the API; every POST is CSRF-checked before it runs. HTML
creatives are only ever shown through a sandboxed iframe pointing at their own CSP'd route.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from adunion.accounts.auth import web_requires
from adunion.campaigns import repository, service
from adunion.campaigns.endpoints import image_fields, parse_creative, read_upload
from adunion.campaigns.models import Campaign, CampaignStatus
from adunion.campaigns.schemas import (
    CampaignIn,
    HtmlCreativeIn,
    ImageCreativeFields,
    TextCreativeIn,
)
from adunion.http.deps import Context, DbSession
from adunion.inventory.categories import CATEGORIES
from adunion.inventory.formats import SlotFormat
from adunion.kernel.errors import AppError, ValidationFailed
from adunion.kernel.money import format_amount, parse_amount
from adunion.kernel.principal import Principal, Role
from adunion.kernel.tenancy import get_owned
from adunion.web.csrf import verify_csrf
from adunion.web.forms import validate_form
from adunion.web.paging import paged_list
from adunion.web.render import render

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
Advertiser = Annotated[Principal, Depends(web_requires(Role.ADVERTISER))]
Moderator = Annotated[Principal, Depends(web_requires(Role.RISK, Role.ADMIN))]
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SANDBOX = "allow-popups allow-popups-to-escape-sandbox"


async def form_lists(request: Request) -> dict[str, Any]:
    """The posted fields, a field sent more than once as a list. Awaited on the event loop (as a
    dependency, :data:`FormLists`), so the handlers can be plain ``def``: they query."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        data[key] = values if len(values) > 1 or key.endswith("[]") else (values or [""])[0]
    data.pop("csrf_token", None)
    return data


FormLists = Annotated[dict[str, Any], Depends(form_lists)]


def as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value else []


def split_words(value: Any) -> list[str]:
    return [w.strip() for w in str(value or "").replace("\n", ",").split(",") if w.strip()]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def page_values() -> dict[str, Any]:
    return {
        "categories": CATEGORIES,
        "formats": list(SlotFormat),
        "days": DAYS,
        "day_options": list(enumerate(DAYS)),
        "format_amount": format_amount,
        "sandbox": SANDBOX,
    }


def campaign_from_form(
    data: dict[str, Any], timezone: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Form fields -> the API's CampaignIn shape (money as exact micros, dates in the zone)."""
    errors: dict[str, str] = {}
    zone = ZoneInfo(timezone)

    def amount(name: str) -> int | None:
        try:
            return parse_amount(str(data.get(name, "")), field=name)
        except ValidationFailed as exc:
            errors[name] = exc.fields[0].message
            return None

    def day(name: str) -> datetime | None:
        text = str(data.get(name, "")).strip()
        if not text:
            return None
        try:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        except ValueError:
            errors[name] = "must be a date (YYYY-MM-DD)"
            return None

    def hour(name: str, default: int) -> int:
        text = str(data.get(name, "")).strip()
        if not text:
            return default
        if not text.isdigit():
            errors[name] = "must be a whole hour"
            return default
        return int(text)

    first, last = hour("hour_from", 0), hour("hour_to", 24)
    if not errors and not 0 <= first < last <= 24:
        errors["hour_to"] = "must be after the first hour (0-24)"
    cap = str(data.get("frequency_cap", "")).strip()
    fields: dict[str, Any] = {
        "name": data.get("name", ""),
        "pricing": data.get("pricing", ""),
        "bid_micros": amount("bid"),
        "daily_budget_micros": amount("daily_budget"),
        "total_budget_micros": amount("total_budget"),
        "starts_at": day("start_date"),
        "ends_at": day("end_date"),
        "days_of_week": [int(d) for d in as_list(data.get("days")) if d.isdigit()],
        "hours": list(range(first, last)),
        "pacing": data.get("pacing", "even"),
        "frequency_cap": cap or None,
        "targeting": {
            "categories": as_list(data.get("categories")),
            "formats": as_list(data.get("formats")),
            "devices": as_list(data.get("devices")),
            "countries": split_words(data.get("countries")),
            "keywords": split_words(data.get("keywords")),
            "include_site_ids": split_words(data.get("include_site_ids")),
            "exclude_site_ids": split_words(data.get("exclude_site_ids")),
        },
    }
    return fields, errors


_FORM_NAMES = {
    "bid_micros": "bid",
    "daily_budget_micros": "daily_budget",
    "total_budget_micros": "total_budget",
    "starts_at": "start_date",
    "ends_at": "end_date",
    "days_of_week": "days",
    "hours": "hour_to",
}


def form_name(field: str) -> str:
    name = field.removeprefix("targeting.").split(".")[0]
    return _FORM_NAMES.get(name, name)


@router.get("/campaigns")
def campaigns_page(request: Request, session: DbSession, viewer: Advertiser) -> Response:
    campaigns, pager = paged_list(
        request, session, repository.owned_campaigns_query(viewer.user_id)
    )
    return render(
        request,
        "campaigns/list.html",
        {"campaigns": campaigns, "pager": pager, **page_values()},
        principal=viewer,
    )


def _new_form(
    request: Request, viewer: Principal, values: dict[str, Any], errors: dict[str, str], code: int
) -> Response:
    return render(
        request,
        "campaigns/new.html",
        {"values": values, "errors": errors, **page_values()},
        principal=viewer,
        status_code=code,
    )


@router.get("/campaigns/new")
def campaign_new_page(request: Request, viewer: Advertiser) -> Response:
    defaults = {"pricing": "cpc", "pacing": "even", "days": [str(d) for d in range(7)]}
    return _new_form(request, viewer, defaults, {}, 200)


@router.post("/campaigns", dependencies=[Csrf])
def campaign_create(
    request: Request, session: DbSession, ctx: Context, viewer: Advertiser, data: FormLists
) -> Response:
    for key in ("days", "categories", "formats", "devices"):
        data[key] = as_list(data.get(key))
    fields, errors = campaign_from_form(data, ctx.settings.timezone)
    body, problems = validate_form(CampaignIn, fields)
    if problems:
        errors.update({form_name(k): v for k, v in problems.items() if form_name(k) not in errors})
    if body is None or errors:
        return _new_form(request, viewer, data, errors, 422)
    try:
        campaign = service.create_campaign(
            session, viewer.user_id, body, currency=ctx.settings.currency
        )
    except AppError as exc:  # raised before anything is written
        errors = {form_name(f.field): f.message for f in exc.fields} or {"form": exc.message}
        return _new_form(request, viewer, data, errors, exc.status_code)
    return see_other(f"/campaigns/{campaign.id}")


def _detail(
    request: Request,
    ctx: Context,
    campaign: Campaign,
    viewer: Principal,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    code: int = 200,
) -> Response:
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "timezone": ctx.settings.timezone,
            "errors": errors or {},
            "notice": notice,
            **page_values(),
        },
        principal=viewer,
        status_code=code,
    )


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    campaign_id: str, request: Request, session: DbSession, ctx: Context, viewer: Advertiser
) -> Response:
    campaign = get_owned(session, Campaign, campaign_id, viewer.user_id)
    return _detail(request, ctx, campaign, viewer)


@router.post("/campaigns/{campaign_id}/status", dependencies=[Csrf])
def campaign_status(
    campaign_id: str,
    request: Request,
    session: DbSession,
    ctx: Context,
    viewer: Advertiser,
    data: FormLists,
) -> Response:
    try:
        status = CampaignStatus(str(data.get("status", "")))
        service.set_campaign_status(session, viewer.user_id, campaign_id, status)
    except ValueError:
        raise ValidationFailed.on("status", "must be active, paused or ended") from None
    except AppError as exc:
        if exc.status_code == 404:
            raise
        campaign = get_owned(session, Campaign, campaign_id, viewer.user_id)
        return _detail(
            request, ctx, campaign, viewer, errors={"status": exc.message}, code=exc.status_code
        )
    return see_other(f"/campaigns/{campaign_id}")


@router.post("/campaigns/{campaign_id}/creatives", dependencies=[Csrf])
async def creative_create(
    campaign_id: str, request: Request, ctx: Context, viewer: Advertiser
) -> Response:
    """One form per kind; images arrive as multipart uploads. Only reading the body is awaited
    here; checking the image (Pillow decodes it) and writing run in the thread pool."""
    kind = request.query_params.get("kind", "image")
    try:
        if kind == "image":
            fields, data, content_type = await read_upload(request)
            image = (image_fields(fields), data, content_type)
            await run_in_threadpool(_add_image, ctx, viewer.user_id, campaign_id, *image)
        else:
            body = parse_creative({**await form_lists(request), "kind": kind})
            await run_in_threadpool(_add_creative, ctx, viewer.user_id, campaign_id, body)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return await run_in_threadpool(
            _creative_refused, request, ctx, campaign_id, viewer, kind, exc
        )
    return see_other(f"/campaigns/{campaign_id}#creatives")


def _add_image(
    ctx: Context,
    owner_id: str,
    campaign_id: str,
    fields: ImageCreativeFields,
    data: bytes,
    content_type: str,
) -> None:
    with ctx.database.transaction() as session:
        service.add_image_creative(
            session, owner_id, campaign_id, fields, data=data, content_type=content_type
        )


def _add_creative(
    ctx: Context, owner_id: str, campaign_id: str, body: TextCreativeIn | HtmlCreativeIn
) -> None:
    with ctx.database.transaction() as session:
        service.add_creative(session, owner_id, campaign_id, body)


def _creative_refused(
    request: Request, ctx: Context, campaign_id: str, viewer: Principal, kind: str, exc: AppError
) -> Response:
    """The campaign page again, with the creative form's errors."""
    with ctx.database.transaction(write=False) as session:
        campaign = get_owned(session, Campaign, campaign_id, viewer.user_id)
        errors = {f"{kind}.{f.field}": f.message for f in exc.fields}
        errors[f"{kind}.form"] = exc.message
        return _detail(request, ctx, campaign, viewer, errors=errors, code=exc.status_code)


@router.get("/moderation")
def moderation_page(request: Request, session: DbSession, viewer: Moderator) -> Response:
    creatives, pager = paged_list(request, session, repository.moderation_query())
    return render(
        request,
        "campaigns/moderation.html",
        {"creatives": creatives, "pager": pager, **page_values()},
        principal=viewer,
    )


@router.post("/moderation/creatives/{creative_id}", dependencies=[Csrf])
def moderation_decide(
    creative_id: str, session: DbSession, viewer: Moderator, data: FormLists
) -> Response:
    decision = str(data.get("decision", ""))
    if decision not in ("approve", "reject"):
        raise ValidationFailed.on("decision", "must be approve or reject")
    service.moderate(
        session,
        creative_id,
        approve=decision == "approve",
        reason=str(data.get("reason", ""))[:500],
        operator_id=viewer.user_id,
    )
    return see_other("/moderation")
