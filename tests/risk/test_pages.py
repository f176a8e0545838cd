"""The /risk/flags page: the flag's numbers, the CSRF-checked forms, and who may see it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from adunion.inventory.models import SiteStatus
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import csrf_of, make_user, web_login
from tests.risk.helpers import flag_and_site, flagged_site

XSS = "<script>alert(1)</script>"


def login_as(client: TestClient, database: Database, *roles: Role) -> str:
    with database.transaction() as session:
        user = make_user(session, roles=roles, display_name="Rita Risk")
        email, user_id = user.email, user.id
    web_login(client, email)
    return user_id


def test_page_lists_the_flag_and_confirm_suspends_the_site(
    client: TestClient, database: Database
) -> None:
    flagged = flagged_site(database)
    risk_id = login_as(client, database, Role.RISK)
    page = client.get("/risk/flags")
    assert page.status_code == 200, page.text
    assert '<a href="/risk/flags" aria-current="page">Risk flags</a>' in page.text
    assert flagged.domain in page.text
    assert "2026-11-19 to 2026-11-25" in page.text
    # 60 clicks / 2,000 impressions = 3.00%; network 260 / 102,000 = 0.25%; ratio 11.7x
    assert "2,000" in page.text and "3.00%" in page.text and "0.25%" in page.text
    assert "11.7x" in page.text
    assert f'action="/risk/flags/{flagged.flag_id}/resolve"' in page.text

    url = f"/risk/flags/{flagged.flag_id}/resolve"
    forged = client.post(url, data={"action": "confirm", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert flag_and_site(database, flagged)[0].status == "open"

    token = csrf_of(client, "/risk/flags")
    bad = client.post(url, data={"action": "suspend", "csrf_token": token})
    assert bad.status_code == 422 and "must be dismiss or confirm" in bad.text
    assert flag_and_site(database, flagged)[0].status == "open"

    done = client.post(
        url, data={"action": "confirm", "note": XSS, "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/risk/flags?done=confirmed"
    flag, site = flag_and_site(database, flagged)
    assert (flag.status, flag.resolved_by, flag.resolution_note) == ("confirmed", risk_id, XSS)
    assert site.status is SiteStatus.SUSPENDED

    after = client.get(done.headers["location"])
    assert "the site is suspended" in after.text
    assert "No open flags." in after.text
    assert "Rita Risk" in after.text and ">confirmed<" in after.text
    assert XSS not in after.text and "&lt;script&gt;" in after.text

    again = client.post(url, data={"action": "dismiss", "csrf_token": token})
    assert again.status_code == 409 and "already confirmed" in again.text
    assert flag_and_site(database, flagged)[0].status == "confirmed"


def test_dismiss_through_the_page_keeps_the_site(client: TestClient, database: Database) -> None:
    flagged = flagged_site(database)
    login_as(client, database, Role.ADMIN)
    token = csrf_of(client, "/risk/flags")
    done = client.post(
        f"/risk/flags/{flagged.flag_id}/resolve",
        data={"action": "dismiss", "note": "seasonal", "csrf_token": token},
    )
    assert done.status_code == 200 and "Flag dismissed." in done.text
    flag, site = flag_and_site(database, flagged)
    assert flag.status == "dismissed" and site.status is SiteStatus.VERIFIED


def test_only_risk_and_admin_see_the_page(client: TestClient, database: Database) -> None:
    flagged = flagged_site(database)
    anonymous = client.get("/risk/flags", headers={"accept": "text/html"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    login_as(client, database, Role.WEBMASTER, Role.ADVERTISER, Role.FINANCE)
    home = client.get("/")
    assert "/risk/flags" not in home.text
    assert client.get("/risk/flags").status_code == 403
    token = csrf_of(client, "/")
    refused = client.post(
        f"/risk/flags/{flagged.flag_id}/resolve", data={"action": "confirm", "csrf_token": token}
    )
    assert refused.status_code == 403
    flag, site = flag_and_site(database, flagged)
    assert flag.status == "open" and site.status is SiteStatus.VERIFIED
