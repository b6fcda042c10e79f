"""The managers' report pages, inside the admin: an index, one page per report (filters,
an SVG chart and a table for each of its tables) and a CSV download per table.

Mounted in ``project/urls.py`` under ``admin/reports/`` (before ``admin/``). Pages go
through ``admin.site.admin_view`` (staff login) and then require the Manager role
(``escalations.manage_desk``) or a superuser; anyone else gets 403.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.safestring import mark_safe

from escalations.core.bounds import BoundedDateField
from escalations.domain import authority
from escalations.models import CaseAttribute, Category, Level, Priority, Team
from escalations.reports import REGISTRY, FilterError, Filters
from escalations.reports.base import BY, PERIODS, SOURCES, default_range
from escalations.reports.charts import render as render_chart
from escalations.reports.output import cell_text, find_table, table_csv

DEFAULT_DAYS = 90


class ReportFilterForm(forms.Form):
    date_from = BoundedDateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = BoundedDateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ModelChoiceField(Level.objects.order_by("rank"), to_field_name="code", required=False)
    team = forms.ModelChoiceField(Team.objects.order_by("name"), to_field_name="name", required=False)
    category = forms.ModelChoiceField(Category.objects.order_by("name"), to_field_name="code", required=False)
    priority = forms.TypedChoiceField(
        choices=[("", "---------"), *Priority.choices], coerce=int, empty_value=None, required=False
    )
    source = forms.ChoiceField(choices=[("", "all"), *((k, k) for k in SOURCES)], required=False)
    period = forms.ChoiceField(choices=[("", "automatic"), *((k, k) for k in PERIODS)], required=False)
    attr = forms.CharField(
        label="Attribute",
        required=False,
        max_length=250,
        widget=forms.TextInput(attrs={"placeholder": "product:PROD424", "size": 18}),
        help_text="Only cases whose imported attribute has this value (key:value).",
    )
    by = forms.CharField(
        label="Compare by",
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": "attr:country", "list": "report-by-options", "size": 14}),
        help_text=f"Adds a comparison table: {', '.join(BY)}, or attr:KEY.",
    )

    def clean(self):
        """The range's bounds (dates, length, number of buckets) are the Filters' own."""
        cleaned = super().clean()
        if not self.errors:
            try:
                self.filters()
            except FilterError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return cleaned

    def filters(self) -> Filters:
        d = self.cleaned_data
        return Filters(
            date_from=d["date_from"],
            date_to=d["date_to"],
            level=d["level"].code if d["level"] else None,
            team=d["team"].name if d["team"] else None,
            category=d["category"].code if d["category"] else None,
            priority=d["priority"],
            source=d["source"] or None,
            period=d["period"] or None,
            attr=d["attr"] or None,
            by=d["by"] or None,
        )


def _bound_form(request, days: int = DEFAULT_DAYS) -> ReportFilterForm:
    data = request.GET.copy()
    first, last = default_range(data.get("source"), timezone.localdate(), days)
    data.setdefault("date_to", last.isoformat())
    data.setdefault("date_from", first.isoformat())
    return ReportFilterForm(data)


def _check(request) -> None:
    if not (request.user.is_superuser or authority.is_manager(request.user)):
        raise PermissionDenied("The reports are for managers.")


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def reports_index(request):
    _check(request)
    return render(request, "reports/index.html", _context(request, title="Reports", reports=REGISTRY.values()))


def _result(request, name: str):
    report = REGISTRY.get(name)
    if report is None:
        raise Http404(f"There is no report '{name}'.")
    form = _bound_form(request, report.default_days or DEFAULT_DAYS)
    result = None
    if form.is_valid():
        try:
            result = report.run(form.filters())
        except FilterError as exc:
            form.add_error(None, str(exc))
    return report, form, result


def _refresh(request, report) -> int:
    """A live report's refresh period: its own, or ``?refresh=N`` seconds (2 to 600)."""
    if not report.refresh:
        return 0
    wanted = request.GET.get("refresh", "")
    return min(max(int(wanted), 2), 600) if wanted.isdigit() and len(wanted) < 5 else report.refresh


def report_detail(request, name: str):
    _check(request)
    report, form, result = _result(request, name)
    tables = []
    for table in result.tables if result else []:
        tables.append(
            {
                "table": table,
                "chart": mark_safe(render_chart(table)),  # built from escaped text only
                "header": [(c.label, c.kind != "text") for c in table.columns],
                "rows": [
                    [(cell_text(v, c.kind), c.kind != "text") for v, c in zip(row, table.columns)] for row in table.rows
                ],
            }
        )
    return render(
        request,
        "reports/report.html",
        _context(
            request,
            title=report.title,
            report=report,
            refresh=_refresh(request, report),
            form=form,
            tables=tables,
            reports=REGISTRY.values(),
            query=request.GET.urlencode(),
            by_options=[*BY, *(f"attr:{k}" for k in CaseAttribute.objects.known_keys())],
        ),
        status=400 if form.errors else 200,
    )


def report_csv(request, name: str, table_key: str):
    _check(request)
    report, form, result = _result(request, name)
    if result is None:
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()), status=400, content_type="text/plain"
        )
    try:
        table = find_table(result, table_key)
    except KeyError as exc:
        raise Http404(exc.args[0]) from exc
    f = result.filters
    response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{table.key}-{f.date_from:%Y%m%d}-{f.date_to:%Y%m%d}.csv"'
    )
    return response


urlpatterns = [
    path("", admin.site.admin_view(reports_index), name="reports-index"),
    path("<slug:name>/", admin.site.admin_view(report_detail), name="reports-detail"),
    path("<slug:name>/<slug:table_key>.csv", admin.site.admin_view(report_csv), name="reports-csv"),
]
