from __future__ import annotations

from adunion.fraud import rules
from adunion.fraud.reasons import INVALID_REASONS, invalid_reason_text
from adunion.serving import tokens


def test_every_stored_reason_has_words() -> None:
    codes = {
        value
        for module in (rules, tokens)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and not name.startswith("_")
    }
    assert codes == set(INVALID_REASONS)
    assert (
        invalid_reason_text(rules.CLICK_TOO_FAST) == "Click faster after the view than a person can"
    )
    assert invalid_reason_text("from_a_newer_version") == "from_a_newer_version"
