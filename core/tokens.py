"""Secret links: what the database keeps of a token (its SHA-256), so a leaked table gives no usable link."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
