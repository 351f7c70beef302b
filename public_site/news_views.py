"""Unsubscribing from a firm's news (`/actualites/desabonnement/<token>/`): no login, the signed link is the key.

For news only: letters about the membership (renewals, invoices) and about the
cases are legal notices and keep going out. The token is signed for this
firm's schema: a link opened on another firm's host, altered or forged is a 404.
The POST is also what mail clients send for a one-click unsubscribe (RFC 8058,
`List-Unsubscribe-Post`), without a CSRF token: the secret link is the only
thing that authorises it, so CSRF protection would add nothing.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mediation.members import news

MAX_TOKEN_LENGTH = 200


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    contact = news.contact_for_token(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if contact is None:
        raise Http404
    done = False
    if request.method == "POST":
        done = news.unsubscribe(contact=contact) > 0
        contact.refresh_from_db(fields=["news_opt_out_at"])
    context = {
        "contact": contact,
        "email": news.masked_email(contact.email),
        "member_name": str(contact.member),
        "opted_out": contact.news_opt_out_at is not None,
        "done": done,
    }
    response = render(request, "public_site/news/unsubscribe.html", context)
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
