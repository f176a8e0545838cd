"""REST endpoints for campaigns, creatives and moderation, and the public creative routes.

Creative bytes and HTML are served from their own routes: images under an immutable,
content-addressed URL; HTML only with a sandboxing Content-Security-Policy, so it runs as an
opaque origin without scripts even when opened directly.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, status
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from adunion.accounts.auth import MaybeCaller, api_requires
from adunion.campaigns import repository, service
from adunion.campaigns.images import MAX_IMAGE_BYTES, too_large
from adunion.campaigns.models import (
    IMAGE_EXTENSIONS,
    Campaign,
    CampaignStatus,
    Creative,
    CreativeKind,
    ModerationStatus,
)
from adunion.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignStatusIn,
    CampaignUpdateIn,
    CreativeIn,
    CreativeOut,
    CreativeUpdateIn,
    HtmlCreativeIn,
    ImageCreativeFields,
    ModerationIn,
    TargetingOut,
    TextCreativeIn,
)
from adunion.http.deps import Context, DbSession
from adunion.http.paging import Paging, paged
from adunion.kernel.errors import FieldError, NotFound, ValidationFailed
from adunion.kernel.paging import fetch_page
from adunion.kernel.principal import Principal, Role
from adunion.kernel.tenancy import get_owned
from adunion.web.forms import validate_form

router = APIRouter(prefix="/api/v1", tags=["campaigns"])
public_router = APIRouter(tags=["creatives"], include_in_schema=True)

CanReadCampaigns = Annotated[Principal, Depends(api_requires("campaigns:read", Role.ADVERTISER))]
CanWriteCampaigns = Annotated[Principal, Depends(api_requires("campaigns:write", Role.ADVERTISER))]
Moderator = Annotated[Principal, Depends(api_requires("moderation", Role.RISK, Role.ADMIN))]

HTML_CSP = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)
# Multipart framing around a 1 MiB file; anything larger is refused before parsing.
UPLOAD_OVERHEAD = 64 * 1024


def campaign_out(campaign: Campaign, timezone: str) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status.value,
        currency=campaign.currency,
        pricing=campaign.pricing.value,
        bid_micros=campaign.bid_micros,
        daily_budget_micros=campaign.daily_budget_micros,
        total_budget_micros=campaign.total_budget_micros,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        days_of_week=campaign.days_of_week,
        hours=campaign.hours,
        timezone=timezone,
        pacing=campaign.pacing.value,
        frequency_cap=campaign.frequency_cap,
        targeting=TargetingOut(
            categories=campaign.target_categories,
            include_site_ids=campaign.include_site_ids,
            exclude_site_ids=campaign.exclude_site_ids,
            formats=campaign.target_formats,
            devices=campaign.target_devices,
            countries=campaign.target_countries,
            keywords=campaign.keywords,
        ),
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def creative_out(creative: Creative) -> CreativeOut:
    size = creative.format.size
    return CreativeOut(
        id=creative.id,
        campaign_id=creative.campaign_id,
        kind=creative.kind.value,
        name=creative.name,
        format=creative.format.value,
        landing_url=creative.landing_url,
        headline=creative.headline,
        body=creative.body,
        display_url=creative.display_url,
        html_url=f"/creatives/{creative.id}/html" if creative.kind is CreativeKind.HTML else None,
        image_url=creative.asset_path,
        width=size[0] if size else None,
        height=size[1] if size else None,
        moderation=creative.moderation.value,
        rejection_reason=creative.rejection_reason,
        moderated_at=creative.moderated_at,
        created_at=creative.created_at,
        updated_at=creative.updated_at,
    )


@router.get("/campaigns", operation_id="list_campaigns")
def list_campaigns(
    session: DbSession,
    ctx: Context,
    principal: CanReadCampaigns,
    page: Paging,
    response: Response,
) -> list[CampaignOut]:
    """Your campaigns, newest first, a page at a time (``X-Total-Count``: how many in all)."""
    tz = ctx.settings.timezone
    query = repository.owned_campaigns_query(principal.user_id)
    return [campaign_out(c, tz) for c in paged(response, fetch_page(session, query, page))]


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, operation_id="create_campaign")
def create_campaign(
    body: CampaignIn, session: DbSession, ctx: Context, principal: CanWriteCampaigns
) -> CampaignOut:
    """Create a draft campaign in the platform currency."""
    campaign = service.create_campaign(
        session, principal.user_id, body, currency=ctx.settings.currency
    )
    return campaign_out(campaign, ctx.settings.timezone)


@router.get("/campaigns/{campaign_id}", operation_id="get_campaign")
def get_campaign(
    campaign_id: str, session: DbSession, ctx: Context, principal: CanReadCampaigns
) -> CampaignOut:
    campaign = get_owned(session, Campaign, campaign_id, principal.user_id)
    return campaign_out(campaign, ctx.settings.timezone)


@router.patch("/campaigns/{campaign_id}", operation_id="update_campaign")
def update_campaign(
    campaign_id: str,
    body: CampaignUpdateIn,
    session: DbSession,
    ctx: Context,
    principal: CanWriteCampaigns,
) -> CampaignOut:
    campaign = service.update_campaign(session, principal.user_id, campaign_id, body)
    return campaign_out(campaign, ctx.settings.timezone)


@router.put("/campaigns/{campaign_id}/status", operation_id="set_campaign_status")
def set_campaign_status(
    campaign_id: str,
    body: CampaignStatusIn,
    session: DbSession,
    ctx: Context,
    principal: CanWriteCampaigns,
) -> CampaignOut:
    """Activate (needs an approved creative and a funded wallet), pause, or end."""
    campaign = service.set_campaign_status(
        session, principal.user_id, campaign_id, CampaignStatus(body.status)
    )
    return campaign_out(campaign, ctx.settings.timezone)


@router.get("/campaigns/{campaign_id}/creatives", operation_id="list_creatives")
def list_creatives(
    campaign_id: str, session: DbSession, principal: CanReadCampaigns
) -> list[CreativeOut]:
    campaign = get_owned(session, Campaign, campaign_id, principal.user_id)
    return [creative_out(c) for c in campaign.creatives]


@router.post(
    "/campaigns/{campaign_id}/creatives",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_creative",
)
def create_creative(
    campaign_id: str,
    body: Annotated[dict[str, Any], Body(openapi_examples=CREATIVE_EXAMPLES)],
    session: DbSession,
    principal: CanWriteCampaigns,
) -> CreativeOut:
    """A text or HTML creative (JSON, ``kind`` says which). Images go to ``.../creatives/image``."""
    checked = parse_creative(body)
    return creative_out(service.add_creative(session, principal.user_id, campaign_id, checked))


CREATIVE_EXAMPLES: dict[str, Any] = {
    "text": {
        "value": {
            "kind": "text",
            "name": "Spring text ad",
            "landing_url": "https://shop.example/spring",
            "headline": "Fresh bread",
            "body": "Baked every morning.",
            "display_url": "shop.example",
        }
    },
    "html": {
        "value": {
            "kind": "html",
            "name": "Rich banner",
            "landing_url": "https://shop.example/",
            "format": "300x250",
            "html": "<p style='margin:0'>Fresh bread</p>",
        }
    },
}
_creative_adapter: TypeAdapter[TextCreativeIn | HtmlCreativeIn] = TypeAdapter(CreativeIn)


def parse_creative(body: dict[str, Any]) -> TextCreativeIn | HtmlCreativeIn:
    """Validate by ``kind``; error fields are the creative's own names (no union tag)."""
    try:
        return _creative_adapter.validate_python(body)
    except ValidationError as exc:
        fields = []
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            if loc and loc[0] in ("text", "html"):
                loc = loc[1:]
            name = ".".join(loc) or "kind"
            fields.append(FieldError(name, error["msg"].removeprefix("Value error, ")))
        raise ValidationFailed(f"{fields[0].field}: {fields[0].message}", fields) from None


