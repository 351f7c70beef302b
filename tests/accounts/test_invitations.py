"""The invitation link: the invitee sets a name and a password, once, within 7 days, on the inviting firm's host."""

from __future__ import annotations

import datetime
import threading

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.errors import InvitationUnusable
from accounts.models import Invitation, User
from core.models import AuditEntry
from tests.factories import AdminFactory

NEW_PASSWORD = "une-phrase-de-passe-solide"


def _form(**overrides):
    return {
        "first_name": "Inès",
        "last_name": "Moreau",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **overrides,
    }


@pytest.fixture
def invited(tenant_a):
    """(invitation, raw token) for ines@example.fr as a mediator of alpha."""
    admin = AdminFactory(email="claire@example.fr")
    return services.invite_staff(by=admin, email="ines@example.fr", role="mediator", site_url="http://alpha.localhost")


def test_invitation_page_shows_the_address_and_the_role(invited, client_a):
    _invitation, token = invited

    page = client_a.get(f"/accounts/invitation/{token}/").content.decode()

    assert "ines@example.fr" in page
    assert "Médiateur" in page
    assert 'autocomplete="new-password"' in page


def test_accepting_creates_the_account_and_logs_in(invited, client_a, use_tenant):
    invitation, token = invited

    response = client_a.post(f"/accounts/invitation/{token}/", _form(), follow=True)

    assert response.redirect_chain[-1][0] == "/staff/"
    assert "Bienvenue ! Votre compte est créé." in response.content.decode()
    use_tenant("alpha")
    user = User.objects.get(email="ines@example.fr")
    assert (user.first_name, user.last_name, user.role) == ("Inès", "Moreau", User.Role.MEDIATOR)
    assert user.check_password(NEW_PASSWORD)
    assert EmailAddress.objects.get(user=user).verified
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert AuditEntry.objects.get(action="staff.invitation_accepted").actor_id == user.pk
    assert AuditEntry.objects.get(action="staff.joined").changes["role"] == [None, "mediator"]


def test_the_new_member_can_log_in_with_the_chosen_password(invited, client_a):
    _invitation, token = invited
    client_a.post(f"/accounts/invitation/{token}/", _form())
    client_a.logout()

    response = client_a.post("/accounts/login/", {"login": "ines@example.fr", "password": NEW_PASSWORD})

    assert response.status_code == 302


def test_password_validators_apply(invited, client_a, use_tenant):
    _invitation, token = invited

    response = client_a.post(f"/accounts/invitation/{token}/", _form(password1="court", password2="court"))

    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert "Ce mot de passe est trop court." in response.content.decode()
    use_tenant("alpha")
    assert not User.objects.filter(email="ines@example.fr").exists()


def test_mismatched_passwords_are_refused(invited, client_a):
    _invitation, token = invited

    response = client_a.post(f"/accounts/invitation/{token}/", _form(password2="autre-phrase-de-passe"))

    assert "Les deux mots de passe ne sont pas identiques." in response.content.decode()


def test_invitation_expires_after_seven_days(invited, client_a):
    _invitation, token = invited

    with time_machine.travel(timezone.now() + datetime.timedelta(days=6, hours=23)):
        assert client_a.get(f"/accounts/invitation/{token}/").status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=7, minutes=1)):
        response = client_a.post(f"/accounts/invitation/{token}/", _form())

    assert response.status_code == 410
    assert "Cette invitation a expiré." in response.content.decode()
    assert "_auth_user_id" not in client_a.session


def test_invitation_works_once(invited, client_a):
    _invitation, token = invited
    client_a.post(f"/accounts/invitation/{token}/", _form())
    client_a.logout()

    response = client_a.post(f"/accounts/invitation/{token}/", _form(first_name="Autre"))

    assert response.status_code == 410
    assert "Cette invitation a déjà été utilisée." in response.content.decode()
    with pytest.raises(InvitationUnusable) as refused:
        services.accept_invitation(token=token, first_name="A", last_name="B", password=NEW_PASSWORD)
    assert refused.value.reason == "accepted"


def test_revoked_invitation_is_refused(invited, client_a):
    invitation, token = invited
    services.revoke_invitation(by=invitation.invited_by, invitation=invitation)

    response = client_a.get(f"/accounts/invitation/{token}/")

    assert response.status_code == 410
    assert "Cette invitation a été annulée" in response.content.decode()


def test_unknown_token_is_refused(tenant_a, client_a):
    response = client_a.get("/accounts/invitation/not-a-real-token/")

    assert response.status_code == 404
    assert "Ce lien d&#x27;invitation n&#x27;est pas valable pour ce cabinet." in response.content.decode()


def test_token_of_one_firm_does_not_work_on_another_host(invited, client_b, use_tenant):
    _invitation, token = invited

    assert client_b.get(f"/accounts/invitation/{token}/").status_code == 404
    response = client_b.post(f"/accounts/invitation/{token}/", _form())

    assert response.status_code == 404
    assert "_auth_user_id" not in client_b.session
    use_tenant("beta")
    assert not User.objects.filter(email="ines@example.fr").exists()
    use_tenant("alpha")
    assert Invitation.objects.get().status == Invitation.Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_acceptances_create_one_account(use_tenant):
    alpha = use_tenant("alpha")
    admin = AdminFactory(email="claire@example.fr")
    _invitation, token = services.invite_staff(
        by=admin, email="ines@example.fr", role="mediator", site_url="http://alpha.localhost"
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept() -> None:
        connection.set_tenant(alpha)
        barrier.wait()
        try:
            services.accept_invitation(token=token, first_name="Inès", last_name="Moreau", password=NEW_PASSWORD)
            outcomes.append("created")
        except InvitationUnusable as exc:
            outcomes.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["accepted", "created"]
    assert User.objects.filter(email="ines@example.fr").count() == 1
