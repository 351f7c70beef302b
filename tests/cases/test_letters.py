"""The case letters: rendered with their mandatory mentions, stored as PDFs for their recipient, sent once."""

from __future__ import annotations

import datetime
import html
import re
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import dateformat, timezone, translation

from accounts.models import User
from mediation.cases import letters, services, tasks
from mediation.cases.letters import Kind
from mediation.cases.models import (
    VISIBLE_CHANNELS,
    CaseDocument,
    CaseEvent,
    Channel,
    Letter,
    LetterTemplate,
    Party,
    Status,
)
from tests.factories import (
    ContactFactory,
    MediatorFactory,
    MemberFactory,
    UserFactory,
    in_mediation_case,
    opened_case,
    received_case,
)

pytestmark = pytest.mark.usefixtures("media_root", "eager_celery")


def is_pdfa(content: bytes) -> bool:
    """Whether the PDF carries PDF/A identification (its XMP may sit in a compressed stream)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.DOTALL)
    for stream in [content, *streams]:
        try:
            data = stream if stream is content else zlib.decompress(stream)
        except zlib.error:
            continue
        if b"pdfaid:part" in data or b'pdfaid:part="3"' in data:
            return True
    return False


def fr_date(day: datetime.date) -> str:
    with translation.override("fr"):
        return dateformat.format(day, "j F Y")


@pytest.fixture
def mediator(tenant_a: Any) -> User:
    user = UserFactory(role=User.Role.MEDIATOR, first_name="Hélène", last_name="Arnaud")
    MediatorFactory(first_name="Hélène", last_name="Arnaud", user=user)
    return user


@pytest.fixture
def member(tenant_a: Any) -> Any:
    member = MemberFactory(legal_name="Boutique Exemple SARL")
    ContactFactory(member=member, roles=["legal_representative"], email="patron@boutique.fr")
    ContactFactory(member=member, roles=["mediation_correspondent"], email="litiges@boutique.fr")
    return member


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Calls a service and runs its after-commit work (the letters task, eagerly)."""

    def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return call


def letter_mails(mailoutbox: list[Any]) -> list[Any]:
    """The e-mails that carry a letter (other mails, e.g. the satisfaction survey, are not this module's)."""
    subjects = set(Letter.objects.values_list("subject", flat=True))
    return [mail for mail in mailoutbox if mail.subject in subjects]


def mail_to(mailoutbox: list[Any], address: str) -> Any:
    found = [mail for mail in letter_mails(mailoutbox) if address in mail.to]
    assert len(found) == 1, [mail.to for mail in mailoutbox]
    return found[0]


def pdf_html(case: Any, kind: str, recipient: str) -> str:
    """The HTML the stored PDF was made from (the PDF itself is checked to be a PDF)."""
    letter = Letter.objects.get(case=case, kind=kind, recipient=recipient)
    return letters.render_letter(event=letter.event, kind=kind, recipient=recipient).html


def pdf_text(case: Any, kind: str, recipient: str) -> str:
    """The text of the PDF stored on the case, as a reader would extract it."""
    from pypdf import PdfReader

    letter = Letter.objects.get(case=case, kind=kind, recipient=recipient)
    with letter.document.file.open("rb") as handle:
        return " ".join(page.extract_text() for page in PdfReader(handle).pages)


def assert_mentions(texts: list[str], phrases: list[str]) -> None:
    for text in texts:
        flat = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
        for phrase in phrases:
            assert phrase in flat, f"{phrase!r} missing"


# --- Acknowledgement ------------------------------------------------------------------------


