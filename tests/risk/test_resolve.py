"""Resolving a CTR flag: dismiss or confirm (which suspends the site), once, by risk staff only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from adunion.inventory.models import Site, SiteStatus
from adunion.kernel.db import Database
from adunion.kernel.errors import Conflict, NotFound, ValidationFailed
from adunion.kernel.paging import PageRequest
from adunion.kernel.principal import Role
from adunion.risk import repository, service
from adunion.risk.models import FlagStatus
from tests.factories import make_user, user_with_token
from tests.inventory.helpers import advertiser, operator, webmaster
from tests.risk.helpers import flag_and_site, flagged_site


def reviewer(database: Database) -> str:
    with database.transaction() as session:
        return make_user(session, roles=(Role.RISK,)).id


def test_dismiss_records_who_and_leaves_the_site_serving(database: Database) -> None:
    flagged = flagged_site(database)
    risk_id = reviewer(database)
    with database.transaction() as session:
        flag = service.resolve(
            session, flagged.flag_id, action="dismiss", reviewer_id=risk_id, note=" newsletter "
        )
        assert flag.status == FlagStatus.DISMISSED
    flag, site = flag_and_site(database, flagged)
    assert (flag.status, flag.resolved_by, flag.resolution_note) == (
        "dismissed",
        risk_id,
        "newsletter",
    )
    assert flag.resolved_at is not None
    assert site.status is SiteStatus.VERIFIED
    with database.transaction(write=False) as session:
        assert service.flags(session, FlagStatus.OPEN, PageRequest()).items == []
        assert [f.id for f in session.scalars(repository.resolved_flags_query())] == [
            flagged.flag_id
        ]


def test_confirm_suspends_the_site(database: Database) -> None:
    flagged = flagged_site(database)
    risk_id = reviewer(database)
    with database.transaction() as session:
        service.resolve(
            session, flagged.flag_id, action="confirm", reviewer_id=risk_id, note="click farm"
        )
    flag, site = flag_and_site(database, flagged)
    assert (flag.status, flag.resolved_by) == ("confirmed", risk_id)
    assert site.status is SiteStatus.SUSPENDED
    assert "invalid traffic confirmed" in site.last_check_result
    assert "click farm" in site.last_check_result


@pytest.mark.parametrize(("first", "second"), [("dismiss", "confirm"), ("confirm", "dismiss")])
def test_a_flag_resolves_only_once(database: Database, first: str, second: str) -> None:
    flagged = flagged_site(database)
    first_id, second_id = reviewer(database), reviewer(database)
    with database.transaction() as session:
        service.resolve(session, flagged.flag_id, action=first, reviewer_id=first_id)
    before, site_before = flag_and_site(database, flagged)
    with pytest.raises(Conflict, match="already"), database.transaction() as session:
        service.resolve(session, flagged.flag_id, action=second, reviewer_id=second_id)
    after, site_after = flag_and_site(database, flagged)
    assert (after.status, after.resolved_by, after.resolved_at) == (
        before.status,
        first_id,
        before.resolved_at,
    )
    assert site_after.status is site_before.status


def test_bad_input_changes_nothing(database: Database) -> None:
    flagged = flagged_site(database)
    risk_id = reviewer(database)
    attempts: list[tuple[str, str, str, type[Exception]]] = [
        (flagged.flag_id, "suspend", "", ValidationFailed),
        (flagged.flag_id, "confirm", "x" * 501, ValidationFailed),
        ("no-such-flag", "confirm", "", NotFound),
    ]
    for flag_id, action, note, error in attempts:
        with pytest.raises(error), database.transaction() as session:
            service.resolve(session, flag_id, action=action, reviewer_id=risk_id, note=note)
    flag, site = flag_and_site(database, flagged)
    assert (flag.status, flag.resolved_by, flag.resolved_at) == ("open", None, None)
    assert site.status is SiteStatus.VERIFIED


def test_confirming_a_flag_on_a_removed_site_is_refused(database: Database) -> None:
    flagged = flagged_site(database)
    risk_id = reviewer(database)
    with database.transaction() as session:
        site = session.get(Site, flagged.site_id)
        session.delete(site)
    with pytest.raises(Conflict, match="no longer exists"), database.transaction() as session:
        service.resolve(session, flagged.flag_id, action="confirm", reviewer_id=risk_id)
    with database.transaction() as session:
        assert (
            service.resolve(session, flagged.flag_id, action="dismiss", reviewer_id=risk_id).status
            == "dismissed"
        )


def test_resolve_api(database: Database, client: TestClient) -> None:
    flagged = flagged_site(database)
    risk_id, risk = operator(database)
    url = f"/api/v1/risk/site-flags/{flagged.flag_id}/resolve"

    listed = client.get("/api/v1/risk/site-flags", headers=risk).json()
    assert [(f["id"], f["site_domain"], f["status"]) for f in listed] == [
        (flagged.flag_id, flagged.domain, "open")
    ]
    for body in ({"action": "suspend"}, {"action": "confirm", "extra": 1}, {"note": "x"}):
        bad = client.post(url, json=body, headers=risk)
        assert bad.status_code == 422, bad.text
    assert (
        client.post(
            "/api/v1/risk/site-flags/nope/resolve", json={"action": "dismiss"}, headers=risk
        ).status_code
        == 404
    )

    for headers in (
        webmaster(database)[1],
        advertiser(database)[1],
        user_with_token(database, roles=(Role.RISK,), scopes=("account:read",))[1],
    ):
        assert client.post(url, json={"action": "confirm"}, headers=headers).status_code == 403
        assert client.get("/api/v1/risk/site-flags", headers=headers).status_code == 403
    assert client.post(url, json={"action": "confirm"}).status_code == 401
    still_open, site = flag_and_site(database, flagged)
    assert still_open.status == "open" and site.status is SiteStatus.VERIFIED

    done = client.post(url, json={"action": "confirm", "note": "farm"}, headers=risk)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["resolved_by"], body["resolution_note"]) == (
        "confirmed",
        risk_id,
        "farm",
    )
    assert body["site_domain"] == flagged.domain and body["resolved_at"]
    assert flag_and_site(database, flagged)[1].status is SiteStatus.SUSPENDED

    again = client.post(url, json={"action": "dismiss"}, headers=risk)
    assert again.status_code == 409
    assert "already confirmed" in again.json()["error"]["message"]

    assert client.get("/api/v1/risk/site-flags", headers=risk).json() == []
    confirmed = client.get("/api/v1/risk/site-flags?status=confirmed", headers=risk).json()
    assert [f["id"] for f in confirmed] == [flagged.flag_id]
    assert client.get("/api/v1/risk/site-flags?status=dismissed", headers=risk).json() == []
    assert client.get("/api/v1/risk/site-flags?status=bogus", headers=risk).status_code == 422


def test_admin_may_resolve_and_operation_ids_are_stable(
    database: Database, client: TestClient
) -> None:
    flagged = flagged_site(database)
    _, admin = operator(database, Role.ADMIN)
    url = f"/api/v1/risk/site-flags/{flagged.flag_id}/resolve"
    assert client.post(url, json={"action": "dismiss"}, headers=admin).status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/api/v1/risk/site-flags/{flag_id}/resolve"]["post"]["operationId"] == (
        "resolve_site_flag"
    )
    assert paths["/api/v1/risk/site-flags"]["get"]["operationId"] == "list_site_flags"


def test_the_reviewer_who_read_first_but_wrote_second_gets_409(database: Database) -> None:
    """Two reviewers on one flag: the one whose update lands second loses, and changes nothing."""
    if database.is_sqlite:
        pytest.skip("SQLite write transactions take the write lock first: no interleaving")
    flagged = flagged_site(database)
    slow_id, fast_id = reviewer(database), reviewer(database)
    slow = database.session()
    try:
        assert slow.get(Site, flagged.site_id) is not None
        seen = service.flags(
            slow, FlagStatus.OPEN, PageRequest()
        ).items  # held, so the session keeps the row it read as open
        assert [f.id for f in seen] == [flagged.flag_id]
        with database.transaction() as fast:
            service.resolve(fast, flagged.flag_id, action="dismiss", reviewer_id=fast_id)
        with pytest.raises(Conflict, match="already dismissed"):
            service.resolve(slow, flagged.flag_id, action="confirm", reviewer_id=slow_id)
        slow.rollback()
    finally:
        slow.close()
    flag, site = flag_and_site(database, flagged)
    assert (flag.status, flag.resolved_by) == ("dismissed", fast_id)
    assert site.status is SiteStatus.VERIFIED
