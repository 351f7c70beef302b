from __future__ import annotations

import gettext
import logging
from pathlib import Path

import polib
import pytest
from django.db import connection

from core.logging import TenantSchemaFilter

ROOT = Path(__file__).resolve().parents[2]


def test_pages_are_french_by_default(tenant_a, client_a):
    response = client_a.get("/")
    assert '<html lang="fr">' in response.content.decode()
    assert "Aller au contenu" in response.content.decode()


def test_locale_switcher_turns_the_page_english(tenant_a, client_a):
    response = client_a.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)

    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Skip to content" in page


def test_english_catalogue_is_complete():
    catalogue = polib.pofile(str(ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"))

    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []


@pytest.mark.parametrize("language", ["en"])
def test_compiled_catalogue_matches_its_source(language):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    source = polib.pofile(str(folder / "django.po"))
    with open(folder / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    for entry in source.translated_entries():
        if entry.msgid_plural:
            assert compiled.ngettext(entry.msgid, entry.msgid_plural, 1) == entry.msgstr_plural[0]
        else:
            key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
            assert compiled._catalog.get(key) == entry.msgstr, entry.msgid  # type: ignore[attr-defined]


def test_log_records_carry_the_tenant_schema(tenant_a):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)

    TenantSchemaFilter().filter(record)

    assert record.schema == "alpha" == connection.schema_name
