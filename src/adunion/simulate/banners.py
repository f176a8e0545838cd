"""Generated banner images for demo creatives (real PNGs, drawn with Pillow)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from adunion.inventory.formats import SlotFormat

PALETTE = [
    ((36, 84, 214), (255, 255, 255)),
    ((214, 64, 36), (255, 255, 255)),
    ((23, 121, 74), (255, 255, 255)),
    ((255, 196, 0), (29, 35, 48)),
    ((120, 40, 160), (255, 255, 255)),
    ((16, 24, 40), (126, 162, 255)),
]


def banner_png(slot_format: SlotFormat, headline: str, tagline: str, colour: int) -> bytes:
    """A flat banner of the format's size with a headline, a tagline and a call-to-action box."""
    size = slot_format.size
    assert size is not None, "only fixed-size formats get image banners"
    width, height = size
    background, ink = PALETTE[colour % len(PALETTE)]
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle([(3, 3), (width - 4, height - 4)], outline=ink, width=2)
    draw.text((12, 10), headline, fill=ink)
    draw.text((12, 10 + max(14, height // 5)), tagline, fill=ink)
    box_w, box_h = min(90, width - 24), min(22, max(12, height // 4))
    draw.rectangle([(width - box_w - 12, height - box_h - 10), (width - 12, height - 10)], fill=ink)
    draw.text((width - box_w - 4, height - box_h - 6), "Shop now", fill=background)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
