from __future__ import annotations

import datetime

import factory

from accounts.models import User
from tests.conftest import PASSWORD


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user in whatever schema the connection is on."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.fr")
    first_name = "Camille"
    last_name = "Durand"
    role = User.Role.CASE_OFFICER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class AdminFactory(UserFactory):
    role = User.Role.ADMIN
    is_staff = True


class MediatorFactory(factory.django.DjangoModelFactory):
    """A mediator of the firm whose schema the connection is on."""

    class Meta:
        model = "firm.Mediator"

    first_name = "Hélène"
    last_name = factory.Sequence(lambda n: f"Médiatrice{n}")
    email = factory.Sequence(lambda n: f"mediateur{n}@example.fr")
    listed_on = factory.LazyFunction(lambda: datetime.date(2024, 1, 15))
    term_ends_on = factory.LazyFunction(lambda: datetime.date(2027, 1, 14))
    sectors = "Commerce en ligne"


def valid_siren(n: int) -> str:
    """A SIREN with a correct Luhn key, different for every n."""
    from stdnum import luhn

    base = f"{10_000_000 + n:08d}"
    return base + luhn.calc_check_digit(base)


class GroupFactory(factory.django.DjangoModelFactory):
    """A group or federation of member businesses, in whatever schema the connection is on."""

    class Meta:
        model = "members.Group"

    name = factory.Sequence(lambda n: f"Fédération {n}")
    kind = "federation"


class MemberFactory(factory.django.DjangoModelFactory):
    """A member business of the firm whose schema the connection is on."""

    class Meta:
        model = "members.Member"

    legal_name = factory.Sequence(lambda n: f"Entreprise {n:05d} SARL")
    siren = factory.Sequence(valid_siren)
    postcode = "69001"
    city = "Lyon"
    sector = "retail"
    headcount_band = "1_9"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "members.Contact"

    member = factory.SubFactory(MemberFactory)
    roles = factory.LazyFunction(lambda: ["billing"])
    first_name = "Lucie"
    last_name = factory.Sequence(lambda n: f"Contact{n}")
    email = factory.Sequence(lambda n: f"contact{n}@entreprise.fr")
