from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The firm's public home page, on its own host."""
    return render(request, "public_site/home.html")
