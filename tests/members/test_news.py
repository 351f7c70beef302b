"""News to members by segment: who receives it, sending in batches, unsubscribing, pages and permissions."""

from __future__ import annotations

import datetime
import re
import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core import mail as django_mail
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from accounts.models import User
from core.models import AuditEntry
from firm.selectors import email_identity
from mediation.members import news
from mediation.members.models import Contact, Member, Membership, News, NewsDelivery
from mediation.members.news_tasks import send_news_batch
from tests.factories import AdminFactory, ContactFactory, GroupFactory, MemberFactory, UserFactory

TODAY = datetime.date(2026, 3, 1)
URL_RE = re.compile(r"https?://[^\s>]+/actualites/desabonnement/[^\s/>]+/")


def covered(*, ends_in: int = 300, started: int = 30, contacts: int = 1, **fields: Any) -> Member:
    """A member covered on TODAY by a paid term ending `ends_in` days later, with `contacts` e-mail contacts."""
    member = MemberFactory(status=Member.Status.ACTIVE, **fields)
    Membership.objects.create(
        member=member,
        starts_on=TODAY - datetime.timedelta(days=started),
        ends_on=TODAY + datetime.timedelta(days=ends_in),
        paid_at=timezone.now(),
    )
    for _index in range(contacts):
        ContactFactory(member=member)
    return member


def emails(segment: str = "all", value: str = "") -> list[str]:
    return sorted(c.email for c in news.recipient_contacts(segment=segment, value=value, today=TODAY))


def draft(segment: str = "all", value: str = "", by: User | None = None) -> News:
    return news.create_news(
        by=by or AdminFactory(),
        subject="Nouveaux tarifs 2026",
        body="Bonjour,\n\nLes tarifs changent au 1er avril.",
        segment=segment,
        segment_value=value,
    )


@pytest.fixture
def today() -> Iterator[datetime.date]:
    with time_machine.travel(datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC), tick=True):
        yield TODAY


@pytest.fixture
def admin(tenant_a: Any) -> User:
    return AdminFactory()


def send_all(item: News, by: User, capture: Any) -> None:
    with capture(execute=True):
        news.send_news(news=item, by=by)


# --- Segments ----------------------------------------------------------------------------------


def test_all_reaches_the_contacts_of_covered_members_only(tenant_a, today):
    member = covered()
    prospect = MemberFactory(status=Member.Status.PROSPECT)
    ContactFactory(member=prospect)
    unpaid = MemberFactory(status=Member.Status.RENEWAL_DUE)
    Membership.objects.create(member=unpaid, starts_on=TODAY, ends_on=TODAY + datetime.timedelta(days=365))
    ContactFactory(member=unpaid)
    ended = covered(started=400, ends_in=-1)
    assert emails() == [member.contacts.get().email]
    assert ended.contacts.exists()


def test_inactive_opted_out_and_address_less_contacts_are_left_out(tenant_a, today):
    member = covered(contacts=1)
    kept = member.contacts.get()
    ContactFactory(member=member, is_active=False)
    ContactFactory(member=member, news_opt_out_at=timezone.now())
    ContactFactory(member=member, email="")
    assert emails() == [kept.email]


def test_an_address_is_written_to_once_and_an_opt_out_covers_it(tenant_a, today):
    first, second = covered(contacts=0, legal_name="A SARL"), covered(contacts=0, legal_name="B SARL")
    ContactFactory(member=first, email="dirigeant@groupe.fr", roles=["legal_representative"])
    ContactFactory(member=first, email="Dirigeant@Groupe.fr ", roles=["billing"])
    ContactFactory(member=second, email="dirigeant@groupe.fr")
    ContactFactory(member=second, email="compta@b.fr")
    found = list(news.recipient_contacts(segment="all", value="", today=TODAY))
    assert sorted(c.email.strip().lower() for c in found) == ["compta@b.fr", "dirigeant@groupe.fr"]
    assert next(c for c in found if "groupe" in c.email).member == first  # the first member by name
    assert news.preview(segment="all", value="", today=TODAY) == news.Preview(recipients=2, members=2)
    # The person opted out through the second business: the address gets no news from the first either.
    Contact.objects.filter(member=second, email="dirigeant@groupe.fr").update(news_opt_out_at=timezone.now())
    assert emails() == ["compta@b.fr"]


