from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from core.models import AuditEntry
from tenants import services
from tenants.models import Domain, DomainRequest, Tenant


@pytest.fixture
def alpha(db) -> Tenant:
    return Tenant.objects.get(schema_name="alpha")


@override_settings(ALLOWED_HOSTS=["*"])
def test_an_approved_custom_domain_serves_the_firm_and_the_sub_domain_keeps_working(alpha):
    request = services.request_custom_domain(tenant=alpha, domain="Mediation.Exemple.FR.", by_email="admin@alpha.fr")
    assert (request.domain, request.status) == ("mediation.exemple.fr", "requested")
    assert Client(HTTP_HOST="mediation.exemple.fr").get("/").status_code == 404

    services.decide_custom_domain(request=request, by=None, approve=True)

    assert Client(HTTP_HOST="mediation.exemple.fr").get("/").status_code == 200
    assert Client(HTTP_HOST="alpha.localhost").get("/").status_code == 200
    assert Domain.objects.get(domain="alpha.localhost").is_primary is True
    with schema_context("alpha"):
        assert list(AuditEntry.objects.values_list("action", flat=True).order_by("id")) == [
            "domain.requested",
            "domain.approved",
        ]


def test_a_rejected_domain_is_not_served(alpha):
    request = services.request_custom_domain(tenant=alpha, domain="mediation.exemple.fr", by_email="admin@alpha.fr")

    services.decide_custom_domain(request=request, by=None, approve=False, reason="DNS non configuré")

    request.refresh_from_db()
    assert (request.status, request.rejection_reason) == ("rejected", "DNS non configuré")
    assert not Domain.objects.filter(domain="mediation.exemple.fr").exists()


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("pas un domaine", "Saisissez un nom de domaine complet"),
        ("intranet", "Saisissez un nom de domaine complet"),
        ("beta.localhost", "attribuées par la plateforme"),
        ("x.alpha.localhost", "attribuées par la plateforme"),
    ],
)
def test_bad_or_platform_domains_are_refused(alpha, domain, message):
    with pytest.raises(services.SignupError, match=message):
        services.request_custom_domain(tenant=alpha, domain=domain, by_email="admin@alpha.fr")
    assert not DomainRequest.objects.exists()


def test_a_domain_asked_by_one_firm_cannot_be_asked_by_another(alpha):
    services.request_custom_domain(tenant=alpha, domain="mediation.exemple.fr", by_email="admin@alpha.fr")

    with pytest.raises(services.SignupError, match="déjà utilisé ou demandé"):
        services.request_custom_domain(
            tenant=Tenant.objects.get(schema_name="beta"), domain="mediation.exemple.fr", by_email="admin@beta.fr"
        )


def test_a_firm_admin_asks_for_a_domain_from_the_settings_page(alpha, use_tenant, client_a):
    from tests.factories import AdminFactory

    use_tenant("alpha")
    client_a.force_login(AdminFactory())

    response = client_a.post("/staff/cabinet/domaines/", {"domain": "mediation.exemple.fr"}, follow=True)

    page = response.content.decode()
    assert "Votre demande est transmise" in page
    assert "mediation.exemple.fr" in page and "Demandé" in page
    assert DomainRequest.objects.get().tenant == alpha


def test_a_bad_domain_gets_the_message_next_to_the_field(alpha, use_tenant, client_a):
    from tests.factories import AdminFactory

    use_tenant("alpha")
    client_a.force_login(AdminFactory())

    response = client_a.post("/staff/cabinet/domaines/", {"domain": "beta.localhost"})

    assert response.status_code == 400
    assert "sont attribuées par la plateforme" in response.content.decode().replace("&#x27;", "'")


def test_only_firm_admins_reach_the_domains_page(alpha, use_tenant, client_a):
    from tests.factories import UserFactory

    use_tenant("alpha")
    client_a.force_login(UserFactory(role="mediator"))

    assert client_a.get("/staff/cabinet/domaines/").status_code == 403
