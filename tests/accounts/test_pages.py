from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from adunion.accounts.models import ApiToken, User
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from adunion.web.render import NavItem, current_section
from tests.factories import csrf_of, make_user, web_login

HTML = {"Accept": "text/html"}


def test_the_nav_marks_the_section_a_page_lies_under() -> None:
    nav = [NavItem("Overview", "/"), NavItem("Wallet", "/wallet"), NavItem("Risk", "/risk/flags")]
    assert current_section(nav, "/wallet") == "/wallet"
    assert current_section(nav, "/wallet/deposits") == "/wallet"
    assert current_section(nav, "/risk/flags/f1/resolve") == "/risk/flags"
    assert current_section(nav, "/walletx") is None  # a prefix of the name is not a section
    assert current_section(nav, "/login") is None  # the overview is not everything's section
    assert current_section(nav, "/") == "/"


def test_private_pages_redirect_to_login(client: TestClient) -> None:
    for path in ("/settings", "/admin/users"):
        response = client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


def test_sign_up_lands_signed_in(client: TestClient, database: Database) -> None:
    token = csrf_of(client, "/signup")
    response = client.post(
        "/signup",
        data={
            "display_name": "Shop & Co",
            "email": "shop@example.org",
            "password": "a long password",
            "roles": ["advertiser", "webmaster"],
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    home = client.get("/")
    assert "Hello, Shop &amp; Co" in home.text
    assert 'id="advertiser"' in home.text and 'id="webmaster"' in home.text


def test_form_post_without_valid_csrf_is_403_and_writes_nothing(
    client: TestClient, database: Database
) -> None:
    form = {
        "display_name": "X",
        "email": "x@example.org",
        "password": "a long password",
        "roles": ["webmaster"],
    }
    assert client.post("/signup", data=form).status_code == 403
    csrf_of(client, "/signup")  # a real cookie, but a forged form token
    forged = client.post("/signup", data={**form, "csrf_token": "forged.value"})
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_bad_signup_re_renders_with_field_errors(client: TestClient, database: Database) -> None:
    token = csrf_of(client, "/signup")
    response = client.post(
        "/signup",
        data={"display_name": "", "email": "nope", "password": "short", "csrf_token": token},
    )
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and 'id="password-error"' in response.text
    assert "Choose at least one." in response.text
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_login_logout_and_wrong_password(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="w@example.org")
    token = csrf_of(client)
    wrong = client.post(
        "/login", data={"email": "w@example.org", "password": "nope nope nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "wrong e-mail or password" in wrong.text
    web_login(client, "w@example.org")
    assert client.get("/settings").status_code == 200
    logout = client.post(
        "/logout", data={"csrf_token": csrf_of(client, "/settings")}, follow_redirects=False
    )
    assert logout.status_code == 303
    assert client.get("/settings", headers=HTML, follow_redirects=False).status_code == 303


def test_login_next_cannot_redirect_off_site(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="w@example.org")
    response = client.post(
        "/login",
        data={
            "email": "w@example.org",
            "password": "correct horse battery",
            "next": "//evil.example/",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_token_is_shown_once_on_the_settings_page(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="w@example.org")
    web_login(client, "w@example.org")
    created = client.post(
        "/settings/tokens",
        data={
            "name": "reports",
            "scopes": ["account:read"],
            "csrf_token": csrf_of(client, "/settings"),
        },
    )
    assert created.status_code == 200
    assert 'id="new-token"' in created.text
    assert 'id="new-token"' not in client.get("/settings").text
    with database.transaction(write=False) as session:
        assert session.scalars(select(ApiToken)).one().name == "reports"


def test_wrong_role_page_is_403(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="w@example.org")
    web_login(client, "w@example.org")
    assert client.get("/admin/users", headers=HTML).status_code == 403


def test_admin_changes_roles_from_the_page(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        make_user(session, email="admin@example.org", roles=(Role.ADMIN,))
        target = make_user(session, email="w@example.org")
    web_login(client, "admin@example.org")
    page = client.get("/admin/users")
    assert "w@example.org" in page.text
    response = client.post(
        f"/admin/users/{target.id}/roles",
        data={"roles": ["webmaster", "finance"], "csrf_token": csrf_of(client, "/admin/users")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with database.transaction(write=False) as session:
        user = session.get(User, target.id)
        assert user is not None and user.roles == {Role.WEBMASTER, Role.FINANCE}


def test_text_is_escaped_everywhere(client: TestClient, database: Database) -> None:
    evil = "<script>alert(1)</script>"
    with database.transaction() as session:
        make_user(session, email="w@example.org", display_name=evil, roles=(Role.ADMIN,))
    web_login(client, "w@example.org")
    client.post(
        "/settings/tokens",
        data={"name": evil, "scopes": ["account:read"], "csrf_token": csrf_of(client, "/settings")},
    )
    for path in ("/", "/settings", "/admin/users"):
        text = client.get(path).text
        assert evil not in text
        assert "&lt;script&gt;" in text


def test_unknown_page_is_a_404_page(client: TestClient) -> None:
    response = client.get("/no/such/page", headers=HTML)
    assert response.status_code == 404
    assert "<html" in response.text