def test_acknowledgement_holds_its_mentions_and_attaches_letter_and_request(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = run(received_case, member)

    mail = mail_to(mailoutbox, "jeanne.martin@example.org")
    assert case.reference in mail.subject
    received = timezone.localdate(case.received_at)
    phrases = [
        case.reference,
        f"le {fr_date(received)}",
        "trois semaines",
        f"au plus tard le {fr_date(case.admissibility_due_on)}",
        "gratuite pour vous (article L612-1",
        "/suivi/",
        "Hélène Arnaud",
    ]
    assert_mentions([mail.body, pdf_html(case, Kind.ACKNOWLEDGEMENT, Party.CONSUMER)], phrases)
    names = [name for name, _content, _type in mail.attachments]
    assert names == [f"{case.reference}-accuse-de-reception-de-la-demande.pdf", f"demande-{case.reference}.pdf"]
    assert all(content.startswith(b"%PDF-") for _name, content, _type in mail.attachments)
    assert all(is_pdfa(content) for _name, content, _type in mail.attachments)
    assert "odr" not in mail.body.lower()


def test_acknowledgement_pdf_is_stored_for_the_consumer_only(tenant_a: Any, member: Any, run: Any) -> None:
    case = run(received_case, member)

    letter = Letter.objects.get(case=case, kind=Kind.ACKNOWLEDGEMENT)
    assert letter.sent_at is not None
    assert letter.recipient_email == "jeanne.martin@example.org"
    document = letter.document
    assert document is not None
    assert document.kind == CaseDocument.Kind.LETTER
    assert document.channel == Channel.CONSUMER
    assert document.channel in VISIBLE_CHANNELS[Party.CONSUMER]
    assert document.channel not in VISIBLE_CHANNELS[Party.BUSINESS]
    assert document.file.read().startswith(b"%PDF-")
    line = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.LETTER)
    assert line.channel == Channel.CONSUMER
    assert line.data["letter"] == letter.pk


def test_request_copy_lists_the_filing(tenant_a: Any, member: Any, run: Any) -> None:
    case = run(received_case, member)
    event = Letter.objects.get(case=case).event
    page = {"case": case, "firm_address": [], "recipient_address": []}
    html = letters.request_copy_html(case=case, page=page)
    assert_mentions([html], ["Boutique Exemple SARL", "Jeanne Martin", "Commande jamais livrée", "reclamation.pdf"])
    assert "129,90" in html
    assert event is not None


# --- Each letter holds its mandatory mentions ----------------------------------------------------


def test_documents_request_lists_the_missing_documents(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = received_case(member)
    run(services.request_documents, case=case, by=mediator, what="La facture d'achat du 3 mars.")
    mail = mail_to(mailoutbox, case.consumer_email)
    assert_mentions(
        [mail.body, pdf_html(case, Kind.DOCUMENTS_REQUEST, Party.CONSUMER)],
        [case.reference, "La facture d'achat du 3 mars.", "/suivi/"],
    )


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("no_prior_complaint", "Pas de réclamation écrite préalable auprès du professionnel"),
        ("too_late", "plus d'un an après la réclamation écrite"),
        ("out_of_scope", "hors du champ de compétence du médiateur"),
    ],
)
def test_inadmissibility_states_the_reason_and_the_way_to_court(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any], reason: str, label: str
) -> None:
    case = received_case(member)
    run(services.declare_inadmissible, case=case, by=mediator, reason=reason)
    mail = mail_to(mailoutbox, case.consumer_email)
    assert_mentions(
        [mail.body, pdf_html(case, Kind.INADMISSIBILITY, Party.CONSUMER)],
        [label, "article L612-2", "saisir le juge compétent", "conciliateur de justice"],
    )


