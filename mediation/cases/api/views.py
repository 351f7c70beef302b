"""/api/v1/cases/: the staff's cases API (session authentication; cases.view reads, the services check the rest).

A case is addressed by its reference (`2025-00042`) or by its numeric `id`.
Drafts have no reference yet: a postal draft entered by staff is reached by
its `id` (returned by POST /api/v1/cases/) until it is submitted. A consumer's
online draft is never visible here (it is not filed until the consumer sends it).

Every write goes through `mediation.cases.services`; a refused step (`CaseError`)
becomes its own status (409 for a refused transition or a missing condition,
400 for a bad document, 403 for a party rule) with `{"code", "detail"}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ErrorSerializer
from accounts.models import User
from accounts.permissions import HasPerm, Perm
from core.api import CursorPages, FilterBackend, InvalidFilter
from mediation.cases import services
from mediation.cases.api import serializers as s
from mediation.cases.api.filters import CaseFilter, listed_cases
from mediation.cases.errors import CaseError
from mediation.cases.models import Case, CaseMessage, Channel, Party, Status


def _case_error(exc: CaseError) -> APIException:
    """A refused step as an API error with the service's status and stable code."""
    error = APIException(detail=exc.message, code=exc.code)
    error.status_code = exc.status_code
    return error


@contextmanager
def _service_errors() -> Iterator[None]:
    try:
        yield
    except CaseError as exc:
        raise _case_error(exc) from exc


def _acting_user(request: Request) -> User:
    assert isinstance(request.user, User)  # IsAuthenticated and HasPerm ran first
    return request.user


def case_by_key(key: str) -> Case:
    """The case a URL names by reference or by id; 404 for another firm's, an unknown one or an online draft."""
    cases = Case.objects.select_related("member", "assignee")
    if key.isascii() and key.isdigit() and len(key) < 19:  # str.isdigit() is also true of "²"
        case = cases.filter(pk=int(key)).exclude(status=Status.DRAFT, source=Case.Source.ONLINE).first()
    else:
        case = cases.filter(reference=key[:20]).first()
    if case is None:
        raise Http404
    return case


def _detail(case: Case, request: Request) -> dict[str, Any]:
    fresh = Case.objects.select_related("member", "assignee").get(pk=case.pk)
    return s.CaseDetailSerializer(fresh, context={"request": request, "today": timezone.localdate()}).data


KEY_PARAMETER = OpenApiParameter(
    "key",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The case's reference (e.g. 2025-00042) or its numeric id (the only way to reach a postal draft).",
)
ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input (`code` invalid, invalid_document…)."),
    403: OpenApiResponse(ErrorSerializer, description="Not authenticated or the role does not allow it."),
    404: OpenApiResponse(ErrorSerializer, description="No such case in this firm."),
    409: OpenApiResponse(ErrorSerializer, description="Refused step (`code` transition_not_allowed, …)."),
}


def _errors(*codes: int) -> dict[int, Any]:
    return {code: ERRORS[code] for code in codes}


class CaseAPIView(GenericAPIView):
    """Reading needs cases.view; writing needs `write_perm` (the service checks its own permission again)."""

    write_perm: Perm = Perm.CASES_HANDLE

    def get_permissions(self) -> list[BasePermission]:
        perm = Perm.CASES_VIEW if self.request.method in SAFE_METHODS else self.write_perm
        return [IsAuthenticated(), HasPerm(perm)()]


# --- List and postal filing ---------------------------------------------------------------------


class CasePagination(CursorPages):
    ordering = ("-received_at", "-id")
    ORDERINGS: dict[str, tuple[str, ...]] = {
        "received": ("-received_at", "-id"),
        # `due_key` is next_due_on with finished cases (no deadline) last: a cursor needs a non-null position.
        "deadline": ("due_key", "id"),
    }

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView | None) -> tuple[str, ...]:
        return self.ORDERINGS.get(request.query_params.get("ordering") or "received", self.ordering)


ORDERING_PARAMETER = OpenApiParameter(
    "ordering",
    OpenApiTypes.STR,
    enum=list(CasePagination.ORDERINGS),
    description="received (default): newest first; deadline: nearest next deadline first, finished cases last.",
)


