from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User
from accounts.permissions import Perm, forbidden, user_has_perm
from mediation import selectors
from mediation.cases import selectors as case_selectors
from mediation.cases.models import Status


@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """The staff area's landing page: who you are here, the cases to handle, and what runs for this firm."""
    if getattr(request.user, "role", None) == User.Role.MEMBER:  # a member business's user: not staff
        return forbidden(request)
    context: dict[str, Any] = {"periodic_runs": selectors.periodic_runs()}
    if user_has_perm(request.user, Perm.CASES_VIEW):
        labels = dict(Status.choices)
        context["case_counts"] = [
            (status, labels[status], count) for status, count in case_selectors.state_counts().items()
        ]
        context["case_deadlines"] = case_selectors.deadline_counts()
    return render(request, "mediation/staff_home.html", context)
