"""Settings from ``ADUNION_*`` environment variables.

The secret key is never a built-in constant: when ``ADUNION_SECRET_KEY`` is unset, a random key is
generated on first run and kept in ``<data dir>/secret_key`` (mode 0600) so sessions and signed
tokens survive restarts.
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADUNION_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: SecretStr = SecretStr("")
    redis_url: str | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    base_url: str = ""
    # `adunion serve --workers N`: uvicorn's supervisor kills a worker that does not answer its
    # health check within this many seconds (its own default, 5). The check is answered by a
    # Python thread, so a worker holding the interpreter lock longer (a full garbage collection
    # of a very large index on a starved host) would be killed: raise it for such hosts.
    worker_healthcheck_seconds: int = Field(default=5, ge=1, le=600)

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # Rates are Decimal strings ("0.30"), never floats: they multiply money.
    commission_rate: Decimal = Field(default=Decimal("0.30"), ge=0, le=1)
    interest_rate: Decimal = Field(default=Decimal("0.02"), ge=0, le=1)
    interest_day_count: Literal[360, 365] = 365
    # Extra wallet currencies besides ``currency`` (comma-separated ISO codes).
    extra_currencies: str = Field(default="", pattern=r"^([A-Z]{3}(,[A-Z]{3})*)?$")
    withdrawal_minimum: Decimal = Field(default=Decimal("100"), ge=0)
    withdrawal_fee: Decimal = Field(default=Decimal("1.00"), ge=0)
    # Shown in bank-transfer instructions: set your own account.
    bank_account_details: str = "adunion Ltd · IBAN GB00 ADUN 0000 0000 00 · BIC ADUNGB2L"
    # Shared secret of the generic payment provider's signed webhooks (empty: webhooks refused).
    payment_webhook_secret: SecretStr = SecretStr("")

    # Reverse proxies (comma-separated addresses) whose X-Forwarded-For names the real client.
    trusted_proxies: str = ""

    cookie_secure: Literal["auto", "always", "never"] = "auto"
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    # Sign-in throttling (accounts/ratelimit.py): sliding windows per client address and per
    # account, and a per-account back-off after failures in a row (docs/security.md).
    login_attempts_per_window: int = Field(default=10, gt=0)
    login_account_attempts_per_window: int = Field(default=10, gt=0)
    login_window_seconds: int = Field(default=15 * 60, gt=0)
    login_backoff_after_failures: int = Field(default=5, gt=0)
    login_backoff_max_seconds: int = Field(default=15 * 60, gt=0, le=24 * 3600)

    # Serving and tracking (docs/serving.md).
    serving_index_check_seconds: float = Field(default=2.0, gt=0)
    serving_stats_refresh_seconds: float = Field(default=300.0, gt=0)
    serving_ctr_base_rate: float = Field(default=0.002, gt=0, lt=1)
    serving_ctr_prior_strength: float = Field(default=1000.0, gt=0)
    serving_explore_z: float = Field(default=1.0, ge=0)
    tracking_token_ttl_seconds: int = Field(default=4 * 3600, gt=0)
    # "normal" (the default) answers once the event is written to the serving process's event
    # journal: it survives a crash of the process (kill -9); the drain commits it to the
    # database every tracking_drain_seconds, so a power loss undoes at most the events
    # acknowledged since (none of them billed yet). "full" fdatasyncs every journal write before
    # answering, and survives a power loss too, at about half the intake. See docs/serving.md.
    tracking_journal_sync: Literal["full", "normal"] = "normal"
    # Where the event journals live (default: beside an SQLite file, else
    # <data dir>/event-journal/<database>). Every serving process of a host must see the same one.
    tracking_journal_dir: Path | None = None
    tracking_drain_seconds: float = Field(default=0.05, gt=0, le=60)
    fraud_ip_events_per_minute: int = Field(default=600, gt=0)
    fraud_visitor_events_per_minute: int = Field(default=120, gt=0)
    fraud_min_click_delay_seconds: float = Field(default=1.0, ge=0)
    # Events whose offer token does not verify: the first this many per client address (an IPv6
    # /64) and per minute are stored with their reason, and at most the second figure per minute
    # in all; the rest of a flood is only counted (tracking_unstored, docs/serving.md).
    fraud_invalid_token_samples_per_minute: int = Field(default=20, ge=0)
    fraud_invalid_token_samples_per_minute_total: int = Field(default=1000, ge=0)
    fraud_ctr_ratio: float = Field(default=3.0, gt=1)
    fraud_ctr_min_impressions: int = Field(default=1000, gt=0)
    fraud_ctr_window_days: int = Field(default=7, ge=1, le=90)
    # How often the background jobs scan for CTR anomalies (the window ending today).
    fraud_scan_seconds: float = Field(default=3600.0, gt=0)

    # Run the background jobs (billing, hold expiry, interest) inside `adunion serve`.
    run_jobs: bool = True

    log_level: str = "INFO"
    log_json: bool = True

    # The network's IANA time zone: its day counts daily budgets, pacing and billing (one day
    # everywhere, kernel/days.py) and campaign schedules (day-parting) are read in it.
    timezone: str = "UTC"
    # Inventory: the ads.txt line's certification authority id (optional 4th field) and the
    # sellers.json contact.
    ads_txt_cert_id: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,64}$")
    contact_email: str = ""
    # Site-verification fetcher (SSRF guard). Private and loopback targets are refused unless
    # allowed; a port and a host->IP map let tests and LAN setups reach a local server.
    fetch_allow_private: bool = False
    fetch_port: int | None = Field(default=None, ge=1, le=65535)
    fetch_resolve: dict[str, str] = Field(default_factory=dict)

    @field_validator("redis_url")
    @classmethod
    def _empty_redis_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as UTC)"
            ) from None
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'adunion.db').resolve()}"
        if not self.base_url:
            self.base_url = f"http://{self.host}:{self.port}"
        return self

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def currencies(self) -> tuple[str, ...]:
        extra = [c for c in self.extra_currencies.split(",") if c and c != self.currency]
        return (self.currency, *extra)

    def ensure_secret_key(self) -> str:
        """Return the secret key, creating and storing one on first run."""
        if self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_KEY_FILE
        if path.exists():
            key = path.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
        self.secret_key = SecretStr(key)
        return key


def load_settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.ensure_secret_key()
    return settings