class CaseListView(CaseAPIView):
    serializer_class = s.CaseListSerializer
    pagination_class = CasePagination
    filter_backends = [FilterBackend]
    filterset_class = CaseFilter
    parser_classes = [JSONParser]

    def get_queryset(self) -> QuerySet[Case]:
        return listed_cases()

    @extend_schema(
        parameters=[ORDERING_PARAMETER],
        responses={200: s.CaseListSerializer(many=True), **_errors(400, 403)},
        operation_id="cases_list",
        description="Submitted cases (never drafts), filtered, in cursor pages of 50 (page_size up to 200).",
    )
    def get(self, request: Request) -> Response:
        ordering = request.query_params.get("ordering")
        if ordering and ordering not in CasePagination.ORDERINGS:
            raise InvalidFilter({"ordering": [f"{ordering!r}: received, deadline."]})
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = s.CaseListSerializer(page, many=True, context={"today": timezone.localdate()}).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=s.PostalCaseInputSerializer,
        responses={201: s.CaseDetailSerializer, **_errors(400, 403)},
        operation_id="cases_create_postal",
        description=(
            "Enters a request received by post as a draft (cases.handle). Add its documents "
            "(POST /api/v1/cases/{id}/documents/, a `complaint` at least) then submit it "
            "(POST /api/v1/cases/{id}/submit/) to give it a reference."
        ),
    )
    def post(self, request: Request) -> Response:
        data = s.PostalCaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            case = services.create_postal_case(
                by=_acting_user(request), received_at=data.validated_data.get("received_at"), **data.draft_fields()
            )
        return Response(_detail(case, request), status=status.HTTP_201_CREATED)


# --- Detail --------------------------------------------------------------------------------------


class CaseDetailView(CaseAPIView):
    @extend_schema(
        parameters=[KEY_PARAMETER],
        responses={200: s.CaseDetailSerializer, **_errors(403, 404)},
        operation_id="cases_retrieve",
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(_detail(case_by_key(key), request))


# --- Actions ---------------------------------------------------------------------------------------

Run = Callable[[Case, User, dict[str, Any]], Case]


def _submit(case: Case, by: User, data: dict[str, Any]) -> Case:
    # A postal filing is recorded by staff: no consent box, the letter's arrival date as receipt.
    received_at = data.get("received_at") or case.received_at
    return services.submit(case=case, consent=False, by=by, received_at=received_at)


ACTION_RUNS: dict[str, tuple[type[serializers.Serializer], Run, str]] = {
    "submit": (s.SubmitInputSerializer, _submit, "Draft → received: the reference and the acknowledgement."),
    "request-documents": (
        s.RequestDocumentsInputSerializer,
        lambda case, by, d: services.request_documents(case=case, by=by, what=d["what"]),
        "Received → incomplete: the consumer is asked for the documents named in `what`.",
    ),
    "mark-complete": (
        s.EmptyInputSerializer,
        lambda case, by, d: services.mark_complete(case=case, by=by),
        "Incomplete → received: the file is complete; the 21-day admissibility period restarts.",
    ),
    "declare-inadmissible": (
        s.InadmissibleInputSerializer,
        lambda case, by, d: services.declare_inadmissible(case=case, by=by, reason=d["reason"], note=d["note"]),
        "Received or incomplete → inadmissible for a reason of L612-2 (cases.decide).",
    ),
    "reorient": (
        s.ReorientInputSerializer,
        lambda case, by, d: services.reorient(case=case, by=by, to=d["to"], note=d["note"]),
        "Received or incomplete → reoriented to another mediator or body.",
    ),
    "open": (
        s.NoteInputSerializer,
        lambda case, by, d: services.open_case(case=case, by=by, note=d["note"]),
        "Received → opened: the notice of seizure to both parties; the 90-day clock starts (cases.decide).",
    ),
    "business-answer": (
        s.BusinessAnswerInputSerializer,
        lambda case, by, d: services.record_business_answer(case=case, by=by, accepts=d["accepts"], note=d["note"]),
        "Opened → in mediation (accepts) or closed (refuses): the business's answer received by staff.",
    ),
    "extend": (
        s.ExtendInputSerializer,
        lambda case, by, d: services.extend(case=case, by=by, until=d["until"], reason=d["reason"]),
        "Extends the outcome deadline of a complex dispute (R612-5, cases.decide).",
    ),
    "send-proposal": (
        s.ProposalInputSerializer,
        lambda case, by, d: services.send_proposal(
            case=case, by=by, text=d["text"], answer_due_on=d.get("answer_due_on")
        ),
        "In mediation → proposal sent (R612-4, cases.decide); the answer deadline defaults to 30 days.",
    ),
    "resume-mediation": (
        s.RequiredNoteInputSerializer,
        lambda case, by, d: services.resume_mediation(case=case, by=by, note=d["note"]),
        "Proposal sent → in mediation: a revised proposal is to come (cases.decide).",
    ),
    "proposal-answer": (
        s.ProposalAnswerInputSerializer,
        lambda case, by, d: services.answer_proposal(
            case=case, by=by, party=d["party"], accepts=d["accepts"], note=d["note"]
        ),
        "Records a party's answer to the proposal received by post; a refusal or two acceptances close the case.",
    ),
    "close": (
        s.CloseInputSerializer,
        lambda case, by, d: services.close(case=case, by=by, outcome=d["outcome"], note=d["note"]),
        "Closes the case with its outcome (cases.decide).",
    ),
    "withdraw": (
        s.WithdrawInputSerializer,
        lambda case, by, d: services.withdraw(case=case, by=by, party=d["party"], note=d["note"]),
        "Records a party's withdrawal received by staff.",
    ),
    "interrupt": (
        s.RequiredNoteInputSerializer,
        lambda case, by, d: services.interrupt(case=case, by=by, note=d["note"]),
        "Stops the mediation for the reason given (cases.decide).",
    ),
    "assign": (
        s.AssignInputSerializer,
        lambda case, by, d: services.assign(case=case, by=by, assignee=d["assignee"]),
        "Gives the case to a staff member who handles cases (null: nobody).",
    ),
}


def _action_view(name: str) -> type[CaseAPIView]:
    input_serializer, run, description = ACTION_RUNS[name]
    perm = s.ACTIONS[name][0]

    class ActionView(CaseAPIView):
        write_perm = perm
        parser_classes = [JSONParser, FormParser, MultiPartParser]

        @extend_schema(
            parameters=[KEY_PARAMETER],
            request=input_serializer,
            responses={200: s.CaseDetailSerializer, **_errors(400, 403, 404, 409)},
            operation_id=f"cases_{name.replace('-', '_')}",
            description=f"{description} Needs {perm.value}.",
        )
        def post(self, request: Request, key: str) -> Response:
            case = case_by_key(key)
            data = input_serializer(data=request.data)
            data.is_valid(raise_exception=True)
            with _service_errors():
                case = run(case, _acting_user(request), dict(data.validated_data))
            return Response(_detail(case, request))

    class_name = "Case" + "".join(part.title() for part in name.split("-")) + "View"
    ActionView.__name__ = ActionView.__qualname__ = class_name
    return ActionView


ACTION_VIEWS: dict[str, type[CaseAPIView]] = {name: _action_view(name) for name in ACTION_RUNS}


# --- Messages, documents, timeline ------------------------------------------------------------------


class CaseMessagesView(CaseAPIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        parameters=[
            KEY_PARAMETER,
            OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values, description="Only this channel."),
        ],
        responses={200: s.CaseMessageSerializer(many=True), **_errors(400, 403, 404)},
        operation_id="cases_messages_list",
        description="Every message of the case (staff read every channel), oldest first.",
    )
    def get(self, request: Request, key: str) -> Response:
        case = case_by_key(key)
        messages = CaseMessage.objects.filter(case=case)
        channel = request.query_params.get("channel")
        if channel:
            if channel not in Channel.values:
                raise InvalidFilter({"channel": [f"{channel!r}: {', '.join(Channel.values)}."]})
            messages = messages.filter(channel=channel)
        return Response(s.CaseMessageSerializer(messages, many=True).data)

    @extend_schema(
        parameters=[KEY_PARAMETER],
        request=s.MessageInputSerializer,
        responses={201: s.CaseMessageSerializer, **_errors(400, 403, 404, 409)},
        operation_id="cases_messages_create",
        description="A staff message on a channel: internal note, to the consumer, to the business, or to all.",
    )
    def post(self, request: Request, key: str) -> Response:
        case = case_by_key(key)
        data = s.MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            message = services.post_message(
                case=case,
                party=Party.STAFF,
                by=_acting_user(request),
                channel=data.validated_data["channel"],
                body=data.validated_data["body"],
            )
        return Response(s.CaseMessageSerializer(message).data, status=status.HTTP_201_CREATED)


