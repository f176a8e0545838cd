"""Web pages for webmasters (sites, verification, slots and their tags), advertisers (inventory
search) and operators (site review). Pages call the same services as the API; every POST is
CSRF-checked before it runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from adunion.accounts.auth import web_requires
from adunion.http.deps import Context, DbSession
from adunion.inventory import repository, service
from adunion.inventory.categories import CATEGORIES
from adunion.inventory.embed import embed_tag
from adunion.inventory.endpoints import check_site_now
from adunion.inventory.formats import SlotFormat
from adunion.inventory.models import AdSlot, Site, SiteStatus
from adunion.inventory.schemas import SiteIn, SiteUpdateIn, SlotIn
from adunion.inventory.verification import META_NAME, ads_txt_line, meta_tag
from adunion.kernel.errors import AppError, ValidationFailed
from adunion.kernel.money import format_amount, parse_amount
from adunion.kernel.principal import Principal, Role
from adunion.kernel.tenancy import get_owned
from adunion.web.csrf import verify_csrf
from adunion.web.forms import FormFields, validate_form
from adunion.web.paging import page_number, page_request, paged_list, pager
from adunion.web.render import render

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
Webmaster = Annotated[Principal, Depends(web_requires(Role.WEBMASTER))]
Buyer = Annotated[Principal, Depends(web_requires(Role.ADVERTISER, Role.WEBMASTER))]
Operator = Annotated[Principal, Depends(web_requires(Role.RISK, Role.ADMIN))]


def field_errors(exc: AppError) -> dict[str, str]:
    return {f.field: f.message for f in exc.fields} or {"form": exc.message}


def money_field(data: dict[str, str], name: str, target: str, errors: dict[str, str]) -> Any:
    """A decimal form field ("2.50") as micros, or None when blank; problems go to ``errors``."""
    text = data.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_amount(text, field=name)
    except ValidationFailed as exc:
        errors[name] = exc.fields[0].message
        return None


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def money(micros: int | None, currency: str) -> str:
    return "—" if micros is None else format_amount(micros, currency)


# --- sites -------------------------------------------------------------------------------------


@router.get("/sites")
def sites_page(request: Request, session: DbSession, viewer: Webmaster) -> Response:
    sites, pager = paged_list(request, session, repository.owned_sites_query(viewer.user_id))
    return render(
        request,
        "inventory/sites.html",
        {"sites": sites, "pager": pager, "categories": CATEGORIES},
        principal=viewer,
    )


def _new_site_form(
    request: Request, viewer: Principal, values: dict[str, str], errors: dict[str, str], code: int
) -> Response:
    return render(
        request,
        "inventory/site_new.html",
        {"values": values, "errors": errors, "categories": CATEGORIES},
        principal=viewer,
        status_code=code,
    )


@router.get("/sites/new")
def site_new_page(request: Request, viewer: Webmaster) -> Response:
    return _new_site_form(request, viewer, {}, {}, 200)


@router.post("/sites", dependencies=[Csrf])
def site_create(
    request: Request, session: DbSession, viewer: Webmaster, data: FormFields
) -> Response:
    body, errors = validate_form(SiteIn, data)
    if body is None:
        return _new_site_form(request, viewer, data, errors, 422)
    try:
        site = service.create_site(session, viewer.user_id, body)
    except AppError as exc:
        return _new_site_form(request, viewer, data, field_errors(exc), exc.status_code)
    return see_other(f"/sites/{site.id}")


def _site_page(
    request: Request,
    ctx: Context,
    site: Site,
    viewer: Principal,
    notice: str | None = None,
    *,
    errors: dict[str, str] | None = None,
    subdomains: str | None = None,
    saved: bool = False,
    code: int = 200,
) -> Response:
    return render(
        request,
        "inventory/site.html",
        {
            "site": site,
            "category": CATEGORIES.get(site.category, site.category),
            "ads_txt_line": ads_txt_line(ctx.settings, service.seller_id_of(site.owner_id)),
            "meta_tag": meta_tag(site.verification_token),
            "meta_name": META_NAME,
            "money": money,
            "notice": notice,
            "saved": saved,
            "errors": errors or {},
            "subdomains": "\n".join(site.subdomains) if subdomains is None else subdomains,
        },
        principal=viewer,
        status_code=code,
    )


@router.get("/sites/{site_id}")
def site_page(
    site_id: str, request: Request, session: DbSession, ctx: Context, viewer: Webmaster
) -> Response:
    return _site_page(request, ctx, get_owned(session, Site, site_id, viewer.user_id), viewer)


@router.post("/sites/{site_id}/check", dependencies=[Csrf])
def site_check(site_id: str, request: Request, ctx: Context, viewer: Webmaster) -> Response:
    """Runs the fetch outside any transaction (see ``check_site_now``)."""
    site = check_site_now(ctx, viewer.user_id, site_id)
    notice = "Verified." if site.status is SiteStatus.VERIFIED else "Not verified yet."
    return _site_page(request, ctx, site, viewer, notice)


@router.post("/sites/{site_id}/subdomains", dependencies=[Csrf])
def site_subdomains(
    site_id: str,
    request: Request,
    session: DbSession,
    ctx: Context,
    viewer: Webmaster,
    data: FormFields,
) -> Response:
    """The other subdomains whose pages show the site's slots: one per line (or comma)."""
    text = data.get("subdomains", "")
    site = get_owned(session, Site, site_id, viewer.user_id)
    body, errors = validate_form(SiteUpdateIn, {"subdomains": split_hosts(text)})
    if body is not None:
        try:
            site = service.update_site(session, viewer.user_id, site_id, body)
        except AppError as exc:
            errors = field_errors(exc)
    if errors:  # refused before anything was changed
        return _site_page(request, ctx, site, viewer, errors=errors, subdomains=text, code=422)
    return _site_page(request, ctx, site, viewer, "Subdomains saved.", saved=True)


