"""Journey 3: a case from receipt to the notice of seizure to a proposal, and the parties' answers.

The case officer finds the new case in the inbox and assigns it to the mediator; the mediator (who holds
cases.decide) notifies the seizure; the business, from the parties' space with an e-mail code, agrees to
take part; the mediator sends a proposal; the consumer accepts it, then the business: the case closes as
"proposal accepted". Letters (e-mail + PDF) go out through the real Celery worker. Screenshots:
docs/screenshots/case-officer-*.png (1280×800).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from playwright.sync_api import Browser, Page, expect

from mediation.cases.models import Case
from tests.billing.helpers import firm_identity
from tests.browser.conftest import Site, open_page
from tests.browser.journey_helpers import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    Mailbox,
    celery_worker_extra_env_fixture,
    journey_fixture,
    journey_mail_dir_fixture,
    journey_public_rows_restored_fixture,
    mailbox_fixture,
    new_page,
    party_log_in,
    shot,
    staff_action,
    staff_log_in,
    submit,
)
from tests.factories import ContactFactory, MediatorFactory, MemberFactory, UserFactory, received_case

NAME = "case-officer"
CONSUMER = "jeanne.martin@example.org"
BUSINESS = "sav@electroplus.fr"
PROPOSAL = "ElectroPlus rembourse 129,90 € à Mme Martin sous 15 jours, contre la restitution du colis s'il arrive."


def open_case_page(page: Page, site: Site, reference: str) -> None:
    open_page(page, site.url("/staff/dossiers/"))
    with page.expect_navigation():
        page.get_by_role("link", name=reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def status_of(reference: str, tenant: Any) -> tuple[str, str]:
    connection.set_tenant(tenant)
    case = Case.objects.get(reference=reference)
    return case.status, case.outcome


def test_a_case_goes_from_receipt_to_seizure_to_an_accepted_proposal(
    journey: Mailbox, firm_site: Site, browser: Browser, browser_context_args: dict[str, Any], tenant_a: Any
) -> None:
    firm_identity()
    MediatorFactory(first_name="Hélène", last_name="Arnaud")
    member = MemberFactory(legal_name="Électro Ménager SAS", trade_name="ElectroPlus", status="active")
    ContactFactory(member=member, roles=["mediation_correspondent"], first_name="Paul", email=BUSINESS)
    officer = UserFactory(role="case_officer", first_name="Camille", last_name="Durand")
    mediator = UserFactory(role="mediator", first_name="Hélène", last_name="Arnaud")
    case = received_case(member, consumer_email=CONSUMER)  # filed online (journey 1 files through the pages)
    reference = case.reference
    journey.wait_for(to=CONSUMER, subject=reference)  # the acknowledgement, sent by the worker

    # The case officer: the inbox, the case, assigned to the mediator.
    staff = new_page(browser, browser_context_args, DESKTOP)
    staff_log_in(staff, firm_site, officer)
    open_page(staff, firm_site.url("/staff/dossiers/"))
    expect(staff.get_by_role("link", name=reference).first).to_be_visible()
    shot(staff, NAME, 1, "inbox")
    open_case_page(staff, firm_site, reference)
    shot(staff, NAME, 2, "case-received")
    expect(staff.locator("#action-open")).to_have_count(0)  # the seizure is the mediator's decision
    staff_action(
        staff, "assign", lambda form: form.get_by_label("Chargé du dossier").select_option(label="Hélène Arnaud")
    )
    expect(staff.get_by_text("L'attribution est enregistrée.")).to_be_visible()
    shot(staff, NAME, 3, "assigned")
    staff.context.close()

    # The mediator notifies the seizure: letters to both parties (worker).
    desk = new_page(browser, browser_context_args, DESKTOP)
    staff_log_in(desk, firm_site, mediator)
    open_case_page(desk, firm_site, reference)
    before = journey.count()
    staff_action(desk, "open", lambda form: form.get_by_label("Remarque").fill("Dossier complet et recevable."))
    expect(desk.get_by_text("La saisine est notifiée aux parties")).to_be_visible()
    shot(desk, NAME, 4, "seizure-notified")
    assert status_of(reference, tenant_a)[0] == "opened"
    for party in (BUSINESS, CONSUMER):  # the notice of seizure, each with its PDF letter
        notice = journey.wait_for(to=party, subject=reference, after=before)
        assert any(content.startswith(b"%PDF-") for content in notice.attachments.values()), notice.subject

    # The business agrees to take part, from the parties' space.
    business = new_page(browser, browser_context_args, DESKTOP)
    party_log_in(business, firm_site, journey, BUSINESS, business=True)
    with business.expect_navigation():
        business.get_by_role("link", name=reference).first.click()
    expect(business.get_by_role("heading", name="Acceptez-vous d'entrer en médiation ?")).to_be_visible()
    shot(business, NAME, 5, "business-asked-to-take-part")
    business.get_by_label("J'accepte").first.check()
    submit(business, "Envoyer ma réponse")
    assert status_of(reference, tenant_a)[0] == "in_mediation"

    # The mediator sends a proposal (answer date: the default 30 days).
    desk.reload()
    staff_action(desk, "send_proposal", lambda form: form.get_by_label("Proposition de solution").fill(PROPOSAL))
    expect(desk.get_by_text("La proposition de solution est envoyée aux parties.")).to_be_visible()
    shot(desk, NAME, 6, "proposal-sent")
    assert status_of(reference, tenant_a)[0] == "proposal_sent"

    # The consumer accepts it on a phone, then the business: the case is closed, proposal accepted.
    consumer = new_page(browser, browser_context_args, PHONE)
    party_log_in(consumer, firm_site, journey, CONSUMER)
    with consumer.expect_navigation():
        consumer.get_by_role("link", name=reference).first.click()
    expect(consumer.get_by_text(PROPOSAL)).to_be_visible()
    shot(consumer, NAME, 7, "consumer-reads-the-proposal", full_page=True)
    consumer.get_by_label("J'accepte").first.check()
    submit(consumer, "Envoyer ma réponse")
    expect(consumer.get_by_text("Votre réponse a été enregistrée.")).to_be_visible()
    assert status_of(reference, tenant_a)[0] == "proposal_sent"

    business.reload()
    business.get_by_label("J'accepte").first.check()
    submit(business, "Envoyer ma réponse")
    assert status_of(reference, tenant_a) == ("closed", "proposal_accepted")

    desk.reload()
    expect(desk.locator("#case-status")).to_have_text("Clos")
    expect(desk.get_by_text("Acceptée", exact=True)).to_have_count(2)  # the consumer's and the business's answers
    shot(desk, NAME, 8, "closed-accepted", full_page=True)
    for context in (desk.context, business.context, consumer.context):
        context.close()