class CaseDocumentsView(CaseAPIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        parameters=[KEY_PARAMETER],
        responses={200: s.CaseDocumentSerializer(many=True), **_errors(403, 404)},
        operation_id="cases_documents_list",
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(s.CaseDocumentSerializer(case_by_key(key).documents.all(), many=True).data)

    @extend_schema(
        parameters=[KEY_PARAMETER],
        request={"multipart/form-data": s.DocumentInputSerializer},
        responses={201: s.CaseDocumentSerializer, **_errors(400, 403, 404, 409)},
        operation_id="cases_documents_create",
        description="Uploads a PDF, JPEG or PNG (checked on its content, 10 MB at most); internal unless `channel`.",
    )
    def post(self, request: Request, key: str) -> Response:
        case = case_by_key(key)
        data = s.DocumentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_errors():
            document = services.add_document(
                case=case,
                file=data.validated_data["file"],
                party=Party.STAFF,
                by=_acting_user(request),
                kind=data.validated_data["kind"],
                channel=data.validated_data["channel"],
            )
        return Response(s.CaseDocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class CaseEventsView(CaseAPIView):
    @extend_schema(
        parameters=[KEY_PARAMETER],
        responses={200: s.CaseEventSerializer(many=True), **_errors(403, 404)},
        operation_id="cases_events_list",
        description="The case's timeline, oldest first (staff see every line, internal ones included).",
    )
    def get(self, request: Request, key: str) -> Response:
        events = case_by_key(key).events.select_related("by")
        return Response(s.CaseEventSerializer(events, many=True).data)
