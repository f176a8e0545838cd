"""Coverage-guided fuzzing (atheris, libFuzzer) of the parsers that take outside input: the
targets of the hypothesis tests (tests/*/test_*fuzz*, docs/security.md), explored for a bounded
time by ``.ci/fuzz``. Not a pytest module: libFuzzer drives it.

    python tests/fuzz/atheris_parsers.py -max_total_time=60

Any exception other than the documented refusal is a crash: libFuzzer saves the input and exits
non-zero.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["adunion"]):
    from adunion.http.deps import forwarded_client
    from adunion.kernel.errors import Unauthorized, ValidationFailed
    from adunion.kernel.money import parse_amount
    from adunion.serving.endpoints import query_params
    from adunion.serving.tokens import EXPIRED, TAMPERED, TokenSigner, _b64
    from adunion.wallet.providers import verify_signature
    from adunion.wallet.webhooks import parse_event

SIGNER = TokenSigner("fuzz", ttl_seconds=3600)
TRUSTED = frozenset({"10.0.0.1", "10.0.0.2"})
NOW = 1_900_000_000
MAX_INPUT = 4096


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    target = provider.ConsumeIntInRange(0, 6)
    raw = provider.ConsumeBytes(MAX_INPUT)
    text = raw.decode("latin-1")
    if target == 0:
        try:
            micros = parse_amount(text)
        except ValidationFailed:
            return
        assert 0 < micros <= 2**62
    elif target == 1:
        assert SIGNER.verify(text, NOW).reason in (None, TAMPERED, EXPIRED)
    elif target == 2:  # a payload under a valid MAC: only the key's holder makes one
        payload = _b64(raw)
        token = f"{payload.decode()}.{SIGNER._mac(payload).decode()}"
        assert SIGNER.verify(token, NOW).reason in (None, TAMPERED, EXPIRED)
    elif target == 3:
        assert all(isinstance(v, str) for v in query_params(raw).values())
    elif target == 4:
        header, _, body = text.partition("\n")
        try:
            verify_signature("whsec_fuzz", body.encode("latin-1"), header, now=NOW)
        except Unauthorized:
            return
    elif target == 5:
        try:
            parse_event(raw)
        except ValidationFailed:
            return
    else:
        assert isinstance(forwarded_client("10.0.0.1", text, TRUSTED), str)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
