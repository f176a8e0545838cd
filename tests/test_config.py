from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from adunion.config import Settings, load_settings


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADUNION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ADUNION_CURRENCY", "EUR")
    monkeypatch.setenv("ADUNION_COMMISSION_RATE", "0.25")
    monkeypatch.setenv("ADUNION_INTEREST_RATE", "0.035")
    monkeypatch.setenv("ADUNION_PORT", "9001")
    settings = load_settings()
    assert settings.currency == "EUR"
    assert settings.commission_rate == Decimal("0.25")
    assert settings.interest_rate == Decimal("0.035")
    assert settings.port == 9001
    assert settings.database_url == f"sqlite:///{(tmp_path / 'adunion.db').resolve()}"
    assert settings.redis_url is None


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path)
    key = first.secret_key.get_secret_value()
    assert len(key) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_settings(data_dir=tmp_path).secret_key.get_secret_value() == key
    other = load_settings(data_dir=tmp_path / "other")
    assert other.secret_key.get_secret_value() != key


def test_explicit_secret_key_wins(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, secret_key="from-the-environment")
    assert settings.secret_key.get_secret_value() == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("currency", "usd"), ("commission_rate", "1.5"), ("port", "0"), ("interest_day_count", "300")],
)
def test_rejects_bad_values(field: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Settings(data_dir=tmp_path, **{field: value})  # type: ignore[arg-type]
    assert field in str(excinfo.value)
