"""The queue pages' tools: the live poll (new cases since the page opened, fresh rows),
the bulk bar (one catalogue action on the checked rows), and saved filters.

The poll reads the same selectors as the pages, for the same user, so it shows exactly
what a reload would; its parameters go through a bounded form (400 with the reasons).
The bulk bar and the saved filters are POSTs with CSRF that answer with a redirect back
to the queue and a summary in the messages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from escalations import selectors, workflow
from escalations.actions import bulk, catalogue
from escalations.views.base import staff_page, writer_only
from escalations.views.forms import BulkActionForm, FollowingLiveForm, LiveQueueForm, QueueFilterForm, SaveFilterForm
from escalations.views.queues import FILTER_FIELDS, filter_form, queue_filters
from escalations.workflow import preferences

QUEUE_URL = {"mine": "my-queue", "team": "team-queue", "collab": "collab-queue", "following": "following-queue"}


def _refused(form) -> JsonResponse:
    problems = [
        f"{name}: {' '.join(errs)}" if name != "__all__" else " ".join(errs) for name, errs in form.errors.items()
    ]
    return JsonResponse({"error": "The live update's parameters are not valid.", "problems": problems}, status=400)


@require_GET
@staff_page
def queue_live(request: HttpRequest, scope: str) -> JsonResponse:
    """``{"new": n, "capped": bool, "rows": "<tr>…"}``: cases in the queue opened after the
    page's mark, and the page's rows as they are now (the same page of the same filters)."""
    user, now = request.user, timezone.now()
    if scope in ("mine", "team"):
        form = filter_form(LiveQueueForm, user, request.GET)
        if not form.is_valid():
            return _refused(form)
        filters = queue_filters(form.cleaned_data)
        page = selectors.queue_page(user, scope=scope, filters=filters, now=now, cursor=form.cleaned_data["cursor"])
        rows = page.rows
    else:
        form = FollowingLiveForm(request.GET)
        if not form.is_valid():
            return _refused(form)
        filters = selectors.QueueFilters()
        rows = (selectors.collaborating_rows if scope == "collab" else selectors.following_rows)(user, now)
    new, capped = selectors.new_cases_since(user, scope, filters, form.cleaned_data["mark"])
    html = render_to_string(
        "escalations/_case_tbody.html",
        {"rows": rows, "bulk": not selectors.is_read_only(user), "empty": "No cases match."},
        request=request,
    )
    return JsonResponse({"new": new, "capped": capped, "rows": html}, headers={"Cache-Control": "no-store"})


def _back(request: HttpRequest, value: str | None) -> str:
    """Back to the queue the form was on (only our own queue pages), else My queue."""
    target = value or ""
    path = target.split("?")[0]
    queues = {reverse(name) for name in QUEUE_URL.values()}
    if path in queues and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("my-queue")


@require_POST
@writer_only
def queue_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the checked rows; a summary of what was done and what was refused, why."""
    assignees = selectors.assignable_colleagues(request.user)
    form = BulkActionForm(request.POST, assignees=assignees)
    back = _back(request, request.POST.get("next"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Nothing was done: {error}")
        return redirect(back)
    slug = form.cleaned_data["action"]
    spec = catalogue.ACTIONS[slug]
    extra = {"choices": [(pk, label) for pk, label in assignees]} if slug == "assign" else {}
    try:
        outcomes = bulk.run(request.user, slug, form.cleaned_data["case"], form.fields_for_action(), extra)
    except workflow.WorkflowError as exc:
        messages.error(request, f"Nothing was done: {exc.message}")
        return redirect(back)
    done = [o for o in outcomes if o.done]
    refused = [o for o in outcomes if not o.done]
    numbers = ", ".join(f"#{o.case_id}" for o in done)
    if done:
        messages.success(request, f"{spec.name}: done on {len(done)} of {len(outcomes)} cases ({numbers}).")
    if refused:
        messages.warning(
            request, f"{spec.name}: refused on {len(refused)} of {len(outcomes)} cases; nothing changed on them:"
        )
        for o in refused:
            messages.warning(request, f"#{o.case_id}: {o.message}")
    return redirect(back)


def _queue_url(queue: str, query: str) -> str:
    return f"{reverse(QUEUE_URL[queue])}?{query or 'clear=1'}"


@require_POST
@staff_page
def queue_filter_save(request: HttpRequest) -> HttpResponse:
    """Keep the queue's current filter under a name. The filter is parsed again by the
    queue's own form: only valid filter fields are kept."""
    form = SaveFilterForm(request.POST)
    if not form.is_valid():
        queue = request.POST.get("queue") if request.POST.get("queue") in ("mine", "team") else "mine"
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"The filter was not saved: {error}")
        return redirect(QUEUE_URL[queue])
    queue = form.cleaned_data["queue"]
    parsed = filter_form(QueueFilterForm, request.user, QueryDict(form.cleaned_data["query"]))
    parsed.is_valid()
    data = getattr(parsed, "cleaned_data", {})
    kept = {k: parsed.data[k] for k in FILTER_FIELDS if parsed.data.get(k) and k in data}
    query = urlencode(kept)
    try:
        row, created = preferences.filter_save(request.user, queue, form.cleaned_data["name"], query)
    except workflow.WorkflowError as exc:
        messages.error(request, f"The filter was not saved: {exc.message}")
        return redirect(_queue_url(queue, query))
    messages.success(request, f"Filter “{row.name}” {'saved' if created else 'replaced'}.")
    return redirect(_queue_url(queue, query))


@require_POST
@staff_page
def queue_filter_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of the user's own saved filters (anyone else's: 404, as if it did not exist)."""
    try:
        row = preferences.filter_delete(request.user, pk)
    except workflow.WorkflowError as exc:
        return render(request, "escalations/forbidden.html", {"message": exc.message}, status=404)
    messages.success(request, f"Filter “{row.name}” deleted.")
    return redirect(QUEUE_URL[row.queue])
