"""The live badge of a member business and its public verification page (/verifier/<token>/).

Embedded on members' websites, so hit often: one query loads the token, the
business, its recent membership terms and the firm's details (with the host's
domain lookup, two per request); no session, no context processors, the SVG
is a plain string. Responses carry an ETag over everything they show and a
short public cache; a conditional GET gets a 304. Coverage is decided by
`mediation.members.coverage.decide`, the staff pages' rule; a revoked token
never shows "covered", an unknown one (or another firm's) is a 404.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.throttle import rate_limit
from firm.models import FirmProfile, Mediator
from mediation.members import coverage as cov
from mediation.members.kit import BADGE_HEIGHT, BADGE_WIDTH
from mediation.members.models import BadgeToken, Member, Membership

# secrets.token_urlsafe output; anything else is a 404 without touching the database.
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{16,64}")
CACHE_CONTROL = "public, max-age=300"
SVG_TYPE = "image/svg+xml; charset=utf-8"
# Colours with white text at 4.5:1 or more (WCAG AA).
COLOURS = {"covered": "#17663a", "not_covered": "#a11d1d", "invalid": "#595959"}
FONT = "DejaVu Sans,Verdana,Geneva,Arial,sans-serif"


@dataclass(frozen=True)
class BadgeState:
    token: str
    revoked: bool
    coverage: cov.Coverage
    business: str
    siren: str
    firm_name: str
    firm_website: str
    mediators: list[str]
    firm_updated_at: datetime.datetime | None

    @property
    def mediator_names(self) -> str:
        names = self.mediators or [self.firm_name]
        if len(names) == 1:
            return names[0]
        return _("%(first)s et %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}

    @property
    def kind(self) -> str:
        if self.revoked:
            return "invalid"
        return "covered" if self.coverage.covered else "not_covered"


def _badge_sql() -> str:
    """The badge's one query, written by hand: the ORM took ~5 ms to compile it, ten times its execution.

    Table names come from the models; django-tenants' search_path picks the firm's schema.
    """
    token, member, term = BadgeToken._meta.db_table, Member._meta.db_table, Membership._meta.db_table
    firm, mediator = FirmProfile._meta.db_table, Mediator._meta.db_table
    # Only table names from the models are interpolated; the token is a parameter.
    return f"""
        SELECT t.revoked_at, m.legal_name, m.trade_name, m.siren, m.status,
               terms.starts, terms.ends, terms.paid, terms.terminated, terms.suspended,
               ARRAY(SELECT md.first_name || ' ' || md.last_name FROM {mediator} md
                     WHERE md.is_active ORDER BY md.last_name, md.first_name, md.id) AS mediators,
               f.legal_name, f.website, f.updated_at
        FROM {token} t
        JOIN {member} m ON m.id = t.member_id
        LEFT JOIN {firm} f ON f.id = {FirmProfile.SINGLETON_PK}
        LEFT JOIN LATERAL (
            SELECT array_agg(r.starts_on) AS starts, array_agg(r.ends_on) AS ends,
                   array_agg(r.paid_at IS NOT NULL) AS paid, array_agg(r.terminated_at IS NOT NULL) AS terminated,
                   array_agg(r.suspended_at IS NOT NULL) AS suspended
            FROM (SELECT starts_on, ends_on, paid_at, terminated_at, suspended_at FROM {term}
                  WHERE member_id = t.member_id
                  ORDER BY ends_on DESC, id DESC LIMIT {cov.RECENT_TERMS}) r
        ) terms ON TRUE
        WHERE t.token = %s
        LIMIT 1
    """  # noqa: S608


BADGE_SQL = _badge_sql()


def load_state(*, token: str, today: datetime.date, tenant_name: str) -> BadgeState | None:
    """Everything the badge and its page show, in one query; None for an unknown token."""
    if not TOKEN_FORMAT.fullmatch(token):
        return None
    with connection.cursor() as cursor:
        cursor.execute(BADGE_SQL, [token])
        row = cursor.fetchone()
    if row is None:
        return None
    (revoked_at, legal_name, trade_name, siren, status, starts, ends, paid, terminated, suspended, mediators,
     firm_name, firm_website, firm_updated_at) = row  # fmt: skip
    terms = [
        cov.Term(starts_on=s, ends_on=e, paid=p, terminated=x, suspended=u)
        for s, e, p, x, u in zip(starts or [], ends or [], paid or [], terminated or [], suspended or [], strict=True)
    ]
    revoked = revoked_at is not None
    return BadgeState(
        token=token,
        revoked=revoked,
        coverage=cov.REVOKED if revoked else cov.decide(status=status, terms=terms, today=today),
        business=trade_name or legal_name,
        siren=siren,
        firm_name=firm_name or tenant_name,
        firm_website=firm_website or "",
        mediators=list(mediators or []),
        firm_updated_at=firm_updated_at,
    )


def etag_for(kind: str, state: BadgeState, today: datetime.date) -> str:
    """Changes whenever anything the response shows changes (coverage, names, the day, the language)."""
    parts = [
        kind,
        state.token,
        state.coverage.reason,
        str(state.coverage.until),
        state.business,
        state.siren,
        state.firm_name,
        state.firm_website,
        "|".join(state.mediators),
        str(state.firm_updated_at),
        today.isoformat(),
        translation.get_language() or "",
    ]
    return '"' + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32] + '"'


def _cached(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _tenant_name(request: HttpRequest) -> str:
    return str(getattr(getattr(request, "tenant", None), "name", ""))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _status_line(state: BadgeState | None) -> str:
    if state is None or state.revoked:
        return _("Badge non valable")
    if state.coverage.covered and state.coverage.until is not None:
        return _("Couvert jusqu'au %(date)s") % {"date": date_format(state.coverage.until, "SHORT_DATE_FORMAT")}
    return _("Non couvert")


def badge_svg(state: BadgeState | None) -> str:
    """The badge image: who mediates, and whether the business is covered now. No external resource."""
    kind = state.kind if state is not None else "invalid"
    status = _status_line(state)
    heading = _("Médiation de la consommation")
    mediator = _("Médiateur : %(names)s") % {"names": state.mediator_names} if state is not None else ""
    label = " — ".join(part for part in (heading, state.business if state else "", status, mediator) if part)
    check = "✓ " if kind == "covered" else "✗ " if kind == "not_covered" else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BADGE_WIDTH}" height="{BADGE_HEIGHT}" '
        f'viewBox="0 0 {BADGE_WIDTH} {BADGE_HEIGHT}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<rect width="{BADGE_WIDTH}" height="{BADGE_HEIGHT}" rx="6" fill="{COLOURS[kind]}"/>'
        f'<g fill="#ffffff" font-family="{FONT}">'
        f'<text x="12" y="19" font-size="11">{escape(heading)}</text>'
        f'<text x="12" y="39" font-size="14" font-weight="bold">{escape(check + status)}</text>'
        f'<text x="12" y="56" font-size="10">{escape(_short(mediator, 44))}</text>'
        "</g></svg>"
    )


@rate_limit("public_badge", methods=("GET", "HEAD"))
@require_safe
def badge_image(request: HttpRequest, token: str) -> HttpResponse:
    today = timezone.localdate()
    state = load_state(token=token, today=today, tenant_name=_tenant_name(request))
    if state is None:
        response = HttpResponse(badge_svg(None), content_type=SVG_TYPE, status=404)
        response["Cache-Control"] = CACHE_CONTROL
        return response
    etag = etag_for("svg", state, today)
    response = get_conditional_response(request, etag=etag) or HttpResponse(badge_svg(state), content_type=SVG_TYPE)
    # Members' sites embed it: allow cross-origin embedding, forbid anything active if opened directly.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return _cached(response, etag)


@rate_limit("public_badge", methods=("GET", "HEAD"))
@require_safe
def verify(request: HttpRequest, token: str) -> HttpResponse:
    today = timezone.localdate()
    tenant_name = _tenant_name(request)
    state = load_state(token=token, today=today, tenant_name=tenant_name)
    if state is None:
        # Rendered without the request: no context processor, no session, no query.
        html = render_to_string("public_site/badge/unknown.html", {"firm_name": tenant_name})
        return HttpResponse(html, status=404)
    etag = etag_for("page", state, today)
    response = get_conditional_response(request, etag=etag)
    if response is None:
        context = {"state": state, "coverage": state.coverage, "today": today}
        response = HttpResponse(render_to_string("public_site/badge/verify.html", context))
    return _cached(response, etag)