def test_group_sector_and_headcount_segments(tenant_a, today):
    group = GroupFactory()
    in_group = covered(group=group, sector="tourism", headcount_band="10_49")
    other = covered(sector="retail", headcount_band="1_9")
    uncovered = MemberFactory(group=group, sector="tourism", headcount_band="10_49")
    ContactFactory(member=uncovered)
    assert emails("group", str(group.pk)) == [in_group.contacts.get().email]
    assert emails("sector", "tourism") == [in_group.contacts.get().email]
    assert emails("sector", "retail") == [other.contacts.get().email]
    assert emails("headcount", "10_49") == [in_group.contacts.get().email]
    assert emails("headcount", "1_9") == [other.contacts.get().email]
    # A value that names nothing reaches nobody (and is refused when saving).
    assert emails("group", "999999") == emails("sector", "nope") == emails("group", "x") == []
    with pytest.raises(news.NewsError):
        news.check_segment(segment="sector", value="nope")
    with pytest.raises(news.NewsError):
        news.check_segment(segment="group", value="999999")


def test_lapsing_is_coverage_ending_within_60_days(tenant_a, today):
    lapsing = covered(ends_in=30)
    edge = covered(ends_in=60)
    covered(ends_in=61)  # just outside the window
    covered(ends_in=200)
    renewed = covered(ends_in=30)
    Membership.objects.create(
        member=renewed,
        starts_on=TODAY + datetime.timedelta(days=31),
        ends_on=TODAY + datetime.timedelta(days=396),
        paid_at=timezone.now(),
    )
    renewal_unpaid = covered(ends_in=20)
    Membership.objects.create(
        member=renewal_unpaid,
        starts_on=TODAY + datetime.timedelta(days=21),
        ends_on=TODAY + datetime.timedelta(days=386),
    )
    expected = sorted(m.contacts.get().email for m in (lapsing, edge, renewal_unpaid))
    assert emails("lapsing") == expected


# --- Sending -----------------------------------------------------------------------------------


