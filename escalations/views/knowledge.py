"""The knowledge base: list and search, the article page, and linking articles to cases."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from escalations import selectors, workflow
from escalations.actions import catalogue, forms
from escalations.models import KnowledgeArticle
from escalations.views.base import staff_page, writer_only
from escalations.views.case_actions import refused
from escalations.views.forms import KnowledgeSearchForm


@require_GET
@staff_page
def kb_list(request: HttpRequest) -> HttpResponse:
    form = KnowledgeSearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_bound and form.is_valid() else ""
    return render(
        request,
        "escalations/kb_list.html",
        {"nav": "kb", "form": form, "q": q, "articles": selectors.knowledge_search(q)},
        status=400 if form.errors else 200,
    )


@require_GET
@staff_page
def kb_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_for(pk)
    return render(
        request,
        "escalations/kb_detail.html",
        {"nav": "kb", "article": article, "cases": selectors.article_cases(article, request.user)},
    )


@require_POST
@writer_only
def article_link(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_for(request.user, pk)
    form = forms.ArticleLinkForm(request.POST, prefix="link")
    if not form.is_valid():
        return refused(request, case, "link", form, None)
    article = KnowledgeArticle.objects.filter(pk=form.cleaned_data["article"], is_published=True).first()
    if article is None:
        form.add_error("article", "There is no published article with this number.")
        return refused(request, case, "link", form, None)
    try:
        catalogue.ACTIONS["link-article"].perform(case, request.user, form)
    except workflow.WorkflowError as exc:
        return refused(request, case, "link", form, exc)
    messages.success(request, f"Linked “{article.title}”.")
    return redirect("case-detail", pk=case.pk)


@require_POST
@writer_only
def article_unlink(request: HttpRequest, pk: int, article_pk: int) -> HttpResponse:
    case = selectors.case_for(request.user, pk)
    article = selectors.article_for(article_pk)
    form = forms.ArticleLinkForm({"article": article.pk, "linked": "0"})
    form.is_valid()
    try:
        catalogue.ACTIONS["link-article"].perform(case, request.user, form)
    except workflow.WorkflowError as exc:  # nothing was typed: say why on the case page
        messages.error(request, exc.message)
        return redirect("case-detail", pk=case.pk)
    messages.success(request, f"Unlinked “{article.title}”.")
    return redirect("case-detail", pk=case.pk)
