"""The auditor's pages inside the admin: the audit log over every history table (filters,
field diffs, CSV and JSON export) and the status of the hash chains. Read-only: users with
``escalations.view_audit`` (Auditor, Manager) or superusers; anyone else gets 403."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from escalations.audit import verify
from escalations.core.bounds import BoundedDateField
from escalations.core.csv_out import to_csv
from escalations.models import AuditHead, AuditSeal
from escalations.selectors import case_trail as trail
from escalations.selectors.audit_log import history_model, history_model_choices, log_rows


class AuditLogForm(forms.Form):
    model = forms.ChoiceField(label="Record type", choices=())
    user = forms.CharField(label="User name", required=False, max_length=150)
    object_id = forms.IntegerField(label="Object number", required=False, min_value=1, max_value=2**62)
    date_from = BoundedDateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = BoundedDateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    export = forms.ChoiceField(required=False, choices=[("", "page"), ("csv", "CSV"), ("json", "JSON")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = history_model_choices()


def _check(request) -> None:
    if not (request.user.is_superuser or request.user.has_perm("escalations.view_audit")):
        raise PermissionDenied


@require_GET
def audit_log(request):
    _check(request)
    data = request.GET.copy()
    data.setdefault("model", "escalations.historicalcase")
    form = AuditLogForm(data)
    rows = []
    if form.is_valid():
        d = form.cleaned_data
        limit = 10_000 if d["export"] else 200
        rows = log_rows(
            history_model(d["model"]),
            username=d["user"].strip(),
            object_id=d["object_id"],
            date_from=d["date_from"],
            date_to=d["date_to"],
            limit=limit,
        )
        if d["export"] == "json":
            response = HttpResponse(json.dumps([r.as_dict() for r in rows], indent=1), content_type="application/json")
            response["Content-Disposition"] = 'attachment; filename="audit-log.json"'
            return response
        if d["export"] == "csv":
            body = to_csv(
                ["model", "history_id", "object_id", "when", "who", "action", "why", "changes"],
                (
                    [
                        r.model,
                        r.history_id,
                        r.object_id,
                        r.when.isoformat(),
                        r.who,
                        r.action,
                        r.why,
                        "; ".join(f"{f}: {o} -> {n}" for f, o, n in r.changes),
                    ]
                    for r in rows
                ),
            )
            response = HttpResponse(body, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
            return response
    context = {
        **admin.site.each_context(request),
        "title": "Audit log",
        "form": form,
        "rows": rows,
        "heads": AuditHead.objects.order_by("table"),
        "seals": AuditSeal.objects.order_by("-at")[:10],
        "query": request.GET.urlencode(),
    }
    return render(request, "admin/escalations/audit_log.html", context, status=200 if form.is_valid() else 400)


@require_GET
def audit_verify(request):
    """Walk every chain now (read-only) and show the result per table."""
    _check(request)
    statuses = verify.verify()
    context = {
        **admin.site.each_context(request),
        "title": "Audit chain verification",
        "statuses": statuses,
        "intact": all(s.broken is None for s in statuses),
    }
    return render(request, "admin/escalations/audit_verify.html", context)


class CaseTrailForm(forms.Form):
    case = forms.IntegerField(label="Case number", min_value=1, max_value=2**62)
    kinds = forms.MultipleChoiceField(
        label="Record types",
        choices=list(trail.KINDS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type.",
    )
    user = forms.CharField(label="User name", required=False, max_length=150)
    order = forms.ChoiceField(label="Order", choices=[("old", "Oldest first"), ("new", "Newest first")], required=False)
    export = forms.ChoiceField(required=False, choices=[("", "page"), ("csv", "CSV"), ("json", "JSON")])


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def case_trail(request):
    """Every record of one case in one time-ordered list (the auditor's case trail)."""
    _check(request)
    form = CaseTrailForm(request.GET or None)
    rows, case_id = [], None
    if form.is_valid():
        d = form.cleaned_data
        case_id = d["case"]
        rows = trail.case_trail(case_id, kinds=d["kinds"], username=d["user"].strip(), newest_first=d["order"] == "new")
        if d["export"] == "json":
            body = json.dumps({"case": case_id, "rows": [r.as_dict() for r in rows]}, indent=1)
            return _download(body, "application/json", f"case-{case_id}-trail.json")
        if d["export"] == "csv":
            body = to_csv(trail.CSV_HEADER, (r.as_csv() for r in rows))  # formulas neutralised
            return _download(body, "text/csv; charset=utf-8", f"case-{case_id}-trail.csv")
    context = {
        **admin.site.each_context(request),
        "title": f"Case trail #{case_id}" if case_id else "Case trail",
        "form": form,
        "rows": rows,
        "case_id": case_id,
        "limit": trail.LIMIT,
        "query": request.GET.urlencode(),
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "admin/escalations/case_trail.html", context, status=status)


urlpatterns = [
    path("", admin.site.admin_view(audit_log), name="audit-log"),
    path("verify/", admin.site.admin_view(audit_verify), name="audit-verify"),
    path("case/", admin.site.admin_view(case_trail), name="audit-case-trail"),
]
