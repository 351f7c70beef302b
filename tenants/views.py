from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from tenants import services
from tenants.closure import exports_dir
from tenants.forms import SignupForm
from tenants.models import Plan, Signup, Tenant

# The browser that verified a signup may see its first-login link and retry it.
SESSION_KEY = "signups"


def platform_home(request: HttpRequest) -> HttpResponse:
    """The platform host's home: what the product does, the plans, and the way in."""
    context = {
        "active_firms": Tenant.objects.active_firms().count(),
        "plans": Plan.objects.filter(is_public=True),
    }
    return render(request, "platform/home.html", context)


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None, platform_domain=settings.PLATFORM_DOMAIN)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.start_signup(
                **form.cleaned_data,
                language=(get_language() or "fr")[:2],
                base_url=f"{request.scheme}://{request.get_host()}",
            )
        except services.SignupError as exc:
            form.add_error("slug", str(exc))
        else:
            return render(request, "tenants/signup_sent.html", {"signup": created}, status=201)
    initial_plan = request.GET.get("formule")
    if request.method == "GET" and initial_plan:
        form.initial["plan"] = Plan.objects.filter(code=initial_plan, is_public=True).first()
    return render(request, "tenants/signup_form.html", {"form": form}, status=400 if form.errors else 200)


def signup_verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        verified = services.verify_signup(token=token)
    except services.SignupError as exc:
        return render(request, "tenants/signup_error.html", {"message": str(exc)}, status=400)
    allowed = set(request.session.get(SESSION_KEY, []))
    allowed.add(str(verified.public_id))
    request.session[SESSION_KEY] = sorted(allowed)
    return redirect("signup-progress", public_id=verified.public_id)


def _owned_signup(request: HttpRequest, public_id: UUID) -> tuple[Signup, bool]:
    found = get_object_or_404(Signup.objects.select_related("tenant", "plan"), public_id=public_id)
    if found.status == Signup.Status.PENDING:
        raise Http404
    return found, str(public_id) in request.session.get(SESSION_KEY, [])


def signup_progress(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Where the space is being created; polls itself (htmx) until it is ready or failed."""
    found, owner = _owned_signup(request, public_id)
    context = {
        "signup": found,
        "owner": owner,
        "done": found.status in (Signup.Status.READY, Signup.Status.FAILED),
        "firm_url": services.firm_base_url(found),
        "first_login_url": services.first_login_url(found) if owner and found.status == Signup.Status.READY else None,
    }
    template = "tenants/_signup_status.html" if request.headers.get("HX-Request") else "tenants/signup_progress.html"
    return render(request, template, context)


@require_POST
def signup_retry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    found, owner = _owned_signup(request, public_id)
    if not owner:
        raise Http404
    services.retry_signup(signup=found)
    return redirect("signup-progress", public_id=found.public_id)


@staff_member_required
def console_export(request: HttpRequest, tenant_id: int) -> FileResponse:
    """A closed firm's data export, for platform operators (superusers) only."""
    if not request.user.is_superuser:
        raise Http404
    tenant = get_object_or_404(Tenant, pk=tenant_id)
    path = exports_dir() / tenant.export_file
    if not tenant.export_file or not path.is_file():
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=tenant.export_file)
