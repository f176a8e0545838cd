"""A guarded HTTP fetcher for site verification: our server fetching a URL a user chose is an
SSRF risk, so every hop is resolved first and refused unless every address is public.

- Names are resolved here, checked, and the connection goes to the checked address (the Host
  header and TLS SNI carry the name), so DNS cannot change between check and connect.
- Private, loopback, link-local, multicast, reserved and unspecified addresses are refused.
  ``allow_private`` (a setting, for LAN installs and tests) admits private and loopback ones;
  link-local (cloud metadata at 169.254.169.254) and the rest stay refused regardless.
- At most ``max_redirects`` redirects, each hop checked again; a timeout; a body cap.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx2 as httpx

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 512 * 1024
DEFAULT_MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "adunion-site-verifier/1.0"


class FetchRefused(Exception):
    """The fetch was not made or not completed; ``reason`` says why, for the webmaster."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchPolicy:
    allow_private: bool = False
    # Host name -> IP address, used instead of DNS (like curl --resolve); still checked.
    resolve: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS


@dataclass(frozen=True)
class FetchResult:
    url: str
    status_code: int
    content_type: str
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def address_allowed(address: str, *, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    if ip.is_global:
        return True
    if ip.is_loopback:
        return allow_private
    return allow_private and ip.is_private and not ip.is_reserved


def _resolve(host: str, port: int, policy: FetchPolicy) -> str:
    """The address to connect to, after checking every address the name resolves to."""
    if host in policy.resolve:
        addresses = [policy.resolve[host]]
    else:
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError):
                raise FetchRefused(f"{host} does not resolve") from None
            addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchRefused(f"{host} does not resolve")
    for address in addresses:
        if not address_allowed(address, allow_private=policy.allow_private):
            raise FetchRefused(f"{host} resolves to a non-public address ({address}); refused")
    return addresses[0]


def fetch(url: str, policy: FetchPolicy) -> FetchResult:
    """GET ``url`` under the policy; :class:`FetchRefused` on any refusal or network failure."""
    current = url
    with httpx.Client(
        follow_redirects=False, timeout=policy.timeout, trust_env=False, verify=True
    ) as client:
        for _hop in range(policy.max_redirects + 1):
            response = _fetch_one(client, current, policy)
            if isinstance(response, FetchResult):
                return response
            current = response
        raise FetchRefused(f"more than {policy.max_redirects} redirects")


def _fetch_one(client: httpx.Client, url: str, policy: FetchPolicy) -> FetchResult | str:
    """One hop: the result, or the next URL when the answer is a redirect."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        raise FetchRefused(f"invalid URL {url!r}") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchRefused(f"only http and https URLs are fetched, not {url!r}")
    port = target.port or (443 if target.scheme == "https" else 80)
    address = _resolve(target.host, port, policy)
    ip = ipaddress.ip_address(address)
    connect_host = f"[{address}]" if ip.version == 6 else address
    host_header = target.host if target.port is None else f"{target.host}:{target.port}"
    direct = target.copy_with(host=connect_host.strip("[]"))
    headers = {"Host": host_header, "User-Agent": USER_AGENT, "Accept": "*/*"}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with client.stream("GET", direct, headers=headers, extensions=extensions) as response:
            if response.status_code in REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchRefused(f"redirect without a Location from {url}")
                return urljoin(url, location)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchRefused(f"the answer is larger than {policy.max_bytes} bytes")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > policy.max_bytes:
                    raise FetchRefused(f"the answer is larger than {policy.max_bytes} bytes")
            return FetchResult(
                url=url,
                status_code=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body=bytes(body),
            )
    except httpx.TimeoutException:
        raise FetchRefused(f"{url} did not answer within {policy.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchRefused(f"{url} could not be fetched ({exc.__class__.__name__})") from None