def test_sending_in_batches_sends_one_email_per_recipient_with_its_unsubscribe_link(
    admin, today, eager_celery, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(news, "BATCH_SIZE", 2)
    runs: list[int] = []
    original = news.send_batch
    monkeypatch.setattr(news, "send_batch", lambda **kw: runs.append(1) or original(**kw))
    members = [covered(contacts=1) for _index in range(5)]
    item = draft(by=admin)
    send_all(item, admin, django_capture_on_commit_callbacks)
    item.refresh_from_db()
    assert item.status == News.Status.SENT and item.sent_at is not None
    assert item.total_recipients == item.sent_count == 5
    assert len(runs) == 3  # 2 + 2 + 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.contacts.get().email for m in members)
    for message in mailoutbox:
        assert message.subject == "Nouveaux tarifs 2026"
        assert "Les tarifs changent au 1er avril." in message.body
        link = URL_RE.search(message.body).group(0)
        assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link.startswith("http://alpha.localhost")
        contact = news.contact_for_token(link.rstrip("/").rsplit("/", 1)[1])
        assert contact is not None and contact.email == message.to[0]
        assert message.from_email == email_identity()[0]
    assert not NewsDelivery.objects.filter(news=item, sent_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action="members.news_sent", object_id=str(item.pk)).exists()


def test_progress_counts_batch_by_batch(admin, today, mailoutbox, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(news, "queue_batch", lambda *args, **kwargs: None)  # no worker: run batches by hand
    for _index in range(5):
        covered()
    item = draft(by=admin)
    send_all(item, admin, django_capture_on_commit_callbacks)
    assert news.progress(item).as_dict() == {
        "status": "sending",
        "status_label": "Envoi en cours",
        "total": 5,
        "sent": 0,
        "failed": 0,
        "processed": 0,
        "running": True,
    }
    result = news.send_batch(news_id=item.pk, batch_size=2)
    assert (result.sent, result.pending, result.finished) == (2, 3, False)
    assert (news.progress(item).sent, news.progress(item).running) == (2, True)
    news.send_batch(news_id=item.pk, batch_size=2)
    result = news.send_batch(news_id=item.pk, batch_size=2)
    assert (result.sent, result.pending, result.finished) == (1, 0, True)
    progress = news.progress(item)
    assert (progress.sent, progress.processed, progress.status, progress.running) == (5, 5, "sent", False)
    assert len(mailoutbox) == 5


def test_a_rerun_never_sends_a_delivery_twice(
    admin, today, eager_celery, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(news, "queue_batch", lambda *args, **kwargs: None)
    for _index in range(3):
        covered()
    item = draft(by=admin)
    send_all(item, admin, django_capture_on_commit_callbacks)
    # One delivery already left in a batch whose task is now redelivered.
    first = NewsDelivery.objects.filter(news=item).order_by("pk").first()
    NewsDelivery.objects.filter(pk=first.pk).update(sent_at=timezone.now())
    News.objects.filter(pk=item.pk).update(sent_count=1)
    send_news_batch.delay(item.pk)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        NewsDelivery.objects.filter(news=item).exclude(pk=first.pk).values_list("email", flat=True)
    )
    # A duplicate task, and "Relancer l'envoi" after the end, send nothing more.
    send_news_batch.delay(item.pk)
    News.objects.filter(pk=item.pk).update(status=News.Status.SENDING)
    send_news_batch.delay(item.pk)
    assert len(mailoutbox) == 2
    item.refresh_from_db()
    assert (item.status, item.sent_count) == (News.Status.SENT, 3)
    # And the draft cannot be sent a second time.
    with pytest.raises(news.NewsError):
        news.send_news(news=item, by=admin)


def test_a_contact_who_opts_out_meanwhile_is_skipped(admin, today, mailoutbox, django_capture_on_commit_callbacks):
    member = covered(contacts=2)
    item = draft(by=admin)
    with django_capture_on_commit_callbacks(execute=False):
        news.send_news(news=item, by=admin)
    leaving = member.contacts.order_by("pk").first()
    news.unsubscribe(contact=leaving)
    news.send_batch(news_id=item.pk)
    assert [m.to[0] for m in mailoutbox] == [member.contacts.order_by("pk").last().email]
    skipped = NewsDelivery.objects.get(news=item, email=leaving.email)
    assert skipped.sent_at is None and "Désabonné" in skipped.error
    assert news.progress(item).failed == 1


def test_a_refused_address_is_recorded_and_the_others_go(
    admin, today, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    bad = covered(contacts=1).contacts.get()
    good = covered(contacts=1).contacts.get()
    original = django_mail.EmailMessage.send

    def send(message: Any, fail_silently: bool = False) -> int:
        if message.to == [bad.email]:
            raise smtplib.SMTPRecipientsRefused({bad.email: (550, b"No such user")})
        return original(message, fail_silently)

    monkeypatch.setattr(django_mail.EmailMessage, "send", send)
    item = draft(by=admin)
    with django_capture_on_commit_callbacks(execute=False):
        news.send_news(news=item, by=admin)
    result = news.send_batch(news_id=item.pk)
    assert (result.sent, result.failed, result.finished) == (1, 1, True)
    assert [m.to[0] for m in mailoutbox] == [good.email]
    assert NewsDelivery.objects.get(news=item, email=bad.email).error


def test_mail_server_down_marks_nothing(admin, today, mailoutbox, django_capture_on_commit_callbacks, monkeypatch):
    covered()
    item = draft(by=admin)
    with django_capture_on_commit_callbacks(execute=False):
        news.send_news(news=item, by=admin)

    class Down:
        def open(self) -> None:
            raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(news, "get_connection", lambda: Down())
    with pytest.raises(news.MailServerUnavailable):
        news.send_batch(news_id=item.pk)
    assert NewsDelivery.objects.filter(news=item, sent_at__isnull=True, error="").count() == 1
    assert News.objects.get(pk=item.pk).status == News.Status.SENDING


def test_nothing_is_sent_to_an_empty_segment(admin, today):
    item = draft("sector", "energy", by=admin)
    with pytest.raises(news.NewsError) as raised:
        news.send_news(news=item, by=admin)
    assert raised.value.code == "no_recipients"
    item.refresh_from_db()
    assert item.status == News.Status.DRAFT and not item.deliveries.exists()


# --- Unsubscribing ---------------------------------------------------------------------------


def unsubscribe_url(contact: Contact) -> str:
    return news.unsubscribe_path(contact.pk)


def test_unsubscribe_link_asks_then_records_the_opt_out(tenant_a, client_a, use_tenant):
    member = MemberFactory(legal_name="Boulangerie Martin")
    contact = ContactFactory(member=member, email="marie@martin.fr")
    twin = ContactFactory(email="Marie@Martin.fr")  # the same person for another business
    url = unsubscribe_url(contact)
    response = client_a.get(url)
    use_tenant("alpha")
    page = response.content.decode()
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    assert "m•••@martin.fr" in page and "marie@martin.fr" not in page
    assert "Ne plus recevoir les actualités" in page
    assert "restent envoyés" in page  # legal notices are unaffected, and the page says so
    assert Contact.objects.get(pk=contact.pk).news_opt_out_at is None
    response = client_a.post(url)
    use_tenant("alpha")
    assert response.status_code == 200 and "C'est fait" in response.content.decode()
    contact.refresh_from_db()
    twin.refresh_from_db()
    assert contact.news_opt_out_at is not None and twin.news_opt_out_at is not None
    assert AuditEntry.objects.filter(action="members.news_opt_out").count() == 2
    # Once again: idempotent, the first date is kept.
    first = contact.news_opt_out_at
    assert "déjà désabonnée" in client_a.post(url).content.decode()
    use_tenant("alpha")
    contact.refresh_from_db()
    assert contact.news_opt_out_at == first


def test_one_click_unsubscribe_needs_no_csrf_token(tenant_a, use_tenant):
    contact = ContactFactory()
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    response = client.post(unsubscribe_url(contact), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    use_tenant("alpha")
    assert Contact.objects.get(pk=contact.pk).news_opt_out_at is not None


def test_a_tampered_or_forged_link_is_a_404(tenant_a, client_a, use_tenant):
    contact = ContactFactory()
    other = ContactFactory()
    url = unsubscribe_url(contact)
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = token.replace(token.split(":")[0], news.signing.dumps(other.pk).split(":")[0], 1)
    for bad in (token[:-2] + "xx", forged, "abc", "x" * 500):
        assert client_a.post(f"/actualites/desabonnement/{bad}/").status_code == 404
    use_tenant("alpha")
    assert not Contact.objects.filter(news_opt_out_at__isnull=False).exists()


def test_a_link_is_refused_on_another_firms_host(tenant_a, client_b, use_tenant):
    contact = ContactFactory()
    url = unsubscribe_url(contact)
    use_tenant("beta")
    ContactFactory(pk=contact.pk)  # the same pk in beta's schema: still not the link's contact
    assert client_b.get(url).status_code == 404
    assert client_b.post(url).status_code == 404
    use_tenant("beta")
    assert not Contact.objects.filter(news_opt_out_at__isnull=False).exists()
    use_tenant("alpha")
    assert Contact.objects.get(pk=contact.pk).news_opt_out_at is None


# --- Staff pages -------------------------------------------------------------------------------


def test_staff_write_preview_send_and_follow(
    tenant_a, client_a, use_tenant, today, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    officer = UserFactory(role=User.Role.CASE_OFFICER)
    group = GroupFactory(name="Fédération des boulangers")
    covered(group=group, contacts=2)
    covered(contacts=1)
    client_a.force_login(officer)
    assert client_a.get("/staff/adherents/actualites/nouvelle/").status_code == 200
    data = {"subject": "Salon 2026", "body": "Rendez-vous au salon.", "segment": "group", "group": ""}
    response = client_a.post("/staff/adherents/actualites/nouvelle/", data)
    assert response.status_code == 400 and "Choisissez un groupement" in response.content.decode()
    use_tenant("alpha")
    response = client_a.post("/staff/adherents/actualites/nouvelle/", {**data, "group": str(group.pk)})
    use_tenant("alpha")
    item = News.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/staff/adherents/actualites/{item.pk}/"
    assert (item.segment, item.segment_value, item.created_by) == ("group", str(group.pk), officer)
    page = client_a.get(f"/staff/adherents/actualites/{item.pk}/").content.decode()
    assert "2 destinataires" in page and "Fédération des boulangers" in page and "Rendez-vous au salon." in page
    confirm = client_a.get(f"/staff/adherents/actualites/{item.pk}/envoyer/")
    assert "Envoyer à 2 destinataires" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(f"/staff/adherents/actualites/{item.pk}/envoyer/")
    assert response.status_code == 302
    use_tenant("alpha")
    assert len(mailoutbox) == 2
    progress = client_a.get(f"/staff/adherents/actualites/{item.pk}/progression/").json()
    assert (progress["status"], progress["sent"], progress["total"], progress["running"]) == ("sent", 2, 2, False)
    use_tenant("alpha")
    listing = client_a.get("/staff/adherents/actualites/").content.decode()
    assert "Salon 2026" in listing and "2 / 2" in listing
    # A sent news can no longer be edited, sent or deleted.
    use_tenant("alpha")
    client_a.post(f"/staff/adherents/actualites/{item.pk}/modifier/", {**data, "subject": "Autre"})
    client_a.post(f"/staff/adherents/actualites/{item.pk}/envoyer/")
    client_a.post(f"/staff/adherents/actualites/{item.pk}/supprimer/")
    use_tenant("alpha")
    assert News.objects.get().subject == "Salon 2026" and len(mailoutbox) == 2


def test_progress_page_polls_while_sending(tenant_a, client_a, use_tenant, today, django_capture_on_commit_callbacks):
    admin = AdminFactory()
    covered()
    item = draft(by=admin)
    with django_capture_on_commit_callbacks(execute=False):
        news.send_news(news=item, by=admin)
    client_a.force_login(admin)
    page = client_a.get(f"/staff/adherents/actualites/{item.pk}/").content.decode()
    assert 'aria-live="polite"' in page and "js/progress.js" in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert f'data-progress-url="/staff/adherents/actualites/{item.pk}/progression/"' in page


def test_members_view_reads_but_cannot_write_or_send(tenant_a, client_a, use_tenant, today):
    admin = AdminFactory()
    covered()
    item = draft(by=admin)
    mediator = UserFactory(role=User.Role.MEDIATOR)  # members.view, not members.edit
    client_a.force_login(mediator)
    assert client_a.get("/staff/adherents/actualites/").status_code == 200
    page = client_a.get(f"/staff/adherents/actualites/{item.pk}/")
    assert page.status_code == 200 and f"/staff/adherents/actualites/{item.pk}/envoyer/" not in page.content.decode()
    assert client_a.get(f"/staff/adherents/actualites/{item.pk}/progression/").status_code == 200
    for url in ("nouvelle/", f"{item.pk}/modifier/", f"{item.pk}/envoyer/"):
        assert client_a.get(f"/staff/adherents/actualites/{url}").status_code == 403
    for url in (f"{item.pk}/envoyer/", f"{item.pk}/supprimer/", f"{item.pk}/relancer/"):
        assert client_a.post(f"/staff/adherents/actualites/{url}").status_code == 403
    use_tenant("alpha")
    with pytest.raises(PermissionDenied):
        news.send_news(news=item, by=mediator)
    assert News.objects.get().status == News.Status.DRAFT
    client_a.force_login(UserFactory(role=User.Role.MEMBER))
    assert client_a.get("/staff/adherents/actualites/").status_code == 403
    client_a.logout()
    assert client_a.get("/staff/adherents/actualites/").status_code == 302


def test_another_firms_news_is_a_404(tenant_a, client_b, use_tenant, today):
    item = draft()
    use_tenant("beta")
    client_b.force_login(AdminFactory())
    for url in ("", "modifier/", "envoyer/", "progression/"):
        assert client_b.get(f"/staff/adherents/actualites/{item.pk}/{url}").status_code == 404
    assert client_b.post(f"/staff/adherents/actualites/{item.pk}/envoyer/").status_code == 404
    assert "Nouveaux tarifs" not in client_b.get("/staff/adherents/actualites/").content.decode()
    use_tenant("alpha")
    assert News.objects.get(pk=item.pk).status == News.Status.DRAFT


def test_member_history_lists_the_news_it_received(
    admin, today, mailoutbox, django_capture_on_commit_callbacks, eager_celery
):
    member = covered(contacts=1)
    other = covered(contacts=1)
    item = draft(by=admin)
    send_all(item, admin, django_capture_on_commit_callbacks)
    deliveries = list(news.news_for_member(member))
    assert [(d.news, d.email) for d in deliveries] == [(item, member.contacts.get().email)]
    html = render_to_string(
        "members/news/_member_history.html", {"member": other, "news_deliveries": news.news_for_member(other)}
    )
    assert "Nouveaux tarifs 2026" in html and other.contacts.get().email in html
    empty = MemberFactory()
    html = render_to_string(
        "members/news/_member_history.html", {"member": empty, "news_deliveries": news.news_for_member(empty)}
    )
    assert "aucune actualité" in html
