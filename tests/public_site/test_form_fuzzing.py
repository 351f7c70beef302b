"""The public forms under generated input: every answer is a page, a redirect or a 4xx, never a 500.

Hypothesis mixes valid values with hostile ones (empty, very long, control and NUL characters, other scripts,
markup, numbers where text is expected) on every field of the filing wizard's steps, the joining steps and the
member lookup. Rate limits are off here: they have their own tests (tests/core/test_throttle.py).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import MemberFactory
from tests.members.membership_helpers import publish, tariffs

pytestmark = pytest.mark.django_db

ACCEPTED = {200, 302, 400, 404, 409}
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

hostile_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.sampled_from(["", " ", "\x00", "a\x00b", "<script>alert(1)</script>", "'; DROP TABLE x; --", "9" * 400]),
    st.integers().map(str),
    st.just("é" * 5000),
    st.dates(min_value=datetime.date(1, 1, 1)).map(lambda day: day.isoformat()),
)


def _fields(valid: dict[str, str]) -> st.SearchStrategy[dict[str, Any]]:
    """Each field valid, hostile or missing, plus an unknown field now and then."""
    per_field = {name: st.one_of(st.just(value), hostile_text, st.none()) for name, value in valid.items()}
    return st.fixed_dictionaries(per_field).map(lambda data: {k: v for k, v in data.items() if v is not None})


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    settings.RATE_LIMITS_ENABLED = False


@pytest.fixture
def member(tenant_a):
    return MemberFactory(legal_name="Électro Ménager SAS", trade_name="ElectroPlus", status="active")


ELIGIBILITY = {
    "action": "next",
    "is_consumer": "yes",
    "member": "1",
    "business_name": "",
    "complained": "yes",
    "complained_on": "2026-11-01",
    "other_proceedings": "no",
    "q": "électro",
}
YOU = {
    "consumer_first_name": "Jeanne",
    "consumer_last_name": "Martin",
    "consumer_email": "jeanne@example.org",
    "consumer_phone": "06 12 34 56 78",
    "consumer_address": "3 rue des Lilas",
    "consumer_postcode": "69003",
    "consumer_city": "Lyon",
}
DISPUTE = {"subject": "delivery", "description": "Jamais livrée.", "amount": "129,90", "desired_outcome": "Rembourser."}


def _status(response: Any) -> int:
    return int(response.status_code)


@FUZZ
@given(data=_fields(ELIGIBILITY))
def test_the_eligibility_step(member, client_a, data):
    assert _status(client_a.post("/deposer/", data)) in ACCEPTED


@FUZZ
@given(you=_fields(YOU), dispute=_fields(DISPUTE))
def test_the_next_steps_of_a_draft(member, client_a, you, dispute):
    eligible = {**ELIGIBILITY, "member": str(member.pk), "complained_on": datetime.date.today().isoformat()}
    client_a.post("/deposer/", eligible)

    assert _status(client_a.post("/deposer/coordonnees/", you)) in ACCEPTED
    assert _status(client_a.post("/deposer/litige/", dispute)) in ACCEPTED
    assert _status(client_a.post("/deposer/verification/", {"consent": "on", "action": "submit"})) in ACCEPTED


@FUZZ
@given(query=hostile_text)
def test_the_member_lookups(member, client_a, public_client, query):
    assert _status(client_a.get("/verifier-un-professionnel/", {"q": query})) in ACCEPTED
    assert _status(client_a.get("/deposer/", {"q": query})) in ACCEPTED
    assert _status(public_client.get("/trouver-un-mediateur/", {"q": query})) in ACCEPTED


JOINING = {
    "legal_name": "Maison Bio SAS",
    "address_line1": "1 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "headcount_band": "10_49",
    "contact_first_name": "Paul",
    "contact_last_name": "Martin",
    "contact_role": "Président",
    "contact_email": "paul@maisonbio.fr",
}


@pytest.fixture
def joining_open(tenant_a, media_root):
    from tests.factories import AdminFactory

    tariffs()
    publish(AdminFactory())


@FUZZ
@given(siren=hostile_text, details=_fields(JOINING), term=hostile_text)
def test_the_joining_steps(joining_open, client_a, siren, details, term):
    assert _status(client_a.post("/adherer/", {"siren": siren})) in ACCEPTED
    client_a.post("/adherer/", {"siren": "732 829 320"})
    assert _status(client_a.post("/adherer/coordonnees/", details)) in ACCEPTED
    assert _status(client_a.post("/adherer/offre/", {"term_years": term})) in ACCEPTED
    signed = {"signer_name": term, "signer_role": term, "accept": "on", "version": term}
    assert _status(client_a.post("/adherer/convention/", signed)) in ACCEPTED


def test_a_nul_character_in_the_wizard_search_finds_nothing_rather_than_failing(member, client_a):
    # Found by the fuzzing above: PostgreSQL text cannot hold NUL, the search used to answer 500.
    response = client_a.get("/deposer/", {"q": "Électro\x00"})

    assert response.status_code == 200
    assert "Électro Ménager SAS" in response.content.decode()
