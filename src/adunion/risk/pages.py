"""The risk review page: open per-site CTR flags with Dismiss / Confirm-and-suspend, and the
resolved ones, most recent first; each list pages on its own. Calls the same service as the API;
every POST is CSRF-checked first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from adunion.accounts import repository as accounts_repository
from adunion.accounts.auth import web_requires
from adunion.http.deps import DbSession
from adunion.kernel.errors import AppError
from adunion.kernel.principal import Principal, Role
from adunion.risk import repository, service
from adunion.risk.models import FlagStatus
from adunion.web.csrf import verify_csrf
from adunion.web.forms import FormFields
from adunion.web.paging import paged_list
from adunion.web.render import render

router = APIRouter(include_in_schema=False)
Csrf = Depends(verify_csrf)
RiskReviewer = Annotated[Principal, Depends(web_requires(Role.RISK, Role.ADMIN))]
NOTICES = {
    "dismissed": "Flag dismissed.",
    "confirmed": "Invalid traffic confirmed: the site is suspended and stops serving at the next "
    "index refresh.",
}


def percent(ppm: int) -> str:
    """Parts per million as a percentage with two decimals (truncated, integers only)."""
    hundredths = ppm // 100
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def ratio(site_ppm: int, network_ppm: int) -> str:
    if network_ppm <= 0:
        return "—"
    tenths = site_ppm * 10 // network_ppm
    return f"{tenths // 10}.{tenths % 10}x"


def _reviewer_names(session: Session, user_ids: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for user_id in sorted(user_ids):
        user = accounts_repository.user_by_id(session, user_id)
        if user is not None:
            names[user_id] = user.display_name
    return names


def _flags_page(
    request: Request,
    session: Session,
    viewer: Principal,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    # path: a failed resolve re-renders this page, and its links must not point at the form.
    open_flags, pager = paged_list(
        request, session, repository.flags_query(FlagStatus.OPEN), path="/risk/flags"
    )
    resolved, resolved_pager = paged_list(
        request,
        session,
        repository.resolved_flags_query(),
        param="resolved_page",
        path="/risk/flags",
    )
    reviewer_ids = {f.resolved_by for f in resolved if f.resolved_by}
    return render(
        request,
        "risk/flags.html",
        {
            "open_flags": open_flags,
            "pager": pager,
            "resolved": resolved,
            "resolved_pager": resolved_pager,
            "domains": service.site_domains(session, open_flags + resolved),
            "reviewers": _reviewer_names(session, reviewer_ids),
            "percent": percent,
            "ratio": ratio,
            "notice": notice,
            "error": error,
        },
        principal=viewer,
        status_code=status_code,
    )


@router.get("/risk/flags")
def flags_page(
    request: Request, session: DbSession, viewer: RiskReviewer, done: str = ""
) -> Response:
    return _flags_page(request, session, viewer, notice=NOTICES.get(done))


@router.post("/risk/flags/{flag_id}/resolve", dependencies=[Csrf])
def resolve_flag(
    flag_id: str, request: Request, session: DbSession, viewer: RiskReviewer, form: FormFields
) -> Response:
    try:
        flag = service.resolve(
            session,
            flag_id,
            action=form.get("action", ""),
            reviewer_id=viewer.user_id,
            note=form.get("note", ""),
        )
    except AppError as exc:  # raised before anything is written
        return _flags_page(request, session, viewer, error=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/risk/flags?done={flag.status}", status_code=303)
