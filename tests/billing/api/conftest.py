"""Fixtures of the billing API tests: a finance user logged in on alpha, a firm that may invoice, a member."""

from __future__ import annotations

import pytest

from tests.billing.helpers import billable_member, finance_user, firm_identity


@pytest.fixture
def finance(tenant_a, client_a, media_root):
    user = finance_user(email="compta@alpha-mediation.fr", first_name="Claire", last_name="Martin")
    client_a.force_login(user)
    return user


@pytest.fixture
def firm(tenant_a):
    return firm_identity()


@pytest.fixture
def member(tenant_a):
    return billable_member(legal_name="Boulangerie du Marché SARL")
