"""The decision's query-string parser takes any bytes a client sends."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from adunion.serving.endpoints import query_params

QUERY_TEXT = st.text(alphabet="ab=&%+2F;é\x00 ", max_size=200).map(lambda t: t.encode("utf-8"))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=4000) | QUERY_TEXT)
def test_any_query_string_parses_as_starlette_reads_it(raw: bytes) -> None:
    """Names and values are strings, never an exception, and the split without ``%`` or ``+``
    reads what Starlette's QueryParams reads (the FastAPI route and the fast path agree)."""
    params = query_params(raw)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    assert params == dict(QueryParams(raw.decode("latin-1")))
