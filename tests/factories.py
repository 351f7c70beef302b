from __future__ import annotations

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
