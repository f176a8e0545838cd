"""The engine's rule tests run on both candidate walks: the compiled one and the Python one."""

from __future__ import annotations

import pytest

from adunion.serving import engine
from tests.conftest import skip_or_fail


@pytest.fixture(params=["native", "python"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every engine the test builds walks candidates this way."""
    if request.param == "native":
        if not engine.NATIVE_AVAILABLE:
            skip_or_fail("the compiled walk (adunion.serving._native) is not built here")
    else:
        monkeypatch.setattr(engine, "NATIVE_AVAILABLE", False)
    return str(request.param)
