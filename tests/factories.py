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
