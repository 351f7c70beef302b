"""Journey 1: a consumer on a phone (390×844) checks eligibility, files a case with a document, receives
the acknowledgement, and follows the case from the e-mail code login.

The live server serves firm A's host; a real Celery worker sends the acknowledgement (e-mail + PDF
letter, rendered by WeasyPrint in the worker). Screenshots: docs/screenshots/consumer-*.png.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect

from tests.billing.helpers import firm_identity
from tests.browser.conftest import Site, open_page
from tests.browser.journey_helpers import (  # noqa: F401  (fixtures)
    PHONE,
    Mailbox,
    celery_worker_extra_env_fixture,
    code_in,
    journey_fixture,
    journey_mail_dir_fixture,
    journey_public_rows_restored_fixture,
    mailbox_fixture,
    new_page,
    shot,
    submit,
)
from tests.factories import PDF_BYTES, MediatorFactory, MemberFactory

NAME = "consumer"
EMAIL = "jeanne.martin@example.org"


def test_a_consumer_files_on_a_phone_and_follows_the_case(
    journey: Mailbox, firm_site: Site, browser: Browser, browser_context_args: dict[str, Any], media_root: Path
) -> None:
    firm_identity()
    MediatorFactory()
    MemberFactory(legal_name="Électro Ménager SAS", trade_name="ElectroPlus", status="active")
    page = new_page(browser, browser_context_args, PHONE)

    # Eligibility: a consumer, a member of the firm, a written complaint 20 days ago, no other proceedings.
    open_page(page, firm_site.url("/deposer/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shot(page, NAME, 1, "eligibility")
    page.check("#id_is_consumer_0")
    page.fill("input[name=business_query]", "Électro")
    submit(page, "Rechercher")
    page.check("input[name=member]")
    expect(page.get_by_label("Électro Ménager SAS", exact=False)).to_be_checked()
    page.check("#id_complained_0")
    page.fill("#id_complained_on", (datetime.date.today() - datetime.timedelta(days=20)).isoformat())
    page.check("#id_other_proceedings_1")
    shot(page, NAME, 2, "eligibility-answered", full_page=True)
    submit(page, "Continuer")

    # About you.
    expect(page).to_have_url(firm_site.url("/deposer/coordonnees/"))
    page.get_by_label("Prénom", exact=False).first.fill("Jeanne")
    page.fill("#id_consumer_last_name", "Martin")
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    shot(page, NAME, 3, "you")
    submit(page, "Enregistrer et continuer")

    # The dispute.
    expect(page).to_have_url(firm_site.url("/deposer/litige/"))
    page.get_by_label("Objet du litige").select_option(index=1)
    page.get_by_label("Décrivez le litige").fill("Lave-linge commandé et payé le 2 mars, jamais livré.")
    shot(page, NAME, 4, "dispute")
    submit(page, "Enregistrer et continuer")

    # A document: the written complaint.
    expect(page).to_have_url(firm_site.url("/deposer/documents/"))
    complaint = media_root / "reclamation.pdf"
    complaint.write_bytes(PDF_BYTES)
    page.get_by_label("Fichier").set_input_files(complaint)
    submit(page, "Ajouter ce fichier")
    expect(page.get_by_text("reclamation.pdf").first).to_be_visible()
    shot(page, NAME, 5, "documents")
    submit(page, "Continuer")

    # Review, consent, send.
    expect(page).to_have_url(firm_site.url("/deposer/verification/"))
    page.check("input[name=consent]")
    shot(page, NAME, 6, "review")
    submit(page, "Envoyer ma demande")
    expect(page).to_have_url(firm_site.url("/deposer/envoyee/"))
    reference = page.locator(".reference").inner_text().strip()
    assert reference
    expect(page.get_by_text(f"Un accusé de réception a été envoyé à {EMAIL}")).to_be_visible()
    shot(page, NAME, 7, "sent")

    # The acknowledgement, sent by the worker: an e-mail naming the reference, with its PDF letter.
    acknowledgement = journey.wait_for(to=EMAIL, subject=reference)
    pdfs = [content for name, content in acknowledgement.attachments.items() if name.endswith(".pdf")]
    assert pdfs and all(content.startswith(b"%PDF-") for content in pdfs), list(acknowledgement.attachments)

    # Following the case: e-mail, code from the e-mail, the case list, the case.
    with page.expect_navigation():
        page.get_by_role("link", name="Suivre mon dossier").click()
    expect(page).to_have_url(firm_site.url("/suivi/"))
    page.get_by_label("Votre adresse e-mail").fill(EMAIL)
    shot(page, NAME, 8, "follow-login")
    before = journey.count()
    submit(page, "Recevoir un code")
    expect(page).to_have_url(firm_site.url("/suivi/code/"))
    code = code_in(journey.wait_for(to=EMAIL, after=before))
    page.get_by_label("Code reçu par e-mail").fill(code)
    shot(page, NAME, 9, "follow-code")
    submit(page, "Accéder à mon espace")

    expect(page).to_have_url(firm_site.url("/suivi/dossiers/"))
    expect(page.get_by_role("link", name=reference).first).to_be_visible()
    shot(page, NAME, 10, "my-cases")
    with page.expect_navigation():
        page.get_by_role("link", name=reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.get_by_text("ElectroPlus").first).to_be_visible()
    expect(page.get_by_text("reclamation.pdf").first).to_be_visible()
    shot(page, NAME, 11, "case", full_page=True)

    # The acknowledgement letter is in the case's documents too: it downloads as a PDF.
    letter = page.locator(".file-list a").filter(has_not_text="reclamation.pdf").first
    with page.expect_download() as download_info:
        letter.click()
    assert Path(download_info.value.path()).read_bytes().startswith(b"%PDF-")
    page.context.close()
