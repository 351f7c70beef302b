"""Staff management by the firm's admins: list, invite, change role, deactivate, last-admin protection."""

from __future__ import annotations

import re
import threading

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client

from accounts import services
from accounts.errors import AlreadyStaff, CannotDeactivateSelf, InactiveStaff, LastActiveAdmin
from accounts.models import Invitation, User
from core.models import AuditEntry
from tests.factories import AdminFactory, UserFactory


@pytest.fixture
def admin(tenant_a, client_a):
    user = AdminFactory(email="claire@example.fr", first_name="Claire", last_name="Martin")
    client_a.force_login(user)
    return user


def test_list_shows_members_with_role_and_status(admin, client_a):
    UserFactory(email="julien@example.fr", role=User.Role.MEDIATOR)
    UserFactory(email="parti@example.fr", role=User.Role.FINANCE, is_active=False)

    page = client_a.get("/staff/equipe/").content.decode()

    assert "julien@example.fr" in page
    assert "Médiateur" in page
    assert "parti@example.fr" in page
    assert "Désactivé" in page


def test_invitation_is_mailed_with_a_link_to_the_firm_host(admin, client_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            "/staff/equipe/inviter/", {"email": "Nouveau@Example.fr", "role": "mediator"}, follow=True
        )

    assert "Invitation envoyée à nouveau@example.fr" in response.content.decode()
    assert "nouveau@example.fr" in response.content.decode()  # listed as pending
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nouveau@example.fr"]
    assert "Cabinet Alpha Médiation" in message.subject
    assert "Médiateur" in message.body
    assert re.search(r"http://alpha\.localhost/accounts/invitation/[\w-]{40,}/", message.body)
    invitation = Invitation.objects.get()
    assert invitation.role == User.Role.MEDIATOR
    assert invitation.invited_by == admin
    assert len(invitation.token_hash) == 64
    assert invitation.token_hash not in message.body  # only the hash is stored, only the token is sent


def test_invitation_is_audited(admin):
    invitation, _token = services.invite_staff(
        by=admin, email="nouveau@example.fr", role="finance", site_url="http://alpha.localhost"
    )

    entry = AuditEntry.objects.get(action="staff.invited")
    assert entry.actor_email == "claire@example.fr"
    assert entry.object_id == str(invitation.pk)
    assert entry.changes["email"] == [None, "nouveau@example.fr"]
    assert entry.changes["role"] == [None, "finance"]


def test_inviting_an_active_member_again_is_refused(admin, client_a):
    UserFactory(email="julien@example.fr")

    response = client_a.post("/staff/equipe/inviter/", {"email": "julien@example.fr", "role": "finance"})

    assert response.status_code == 200
    assert "Un membre actif de l&#x27;équipe utilise déjà cette adresse e-mail." in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_inviting_a_deactivated_member_points_to_reactivation(admin):
    UserFactory(email="parti@example.fr", is_active=False)

    with pytest.raises(InactiveStaff):
        services.invite_staff(by=admin, email="parti@example.fr", role="finance", site_url="http://alpha.localhost")


def test_a_new_invitation_revokes_the_previous_one(admin, client_a):
    first, first_token = services.invite_staff(
        by=admin, email="nouveau@example.fr", role="finance", site_url="http://alpha.localhost"
    )
    services.invite_staff(by=admin, email="nouveau@example.fr", role="mediator", site_url="http://alpha.localhost")

    first.refresh_from_db()
    assert first.status == Invitation.Status.REVOKED
    assert client_a.get(f"/accounts/invitation/{first_token}/").status_code == 410


def test_revoking_an_invitation_from_the_list(admin, client_a):
    invitation, _token = services.invite_staff(
        by=admin, email="nouveau@example.fr", role="finance", site_url="http://alpha.localhost"
    )

    response = client_a.post(f"/staff/equipe/invitations/{invitation.pk}/annuler/", follow=True)

    assert "L&#x27;invitation de nouveau@example.fr est annulée." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert AuditEntry.objects.filter(action="staff.invitation_revoked", object_id=str(invitation.pk)).exists()


def test_change_role_is_saved_and_audited(admin, client_a):
    member = UserFactory(email="julien@example.fr", role=User.Role.CASE_OFFICER)

    response = client_a.post(f"/staff/equipe/{member.pk}/role/", {"role": "mediator"}, follow=True)

    assert "Le rôle de" in response.content.decode()
    member.refresh_from_db()
    assert member.role == User.Role.MEDIATOR
    entry = AuditEntry.objects.get(action="staff.role_changed")
    assert entry.changes == {"role": ["case_officer", "mediator"]}
    assert entry.actor_id == admin.pk


