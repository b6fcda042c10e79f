"""The portal's pages. Thin: read the requester from the portal cookie, parse the form,
call one workflow function as the system actor (the portal vouches for the address),
render. Every refusal is a message on the page, never a 500."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from escalations import workflow
from escalations.actions import forms
from escalations.domain import portal_links
from escalations.models import Case
from escalations.portal import ratelimit
from escalations.portal.session import requester_of, requester_page, sign_in, sign_out
from escalations.selectors import portal as shown
from escalations.selectors.search import articles_for_text
from escalations.views.forms import RequesterAnswerForm


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


@require_http_methods(["GET", "POST"])
def sign_in_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and requester_of(request):
        return redirect("portal:home")
    form = forms.PortalLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = portal_links.normal_address(form.cleaned_data["email"])
        if not ratelimit.sign_in_allowed(email, _client_ip(request)):
            form.add_error(None, "Too many sign-in links were asked for; wait an hour and try again.")
            return render(request, "portal/sign_in.html", {"form": form}, status=429)
        try:
            workflow.portal_send_link(actor=workflow.system_actor(), email=email)
        except workflow.WorkflowError as exc:
            form.add_workflow_error(exc)
        else:
            return render(request, "portal/link_sent.html", {"email": email})
    return render(request, "portal/sign_in.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def enter(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mailed link. GET only shows a button (mail scanners follow links); the POST
    signs in."""
    try:
        email = portal_links.read_sign_in_token(token)
    except signing.SignatureExpired:
        return render(
            request, "portal/message.html", {"error": "This link has expired; ask for a new one."}, status=410
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return render(
            request, "portal/message.html", {"error": "This link is not valid; ask for a new one."}, status=404
        )
    if request.method == "GET":
        return render(request, "portal/enter.html", {"email": email})
    return sign_in(redirect("portal:home"), email)


@require_POST
def sign_out_view(request: HttpRequest) -> HttpResponse:
    return sign_out(redirect("portal:sign-in"))


@require_GET
@requester_page
def home(request: HttpRequest) -> HttpResponse:
    rows = [
        {"case": c, "status": shown.STATUS_WORDS.get(c.status, c.status), "who": shown.who_has_it(c)}
        for c in shown.requester_cases(request.requester)
    ]
    return render(request, "portal/home.html", {"rows": rows, "email": request.requester})


def _files(request: HttpRequest) -> list:
    """The uploaded files; a file over the limit is refused by its size before reading it."""
    out = []
    for f in request.FILES.getlist("attachments"):
        if f.size > settings.ATTACHMENT_MAX_BYTES:
            raise workflow.InvalidAction(
                f"The attachment {f.name!r} is too large; the limit is {settings.ATTACHMENT_MAX_BYTES // 1048576} MB.",
                {"attachments": "Too large."},
            )
        out.append(workflow.IncomingFile(f.name, f.content_type or "application/octet-stream", f.read()))
    return out


def _case_context(case: Case, email: str, form) -> dict:
    return {
        "case": case,
        "email": email,
        "status": shown.STATUS_WORDS.get(case.status, case.status),
        "who": shown.who_has_it(case),
        "next": shown.next_update(case),
        "entries": shown.conversation(case),
        "form": form,
        "survey_due": shown.survey_due(case),
        "survey": shown.survey_of(case),
        "max_mb": settings.ATTACHMENT_MAX_BYTES // 1048576,
    }


@require_http_methods(["GET", "POST"])
@requester_page
def case_page(request: HttpRequest, pk: int) -> HttpResponse:
    case = shown.requester_case(request.requester, pk)
    form = forms.PortalMessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = workflow.case_customer_message(
                actor=workflow.system_actor(),
                case_id=case.pk,
                sender=request.requester,
                sender_name=case.requester_name,
                body=form.cleaned_data["body"],
                files=_files(request),
            )
        except workflow.WorkflowError as exc:
            form.add_workflow_error(exc)
        else:
            if sent.case.pk != case.pk:
                messages.success(request, f"This request was closed, so we opened a new one: #{sent.case.pk}.")
            else:
                messages.success(request, "Your message was sent.")
            return redirect("portal:case", pk=sent.case.pk)
    status = 400 if form.errors else 200
    return render(request, "portal/case.html", _case_context(case, request.requester, form), status=status)


@require_POST
@requester_page
def resolution_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (closes) or reject (reopens) the resolution, as the e-mailed link does."""
    case = shown.requester_case(request.requester, pk)
    form = RequesterAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return redirect("portal:case", pk=case.pk)
    try:
        if form.cleaned_data["answer"] == "confirm":
            workflow.case_close(
                case_id=case.pk, actor=workflow.system_actor(), reason="Requester confirmed the resolution (portal)"
            )
            messages.success(request, "Thank you: the request is closed.")
        else:
            workflow.case_reopen(
                case_id=case.pk,
                actor=workflow.system_actor(),
                reason=form.cleaned_data["reason"] or "Requester rejected the resolution (portal)",
            )
            messages.success(request, "We reopened your request and will be in touch.")
    except workflow.WorkflowError as exc:
        messages.error(request, exc.message)
    return redirect("portal:case", pk=case.pk)


@require_http_methods(["GET", "POST"])
@requester_page
def new_request(request: HttpRequest) -> HttpResponse:
    """Two steps: what they typed is matched against published articles first ("Check
    for answers"); "Send my request" opens the case. No script needed."""
    last = shown.requester_cases(request.requester)[:1]
    initial = {"requester_name": last[0].requester_name} if last else None
    form = forms.PortalRequestForm(request.POST if request.method == "POST" else None, initial=initial)
    context = {"form": form, "suggestions": [], "max_mb": settings.ATTACHMENT_MAX_BYTES // 1048576}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("step") != "send":
            context["suggestions"] = articles_for_text(data["title"], data["body"])
            context["query"] = data["title"]
            context["checked"] = True
            return render(request, "portal/new.html", context)
        try:
            sent = workflow.case_open_from_requester(
                actor=workflow.system_actor(),
                title=data["title"],
                requester_name=data["requester_name"],
                requester_email=request.requester,
                category=data["category"],
                body=data["body"],
                files=_files(request),
            )
        except workflow.WorkflowError as exc:
            form.add_workflow_error(exc)
        else:
            messages.success(request, f"Thank you: your request is #{sent.case.pk}. We will keep you informed.")
            return redirect("portal:case", pk=sent.case.pk)
    return render(request, "portal/new.html", context, status=400 if form.errors else 200)


@require_GET
@requester_page
def suggestions(request: HttpRequest) -> HttpResponse:
    """The fragment the new-request page fetches while the requester types (the "Next"
    step gives the same articles without a script)."""
    form = forms.PortalSuggestForm(request.GET)
    if not form.is_valid():
        reasons = " ".join(f"{name}: {' '.join(msgs)}" for name, msgs in form.errors.items())
        return render(request, "portal/_suggestions.html", {"error": reasons}, status=400)
    data = form.cleaned_data
    found = articles_for_text(data["title"], data["body"]) if (data["title"] + data["body"]).strip() else []
    context = {"suggestions": found, "query": data["title"], "category": data["category"]}
    return render(request, "portal/_suggestions.html", context)


@require_POST
@requester_page
def deflect(request: HttpRequest) -> HttpResponse:
    form = forms.DeflectionForm(request.POST)
    if form.is_valid():
        try:
            workflow.knowledge_deflect(
                actor=workflow.system_actor(), requester_email=request.requester, **form.arguments()
            )
        except workflow.WorkflowError as exc:
            return render(request, "portal/message.html", {"error": exc.message}, status=400)
        return render(
            request,
            "portal/message.html",
            {"done": "Glad it helped. Nothing was opened; you can still send a request."},
        )
    return render(request, "portal/message.html", {"error": "That article could not be recorded."}, status=400)


def _survey(request: HttpRequest, case: Case, email: str, via: str, template_context: dict) -> HttpResponse:
    form = forms.SurveyForm(request.POST if request.method == "POST" else None)
    context = {"case": case, "form": form, **template_context}
    if request.method == "POST" and form.is_valid():
        try:
            workflow.survey_answer(
                actor=workflow.system_actor(), case_id=case.pk, requester_email=email, via=via, **form.arguments()
            )
        except workflow.WorkflowError as exc:
            form.add_workflow_error(exc)
        else:
            return render(request, "portal/message.html", {"done": "Thank you for your answer.", "case": case})
    if request.method == "GET" and not shown.survey_due(case):
        return render(request, "portal/message.html", {"done": "This resolution is already rated. Thank you!"})
    return render(request, "portal/survey.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@requester_page
def survey(request: HttpRequest, pk: int) -> HttpResponse:
    case = shown.requester_case(request.requester, pk)
    return _survey(request, case, request.requester, "portal", {})


@require_http_methods(["GET", "POST"])
def survey_link(request: HttpRequest, token: str) -> HttpResponse:
    """The survey link in the resolution e-mail: no sign-in; it names one resolution."""
    try:
        data = portal_links.read_survey_token(token)
        case = Case.objects.select_related("level").get(pk=int(data["case"]))
    except signing.SignatureExpired:
        return render(request, "portal/message.html", {"error": "This survey link has expired."}, status=410)
    except (signing.BadSignature, Case.DoesNotExist, KeyError, TypeError, ValueError):
        return render(request, "portal/message.html", {"error": "This link is not valid."}, status=404)
    if case.resolved_at is None or case.resolved_at.isoformat() != data.get("resolved_at"):
        return render(
            request, "portal/message.html", {"error": "This request was reopened since; this link is no longer used."}
        )
    return _survey(request, case, case.requester_email, "e-mail", {"token": token})


@require_GET
@requester_page
def attachment(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    case = shown.requester_case(request.requester, pk)
    row = shown.attachment_of(case, attachment_pk)
    try:
        handle = row.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    response = FileResponse(handle, as_attachment=True, filename=row.filename, content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response
