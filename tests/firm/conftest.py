from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


@pytest.fixture
def media_root(settings, tmp_path) -> Iterator[Path]:
    """Uploads go to a temporary MEDIA_ROOT (the tenant storage caches its root: reset it)."""
    settings.MEDIA_ROOT = str(tmp_path)
    default_storage._setup()
    yield tmp_path
    default_storage._setup()


def png_upload(name: str = "logo.png", size: tuple[int, int] = (4, 4)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (29, 78, 137)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")