def test_reorientation_says_to_whom_and_why(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = received_case(member)
    run(services.reorient, case=case, by=mediator, to="Médiateur national de l'énergie", note="Contrat d'énergie.")
    mail = mail_to(mailoutbox, case.consumer_email)
    assert_mentions([mail.body], ["Médiateur national de l'énergie", "Pourquoi : Contrat d'énergie."])


def test_seizure_notices_to_both_parties(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = run(services.open_case, case=received_case(member), by=mediator)
    opened = timezone.localdate(case.opened_at)
    common = [
        case.reference,
        "à tout moment (article R612-2",
        "prescription",
        "article 2238 du Code civil",
        fr_date(opened),
        "90 jours",
        f"au plus tard le {fr_date(case.outcome_due_on)}",
    ]
    consumer = mail_to(mailoutbox, case.consumer_email)
    assert_mentions([consumer.body, pdf_html(case, Kind.SEIZURE_CONSUMER, Party.CONSUMER)], common)
    business = mail_to(mailoutbox, "litiges@boutique.fr")  # the correspondent, not the legal representative
    answer_by = fr_date(opened + datetime.timedelta(days=15))
    assert_mentions(
        [business.body, pdf_html(case, Kind.SEIZURE_BUSINESS, Party.BUSINESS)],
        [*common, "Vous pouvez refuser d'entrer en médiation", f"avant le {answer_by}", "/suivi/"],
    )
    business_letter = Letter.objects.get(case=case, kind=Kind.SEIZURE_BUSINESS)
    assert business_letter.document is not None
    assert business_letter.document.channel == Channel.BUSINESS
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.LETTER, channel=Channel.BUSINESS).count() == 1


def test_extension_gives_reason_and_new_date(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = in_mediation_case(mediator, member)
    until = case.outcome_due_on + datetime.timedelta(days=30)
    run(services.extend, case=case, by=mediator, until=until, reason="Une expertise technique est nécessaire.")
    for address in (case.consumer_email, "litiges@boutique.fr"):
        assert_mentions(
            [mail_to(mailoutbox, address).body],
            ["Une expertise technique est nécessaire.", fr_date(until), "R612-5"],
        )


def test_proposal_holds_every_r612_4_mention(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = in_mediation_case(mediator, member)
    due = timezone.localdate() + datetime.timedelta(days=20)
    run(
        services.send_proposal,
        case=case,
        by=mediator,
        text="Remboursement de 129,90 € sous 15 jours.",
        answer_due_on=due,
    )
    phrases = [
        "Remboursement de 129,90 € sous 15 jours.",
        "libre d'accepter ou de refuser",
        "n'exclut pas la possibilité d'un recours devant une juridiction",
        "différente de la décision qui serait rendue par un juge",
        "son exécution peut être demandée au juge",
        f"jusqu'au {fr_date(due)}",
        "/suivi/",
    ]
    for address, recipient in ((case.consumer_email, Party.CONSUMER), ("litiges@boutique.fr", Party.BUSINESS)):
        assert_mentions([mail_to(mailoutbox, address).body, pdf_html(case, Kind.PROPOSAL, recipient)], phrases)
        # The stored PDF itself, read back as text: what the parties receive holds every mention.
        assert_mentions([pdf_text(case, Kind.PROPOSAL, recipient).replace("’", "'")], phrases[1:5])


def test_closure_says_when_the_limitation_runs_again(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = in_mediation_case(mediator, member)
    case = run(services.close, case=case, by=mediator, outcome="agreement", note="Remboursement convenu.")
    until = case.limitation_runs_again_until
    assert until is not None
    phrases = ["Accord des parties", "six mois", "article 2238", f"jusqu'au {fr_date(until)}"]
    assert_mentions(
        [mail_to(mailoutbox, case.consumer_email).body, pdf_html(case, Kind.CLOSURE, Party.CONSUMER)], phrases
    )
    assert_mentions([mail_to(mailoutbox, "litiges@boutique.fr").body], phrases)


def test_business_refusal_is_told_to_the_consumer(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = opened_case(mediator, member)
    case = run(services.record_business_answer, case=case, accepts=False)
    assert [mail.to for mail in letter_mails(mailoutbox)] == [[case.consumer_email]]
    assert_mentions(
        [letter_mails(mailoutbox)[0].body],
        ["a refusé d'entrer en médiation", "saisir le juge compétent", fr_date(case.limitation_runs_again_until)],
    )


def test_withdrawal_and_interruption_letters(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    withdrawn = in_mediation_case(mediator, member)
    run(services.withdraw, case=withdrawn, party=Party.CONSUMER)
    assert_mentions([mail_to(mailoutbox, withdrawn.consumer_email).body], ["Vous vous êtes retiré(e)", "R612-2"])
    assert_mentions([mail_to(mailoutbox, "litiges@boutique.fr").body], ["Jeanne Martin s'est retiré(e)", "six mois"])

    mailoutbox.clear()
    interrupted = in_mediation_case(mediator, member, consumer_email="autre@example.org")
    run(services.interrupt, case=interrupted, by=mediator, note="Un tribunal a été saisi du litige.")
    assert_mentions([mail_to(mailoutbox, "autre@example.org").body], ["Un tribunal a été saisi du litige.", "six mois"])


def test_new_message_never_copies_the_message(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = in_mediation_case(mediator, member)
    run(services.post_message, case=case, party=Party.STAFF, by=mediator, channel=Channel.CONSUMER, body="Secret X42")
    mail = mail_to(mailoutbox, case.consumer_email)
    assert "Secret X42" not in mail.body
    assert "/suivi/" in mail.body
    assert mail.attachments == []
    assert len(mailoutbox) == 1  # the business does not hear of the consumer's channel


# --- Once, to post, customised ---------------------------------------------------------------


def test_rerunning_the_task_sends_nothing_twice(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = run(opened_case, mediator, member)
    sent = len(mailoutbox)
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.STATUS, after=Status.OPENED)

    assert tasks.send_letters(event.pk) == 0
    assert letters.send_for_event(event) == []
    assert len(mailoutbox) == sent
    assert Letter.objects.filter(event=event).count() == 2
    assert CaseDocument.objects.filter(case=case, kind=CaseDocument.Kind.LETTER, letter__event=event).count() == 2


def test_an_unsent_letter_is_sent_on_the_next_run(
    tenant_a: Any, member: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    case = run(received_case, member)
    letter = Letter.objects.get(case=case)
    Letter.objects.filter(pk=letter.pk).update(sent_at=None)  # as if the e-mail had failed
    mailoutbox.clear()

    assert len(letters.send_for_event(letter.event)) == 1
    assert len(mailoutbox) == 1
    assert CaseDocument.objects.filter(case=case, kind=CaseDocument.Kind.LETTER).count() == 1


def test_business_without_email_gets_a_letter_to_post(
    tenant_a: Any, mediator: User, run: Any, mailoutbox: list[Any]
) -> None:
    member = MemberFactory()
    ContactFactory(member=member, email="", roles=["mediation_correspondent"])
    case = run(services.open_case, case=received_case(member), by=mediator)

    letter = Letter.objects.get(case=case, kind=Kind.SEIZURE_BUSINESS)
    assert letter.recipient_email == ""
    assert letter.sent_at is None
    assert letter.document is not None and letter.document.file.read().startswith(b"%PDF-")
    line = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.LETTER, channel=Channel.BUSINESS)
    assert "à envoyer par courrier" in line.note
    assert line.data["to_post"] is True
    assert [mail.to for mail in letter_mails(mailoutbox)] == [[case.consumer_email]]

    assert letters.send_for_event(letter.event) == []  # stored once, not again


def test_firm_template_is_used(tenant_a: Any, member: Any, run: Any, mailoutbox: list[Any]) -> None:
    LetterTemplate.objects.create(
        kind=Kind.ACKNOWLEDGEMENT,
        subject="Bien reçu : {{ reference }}",
        body="Cher {{ recipient_name }}, dossier {{ reference }} reçu le {{ received_on }}, "
        "réponse avant le {{ admissibility_due_on }}. Gratuit.",
    )
    case = run(received_case, member)
    mail = mail_to(mailoutbox, case.consumer_email)
    assert mail.subject == f"Bien reçu : {case.reference}"
    assert mail.body.startswith("Cher Jeanne Martin, dossier")


def test_broken_firm_template_falls_back_to_the_default(
    tenant_a: Any, member: Any, run: Any, mailoutbox: list[Any]
) -> None:
    LetterTemplate.objects.create(kind=Kind.ACKNOWLEDGEMENT, subject="{% if %}", body="x")
    case = run(received_case, member)
    assert "Accusé de réception" in mail_to(mailoutbox, case.consumer_email).subject


def test_letters_render_in_french_whatever_the_active_language(
    tenant_a: Any, member: Any, run: Any, mailoutbox: list[Any]
) -> None:
    with translation.override("en"):
        case = run(received_case, member)
    body = mail_to(mailoutbox, case.consumer_email).body
    assert fr_date(case.admissibility_due_on) in body
    line = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.LETTER)
    assert "envoyé par e-mail" in line.note