async def read_upload(request: Request) -> tuple[dict[str, str], bytes, str]:
    """The multipart form's text fields, the file's bytes and declared type; 413 when too big."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES + UPLOAD_OVERHEAD:
        raise too_large()
    # The context manager closes the spooled upload file, whatever happens.
    async with request.form(max_files=1, max_fields=20) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed.on("file", "attach an image file")
        data = await upload.read(MAX_IMAGE_BYTES + 1)
        content_type = upload.content_type or ""
    if len(data) > MAX_IMAGE_BYTES:
        raise too_large()
    return fields, data, content_type


def image_fields(fields: dict[str, str]) -> ImageCreativeFields:
    body, errors = validate_form(ImageCreativeFields, fields)
    if body is None:
        name, message = next(iter(errors.items()))
        raise ValidationFailed.on(name, message)
    return body


@router.post(
    "/campaigns/{campaign_id}/creatives/image",
    status_code=status.HTTP_201_CREATED,
    operation_id="upload_image_creative",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["name", "landing_url", "format", "file"],
                        "properties": {
                            "name": {"type": "string"},
                            "landing_url": {"type": "string"},
                            "format": {"type": "string"},
                            "file": {"type": "string", "format": "binary"},
                        },
                    }
                }
            }
        }
    },
)
async def upload_image_creative(
    campaign_id: str, request: Request, ctx: Context, principal: CanWriteCampaigns
) -> CreativeOut:
    """Upload a PNG, JPEG, GIF or WebP (at most 1 MiB) whose pixels match the format's size.

    Async only to read the body; the rest runs in the thread pool, as plain ``def`` handlers do."""
    fields, data, content_type = await read_upload(request)
    body = image_fields(fields)

    def store() -> CreativeOut:  # Pillow decodes the image and the database writes: not here
        with ctx.database.transaction() as session:
            creative = service.add_image_creative(
                session, principal.user_id, campaign_id, body, data=data, content_type=content_type
            )
            return creative_out(creative)

    return await run_in_threadpool(store)


@router.get("/creatives/{creative_id}", operation_id="get_creative")
def get_creative(creative_id: str, session: DbSession, principal: CanReadCampaigns) -> CreativeOut:
    return creative_out(get_owned(session, Creative, creative_id, principal.user_id))


@router.patch("/creatives/{creative_id}", operation_id="update_creative")
def update_creative(
    creative_id: str, body: CreativeUpdateIn, session: DbSession, principal: CanWriteCampaigns
) -> CreativeOut:
    """Change a creative; it goes back to moderation."""
    return creative_out(service.update_creative(session, principal.user_id, creative_id, body))


@router.get("/moderation/creatives", operation_id="list_moderation_queue", tags=["operators"])
def list_moderation_queue(
    session: DbSession,
    _operator: Moderator,
    page: Paging,
    response: Response,
    status: ModerationStatus = ModerationStatus.PENDING,
) -> list[CreativeOut]:
    """Creatives with this status (default: awaiting review), the longest waiting first."""
    query = repository.moderation_query(status)
    return [creative_out(c) for c in paged(response, fetch_page(session, query, page))]


@router.post(
    "/moderation/creatives/{creative_id}", operation_id="moderate_creative", tags=["operators"]
)
def moderate_creative(
    creative_id: str, body: ModerationIn, session: DbSession, operator: Moderator
) -> CreativeOut:
    """Approve, or reject with a reason."""
    creative = service.moderate(
        session,
        creative_id,
        approve=body.decision == "approve",
        reason=body.reason,
        operator_id=operator.user_id,
    )
    return creative_out(creative)


@public_router.get("/creatives/{creative_id}/{digest}.{ext}", operation_id="creative_image")
def creative_image(creative_id: str, digest: str, ext: str, session: DbSession) -> Response:
    """An image's bytes, cacheable forever: the URL names its content hash."""
    asset = repository.asset_for(session, creative_id, digest)
    if asset is None or IMAGE_EXTENSIONS.get(asset.content_type) != ext:
        raise NotFound("image not found")
    return Response(
        asset.data,
        media_type=asset.content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@public_router.get("/creatives/{creative_id}/html", operation_id="creative_html")
def creative_html(creative_id: str, session: DbSession, caller: MaybeCaller) -> Response:
    """An HTML creative, only ever with a sandboxing CSP (no scripts, an opaque origin). Public
    once approved (it serves); before that only its owner and the moderators may preview it,
    signed in or with a token, and anyone else gets 404."""
    creative = repository.creative_by_id(session, creative_id)
    if creative is None or creative.kind is not CreativeKind.HTML:
        raise NotFound("creative not found")
    public = creative.moderation is ModerationStatus.APPROVED
    if not public and not _may_preview(creative, caller):
        raise NotFound("creative not found")
    return Response(
        creative.html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": HTML_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            # A preview is for the one who asked: no shared cache may keep it.
            "Cache-Control": "no-cache" if public else "private, no-store",
        },
    )


def _may_preview(creative: Creative, caller: Principal | None) -> bool:
    """The creative's owner (with campaigns:read) or a moderator (with moderation)."""
    if caller is None:
        return False
    if caller.user_id == creative.owner_id:
        return caller.allows("campaigns:read")
    return caller.has_role(Role.RISK, Role.ADMIN) and caller.allows("moderation")
