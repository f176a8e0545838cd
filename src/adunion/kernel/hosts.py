"""The host of a page, from what a browser sends: an ``Origin`` header, a ``Referer`` or a page
URL (``https://Shop.Example:8443/a?b`` -> ``shop.example``).

Cheap on the serving hot path: a few string operations, and a bounded cache keyed by the text
(a site's ``Origin`` is one string for all its visitors). Browsers send hosts in ASCII (IDNA);
anything that is not a plain host name or address comes back as :data:`UNREADABLE`, which
matches no site — never as text that could carry a separator into a signed token.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNREADABLE = "?"
_HOST = re.compile(r"^[a-z0-9._-]{1,253}$|^\[[0-9a-f:.]{2,45}\]$")


def page_host(value: str) -> str:
    """The host named by an Origin, Referer or URL; ``""`` when there is none (empty, the
    ``null`` origin of a privacy-sensitive context, a URL without a host)."""
    if not value or value == "null":
        return ""
    return _host(value[:2048])


@lru_cache(maxsize=4096)
def _host(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep:
        rest = value.removeprefix("//")  # a bare host and path, as a server may send it
    elif not scheme or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return UNREADABLE
    end = len(rest)
    for stop in "/?#\\":
        found = rest.find(stop)
        if found != -1 and found < end:
            end = found
    authority = rest[:end].rpartition("@")[2]
    if authority.startswith("["):
        host = authority[: authority.find("]") + 1]
    else:
        host = authority.partition(":")[0]
    host = host.strip().rstrip(".").lower()
    if not host:
        return ""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return UNREADABLE
    return host if _HOST.match(host) else UNREADABLE


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL, lower-cased: what an ``Origin`` header of a
    page at that URL says, and what its ``Referer`` starts with."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    return f"{scheme}://{rest.split('/', 1)[0]}".lower()
