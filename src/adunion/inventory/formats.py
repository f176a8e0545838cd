"""Ad slot formats: the IAB fixed sizes, responsive, and text links."""

from __future__ import annotations

import enum


class SlotFormat(enum.StrEnum):
    MEDIUM_RECTANGLE = "300x250"
    LEADERBOARD = "728x90"
    WIDE_SKYSCRAPER = "160x600"
    MOBILE_BANNER = "320x50"
    HALF_PAGE = "300x600"
    BILLBOARD = "970x250"
    RESPONSIVE = "responsive"
    TEXT = "text"

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) in CSS pixels, or None for formats without a fixed size."""
        width, sep, height = self.value.partition("x")
        if not sep or not width.isdigit() or not height.isdigit():
            return None
        return int(width), int(height)

    @property
    def label(self) -> str:
        if self is SlotFormat.RESPONSIVE:
            return "Responsive"
        if self is SlotFormat.TEXT:
            return "Text link"
        return f"{self.value} {self.name.replace('_', ' ').title()}"


FIXED_SIZES = tuple(f for f in SlotFormat if f.size is not None)
