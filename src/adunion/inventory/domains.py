"""Site domains: one canonical spelling (lowercase, IDNA/punycode, no scheme, path or port)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from adunion.kernel.errors import ValidationFailed

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_DOMAIN = 253


def normalise_domain(raw: str, *, field: str = "domain") -> str:
    """``"https://Bücher.Example/shop"`` -> ``"xn--bcher-kva.example"``; a clear error otherwise."""

    def bad(message: str) -> ValidationFailed:
        return ValidationFailed.on(field, message)

    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise bad("must be a domain name such as example.org")
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise bad("must not contain spaces or control characters")
    parts = urlsplit(text if "//" in text else f"//{text}")
    if parts.scheme not in ("", "http", "https"):
        raise bad("must be a domain name (http or https sites only)")
    if "@" in parts.netloc:
        raise bad("must not contain a user name")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise bad("has a malformed port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise bad("must be a domain name such as example.org")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise bad("must be a domain name, not an IP address")
    try:
        ascii_host = ".".join(
            label.encode("idna").decode("ascii") for label in host.lower().split(".")
        )
    except UnicodeError:
        raise bad("is not a valid internationalised domain name") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > MAX_DOMAIN or len(labels) < 2:
        raise bad("must be a full domain name such as example.org")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise bad("labels may hold only letters, digits and inner hyphens (1-63 characters)")
    if labels[-1].isdigit():
        raise bad("must end in a real top-level domain")
    return ascii_host


MAX_SUBDOMAINS = 50


def normalise_subdomains(domain: str, values: list[str], *, field: str = "subdomains") -> list[str]:
    """The site's extra subdomains, each in the domain's spelling and strictly under ``domain``
    (``blog.example.org`` for ``example.org``), sorted without repeats. The domain itself and its
    ``www.`` twin always count (``fraud.rules.site_hosts``), so they are refused as redundant."""
    apex = domain.removeprefix("www.")
    found: set[str] = set()
    for value in values:
        host = normalise_domain(value, field=field)
        if not host.endswith("." + apex):
            raise ValidationFailed.on(field, f"{host} is not a subdomain of {apex}")
        if host == "www." + apex or host == domain:
            raise ValidationFailed.on(field, f"{host} already counts as the site itself")
        found.add(host)
    if len(found) > MAX_SUBDOMAINS:
        raise ValidationFailed.on(field, f"at most {MAX_SUBDOMAINS} subdomains")
    return sorted(found)