def test_promotion_to_admin_opens_the_django_admin_and_demotion_closes_it(admin):
    member = UserFactory(role=User.Role.FINANCE)

    services.change_role(by=admin, user=member, role="admin")
    member.refresh_from_db()
    assert member.is_staff

    member.is_superuser = True
    member.save()
    services.change_role(by=admin, user=member, role="read_only")
    member.refresh_from_db()
    assert (member.is_staff, member.is_superuser) == (False, False)
    assert AuditEntry.objects.filter(action="staff.role_changed").first().changes == {
        "is_staff": [True, False],
        "is_superuser": [True, False],
        "role": ["admin", "read_only"],
    }


def test_deactivation_locks_the_member_out_and_is_audited(admin, client_a):
    member = UserFactory(email="julien@example.fr")
    member_client = Client(HTTP_HOST="alpha.localhost")
    member_client.force_login(member)
    assert member_client.get("/staff/").status_code == 200

    response = client_a.post(f"/staff/equipe/{member.pk}/desactiver/", follow=True)

    assert "est désactivé" in response.content.decode()
    member.refresh_from_db()
    assert not member.is_active
    assert member_client.get("/staff/").status_code == 302  # the open session no longer counts
    assert AuditEntry.objects.get(action="staff.deactivated").changes == {"is_active": [True, False]}


def test_reactivation(admin, client_a):
    member = UserFactory(email="julien@example.fr", is_active=False)

    client_a.post(f"/staff/equipe/{member.pk}/reactiver/")

    member.refresh_from_db()
    assert member.is_active
    assert AuditEntry.objects.get(action="staff.reactivated").changes == {"is_active": [False, True]}


def test_admin_cannot_deactivate_themself(admin, client_a):
    response = client_a.post(f"/staff/equipe/{admin.pk}/desactiver/", follow=True)

    assert "Vous ne pouvez pas désactiver votre propre compte." in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active
    with pytest.raises(CannotDeactivateSelf):
        services.deactivate_staff(by=admin, user=admin)


def test_the_last_active_admin_cannot_step_down(admin, client_a):
    AdminFactory(email="old-admin@example.fr", is_active=False)  # an inactive admin does not count

    response = client_a.post(f"/staff/equipe/{admin.pk}/role/", {"role": "mediator"})

    assert response.status_code == 200
    assert "Le cabinet doit garder au moins un administrateur actif." in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == User.Role.ADMIN
    assert not AuditEntry.objects.filter(action="staff.role_changed").exists()


def test_an_admin_may_step_down_when_another_admin_remains(admin):
    AdminFactory(email="second@example.fr")

    services.change_role(by=admin, user=admin, role="mediator")

    admin.refresh_from_db()
    assert admin.role == User.Role.MEDIATOR


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(use_tenant):
    alpha = use_tenant("alpha")
    first = AdminFactory(email="first@example.fr")
    second = AdminFactory(email="second@example.fr")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(by: User, user: User) -> None:
        connection.set_tenant(alpha)
        barrier.wait()
        try:
            services.change_role(by=by, user=user, role="mediator")
            outcomes.append("demoted")
        except LastActiveAdmin:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["demoted", "refused"]
    assert User.objects.filter(role=User.Role.ADMIN, is_active=True).count() == 1


def test_only_admins_can_call_the_services(tenant_a):
    mediator = UserFactory(role=User.Role.MEDIATOR)

    with pytest.raises(PermissionDenied):
        services.invite_staff(by=mediator, email="x@example.fr", role="admin", site_url="http://alpha.localhost")
    with pytest.raises(PermissionDenied):
        services.change_role(by=mediator, user=mediator, role="admin")


def test_already_staff_error_has_a_stable_code():
    assert AlreadyStaff().code == "already_staff"


def test_the_firm_admin_site_cannot_bypass_the_team_page(tenant_a, client_a):
    superuser = AdminFactory(is_superuser=True)
    member = UserFactory(role=User.Role.FINANCE)
    client_a.force_login(superuser)

    change_form = client_a.get(f"/admin/accounts/user/{member.pk}/change/").content.decode()

    assert 'name="first_name"' in change_form
    assert 'name="role"' not in change_form
    assert 'name="is_active"' not in change_form
    assert client_a.get("/admin/accounts/user/add/").status_code == 403
