from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mediation import selectors


@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """The staff area's landing page: who you are here and what runs for this firm."""
    return render(request, "mediation/staff_home.html", {"periodic_runs": selectors.periodic_runs()})
