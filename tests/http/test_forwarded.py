"""Which address is the client's: only hops that configured trusted proxies added are skipped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adunion.http.deps import forwarded_client, scope_client_address

PROXIES = frozenset({"10.0.0.1", "10.0.0.2"})


def scope(peer: str, *forwarded: str) -> dict[str, object]:
    headers = [(b"host", b"ads.example")]
    headers += [(b"x-forwarded-for", line.encode("latin-1")) for line in forwarded]
    return {"type": "http", "client": (peer, 50000), "headers": headers}


@pytest.mark.parametrize(
    ("peer", "lines", "client"),
    [
        # No proxy in between: the header is the client's own text and is never read.
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        # One proxy: it appended the address it saw.
        ("10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        # The client spoofed the left-most entries; the proxy's entry is right-most.
        ("10.0.0.1", ["1.1.1.1, 8.8.8.8, 203.0.113.9"], "203.0.113.9"),
        # Two proxies: the edge appended the client, the inner proxy appended the edge.
        ("10.0.0.2", ["6.6.6.6, 203.0.113.9, 10.0.0.1"], "203.0.113.9"),
        # A spoofed trusted address on the left is still left of the real client.
        ("10.0.0.2", ["10.0.0.1, 203.0.113.9, 10.0.0.1"], "203.0.113.9"),
        # Blank entries and spaces are no hops.
        ("10.0.0.1", [" , 203.0.113.9 ,, "], "203.0.113.9"),
        # Every hop a trusted proxy, or no header at all: the peer.
        ("10.0.0.1", ["10.0.0.2"], "10.0.0.1"),
        ("10.0.0.1", [], "10.0.0.1"),
    ],
)
def test_the_right_most_untrusted_hop_is_the_client(
    peer: str, lines: list[str], client: str
) -> None:
    assert scope_client_address(scope(peer, *lines), PROXIES) == client


def test_a_proxy_that_adds_its_own_header_line_is_read_last() -> None:
    """HAProxy adds an ``X-Forwarded-For`` line rather than appending to the client's; repeated
    header lines are one comma-separated list. Reading only the first line let the client name
    any address (its own line comes first)."""
    spoofed = scope("10.0.0.1", "6.6.6.6", "203.0.113.9")
    assert scope_client_address(spoofed, PROXIES) == "203.0.113.9"
    through_two = scope("10.0.0.2", "6.6.6.6", "203.0.113.9", "10.0.0.1")
    assert scope_client_address(through_two, PROXIES) == "203.0.113.9"


def test_forwarded_client_reads_the_joined_list() -> None:
    assert forwarded_client("10.0.0.1", "7.7.7.7,203.0.113.9", PROXIES) == "203.0.113.9"
    assert forwarded_client("10.0.0.1", "", PROXIES) == "10.0.0.1"


HOP = st.sampled_from(["10.0.0.1", "10.0.0.2", "203.0.113.9", "::1", ""]) | st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    peer=st.sampled_from(["10.0.0.1", "10.0.0.2", "203.0.113.9"]),
    lines=st.lists(
        st.lists(HOP, max_size=6).map(", ".join).map(lambda t: t.encode("utf-8"))
        | st.binary(max_size=200),
        max_size=4,
    ),
)
def test_any_forwarded_for_gives_an_address_no_trusted_proxy_added(
    peer: str, lines: list[bytes]
) -> None:
    """Whatever the header lines hold: the peer when it is not a trusted proxy, else the peer or
    a hop of the header that is not a trusted proxy; never an exception."""
    raw = {"type": "http", "client": (peer, 1), "headers": [(b"x-forwarded-for", v) for v in lines]}
    client = scope_client_address(raw, PROXIES)
    if peer not in PROXIES:
        assert client == peer
        return
    hops = [h.strip() for h in b",".join(lines).decode("latin-1").split(",") if h.strip()]
    assert client == peer or (client in hops and client not in PROXIES)
    untrusted = [h for h in hops if h not in PROXIES]
    assert client == (untrusted[-1] if untrusted else peer)
