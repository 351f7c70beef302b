"""Staff pages of the news to members (/staff/adherents/actualites/): members.view reads, members.edit writes."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.permissions import Perm, require_perm, user_has_perm
from mediation.members import news as svc
from mediation.members.models import News
from mediation.members.news_forms import NewsForm

PAGE_SIZE = 50
DELIVERIES_PER_PAGE = 100


def _acting_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # require_perm let only staff users through
    return request.user


def _get_news(pk: int) -> News:
    news = News.objects.select_related("created_by").filter(pk=pk).first()
    if news is None:
        raise Http404
    return news


@require_perm(Perm.MEMBERS_VIEW)
@require_GET
def news_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(svc.news_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    for news in page.object_list:
        news.segment_text = svc.segment_label(news)  # type: ignore[attr-defined]
    context = {"page": page, "can_edit": user_has_perm(request.user, Perm.MEMBERS_EDIT)}
    return render(request, "members/news/news_list.html", context)


@require_perm(Perm.MEMBERS_EDIT)
def news_new(request: HttpRequest) -> HttpResponse:
    form = NewsForm(request.POST or None, initial={"segment": News.Segment.ALL})
    if request.method == "POST" and form.is_valid():
        try:
            news = svc.create_news(by=_acting_user(request), **form.values())
        except svc.NewsError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Brouillon enregistré : vérifiez l'aperçu avant l'envoi."))
            return redirect("news:detail", pk=news.pk)
    status = 400 if form.is_bound else 200
    return render(request, "members/news/news_form.html", {"form": form, "news": None}, status=status)


@require_perm(Perm.MEMBERS_EDIT)
def news_edit(request: HttpRequest, pk: int) -> HttpResponse:
    news = _get_news(pk)
    if news.status != News.Status.DRAFT:
        messages.error(request, _("Cette actualité est déjà envoyée : elle ne peut plus être modifiée."))
        return redirect("news:detail", pk=news.pk)
    form = NewsForm(request.POST or None, instance=news)
    if request.method == "POST" and form.is_valid():
        try:
            svc.update_news(news=news, by=_acting_user(request), **form.values())
        except svc.NewsError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Brouillon enregistré."))
            return redirect("news:detail", pk=news.pk)
    status = 400 if form.is_bound else 200
    return render(request, "members/news/news_form.html", {"form": form, "news": news}, status=status)


def _sample_body(request: HttpRequest, news: News) -> str:
    """The text as recipients will read it, with the footer (the member's name and link vary per recipient)."""
    footer = svc.footer(
        member=_("<adhérent>"),
        firm_name=str(getattr(getattr(request, "tenant", None), "name", "")),
        url=_("<lien personnel de désabonnement>"),
    )
    return f"{news.body}\n\n-- \n{footer}"


@require_perm(Perm.MEMBERS_VIEW)
@require_GET
def news_detail(request: HttpRequest, pk: int) -> HttpResponse:
    news = _get_news(pk)
    can_edit = user_has_perm(request.user, Perm.MEMBERS_EDIT)
    context: dict[str, object] = {
        "news": news,
        "segment_text": svc.segment_label(news),
        "can_edit": can_edit,
        "progress": svc.progress(news),
    }
    if news.status == News.Status.DRAFT:
        context["preview"] = svc.preview(segment=news.segment, value=news.segment_value)
        context["sample_body"] = _sample_body(request, news)
    else:
        context["deliveries"] = Paginator(svc.deliveries(news), DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "members/news/news_detail.html", context)


@require_perm(Perm.MEMBERS_VIEW)
@require_GET
def news_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled every 2 s by the news page while it is being sent."""
    response = JsonResponse(svc.progress(_get_news(pk)).as_dict())
    response["Cache-Control"] = "no-store"
    return response


@require_perm(Perm.MEMBERS_EDIT)
def news_send(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page with the recipient count; POST: the sending starts."""
    news = _get_news(pk)
    if news.status != News.Status.DRAFT:
        messages.error(request, _("Cette actualité est déjà envoyée ou en cours d'envoi."))
        return redirect("news:detail", pk=news.pk)
    if request.method == "POST":
        try:
            count = svc.send_news(news=news, by=_acting_user(request))
        except svc.NewsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Envoi lancé à %(count)s destinataires : cette page suit sa progression.") % {"count": count},
            )
        return redirect("news:detail", pk=news.pk)
    context = {
        "news": news,
        "segment_text": svc.segment_label(news),
        "preview": svc.preview(segment=news.segment, value=news.segment_value),
    }
    return render(request, "members/news/news_send.html", context)


@require_perm(Perm.MEMBERS_EDIT)
@require_POST
def news_resume(request: HttpRequest, pk: int) -> HttpResponse:
    news = _get_news(pk)
    if svc.resume_sending(news=news, by=_acting_user(request)):
        messages.success(request, _("Envoi relancé : les e-mails déjà partis ne seront pas renvoyés."))
    else:
        messages.error(request, _("Cette actualité n'est pas en cours d'envoi."))
    return redirect("news:detail", pk=news.pk)


@require_perm(Perm.MEMBERS_EDIT)
@require_POST
def news_delete(request: HttpRequest, pk: int) -> HttpResponse:
    news = _get_news(pk)
    try:
        svc.delete_news(news=news, by=_acting_user(request))
    except svc.NewsError as exc:
        messages.error(request, exc.message)
        return redirect("news:detail", pk=news.pk)
    messages.success(request, _("Brouillon supprimé."))
    return redirect("news:list")
