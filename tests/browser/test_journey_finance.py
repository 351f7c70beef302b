"""Journey 4: finance issues the yearly renewal run, records a bank transfer, exports the FEC.

Three members have a paid term ending within the renewal lead time. The finance user previews and starts
the run from its page; the real Celery worker plans it, renews each member and issues the invoices (PDF +
Factur-X, e-mailed to the billing contacts) while the progress page follows it. Finance then records one
member's transfer on its invoice, and downloads the FEC of the year. Screenshots:
docs/screenshots/finance-*.png (1280×800).
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, expect

from billing.models import Invoice
from mediation.members.membership import term_end
from mediation.members.models import Member, Membership
from tests.billing.helpers import billable_member, finance_user, firm_identity
from tests.browser.conftest import Site, open_page
from tests.browser.journey_helpers import (  # noqa: F401  (fixtures)
    DESKTOP,
    WAIT_SECONDS,
    Mailbox,
    celery_worker_extra_env_fixture,
    journey_fixture,
    journey_mail_dir_fixture,
    journey_public_rows_restored_fixture,
    mailbox_fixture,
    new_page,
    shot,
    staff_log_in,
    submit,
)
from tests.members.membership_helpers import tariffs

NAME = "finance"
FEC_HEADER = (
    "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\t"
    "PieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise"
)


def paid_term_ending_soon(member: Member, today: datetime.date) -> Membership:
    """A one-year term paid at its start, ending in 10 days: within the renewal lead time (30 days)."""
    starts_on = today - datetime.timedelta(days=355)
    paid_at = timezone.make_aware(datetime.datetime.combine(starts_on, datetime.time(12)))
    return Membership.objects.create(
        member=member, term_years=1, starts_on=starts_on, ends_on=term_end(starts_on, 1), paid_at=paid_at
    )


def test_finance_runs_the_renewals_records_a_transfer_and_exports_the_fec(
    journey: Mailbox, firm_site: Site, browser: Browser, browser_context_args: dict[str, Any], tenant_a: Any
) -> None:
    firm_identity()
    tariffs()
    today = timezone.localdate()
    names = ("Boulangerie du Marché", "Garage Central SARL", "Librairie des Quais")
    for name in names:
        paid_term_ending_soon(billable_member(status=Member.Status.ACTIVE, legal_name=name), today)
    finance = finance_user(first_name="Nadia", last_name="Finance")
    page = new_page(browser, browser_context_args, DESKTOP)
    staff_log_in(page, firm_site, finance)

    # The renewal run: preview, start, progress until done (the worker does the work).
    open_page(page, firm_site.url("/staff/facturation/renouvellements/"))
    submit(page, "Prévisualiser")
    expect(page.get_by_text("3 adhérents à renouveler")).to_be_visible()
    shot(page, NAME, 1, "renewal-preview")
    submit(page, "Lancer le traitement (3 adhérents)")
    expect(page.locator("#run-progress-text")).to_contain_text(
        "3 adhérents traités sur 3 : 3 factures émises", timeout=WAIT_SECONDS * 1000
    )
    page.reload()
    expect(page.locator("#run-status")).to_have_text("Terminé")
    shot(page, NAME, 2, "renewal-done")
    connection.set_tenant(tenant_a)
    assert Invoice.objects.filter(purpose="membership", status="issued").count() == 3
    invoice = Invoice.objects.get(member__legal_name=names[0])
    mail = journey.wait_for(to=f"compta-{invoice.member.siren}@entreprise.fr", subject=invoice.number)
    assert any(content.startswith(b"%PDF-") for content in mail.attachments.values()), list(mail.attachments)

    # The invoices: the list, then one member's invoice, paid by transfer.
    open_page(page, firm_site.url("/staff/facturation/"))
    expect(page.get_by_role("link", name=invoice.number)).to_be_visible()
    shot(page, NAME, 3, "invoices")
    with page.expect_navigation():
        page.get_by_role("link", name=invoice.number).click()
    gross = f"{invoice.gross_cents // 100},{invoice.gross_cents % 100:02d}"
    page.get_by_label("Montant reçu (€)").fill(gross)
    page.get_by_label("Moyen de paiement").select_option("transfer")
    page.get_by_label("Référence").fill(f"VIR {invoice.number} BOULANGERIE DU MARCHE")
    shot(page, NAME, 4, "transfer-form", full_page=True)
    submit(page, "Enregistrer le paiement")
    expect(page.get_by_text(f"VIR {invoice.number}").first).to_be_visible()
    shot(page, NAME, 5, "transfer-recorded")
    connection.set_tenant(tenant_a)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_cents) == ("paid", invoice.gross_cents)

    # The FEC of the current year.
    open_page(page, firm_site.url("/staff/facturation/exports/"))
    fec = page.locator("#fec")
    fec.get_by_label("Début de l'exercice").fill(f"{today.year}-01-01")
    fec.get_by_label("Clôture de l'exercice").fill(f"{today.year}-12-31")
    fec.scroll_into_view_if_needed()
    shot(page, NAME, 6, "fec-form")
    with page.expect_download() as download_info:
        fec.get_by_role("button", name="Télécharger le FEC").click()
    download = download_info.value
    assert re.fullmatch(rf"732829320FEC{today.year}1231\.txt", download.suggested_filename)
    lines = Path(download.path()).read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0] == FEC_HEADER
    entries = [line.split("\t") for line in lines[1:] if line]
    assert all(len(entry) == 18 for entry in entries)
    assert {entry[0] for entry in entries} == {"VE", "BQ"}  # 3 invoices in sales, the transfer in the bank journal
    assert sum(1 for entry in entries if entry[0] == "BQ" and entry[8] == invoice.number) == 2
    page.context.close()
