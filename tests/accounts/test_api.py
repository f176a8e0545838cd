from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from adunion.accounts.models import ApiToken, User
from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.principal import Role
from tests.factories import user_with_token

SIGNUP = {
    "email": "Web@Example.org",
    "password": "a long password",
    "display_name": "Web Master",
    "roles": ["webmaster", "advertiser"],
}


def count(database: Database, model: type[object]) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_sign_up_then_log_in_and_read_me(client: TestClient) -> None:
    created = client.post("/api/v1/auth/signup", json=SIGNUP)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "web@example.org"
    assert created.json()["roles"] == ["advertiser", "webmaster"]
    login = client.post(
        "/api/v1/auth/login",
        json={
            "email": "web@example.org",
            "password": "a long password",
            "scopes": ["account:read"],
        },
    )
    assert login.status_code == 201, login.text
    token = login.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["display_name"] == "Web Master"


def test_unauthenticated_is_401_in_the_error_shape(client: TestClient) -> None:
    for path in ("/api/v1/me", "/api/v1/tokens"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer adu_nope_nope"})
    assert bad.status_code == 401


def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient, database: Database
) -> None:
    cases = [
        ({**SIGNUP, "email": "not-an-email"}, "email"),
        ({**SIGNUP, "password": "short"}, "password"),
        ({**SIGNUP, "roles": ["admin"]}, "roles.0"),
        ({**SIGNUP, "roles": []}, "roles"),
        ({**SIGNUP, "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/auth/signup", json=body)
        assert response.status_code == 422, body
        assert field in [f["field"] for f in response.json()["error"]["fields"]]
    not_json = client.post(
        "/api/v1/auth/signup", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert count(database, User) == 0


def test_duplicate_signup_is_409(client: TestClient, database: Database) -> None:
    assert client.post("/api/v1/auth/signup", json=SIGNUP).status_code == 201
    again = client.post("/api/v1/auth/signup", json={**SIGNUP, "email": "web@example.org"})
    assert again.status_code == 409
    assert again.json()["error"]["fields"][0]["field"] == "email"
    assert count(database, User) == 1


def test_scope_and_role_are_enforced_with_403(client: TestClient, database: Database) -> None:
    _, read_only = user_with_token(database, scopes=("account:read",))
    assert client.get("/api/v1/tokens", headers=read_only).status_code == 200
    denied = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["account:read"]}, headers=read_only
    )
    assert denied.status_code == 403
    assert "account:write" in denied.json()["error"]["message"]
    assert client.get("/api/v1/admin/users", headers=read_only).status_code == 403
    _, admin = user_with_token(database, roles=(Role.ADMIN,), scopes=("users:admin",))
    assert client.get("/api/v1/admin/users", headers=admin).status_code == 200


def test_another_tenants_token_answers_404(client: TestClient, database: Database) -> None:
    _, alice = user_with_token(database)
    _, bob = user_with_token(database)
    created = client.post(
        "/api/v1/tokens", json={"name": "ci", "scopes": ["account:read"]}, headers=alice
    )
    assert created.status_code == 201
    token_id = created.json()["id"]
    assert client.get(f"/api/v1/tokens/{token_id}", headers=alice).status_code == 200
    for response in (
        client.get(f"/api/v1/tokens/{token_id}", headers=bob),
        client.delete(f"/api/v1/tokens/{token_id}", headers=bob),
    ):
        assert response.status_code == 404
        assert token_id not in response.text
    assert client.get(f"/api/v1/tokens/{token_id}", headers=alice).json()["revoked_at"] is None


def test_created_token_is_shown_once_and_works_until_revoked(
    client: TestClient, database: Database
) -> None:
    _, alice = user_with_token(database)
    created = client.post(
        "/api/v1/tokens", json={"name": "ci", "scopes": ["account:read"]}, headers=alice
    )
    secret = created.json()["token"]
    listed = client.get("/api/v1/tokens", headers=alice).json()
    assert all("token" not in t for t in listed)
    mine = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    assert client.get("/api/v1/tokens", headers=mine).json()[0]["last_used_at"] is not None
    client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=alice)
    assert client.get("/api/v1/me", headers=mine).status_code == 401
    with database.transaction(write=False) as session:
        stored = " ".join(
            str(v) for row in session.execute(text("SELECT * FROM api_tokens")) for v in row
        )
    assert secret.split("_", 2)[2] not in stored


def test_eleventh_failed_login_from_one_address_is_429(
    client: TestClient, database: Database
) -> None:
    """Eleven accounts tried from one address: the address limit (each account's own limit is
    tests/accounts/test_login_throttle.py's)."""
    client.post("/api/v1/auth/signup", json=SIGNUP)
    statuses = [
        client.post(
            "/api/v1/auth/login", json={"email": f"u{n}@example.org", "password": "not it"}
        ).status_code
        for n in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    right = {"email": "web@example.org", "password": SIGNUP["password"]}
    blocked = client.post("/api/v1/auth/login", json=right)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert count(database, ApiToken) == 0


def test_passwords_never_reach_the_logs(
    settings: Settings, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.log_level = "DEBUG"
    with TestClient(create_app(settings, database=database)) as client:
        client.post("/api/v1/auth/signup", json=SIGNUP)
        client.post(
            "/api/v1/auth/login", json={"email": SIGNUP["email"], "password": SIGNUP["password"]}
        )
        client.post(
            "/api/v1/auth/login", json={"email": SIGNUP["email"], "password": "wrong guess here"}
        )
    output = capsys.readouterr().out
    assert '"route": "/api/v1/auth/login"' in output  # the requests were logged...
    assert SIGNUP["password"] not in output  # ...without their bodies
    assert "wrong guess here" not in output


def test_admin_sets_roles_and_unknown_user_is_404(client: TestClient, database: Database) -> None:
    user_id, _ = user_with_token(database)
    _, admin = user_with_token(database, roles=(Role.ADMIN,), scopes=("users:admin",))
    response = client.put(
        f"/api/v1/admin/users/{user_id}/roles", json={"roles": ["risk", "webmaster"]}, headers=admin
    )
    assert response.status_code == 200
    assert response.json()["roles"] == ["risk", "webmaster"]
    assert (
        client.put("/api/v1/admin/users/nope/roles", json={"roles": []}, headers=admin).status_code
        == 404
    )
    bad = client.put(
        f"/api/v1/admin/users/{user_id}/roles", json={"roles": ["king"]}, headers=admin
    )
    assert bad.status_code == 422


def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    settings: Settings, database: Database
) -> None:
    def wrong(n: int) -> dict[str, str]:  # another account each time: the address limit alone
        return {"email": f"nobody{n}@example.org", "password": "not the password"}

    with TestClient(create_app(settings, database=database)) as untrusted:
        for n in range(10):
            untrusted.post(
                "/api/v1/auth/login", json=wrong(n), headers={"X-Forwarded-For": f"203.0.113.{n}"}
            )
        # Spoofed headers from an untrusted peer change nothing: all ten counted for one address.
        assert untrusted.post("/api/v1/auth/login", json=wrong(10)).status_code == 429
    settings.trusted_proxies = "testclient"
    with TestClient(create_app(settings, database=database)) as behind_proxy:
        for n in range(10):
            behind_proxy.post(
                "/api/v1/auth/login",
                json=wrong(n),
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            )
        # Behind the proxy each forwarded address has its own count.
        assert (
            behind_proxy.post(
                "/api/v1/auth/login",
                json=wrong(10),
                headers={"X-Forwarded-For": "198.51.100.77"},
            ).status_code
            == 401
        )
