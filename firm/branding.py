"""The firm's colours and logo on its own pages (and, later, its e-mails and PDFs)."""

from __future__ import annotations

import hashlib

from firm.models import FirmProfile

# Pure black and white: for any background one of them reaches 4.58:1 at least (WCAG AA).
DARK_TEXT = "#000000"
LIGHT_TEXT = "#ffffff"


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    high, low = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_on(background: str) -> str:
    """White or near-black, whichever reads better on `background` (WCAG contrast)."""
    return LIGHT_TEXT if contrast_ratio(background, LIGHT_TEXT) >= contrast_ratio(background, DARK_TEXT) else DARK_TEXT


def theme_css(profile: FirmProfile) -> str:
    primary, secondary = profile.primary_color.lower(), profile.secondary_color.lower()
    return (
        ":root {\n"
        f"  --brand: {primary};\n"
        f"  --brand-contrast: {text_on(primary)};\n"
        f"  --accent: {secondary};\n"
        f"  --accent-contrast: {text_on(secondary)};\n"
        "}\n"
    )


def etag_for(content: str | bytes) -> str:
    data = content.encode() if isinstance(content, str) else content
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
