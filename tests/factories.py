from __future__ import annotations

import datetime
from typing import Any

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


# --- Cases ---------------------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf_upload(name: str = "reclamation.pdf", content: bytes = PDF_BYTES) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def draft_case(member: Any = None, **fields: Any) -> Any:
    """A consumer's complete draft against `member` (a new member when None), with its written complaint."""
    from mediation.cases import services
    from mediation.cases.models import Party

    values: dict[str, Any] = {
        "member": member or MemberFactory(),
        "consumer_first_name": "Jeanne",
        "consumer_last_name": "Martin",
        "consumer_email": "jeanne.martin@example.org",
        "is_consumer": True,
        "complained_on": datetime.date.today() - datetime.timedelta(days=30),
        "other_proceedings": False,
        "subject": "delivery",
        "description": "Commande jamais livrée malgré deux relances écrites.",
        "amount_cents": 12_990,
        "desired_outcome": "Le remboursement de la commande.",
    }
    values.update(fields)
    case, _token = services.create_draft(**values)
    services.add_document(case=case, file=pdf_upload(), party=Party.CONSUMER, kind="complaint")
    return case


def received_case(member: Any = None, **fields: Any) -> Any:
    """A case filed online and received (status received), with its reference."""
    from mediation.cases import services

    case = draft_case(member, **fields)
    return services.submit(case=case, consent=True)


def opened_case(by: Any, member: Any = None, **fields: Any) -> Any:
    """A case whose seizure was notified to both parties (status opened); `by` holds cases.decide."""
    from mediation.cases import services

    return services.open_case(case=received_case(member, **fields), by=by)


def in_mediation_case(by: Any, member: Any = None, **fields: Any) -> Any:
    """A case the business agreed to take part in (status in_mediation)."""
    from mediation.cases import services

    return services.record_business_answer(case=opened_case(by, member, **fields), accepts=True)