def split_hosts(text: str) -> list[str]:
    return [h for h in text.replace(",", "\n").split() if h]


# --- slots -------------------------------------------------------------------------------------


def _slot_form(
    request: Request,
    viewer: Principal,
    site: Site,
    values: dict[str, str],
    errors: dict[str, str],
    code: int,
) -> Response:
    return render(
        request,
        "inventory/slot_new.html",
        {"site": site, "values": values, "errors": errors, "formats": list(SlotFormat)},
        principal=viewer,
        status_code=code,
    )


@router.get("/sites/{site_id}/slots/new")
def slot_new_page(
    site_id: str, request: Request, session: DbSession, viewer: Webmaster
) -> Response:
    site = get_owned(session, Site, site_id, viewer.user_id)
    return _slot_form(request, viewer, site, {"format": "300x250"}, {}, 200)


@router.post("/sites/{site_id}/slots", dependencies=[Csrf])
def slot_create(
    site_id: str,
    request: Request,
    session: DbSession,
    ctx: Context,
    viewer: Webmaster,
    data: FormFields,
) -> Response:
    site = get_owned(session, Site, site_id, viewer.user_id)
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        "name": data.get("name", ""),
        "format": data.get("format", ""),
        "accepts_booking": "accepts_booking" in data,
        "price_per_day_micros": money_field(data, "price_per_day", "price_per_day_micros", errors),
        "accepts_auction": "accepts_auction" in data,
        "floor_cpm_micros": money_field(data, "floor_cpm", "floor_cpm_micros", errors),
        "accepts_affiliate": "accepts_affiliate" in data,
    }
    body, problems = validate_form(SlotIn, fields)
    errors.update(problems)
    if body is None or errors:
        return _slot_form(request, viewer, site, data, errors, 422)
    try:
        slot = service.create_slot(
            session, viewer.user_id, site_id, body, currency=ctx.settings.currency
        )
    except AppError as exc:  # raised before anything is written
        errors = {k.removesuffix("_micros"): v for k, v in field_errors(exc).items()}
        return _slot_form(request, viewer, site, data, errors, exc.status_code)
    return see_other(f"/slots/{slot.id}")


@router.get("/slots/{slot_id}")
def slot_page(
    slot_id: str, request: Request, session: DbSession, ctx: Context, viewer: Webmaster
) -> Response:
    slot = get_owned(session, AdSlot, slot_id, viewer.user_id)
    return render(
        request,
        "inventory/slot.html",
        {
            "slot": slot,
            "tag": embed_tag(slot.id, slot.format, ctx.settings.base_url),
            "money": money,
        },
        principal=viewer,
    )


# --- search ------------------------------------------------------------------------------------


@router.get("/inventory/search")
def search_page(
    request: Request,
    session: DbSession,
    viewer: Buyer,
    category: str = "",
    format: str = "",
    sale_mode: str = "",
    max_price: str = "",
    page: str = "",
) -> Response:
    errors: dict[str, str] = {}
    if category and category not in CATEGORIES:
        errors["category"] = "is not a known category"
    slot_format = None
    if format:
        try:
            slot_format = SlotFormat(format)
        except ValueError:
            errors["format"] = "is not a slot format"
    if sale_mode and sale_mode not in ("booking", "auction", "affiliate"):
        errors["sale_mode"] = "is not a sale mode"
    max_micros = money_field({"max_price": max_price}, "max_price", "max_price", errors)
    try:
        number = page_number(page)
    except ValidationFailed:
        errors["page"] = "is not a page number"  # shown beside the form, which stays usable
        number = 1
    values = {
        "category": category,
        "format": format,
        "sale_mode": sale_mode,
        "max_price": max_price,
    }
    results: list[AdSlot] = []
    total = 0
    if not errors:
        search = repository.SlotSearch(
            category=category or None,
            slot_format=slot_format,
            sale_mode=sale_mode or None,
            max_price_micros=max_micros,
        )
        found = repository.search_slots(session, search, page_request(number))
        results, total = found.items, found.total
    pages = pager(request, number, total, len(results))
    return render(
        request,
        "inventory/search.html",
        {
            "results": results,
            "errors": errors,
            "values": values,
            "pager": pages,
            "categories": CATEGORIES,
            "formats": list(SlotFormat),
            "money": money,
        },
        principal=viewer,
        status_code=422 if errors else 200,
    )


# --- operators ---------------------------------------------------------------------------------


@router.get("/admin/sites")
def admin_sites_page(request: Request, session: DbSession, viewer: Operator) -> Response:
    sites, pager = paged_list(request, session, repository.all_sites_query())
    return render(
        request,
        "inventory/admin_sites.html",
        {"sites": sites, "pager": pager, "categories": CATEGORIES},
        principal=viewer,
    )


@router.post("/admin/sites/{site_id}/status", dependencies=[Csrf])
def admin_site_status(
    site_id: str, session: DbSession, viewer: Operator, data: FormFields
) -> Response:
    try:
        status = SiteStatus(data.get("status", ""))
    except ValueError:
        raise ValidationFailed.on("status", "must be pending, verified or suspended") from None
    service.set_site_status(session, site_id, status, data.get("note", "")[:500])
    return see_other("/admin/sites")
