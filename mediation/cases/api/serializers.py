"""Serializers of /api/v1/cases/: one for each output shape and one for each action's input."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.permissions import Perm, permissions_of
from core.api import ModelSerializer
from mediation.cases.models import (
    FINAL_STATUSES,
    TRANSITIONS,
    Case,
    CaseDocument,
    CaseEvent,
    CaseMessage,
    Channel,
    InadmissibilityReason,
    Outcome,
    Party,
    Status,
    Subject,
)
from mediation.members.models import Member
from mediation.reports.services import FIRST_YEAR

CURRENCY = "EUR"


# --- What each action needs (the detail's `allowed_actions`) ------------------------------------

# action → (permission, target status that TRANSITIONS must allow, statuses it applies to (None: any)).
# The services check the same things again; this table only tells a client which buttons to show.
ACTIONS: dict[str, tuple[Perm, str | None, frozenset[str] | None]] = {
    "submit": (Perm.CASES_HANDLE, Status.RECEIVED, frozenset({Status.DRAFT})),
    "request-documents": (Perm.CASES_HANDLE, Status.INCOMPLETE, None),
    "mark-complete": (Perm.CASES_HANDLE, Status.RECEIVED, frozenset({Status.INCOMPLETE})),
    "declare-inadmissible": (Perm.CASES_DECIDE, Status.INADMISSIBLE, None),
    "reorient": (Perm.CASES_HANDLE, Status.REORIENTED, None),
    "open": (Perm.CASES_DECIDE, Status.OPENED, None),
    "business-answer": (Perm.CASES_HANDLE, Status.IN_MEDIATION, frozenset({Status.OPENED})),
    "extend": (Perm.CASES_DECIDE, None, frozenset({Status.OPENED, Status.IN_MEDIATION})),
    "send-proposal": (Perm.CASES_DECIDE, Status.PROPOSAL_SENT, None),
    "resume-mediation": (Perm.CASES_DECIDE, Status.IN_MEDIATION, frozenset({Status.PROPOSAL_SENT})),
    "proposal-answer": (Perm.CASES_HANDLE, Status.CLOSED, frozenset({Status.PROPOSAL_SENT})),
    # A mediator closes a case in mediation or after a proposal; an opened case closes on the business's refusal.
    "close": (Perm.CASES_DECIDE, Status.CLOSED, frozenset({Status.IN_MEDIATION, Status.PROPOSAL_SENT})),
    "withdraw": (Perm.CASES_HANDLE, Status.WITHDRAWN, None),
    "interrupt": (Perm.CASES_DECIDE, Status.INTERRUPTED, None),
    "assign": (Perm.CASES_HANDLE, None, frozenset(TRANSITIONS) - FINAL_STATUSES - {Status.DRAFT}),
}


def allowed_actions(case: Case, user: Any) -> list[str]:
    """The actions `user` may take on `case` now, in the order of ACTIONS."""
    held = permissions_of(user)
    actions = []
    for name, (perm, target, statuses) in ACTIONS.items():
        if perm not in held:
            continue
        if statuses is not None and case.status not in statuses:
            continue
        if target is not None and target not in TRANSITIONS[case.status]:
            continue
        actions.append(name)
    return actions


# --- Enums described inline -------------------------------------------------------------------
# The members API has its own `status` and `kind` enums, and `party` has two choice sets here: as
# components their names would collide (drf-spectacular warns, and --fail-on-warn fails). Wrapped in
# `allOf`, the enum stays inline in the property, where the enum post-processing hook leaves it.


def _inline_enum(values: list[str], description: str) -> dict[str, Any]:
    # The sibling `description` keeps drf-spectacular from unwrapping a lone `allOf`.
    return {"allOf": [{"type": "string", "enum": values}], "description": description}


PARTIES = [(Party.CONSUMER.value, Party.CONSUMER.label), (Party.BUSINESS.value, Party.BUSINESS.label)]


@extend_schema_field(_inline_enum(Status.values, "The case's status (see TRANSITIONS)."))
class CaseStatusField(serializers.ChoiceField):
    pass


@extend_schema_field(_inline_enum([value for value, _label in PARTIES], "The consumer or the business."))
class AnsweringPartyField(serializers.ChoiceField):
    pass


@extend_schema_field(_inline_enum(CaseDocument.Kind.values, "What the document is."))
class DocumentKindField(serializers.ChoiceField):
    pass


# --- Output ---------------------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()
    email = serializers.EmailField()

    def get_name(self, user: User) -> str:
        return user.get_full_name() or user.email


class MemberSummarySerializer(ModelSerializer):
    class Meta:
        model = Member
        fields = ["id", "legal_name", "trade_name", "siren"]
        read_only_fields = fields


class CaseListSerializer(ModelSerializer):
    """A row of GET /api/v1/cases/."""

    status = CaseStatusField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    consumer_name = serializers.CharField()
    business = serializers.CharField(source="business_display")
    currency = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()
    urgency = serializers.SerializerMethodField()
    assignee = UserSummarySerializer(allow_null=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "status",
            "status_label",
            "source",
            "consumer_name",
            "business",
            "member_id",
            "subject",
            "amount_cents",
            "currency",
            "received_at",
            "next_due_on",
            "days_left",
            "urgency",
            "assignee",
        ]
        read_only_fields = fields

    def get_currency(self, case: Case) -> str:
        return CURRENCY

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_days_left(self, case: Case) -> int | None:
        return case.days_left(self.context.get("today"))

    @extend_schema_field(serializers.ChoiceField(choices=["overdue", "soon", "ok", "none"]))
    def get_urgency(self, case: Case) -> str:
        return case.urgency(self.context.get("today"))


class ConsumerSerializer(serializers.Serializer):
    first_name = serializers.CharField(source="consumer_first_name", allow_blank=True, max_length=150, required=False)
    last_name = serializers.CharField(source="consumer_last_name", allow_blank=True, max_length=150, required=False)
    email = serializers.EmailField(source="consumer_email", allow_blank=True, required=False)
    phone = serializers.CharField(source="consumer_phone", allow_blank=True, max_length=30, required=False)
    address = serializers.CharField(source="consumer_address", allow_blank=True, max_length=300, required=False)
    postcode = serializers.CharField(source="consumer_postcode", allow_blank=True, max_length=10, required=False)
    city = serializers.CharField(source="consumer_city", allow_blank=True, max_length=100, required=False)


class BusinessSerializer(serializers.Serializer):
    member = MemberSummarySerializer(allow_null=True)
    name = serializers.CharField(source="business_display")


class EligibilitySerializer(serializers.Serializer):
    is_consumer = serializers.BooleanField(allow_null=True, required=False)
    complained_on = serializers.DateField(allow_null=True, required=False)
    other_proceedings = serializers.BooleanField(allow_null=True, required=False)


class DisputeSerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=Subject.choices, allow_blank=True, required=False)
    description = serializers.CharField(allow_blank=True, required=False, max_length=20_000)
    amount_cents = serializers.IntegerField(allow_null=True, required=False, min_value=0)
    currency = serializers.SerializerMethodField()
    desired_outcome = serializers.CharField(allow_blank=True, required=False, max_length=5_000)

    def get_currency(self, case: Case) -> str:
        return CURRENCY


class DeadlinesSerializer(serializers.Serializer):
    admissibility_due_on = serializers.DateField(allow_null=True)
    outcome_due_on = serializers.DateField(allow_null=True)
    extended_until = serializers.DateField(allow_null=True)
    extension_reason = serializers.CharField()
    proposal_answer_due_on = serializers.DateField(allow_null=True)
    next_due_on = serializers.DateField(allow_null=True)
    days_left = serializers.SerializerMethodField()
    urgency = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_days_left(self, case: Case) -> int | None:
        return case.days_left(self.context.get("today"))

    @extend_schema_field(serializers.ChoiceField(choices=["overdue", "soon", "ok", "none"]))
    def get_urgency(self, case: Case) -> str:
        return case.urgency(self.context.get("today"))


class StepDatesSerializer(serializers.Serializer):
    consent_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    complete_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField(allow_null=True)
    business_accepted_at = serializers.DateTimeField(allow_null=True)
    proposal_sent_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class DecisionsSerializer(serializers.Serializer):
    inadmissibility_reason = serializers.CharField()
    reoriented_to = serializers.CharField()
    outcome = serializers.CharField()
    closed_by_party = serializers.CharField()
    closure_note = serializers.CharField()
    proposal_text = serializers.CharField()
    consumer_answer = serializers.CharField()
    business_answer = serializers.CharField()
    recommendations = serializers.CharField()
    execution = serializers.CharField()
    execution_check_on = serializers.DateField(allow_null=True)


class CaseDetailSerializer(ModelSerializer):
    """GET /api/v1/cases/{key}/ and the answer of every action: the case as the staff case page shows it."""

    status = CaseStatusField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    consumer = ConsumerSerializer(source="*")
    business = BusinessSerializer(source="*")
    eligibility = EligibilitySerializer(source="*")
    dispute = DisputeSerializer(source="*")
    deadlines = DeadlinesSerializer(source="*")
    dates = StepDatesSerializer(source="*")
    decisions = DecisionsSerializer(source="*")
    limitation_suspended_since = serializers.DateField(allow_null=True)
    limitation_runs_again_until = serializers.DateField(allow_null=True)
    assignee = UserSummarySerializer(allow_null=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "status",
            "status_label",
            "source",
            "consumer",
            "business",
            "eligibility",
            "dispute",
            "deadlines",
            "dates",
            "decisions",
            "limitation_suspended_since",
            "limitation_runs_again_until",
            "assignee",
            "allowed_actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=list(ACTIONS))))
    def get_allowed_actions(self, case: Case) -> list[str]:
        request = self.context.get("request")
        return allowed_actions(case, getattr(request, "user", None))


class CaseEventSerializer(ModelSerializer):
    by = UserSummarySerializer(allow_null=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "before", "after", "by", "party", "note", "channel", "data", "at"]
        read_only_fields = fields


class CaseMessageSerializer(ModelSerializer):
    class Meta:
        model = CaseMessage
        fields = ["id", "channel", "party", "author_name", "body", "created_at"]
        read_only_fields = fields


class CaseDocumentSerializer(ModelSerializer):
    kind = DocumentKindField(choices=CaseDocument.Kind.choices)

    class Meta:
        model = CaseDocument
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "channel", "party", "created_at"]
        read_only_fields = fields


# --- Input ------------------------------------------------------------------------------------------


def check_received_at(value: datetime.datetime | None) -> None:
    """A letter received before consumer mediation began is a typing error: its year would be the reference's
    (`0763-00001`) and, that far back, the local time has an offset in seconds that no client can read."""
    if value is not None and timezone.localdate(value).year < FIRST_YEAR:
        raise serializers.ValidationError(
            _("La date de réception ne peut pas être antérieure au 1er janvier %(year)s.") % {"year": FIRST_YEAR}
        )


class PostalCaseInputSerializer(serializers.Serializer):
    """POST /api/v1/cases/: a request received by post, entered as a draft (documents, then submit)."""

    consumer = ConsumerSerializer()
    member = serializers.PrimaryKeyRelatedField(queryset=Member.objects.all(), allow_null=True, required=False)
    business_name = serializers.CharField(allow_blank=True, required=False, max_length=200)
    eligibility = EligibilitySerializer(required=False)
    dispute = DisputeSerializer(required=False)
    received_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the letter arrived (from 1 January 2016 to now); repeat it on submit.",
    )

    def validate_received_at(self, value: Any) -> Any:
        check_received_at(value)
        if value is not None and value > timezone.now():
            raise serializers.ValidationError(_("La date de réception ne peut pas être dans le futur."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("member") and not attrs.get("business_name", "").strip():
            raise serializers.ValidationError(
                {"business_name": [_("Indiquez l'adhérent concerné ou le nom du professionnel.")]}
            )
        return attrs

    def draft_fields(self) -> dict[str, Any]:
        """The validated body as keyword arguments of `services.create_postal_case`."""
        data = self.validated_data
        fields: dict[str, Any] = {**data["consumer"], **data.get("eligibility", {}), **data.get("dispute", {})}
        if data.get("member") is not None:
            fields["member"] = data["member"]
        if data.get("business_name"):
            fields["business_name"] = data["business_name"]
        return fields


class SubmitInputSerializer(serializers.Serializer):
    received_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the letter arrived (from 1 January 2016 to now)."
    )

    def validate_received_at(self, value: Any) -> Any:
        check_received_at(value)
        return value


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=5_000, default="")


class RequiredNoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5_000)


class RequestDocumentsInputSerializer(serializers.Serializer):
    what = serializers.CharField(max_length=5_000, help_text="The documents asked for (written into the letter).")


class EmptyInputSerializer(serializers.Serializer):
    pass


class InadmissibleInputSerializer(NoteInputSerializer):
    reason = serializers.ChoiceField(choices=InadmissibilityReason.choices)


class ReorientInputSerializer(NoteInputSerializer):
    to = serializers.CharField(max_length=200)


class BusinessAnswerInputSerializer(NoteInputSerializer):
    accepts = serializers.BooleanField()


class ExtendInputSerializer(serializers.Serializer):
    until = serializers.DateField()
    reason = serializers.CharField(max_length=5_000)


class ProposalInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=50_000)
    answer_due_on = serializers.DateField(required=False, allow_null=True)


class ProposalAnswerInputSerializer(NoteInputSerializer):
    party = AnsweringPartyField(choices=PARTIES)
    accepts = serializers.BooleanField()


class CloseInputSerializer(NoteInputSerializer):
    outcome = serializers.ChoiceField(
        choices=[
            (value, Outcome(value).label) for value in (Outcome.AGREEMENT, Outcome.FAILURE, Outcome.PROPOSAL_REFUSED)
        ]
    )


class WithdrawInputSerializer(NoteInputSerializer):
    party = AnsweringPartyField(choices=PARTIES)


class AssignInputSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, help_text="A staff member's id, or null."
    )


class MessageInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    body = serializers.CharField(max_length=20_000)


class DocumentInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = DocumentKindField(choices=CaseDocument.Kind.choices, default=CaseDocument.Kind.EVIDENCE)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.INTERNAL)
