"""Sign-in throttling through the API and the sign-in page: per address, per account, back-off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adunion.app import create_app
from adunion.config import Settings
from adunion.kernel.db import Database
from adunion.kernel.ids import new_id
from adunion.kernel.throttle import MemoryThrottle, RedisThrottle
from tests.factories import DEFAULT_PASSWORD, csrf_of, make_user

LOGIN = "/api/v1/auth/login"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(1_800_000.0)  # a multiple of 900: a fixed window's edge


@pytest.fixture
def proxied(settings: Settings) -> Settings:
    """Behind a trusted proxy that is also where the client connects from: as ``make run``
    trusts 127.0.0.1, every client of the test (peer "testclient") names its own address."""
    settings.trusted_proxies = "testclient"
    return settings


def client_with(app: FastAPI, clock: Clock) -> TestClient:
    app.state.ctx.login_throttle = MemoryThrottle(clock)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def api(proxied: Settings, database: Database, clock: Clock) -> Iterator[TestClient]:
    with client_with(create_app(proxied, database=database), clock) as client:
        yield client


def account(database: Database, email: str = "victim@example.org") -> str:
    with database.transaction() as session:
        make_user(session, email=email)
    return email


def guess(client: TestClient, email: str, address: str = "203.0.113.1", password: str = "") -> int:
    response = client.post(
        LOGIN,
        json={"email": email, "password": password or "not the password"},
        headers={"X-Forwarded-For": address},
    )
    return response.status_code


def test_twenty_guesses_across_a_window_edge_are_refused_after_ten(
    api: TestClient, clock: Clock
) -> None:
    """10 bad sign-ins just before a 900 s boundary and 10 just after were all checked (20
    guesses in 12.5 s); the window now slides. Each guess is at another account, so only the
    address limit applies."""
    clock.now -= 5
    statuses = []
    for n in range(20):
        statuses.append(guess(api, f"user{n}@example.org"))
        clock.now += 0.625
    assert statuses == [401] * 10 + [429] * 10


def test_retry_after_tells_the_true_wait(api: TestClient, clock: Clock) -> None:
    """``Retry-After`` said 18 s (the fixed window's end) while the limit held for longer."""
    start = clock.now + 100
    for n in range(10):
        clock.now = start + n
        assert guess(api, f"user{n}@example.org") == 401
    clock.now = start + 100
    refused = api.post(
        LOGIN,
        json={"email": "x@example.org", "password": "not the password"},
        headers={"X-Forwarded-For": "203.0.113.1"},
    )
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "800"  # the first guess leaves the window then
    clock.now = start + 900
    assert guess(api, "y@example.org") == 401


def test_one_account_is_limited_whatever_the_addresses(
    api: TestClient, database: Database, clock: Clock
) -> None:
    """15 bad sign-ins at one account, each claiming another X-Forwarded-For address from the
    trusted loopback, were never refused. The account backs off after 5 failures in a row, and
    its window holds 10 attempts, however far apart."""
    email = account(database)
    burst = [guess(api, email, address=f"198.51.100.{n}") for n in range(15)]
    assert burst == [401] * 5 + [429] * 10
    # Spread out so the back-off (1, 2, 4, 8, 16, then 32 s) passes each time: the account's
    # window still refuses the 11th attempt within 15 minutes.
    statuses, waits = [], []
    for n in range(6):
        clock.now += 60
        response = api.post(
            LOGIN,
            json={"email": email, "password": "not the password"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
        statuses.append(response.status_code)
        waits.append(response.headers.get("Retry-After"))
    assert statuses == [401] * 5 + [429]
    assert waits[-1] == str(900 - 6 * 60)  # the burst leaves the window then
    # Even the right password waits: the throttle answers before any password check.
    assert guess(api, email, address="192.0.2.99", password=DEFAULT_PASSWORD) == 429


def test_back_off_doubles_and_a_success_ends_it(
    api: TestClient, database: Database, clock: Clock
) -> None:
    email = account(database)
    assert [guess(api, email, address=f"198.51.100.{n}") for n in range(5)] == [401] * 5
    waits = []
    for _ in range(3):
        refused = api.post(LOGIN, json={"email": email, "password": "not the password"})
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.now += waits[-1]
        assert guess(api, email) == 401
    assert waits == [1, 2, 4]
    clock.now += 900  # the failures left the window; the streak (8 in a row) goes on
    assert guess(api, email) == 401
    refused = api.post(LOGIN, json={"email": email, "password": "not the password"})
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "16")
    clock.now += 16
    assert guess(api, email, password=DEFAULT_PASSWORD) == 201
    # The success ended the streak: five failures before any wait, then 1 s again.
    assert [guess(api, email) for _ in range(5)] == [401] * 5
    refused = api.post(LOGIN, json={"email": email, "password": "not the password"})
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "1")


def test_the_sign_in_page_uses_the_same_throttle(
    proxied: Settings, database: Database, clock: Clock
) -> None:
    email = account(database)
    with client_with(create_app(proxied, database=database), clock) as client:
        token = csrf_of(client)
        statuses = [
            client.post(
                "/login",
                data={"email": email.upper(), "password": "not the password", "csrf_token": token},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
                follow_redirects=False,
            )
            for n in range(6)
        ]
        assert [r.status_code for r in statuses] == [401] * 5 + [429]
        assert statuses[-1].headers["Retry-After"] == "1"
        assert "text/html" in statuses[-1].headers["content-type"]
        # The API shares the page's count for the account.
        assert guess(client, email) == 429


def test_processes_sharing_redis_share_the_limits(
    proxied: Settings, database: Database, clock: Clock, redis_url: str
) -> None:
    """Two serving processes (two apps) with one Redis: failures at one count at the other."""
    email = account(database)
    namespace = f"test-login-{new_id()}"
    apps = [create_app(proxied, database=database) for _ in range(2)]
    for app in apps:
        app.state.ctx.login_throttle = RedisThrottle(
            redis.Redis.from_url(redis_url), namespace=namespace, clock=clock
        )
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        statuses = [guess(client, email) for client in (one, two, one, two, one, two)]
        assert statuses == [401] * 5 + [429]
        for n in range(5):  # 10 from one address in all, at other accounts, 60 s apart
            clock.now += 60
            assert guess(one if n % 2 else two, f"other{n}@example.org") == 401
        clock.now += 60
        assert guess(two, "last@example.org") == 429


def test_settings_build_the_redis_throttle(settings: Settings, redis_url: str) -> None:
    settings.redis_url = redis_url
    app = create_app(settings)
    assert isinstance(app.state.ctx.login_throttle, RedisThrottle)
