"""The embed tag a webmaster pastes into a page: an async JS tag and a noscript iframe fallback.

The serving side implements ``/tag.js`` and ``/serve/<slot>/frame``; this module only writes the
snippet, so every place that shows a tag (pages, API, CLI) shows the same one.
"""

from __future__ import annotations

from html import escape

from adunion.inventory.formats import SlotFormat

FRAME_SANDBOX = (
    "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
)


def embed_tag(slot_id: str, slot_format: SlotFormat | str, base_url: str) -> str:
    """The HTML snippet for ``slot_id`` served from ``base_url`` (no trailing slash needed)."""
    base = escape(base_url.rstrip("/"), quote=True)
    slot = escape(slot_id, quote=True)
    size = SlotFormat(slot_format).size
    if size is not None:
        width, height = size
        style = f"display:inline-block;width:{width}px;height:{height}px"
        frame_size = f' width="{width}" height="{height}"'
    else:
        style = "display:block"
        frame_size = ' style="width:100%;border:0"'
    return (
        f'<ins class="adunion-slot" data-adunion-slot="{slot}" style="{style}"></ins>'
        f'<script async src="{base}/tag.js"></script>\n'
        f'<noscript><iframe src="{base}/serve/{slot}/frame"{frame_size} frameborder="0"'
        f' scrolling="no" sandbox="{FRAME_SANDBOX}"></iframe></noscript>'
    )
