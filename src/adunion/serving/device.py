"""Device class (desktop, mobile, tablet) from the user agent, by the ua-parser rules."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from ua_parser import parse_device, parse_os

DeviceClass = Literal["desktop", "mobile", "tablet"]
DEVICE_CLASSES: tuple[DeviceClass, ...] = ("desktop", "mobile", "tablet")

_TABLET_WORDS = ("ipad", "tablet", "kindle", "silk", "playbook", "nexus 7", "nexus 9", "sm-t")
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS"})


@lru_cache(maxsize=8192)
def device_class(user_agent: str) -> DeviceClass:
    """Cached: parsing is ~100 µs and a network sees a small set of distinct user agents."""
    lowered = user_agent.lower()
    if any(word in lowered for word in _TABLET_WORDS):
        return "tablet"
    device = parse_device(user_agent)
    os_ = parse_os(user_agent)
    if os_ is not None and os_.family == "Android" and "mobile" not in lowered:
        return "tablet"  # Android tablets omit "Mobile" from their user agent
    if (device is not None and device.family not in ("Other", "Spider", "Mac")) or (
        os_ is not None and os_.family in _MOBILE_OS
    ):
        return "mobile"
    return "desktop"
