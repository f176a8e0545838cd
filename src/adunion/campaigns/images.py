"""Checking uploaded creative images by really decoding them (Pillow), never by trusting names."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from adunion.inventory.formats import SlotFormat
from adunion.kernel.errors import AppError, FieldError, ValidationFailed

MAX_IMAGE_BYTES = 1024 * 1024
# Pillow's format name for each content type we accept.
PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}


def too_large(limit: int = MAX_IMAGE_BYTES) -> AppError:
    return AppError(
        f"file: larger than {limit // 1024} KiB",
        [FieldError("file", f"must be at most {limit // 1024} KiB")],
        413,
        "payload_too_large",
    )


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    width: int
    height: int


def check_image(data: bytes, content_type: str, slot_format: SlotFormat) -> CheckedImage:
    """The image's facts, or a field-named error: wrong type, undecodable, or wrong size."""
    if len(data) > MAX_IMAGE_BYTES:
        raise too_large()
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared == "image/jpg":
        declared = "image/jpeg"
    if declared not in PILLOW_FORMATS:
        raise ValidationFailed.on("file", "must be a PNG, JPEG, GIF or WebP image")
    size = slot_format.size
    if size is None:
        raise ValidationFailed.on("format", "image creatives need a fixed IAB size")
    if not data:
        raise ValidationFailed.on("file", "is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                actual = image.format
                if actual != PILLOW_FORMATS[declared]:
                    raise ValidationFailed.on(
                        "file", f"is not a {PILLOW_FORMATS[declared]} image as its type claims"
                    )
                # Compare sizes before decoding pixels, so a huge image is never expanded.
                if image.size != size:
                    width, height = image.size
                    raise ValidationFailed.on(
                        "file",
                        f"is {width}x{height} pixels; the {slot_format.value} format needs "
                        f"{size[0]}x{size[1]}",
                    )
                image.load()
    except ValidationFailed:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise ValidationFailed.on("file", "is not a readable image") from None
    return CheckedImage(content_type=declared, width=size[0], height=size[1])
